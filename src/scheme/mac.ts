import { createHash, hash } from 'node:crypto';
import { MAC_KEY_HEX } from '../base/config.js';
import { MAX_FRAME_BODY } from './profile.js';

/** Length of field 128 on the wire: 8 bytes of HMAC as upper-case hex. */
export const MAC_LENGTH = 16;

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** SHA-256's block and digest sizes (RFC 2104's B and L). */
const BLOCK = 64;
const DIGEST = 32;

/**
 * RFC 2104 laid out for one-shot hashing: `inner` holds key ^ ipad and then the message, `outer`
 * key ^ opad and then the inner digest. A new Hmac object per message was a third of the link's
 * CPU and most of its garbage; two one-shot hashes over these buffers allocate two short strings.
 */
interface Pads {
  inner: Buffer;
  readonly outer: Buffer;
}

/** Prepared once per key; a key buffer is never changed once in use. */
const padsOf = new WeakMap<Buffer, Pads>();

function prepare(key: Buffer): Pads {
  const k = key.length > BLOCK ? createHash('sha256').update(key).digest() : key;
  const inner = Buffer.alloc(BLOCK + MAX_FRAME_BODY, 0x36);
  const outer = Buffer.alloc(BLOCK + DIGEST, 0x5c);
  for (let i = 0; i < k.length; i++) {
    inner[i]! ^= k[i]!;
    outer[i]! ^= k[i]!;
  }
  return { inner, outer };
}

/**
 * HMAC-SHA256 of `buf[start, end)` as 32 latin1 characters, one per byte. Latin1 output, because
 * a digest handed back as a Buffer costs more than the hash itself.
 */
function digest(key: Buffer, buf: Buffer, start: number, end: number): string {
  let pads = padsOf.get(key);
  if (pads === undefined) {
    pads = prepare(key);
    padsOf.set(key, pads);
  }
  const length = end - start;
  // Only a body over the frame limit, which the wire refuses once encoded, needs more room.
  if (BLOCK + length > pads.inner.length) {
    const grown = Buffer.allocUnsafe(BLOCK + length);
    pads.inner.copy(grown, 0, 0, BLOCK);
    pads.inner = grown;
  }
  buf.copy(pads.inner, BLOCK, start, end);
  const inner = hash('sha256', pads.inner.subarray(0, BLOCK + length), 'binary');
  pads.outer.write(inner, BLOCK, 'latin1');
  return hash('sha256', pads.outer, 'binary');
}

/** Section 8: the first 8 bytes of HMAC-SHA256(key, body up to field 128), upper-case hex. */
export function computeMac(key: Buffer, bodyBeforeMac: Buffer): string {
  return Buffer.from(digest(key, bodyBeforeMac, 0, bodyBeforeMac.length).slice(0, 8), 'latin1')
    .toString('hex')
    .toUpperCase();
}

/** Writes the MAC of `buf[start, macAt)` into `buf` at `macAt`. */
export function writeMac(key: Buffer, buf: Buffer, start: number, macAt: number): void {
  const d = digest(key, buf, start, macAt);
  for (let i = 0; i < 8; i++) {
    const b = d.charCodeAt(i);
    buf[macAt + 2 * i] = HEX[b >> 4]!;
    buf[macAt + 2 * i + 1] = HEX[b & 15]!;
  }
}

/** Checks the 16 characters at `macAt` against the MAC of what precedes them, in constant time. */
export function macMatches(key: Buffer, body: Buffer, macAt: number): boolean {
  if (body.length - macAt < MAC_LENGTH) return false;
  const d = digest(key, body, 0, macAt);
  let diff = 0;
  for (let i = 0; i < 8; i++) {
    const b = d.charCodeAt(i);
    diff |= body[macAt + 2 * i]! ^ HEX[b >> 4]!;
    diff |= body[macAt + 2 * i + 1]! ^ HEX[b & 15]!;
  }
  return diff === 0;
}

/** Parses a MAC key given as hex in configuration; refuses anything that is not whole bytes of hex. */
export function parseMacKey(hex: string): Buffer {
  if (!MAC_KEY_HEX.test(hex)) {
    throw new Error('MAC key must be 16 to 64 bytes given as hex');
  }
  return Buffer.from(hex, 'hex');
}
