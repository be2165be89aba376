import { createHmac, timingSafeEqual } from 'node:crypto';

/** Length of field 128 on the wire: 8 bytes of HMAC as upper-case hex. */
export const MAC_LENGTH = 16;

/** Section 8: the first 8 bytes of HMAC-SHA256(key, body up to field 128), upper-case hex. */
export function computeMac(key: Buffer, bodyBeforeMac: Buffer): string {
  return createHmac('sha256', key).update(bodyBeforeMac).digest().subarray(0, 8).toString('hex').toUpperCase();
}

export function macMatches(key: Buffer, bodyBeforeMac: Buffer, mac: string): boolean {
  const expected = Buffer.from(computeMac(key, bodyBeforeMac), 'latin1');
  const given = Buffer.from(mac, 'latin1');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Parses a MAC key given as hex in configuration; refuses anything that is not whole bytes of hex. */
export function parseMacKey(hex: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2}){16,64}$/.test(hex)) {
    throw new Error('MAC key must be 16 to 64 bytes given as hex');
  }
  return Buffer.from(hex, 'hex');
}
