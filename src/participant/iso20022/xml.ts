import { XMLBuilder } from 'fast-xml-parser';
import { parse, type TNode } from 'txml/txml';
import { MESSAGES, type MessageKind } from './kinds.js';

/** A parsed element, as `toNode` below makes it. */
export type XmlNode = { readonly [name: string]: unknown };

/** Thrown while reading a schema-valid message that breaks the participant profile. */
export class Refusal extends Error {}

/*
 * Reading runs only on documents libxml2 has already parsed and validated (or that a trusted
 * reader takes as they are, ParseOptions): well-formed, with no
 * DOCTYPE, so entities are the predefined ones and character references. tXml is lenient, which
 * is harmless on such input, and several times faster than a checking parser; `decodeEntities`
 * decodes both kinds (never inside CDATA). Values stay strings exactly as sent (no trimming):
 * account numbers keep their leading zeros and names their spaces.
 */
const READ_OPTIONS = { keepWhitespace: true, decodeEntities: true } as const;

/** A name without its namespace prefix: a sender may choose any prefix (or none). */
function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/**
 * An element as `XmlNode`: child elements by local name, always in arrays (so repetition is
 * visible); attributes as `@_Name` (namespace declarations left out); the text as a string for a
 * leaf, or `#text` beside children and attributes. Processing instructions are not content.
 */
function toNode(element: TNode): XmlNode | string {
  // No prototype: a name such as `__proto__`, which an extension element may carry, is just a key.
  const node = Object.create(null) as Record<string, unknown>;
  let text = '';
  let empty = true;
  const attributes = element.attributes;
  for (const name of Object.keys(attributes)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    node[`@_${localName(name)}`] = attributes[name] ?? '';
    empty = false;
  }
  for (const child of element.children) {
    if (typeof child === 'string') text += child;
    else if (!child.tagName.startsWith('?')) {
      const name = localName(child.tagName);
      const siblings = node[name] as unknown[] | undefined;
      if (siblings === undefined) node[name] = [toNode(child)];
      else siblings.push(toNode(child));
      empty = false;
    }
  }
  if (empty) return text;
  if (text !== '') node['#text'] = text;
  return node;
}

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
  const document = parse(xml, READ_OPTIONS).find(
    (n): n is TNode => typeof n !== 'string' && localName(n.tagName) === 'Document',
  );
  if (document === undefined) return undefined;
  const root = toNode(document);
  return typeof root === 'string' ? undefined : (elements(root, MESSAGES[kind].root)[0] as XmlNode | undefined);
}

/** Paths split once: the readers ask for the same few dozen paths for every message. */
const STEPS = new Map<string, readonly string[]>();
/** Paths kept split at most; the code names fewer, so this bound is never reached in practice. */
const STEPS_MAX = 1_000;

function stepsOf(path: string): readonly string[] {
  let steps = STEPS.get(path);
  if (steps === undefined) {
    steps = path.split('/');
    if (STEPS.size < STEPS_MAX) STEPS.set(path, steps);
  }
  return steps;
}

/** Every element at a slash-separated path of local names below `node`. */
export function elements(node: XmlNode, path: string): unknown[] {
  let found: unknown[] = [node];
  for (const name of stepsOf(path)) {
    const next: unknown[] = [];
    for (const n of found) {
      const children = typeof n === 'object' && n !== null ? (n as XmlNode)[name] : undefined;
      if (Array.isArray(children)) for (const child of children) next.push(child);
    }
    found = next;
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
