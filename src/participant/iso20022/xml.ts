import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { MESSAGES, type MessageKind } from './kinds.js';

/**
 * A parsed element as fast-xml-parser gives it with the options below: child elements by local
 * name, always as arrays (so repetition is visible); attributes as `@_Name`; text as a string for
 * a leaf, or `#text` beside attributes.
 */
export type XmlNode = { readonly [name: string]: unknown };

/** Thrown while reading a schema-valid message that breaks the participant profile. */
export class Refusal extends Error {}

/*
 * Reading runs only on documents libxml2 has already parsed and validated, so entities are the
 * predefined ones and character references: `htmlEntities` is what makes the parser decode the
 * latter. Values stay strings exactly as sent (no number parsing, no trimming): account numbers
 * keep their leading zeros and names their spaces.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  // libxml2 has already refused anything deeper than its own limit of 256 (no XML_PARSE_HUGE);
  // SplmtryData/Envlp admits any content, so a valid message can nest beyond the default 100.
  maxNestedTags: 256,
});

const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: true });

/** Writes a whole message: declaration, Document in the message's namespace, message element. */
export function writeDocument(kind: MessageKind, message: object): string {
  const { namespace, root } = MESSAGES[kind];
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    Document: { '@_xmlns': namespace, [root]: message },
  });
}

/** The message element of a well-formed document, or undefined when it is not there. */
export function readMessage(kind: MessageKind, xml: string): XmlNode | undefined {
  const doc = parser.parse(xml) as XmlNode;
  return elements(doc, `Document/${MESSAGES[kind].root}`)[0] as XmlNode | undefined;
}

/** Every element at a slash-separated path of local names below `node`. */
export function elements(node: XmlNode, path: string): unknown[] {
  let found: unknown[] = [node];
  for (const name of path.split('/')) {
    found = found.flatMap((n) =>
      typeof n === 'object' && n !== null && Array.isArray((n as XmlNode)[name])
        ? ((n as XmlNode)[name] as unknown[])
        : [],
    );
  }
  return found;
}

/** The element at `path`, undefined when absent; refuses one that repeats. */
export function optionalElement(node: XmlNode, path: string): XmlNode | undefined {
  const found = elements(node, path);
  if (found.length > 1) throw new Refusal(`${path} occurs ${found.length} times, at most once is allowed`);
  return found[0] as XmlNode | undefined;
}

/** The text of the element at `path`, undefined when absent; refuses one that repeats. */
export function optionalText(node: XmlNode, path: string): string | undefined {
  const found = optionalElement(node, path);
  return found === undefined ? undefined : textOf(found);
}

export function requiredText(node: XmlNode, path: string, what: string): string {
  const text = optionalText(node, path);
  if (text === undefined) throw new Refusal(`${path} (${what}) is missing`);
  return text;
}

/** An attribute of the element at `path`. */
export function attribute(node: XmlNode, path: string, name: string): string | undefined {
  const found = optionalElement(node, path);
  return typeof found === 'object' ? (found[`@_${name}`] as string | undefined) : undefined;
}

/**
 * An id for addressing a rejection, read leniently from a message that failed: present only when
 * it occurs once and fits the Max35Text element it would be echoed into.
 */
export function partialId(node: XmlNode, path: string): string | undefined {
  const found = elements(node, path);
  if (found.length !== 1) return undefined;
  const text = textOf(found[0]);
  return text.length >= 1 && text.length <= 35 ? text : undefined;
}

function textOf(element: unknown): string {
  if (typeof element === 'string') return element;
  const text = typeof element === 'object' && element !== null ? (element as XmlNode)['#text'] : undefined;
  return typeof text === 'string' ? text : '';
}
