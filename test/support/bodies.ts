import { encode, type IsoMessage } from '../../src/scheme/codec.js';
import { computeMac } from '../../src/scheme/mac.js';
import { FIELDS } from '../../src/scheme/profile.js';

/** A body with its last 16 characters (the MAC) replaced by a valid MAC over the rest. */
export function remac(text: string, key: Buffer): Buffer {
  const body = text.slice(0, -16);
  return Buffer.from(body + computeMac(key, Buffer.from(body, 'latin1')), 'latin1');
}

/** Where each field's content starts in the body `encode` writes (it always writes the secondary bitmap). */
export function fieldOffsets(m: IsoMessage): Map<number, number> {
  const at = new Map<number, number>();
  let pos = 36;
  for (const n of [...new Set([...m.fields.keys(), 7, 11])].sort((a, b) => a - b)) {
    const f = FIELDS.get(n)!.format;
    const prefix = f.kind === 'llvar' ? 2 : f.kind === 'lllvar' ? 3 : 0;
    at.set(n, pos + prefix);
    pos += f.kind === 'fixed' ? f.length : prefix + (m.fields.get(n) ?? '').length;
  }
  return at;
}

/**
 * `m` encoded with the content of `field` overwritten from its start by `text` (same length, so
 * every other field stays where it was), under a valid MAC: content wrong, structure and MAC good.
 */
export function withContent(m: IsoMessage, field: number, text: string, key: Buffer): Buffer {
  const body = encode(m, key).toString('latin1');
  const at = fieldOffsets(m).get(field);
  if (at === undefined) throw new Error(`field ${field} is not in the message`);
  return remac(body.slice(0, at) + text + body.slice(at + text.length), key);
}
