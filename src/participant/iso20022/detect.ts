import { MESSAGES, MESSAGE_KINDS, type MessageKind } from './kinds.js';
import { documentNamespace, parseUntrusted } from './schemas.js';

/** Which of the link's messages a document is, by its Document namespace. */
export function detectMessage(xml: string): MessageKind | 'unknown' {
  const parsed = parseUntrusted(xml);
  if (!parsed.ok) return 'unknown';
  let namespace: string | undefined;
  try {
    namespace = documentNamespace(parsed.doc);
  } finally {
    parsed.doc.dispose();
  }
  return MESSAGE_KINDS.find((kind) => MESSAGES[kind].namespace === namespace) ?? 'unknown';
}
