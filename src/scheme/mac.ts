import { createHmac } from 'node:crypto';
import { MAC_KEY_HEX } from '../base/config.js';

/** Length of field 128 on the wire: 8 bytes of HMAC as upper-case hex. */
export const MAC_LENGTH = 16;

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

function digest(key: Buffer, bodyBeforeMac: Buffer): Buffer {
  return createHmac('sha256', key).update(bodyBeforeMac).digest();
}

/** Section 8: the first 8 bytes of HMAC-SHA256(key, body up to field 128), upper-case hex. */
export function computeMac(key: Buffer, bodyBeforeMac: Buffer): string {
  return digest(key, bodyBeforeMac).subarray(0, 8).toString('hex').toUpperCase();
}

/** Writes the MAC of `buf[start, macAt)` into `buf` at `macAt`. */
export function writeMac(key: Buffer, buf: Buffer, start: number, macAt: number): void {
  const d = digest(key, buf.subarray(start, macAt));
  for (let i = 0; i < 8; i++) {
    buf[macAt + 2 * i] = HEX[d[i]! >> 4]!;
    buf[macAt + 2 * i + 1] = HEX[d[i]! & 15]!;
  }
}

/** Checks the 16 characters at `macAt` against the MAC of what precedes them, in constant time. */
export function macMatches(key: Buffer, body: Buffer, macAt: number): boolean {
  if (body.length - macAt < MAC_LENGTH) return false;
  const d = digest(key, body.subarray(0, macAt));
  let diff = 0;
  for (let i = 0; i < 8; i++) {
    diff |= body[macAt + 2 * i]! ^ HEX[d[i]! >> 4]!;
    diff |= body[macAt + 2 * i + 1]! ^ HEX[d[i]! & 15]!;
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
