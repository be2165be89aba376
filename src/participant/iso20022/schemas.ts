import { readFileSync } from 'node:fs';
import {
  ParseOption,
  XmlDocument,
  XmlError,
  XmlParseError,
  XmlValidateError,
  XsdValidator,
  type ErrorDetail,
  type XmlElement,
} from 'libxml2-wasm';
import { MESSAGES, MESSAGE_KINDS, type MessageKind } from './kinds.js';

export type Validation = { ok: true } | { ok: false; errors: string[] };

/*
 * Untrusted input: no network access, no loading of external DTDs or entities (NO_XXE), and no
 * entity substitution (NOENT left out), so nothing is fetched and no entity is expanded into the
 * tree; libxml2's own guard stops entity amplification. Any DOCTYPE is then refused outright,
 * since ISO 20022 messages never carry one. The text is always read as UTF-8, whatever its declaration says: it is a JS string.
 */
const PARSE_OPTIONS = {
  option: ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE,
  encoding: 'utf-8',
} as const;

/*
 * Each XSD is parsed and compiled once, at module load, from the copies bundled next to this
 * module (they import and include nothing). The validators, and the schema documents they were
 * compiled from, live as long as the process and are never disposed.
 */
const SCHEMA_TEXTS: ReadonlyMap<MessageKind, string> = new Map(
  MESSAGE_KINDS.map((kind) => [
    kind,
    readFileSync(new URL(`../schemas/${MESSAGES[kind].version}.xsd`, import.meta.url), 'utf8'),
  ]),
);

const SCHEMAS: ReadonlyMap<MessageKind, { readonly xsd: XmlDocument; readonly validator: XsdValidator }> = new Map(
  MESSAGE_KINDS.map((kind) => {
    const xsd = XmlDocument.fromString(SCHEMA_TEXTS.get(kind)!, PARSE_OPTIONS);
    return [kind, { xsd, validator: XsdValidator.fromDoc(xsd) }];
  }),
);

/**
 * Every name the schemas declare (elements, attributes, types). A reason names only these, so
 * that nothing a sender wrote, not even an element name of its own, reaches a log or an answer.
 */
const SCHEMA_NAMES: ReadonlySet<string> = new Set(
  [...SCHEMA_TEXTS.values()].flatMap((text) => [...text.matchAll(/\bname="([A-Za-z0-9_]+)"/g)].map((m) => m[1]!)),
);

/**
 * Parses untrusted XML safely; the reason says why a document is not acceptable XML. The document
 * holds WebAssembly memory: the caller owns it and must `dispose()` it (try/finally).
 */
export function parseUntrusted(xml: string): { ok: true; doc: XmlDocument } | { ok: false; reason: string } {
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromString(xml, PARSE_OPTIONS);
  } catch (e) {
    return { ok: false, reason: `not well-formed XML: ${parseError(e)}` };
  }
  if (doc.dtd !== null) {
    doc.dispose();
    return { ok: false, reason: 'a DOCTYPE is not allowed' };
  }
  return { ok: true, doc };
}

/** The Document namespace of a parsed document, undefined when its root is not a Document. */
export function documentNamespace(doc: XmlDocument): string | undefined {
  let root: XmlElement;
  try {
    root = doc.root;
  } catch {
    return undefined; // no root element
  }
  return root.name === 'Document' && root.namespaceUri !== '' ? root.namespaceUri : undefined;
}

/**
 * Validates a message against its XSD. The errors name elements and the kind of rule broken but
 * never the offending value: values can be account numbers or names.
 */
export function validateXml(kind: MessageKind, xml: string): Validation {
  const parsed = parseUntrusted(xml);
  if (!parsed.ok) return { ok: false, errors: [parsed.reason] };
  try {
    return validateDocument(kind, parsed.doc);
  } finally {
    parsed.doc.dispose();
  }
}

/** `validateXml` for a document already parsed by `parseUntrusted` (which the caller still disposes). */
export function validateDocument(kind: MessageKind, doc: XmlDocument): Validation {
  const { namespace } = MESSAGES[kind];
  if (documentNamespace(doc) !== namespace)
    return { ok: false, errors: [`root element is not a Document in namespace ${namespace}`] };
  try {
    SCHEMAS.get(kind)!.validator.validate(doc);
    return { ok: true };
  } catch (e) {
    // An XmlError that is not an XmlValidateError is libxml2 failing internally: fail closed.
    if (!(e instanceof XmlError)) throw e;
    const details = e instanceof XmlValidateError ? e.details : [];
    return {
      ok: false,
      errors:
        details.length > 0
          ? details.map((d) => describeInvalid(d.message.trim()))
          : [describeInvalid(e.message.trim())],
    };
  }
}

/**
 * The first fatal error of a parse as a kind and a position. libxml2's own words quote what it
 * read (entity names, characters, tags), so none of them are kept.
 */
function parseError(e: unknown): string {
  const first: ErrorDetail | undefined = e instanceof XmlParseError ? e.details[0] : undefined;
  if (first === undefined) return 'unreadable document';
  const kind = PARSE_KINDS.find(([pattern]) => pattern.test(first.message))?.[1] ?? 'malformed markup';
  return `${kind} (line ${first.line}, column ${first.col})`;
}

const PARSE_KINDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^Document is empty|^Start tag expected/, 'no root element'],
  [/^Opening and ending tag mismatch/, 'an end tag does not match its start tag'],
  [/^Premature end of data|^EndTag: '<\/' not found/, 'the document ends early'],
  [/^Extra content at the end of the document/, 'content after the root element'],
  [/^Entity '.*' not defined|^EntityRef/, 'an undefined entity reference'],
  [/^xmlParseCharRef|^CharRef/, 'an invalid character reference'],
  [/^Input is not proper UTF-8|^Char 0x/, 'an invalid character'],
  [
    /^AttValue|^attributes construct error|^Attribute .* redefined|^Specification mandates value for attribute/,
    'a malformed attribute',
  ],
];

/**
 * A validation error as element, attribute and kind of error. libxml2 quotes the offending value
 * ("The value 'O'Brien' is not ..."), and a quote inside a value defeats any attempt to cut it
 * out, so nothing is cut: the reason is built only from names the schemas declare and from fixed
 * words, and a message that does not read as expected gives a generic kind.
 */
function describeInvalid(message: string): string {
  const head = /^Element '(?:\{[^}']*\})?([A-Za-z0-9_]+)'(?:, attribute '([A-Za-z0-9_]+)')?: /.exec(message);
  if (head === null) return 'the document is not valid against the schema';
  const element = known(head[1]!);
  const where = head[2] === undefined ? element : `${element}/@${known(head[2])}`;
  return `${where}: ${invalidKind(message.slice(head[0].length))}`;
}

const FACETS = new Set([
  'pattern',
  'length',
  'minLength',
  'maxLength',
  'enumeration',
  'minInclusive',
  'maxInclusive',
  'minExclusive',
  'maxExclusive',
  'totalDigits',
  'fractionDigits',
]);

function invalidKind(rest: string): string {
  const facet = /^\[facet '([A-Za-z]+)'\] /.exec(rest)?.[1];
  if (facet !== undefined)
    return FACETS.has(facet) ? `the value breaks its ${facet} facet` : 'the value breaks a facet of its type';
  if (rest.startsWith('This element is not expected.')) return `not expected here${expected(rest)}`;
  if (rest.startsWith('Missing child element(s).')) return `a child element is missing${expected(rest)}`;
  if (/^The attribute '[A-Za-z0-9_]+' is required but missing/.test(rest)) return 'a required attribute is missing';
  if (/^The attribute '[A-Za-z0-9_]+' is not allowed/.test(rest)) return 'an attribute that is not allowed';
  if (rest.startsWith('Character content other than whitespace is not allowed'))
    return 'text where only elements are allowed';
  if (rest.startsWith('Element content is not allowed')) return 'child elements where only text is allowed';
  const type = /type '(?:\{[^}']*\})?([A-Za-z0-9_]+)'\.\s*$/.exec(rest)?.[1];
  if (type !== undefined && / is not a valid value of the (atomic|list|union) type '/.test(rest))
    return `the value is not a valid ${known(type)}`;
  return 'not valid against the schema';
}

/** libxml2's "Expected is ( a, b )" list, schema names only. */
function expected(rest: string): string {
  const list = /Expected is(?: one of)? \( ([^)]*) \)\.\s*$/.exec(rest)?.[1];
  if (list === undefined) return '';
  return `; expected ${list
    .split(', ')
    .map((n) => known(n.replace(/^\{[^}]*\}/, '')))
    .join(', ')}`;
}

/** A name as the schemas declare it, or a placeholder for one they do not. */
function known(name: string): string {
  return SCHEMA_NAMES.has(name) ? name : '(an undeclared name)';
}
