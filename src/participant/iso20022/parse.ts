import type { MessageKind } from './kinds.js';
import { parseUntrusted, validateDocument, type Validation } from './schemas.js';
import { Refusal, partialId, readMessage, type XmlNode } from './xml.js';

/**
 * A message the gateway cannot accept, with whichever of its ids could be read so that a pacs.002
 * RJCT can still be addressed (participant-mq.md section 2). The reason names the element and the
 * rule broken, never a value.
 */
export interface Rejection {
  ok: false;
  reason: string;
  msgId?: string;
  endToEndId?: string;
  trn?: string;
}

/** Where a message keeps the transaction ids a rejection echoes. */
interface IdPaths {
  readonly endToEndId: string;
  readonly trn: string;
}

/** How much of a message is checked before the link's profile is applied to it. */
export interface ParseOptions {
  /**
   * `true` skips libxml2's well-formedness and XSD checks and reads the text as it is: only for a
   * reader that trusts its sender (the bank simulator under a benchmark, reading what the gateway
   * wrote), never for what a participant sends (P8). Default false.
   */
  trusted?: boolean;
}

/** Well-formed and safe, then valid against the XSD, then `read` applies the link's profile. */
export function parseMessage<T>(
  kind: MessageKind,
  xml: string,
  ids: IdPaths,
  read: (message: XmlNode) => T,
  options: ParseOptions = {},
): { ok: true; value: T } | Rejection {
  if (options.trusted === true) return readTrusted(kind, xml, ids, read);
  const parsed = parseUntrusted(xml);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  let valid: Validation;
  try {
    // [P8] What a participant sends is taken only when valid against its XSD.
    valid = validateDocument(kind, parsed.doc);
  } finally {
    parsed.doc.dispose();
  }
  const message = readMessage(kind, xml);
  if (!valid.ok) return rejection(`not valid against ${kind}: ${valid.errors.join('; ')}`, message, ids);
  return applyProfile(message!, ids, read);
}

function readTrusted<T>(
  kind: MessageKind,
  xml: string,
  ids: IdPaths,
  read: (message: XmlNode) => T,
): { ok: true; value: T } | Rejection {
  const message = readMessage(kind, xml);
  if (message === undefined) return { ok: false, reason: `no ${kind} message in a Document` };
  return applyProfile(message, ids, read);
}

function applyProfile<T>(
  message: XmlNode,
  ids: IdPaths,
  read: (message: XmlNode) => T,
): { ok: true; value: T } | Rejection {
  try {
    return { ok: true, value: read(message) };
  } catch (e) {
    if (e instanceof Refusal) return rejection(e.message, message, ids);
    throw e;
  }
}

function rejection(reason: string, message: XmlNode | undefined, ids: IdPaths): Rejection {
  const r: Rejection = { ok: false, reason };
  if (message === undefined) return r;
  const paths = { msgId: 'GrpHdr/MsgId', endToEndId: ids.endToEndId, trn: ids.trn } as const;
  for (const key of ['msgId', 'endToEndId', 'trn'] as const) {
    const id = partialId(message, paths[key]);
    if (id !== undefined) r[key] = id;
  }
  return r;
}

/** Leaves absent optional fields out of a parsed result instead of setting them to undefined. */
export function withoutAbsent<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
