import { MESSAGES, MESSAGE_KINDS, type MessageKind } from './kinds.js';
import type { ParseOptions } from './parse.js';
import { documentNamespace, parseUntrusted } from './schemas.js';

/** The namespace declared on the Document start tag, read from the text: for trusted input only. */
const DOCUMENT_NAMESPACE = /<(?:[A-Za-z_][\w.-]*:)?Document\b[^>]*?\sxmlns(?::[A-Za-z_][\w.-]*)?="([^"]*)"/;

/** Which of the link's messages a document is, by its Document namespace. */
export function detectMessage(xml: string, options: ParseOptions = {}): MessageKind | 'unknown' {
  const namespace = options.trusted === true ? DOCUMENT_NAMESPACE.exec(xml)?.[1] : parsedNamespace(xml);
  return MESSAGE_KINDS.find((kind) => MESSAGES[kind].namespace === namespace) ?? 'unknown';
}

function parsedNamespace(xml: string): string | undefined {
  const parsed = parseUntrusted(xml);
  if (!parsed.ok) return undefined;
  try {
    return documentNamespace(parsed.doc);
  } finally {
    parsed.doc.dispose();
  }
}
