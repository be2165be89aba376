import { readFileSync } from 'node:fs';
import { ParseOption, XmlDocument, XmlError, XmlParseError, XmlValidateError, XsdValidator, type ErrorDetail, type XmlElement } from 'libxml2-wasm';
import { MESSAGES, MESSAGE_KINDS, type MessageKind } from './kinds.js';

export type Validation = { ok: true } | { ok: false; errors: string[] };

/*
 * Untrusted input: no network access, no loading of external DTDs or entities (NO_XXE), and no
 * entity substitution (NOENT left out), so nothing is fetched and no entity is expanded into the
 * tree; libxml2's own guard stops entity amplification. Any DOCTYPE is then refused outright,
 * since ISO 20022 messages never carry one. The text is always read as UTF-8, whatever its declaration says: it is a JS string.
 */
const PARSE_OPTIONS = { option: ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE, encoding: 'utf-8' } as const;

/*
 * Each XSD is parsed and compiled once, at module load, from the copies bundled next to this
 * module (they import and include nothing). The validators, and the schema documents they were
 * compiled from, live as long as the process and are never disposed.
 */
const SCHEMAS: ReadonlyMap<MessageKind, { readonly xsd: XmlDocument; readonly validator: XsdValidator }> = new Map(
  MESSAGE_KINDS.map((kind) => {
    const file = new URL(`../schemas/${MESSAGES[kind].version}.xsd`, import.meta.url);
    const xsd = XmlDocument.fromString(readFileSync(file, 'utf8'), PARSE_OPTIONS);
    return [kind, { xsd, validator: XsdValidator.fromDoc(xsd) }];
  }),
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
 * Validates a message against its XSD. The errors name elements and the rule broken but never
 * the offending value: values can be account numbers or names.
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
  if (documentNamespace(doc) !== namespace) return { ok: false, errors: [`root element is not a Document in namespace ${namespace}`] };
  try {
    SCHEMAS.get(kind)!.validator.validate(doc);
    return { ok: true };
  } catch (e) {
    // An XmlError that is not an XmlValidateError is libxml2 failing internally: fail closed.
    if (!(e instanceof XmlError)) throw e;
    const details = e instanceof XmlValidateError ? e.details : [];
    return { ok: false, errors: details.length > 0 ? details.map((d) => redact(d.message)) : [redact(e.message)] };
  }
}

/** The first fatal error of a parse, with its position, as libxml2 words it. */
function parseError(e: unknown): string {
  if (!(e instanceof XmlParseError)) return e instanceof Error ? e.message.trim() : String(e);
  const first: ErrorDetail | undefined = e.details[0];
  return first === undefined ? e.message.trim() : `${first.message.trim()} (Line: ${first.line}, Column: ${first.col})`;
}

/**
 * libxml2 quotes the offending value in facet and type errors ("The value '12345' is not ...",
 * "'abc' is not a valid value of ..."). Those quotes are cut; element names (in `{ns}Name` form,
 * shortened to `Name`), facets, type names and code sets are kept.
 */
function redact(message: string): string {
  return message
    .trim()
    .replace(/\{urn:[^}]*\}/g, '')
    .replace(/The value '[^']*'/g, 'The value')
    .replace(/: '[^']*' is not a valid value/g, ': the value is not a valid value');
}
