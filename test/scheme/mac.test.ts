import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeMac, MAC_LENGTH, macMatches, writeMac } from '../../src/scheme/mac.js';

/** What section 8 asks for, by node's own HMAC: the reference the prepared pads must match. */
const reference = (key: Buffer, data: Buffer): string =>
  createHmac('sha256', key).update(data).digest('hex').slice(0, MAC_LENGTH).toUpperCase();

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** RFC 4231 section 4, HMAC-SHA-256: key, data, and the start of the expected digest. */
const RFC_4231: ReadonlyArray<[string, Buffer, Buffer, string]> = [
  ['1', Buffer.alloc(20, 0x0b), Buffer.from('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b'],
  ['2', Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c7'],
  ['3', Buffer.alloc(20, 0xaa), Buffer.alloc(50, 0xdd), '773ea91e36800e46854db8ebd09181a7'],
  [
    '4',
    Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1)),
    Buffer.alloc(50, 0xcd),
    '82558a389a443c0ea4cc819899f2083a',
  ],
  ['5', Buffer.alloc(20, 0x0c), Buffer.from('Test With Truncation'), 'a3b6167473100ee06e0c796c2955552b'],
  [
    '6',
    Buffer.alloc(131, 0xaa),
    Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
    '60e431591ee0b67f0d8a26aacbf5b77f',
  ],
  [
    '7',
    Buffer.alloc(131, 0xaa),
    Buffer.from(
      'This is a test using a larger than block-size key and a larger than block-size data.' +
        ' The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    '9b09ffa71b942fcb27635fbcd5b0e944',
  ],
];

describe('mac: HMAC-SHA256 from prepared pads', () => {
  it.each(RFC_4231)('matches RFC 4231 test case %s', (_, key, data, expected) => {
    expect(computeMac(key, data)).toBe(expected.slice(0, MAC_LENGTH).toUpperCase());
  });

  it('matches createHmac for any key and message', () => {
    fc.assert(
      fc.property(bytes(200), bytes(600), (key, data) => {
        expect(computeMac(key, data)).toBe(reference(key, data));
      }),
      { numRuns: 1000 },
    );
  });

  it('matches createHmac for messages past the frame limit, and after them', () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    fc.assert(
      fc.property(fc.integer({ min: 8000, max: 20_000 }), bytes(300), (length, small) => {
        const large = Buffer.alloc(length, length % 251);
        expect(computeMac(key, large)).toBe(reference(key, large));
        expect(computeMac(key, small)).toBe(reference(key, small));
      }),
      { numRuns: 30 },
    );
  });

  it('keeps keys apart: messages under several keys in any order', () => {
    fc.assert(
      fc.property(
        fc.array(bytes(80), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), bytes(300)), { maxLength: 20 }),
        (keys, uses) => {
          for (const [pick, data] of uses) {
            const key = keys[pick % keys.length]!;
            expect(computeMac(key, data)).toBe(reference(key, data));
          }
        },
      ),
    );
  });

  it('writes the MAC of a slice in place and checks it, refusing any other 16 characters', () => {
    fc.assert(
      fc.property(
        bytes(64),
        fc.nat({ max: 8 }),
        bytes(300),
        fc.nat(),
        fc.integer({ min: 0x20, max: 0x7e }),
        (key, headroom, data, at, byte) => {
          const buf = Buffer.alloc(headroom + data.length + MAC_LENGTH, 0x2a);
          data.copy(buf, headroom);
          const macAt = headroom + data.length;
          writeMac(key, buf, headroom, macAt);
          expect(buf.subarray(0, headroom).every((b) => b === 0x2a)).toBe(true);
          expect(buf.subarray(headroom, macAt).equals(data)).toBe(true);
          expect(buf.toString('latin1', macAt)).toBe(reference(key, data));
          const body = buf.subarray(headroom);
          expect(macMatches(key, body, data.length)).toBe(true);
          const i = data.length + (at % MAC_LENGTH);
          const altered = Buffer.from(body);
          altered[i] = byte;
          expect(macMatches(key, altered, data.length)).toBe(byte === body[i]);
          expect(macMatches(key, body.subarray(0, body.length - 1), data.length)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
