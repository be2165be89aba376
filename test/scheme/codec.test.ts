import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode, type IsoMessage } from '../../src/scheme/codec.js';
import { computeMac } from '../../src/scheme/mac.js';
import { fpidOf, paymentFields, responseTo } from '../../src/scheme/messages.js';
import { FIELDS, MESSAGE_TYPES, type Mti } from '../../src/scheme/profile.js';
import { messageArb } from '../support/arbitraries.js';
import { fieldOffsets, remac, withContent } from '../support/bodies.js';
import { baseReturnFields } from '../support/iso20022-arbitraries.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** A valid 9804 sign-on (881), STAN 000001. */
const signOn881 = (): IsoMessage => ({
  mti: '9804',
  fields: new Map([
    [7, '1122093015'],
    [11, '000001'],
    [24, '881'],
  ]),
});

/** Fields a 9210 or 9430 echoes (section 4), besides 11. */
const ECHOED = [3, 12, 31, 98];

describe('codec: profile v1', () => {
  it('encodes the worked example of section 9 byte for byte', () => {
    const fields = paymentFields({
      type: '10',
      amountPence: 1250,
      trn: 'TRN00000000000001A',
      dateSent: '20261122',
      settlementDate: '20261122',
      settlementCycle: '01',
      originatorSortCode: '040004',
      originatorAccount: '87654321',
      beneficiarySortCode: '200000',
      beneficiaryAccount: '12345678',
      institution: '040004',
    });
    fields.set(7, '1122093015').set(11, '000042');
    const body = encode({ mti: '9200', fields }, KEY).toString('latin1');
    const expectedWithoutMac =
      '9200' +
      'A632000A20602000' +
      '0000000240000001' +
      '100000' +
      '00000000001250' +
      '1122093015' +
      '000042' +
      '20261122' +
      '20261122' +
      '01' +
      'TRN00000000000001A' +
      '12345678' +
      '040004' +
      '87654321' +
      'GBP' +
      '200000' +
      '040004     ';
    expect(body.slice(0, -16)).toBe(expectedWithoutMac);
    expect(body.slice(-16)).toBe(computeMac(KEY, Buffer.from(expectedWithoutMac, 'latin1')));
    expect(fpidOf(fields)).toBe('TRN00000000000001A' + '10' + '20261122' + 'GBP' + '040004     ');
    expect(fpidOf(fields)).toHaveLength(42);
  });

  it('round-trips every message type', () => {
    fc.assert(
      fc.property(messageArb, (m: IsoMessage) => {
        const result = decode(encode(m, KEY), KEY);
        expect(result).toEqual({ ok: true, message: m });
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary bytes: a message or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = decode(Buffer.from(bytes), KEY);
        if (!r.ok) {
          expect(['format', 'mac']).toContain(r.error.code);
          expect(r.error.field).toBeGreaterThanOrEqual(0);
          expect(r.error.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutations of valid messages, and names a field', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (m, at, byte) => {
        const body = Buffer.from(encode(m, KEY));
        const i = at % body.length;
        const changed = body[i] !== byte;
        body[i] = byte;
        const r = decode(body, KEY);
        // A one-byte change is either caught or, when the byte did not change, accepted.
        expect(r.ok).toBe(!changed);
        if (!r.ok) expect(r.error.field).toBeLessThanOrEqual(128);
      }),
      { numRuns: 3000 },
    );
  });

  it('reports a bad MAC as code mac with the parsed fields for the 9068 answer', () => {
    const m = signOn881();
    const other = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');
    const r = decode(encode(m, other), KEY);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'mac', field: 128, mti: '9804' });
      expect(r.error.fields.get(11)).toBe('000001');
    }
  });

  it('names the field of a format error (9020 / field 44)', () => {
    const m = signOn881();
    const text = encode(m, KEY).toString('latin1');
    const r = decode(remac(text.replace('000001881', '00000188X'), KEY), KEY);
    expect(r).toMatchObject({ ok: false, error: { code: 'format', field: 24, reason: 'not n' } });
    // The MAC is checked before content: the same body with its old MAC was altered in transit.
    expect(decode(Buffer.from(text.replace('000001881', '00000188X'), 'latin1'), KEY)).toMatchObject({
      ok: false,
      error: { code: 'mac', field: 128 },
    });
    const missing = decode(Buffer.from('9804' + '0200000000000000' + '1122093015', 'latin1'), KEY);
    expect(missing).toMatchObject({ ok: false, error: { code: 'format', field: 128 } });
    expect(decode(Buffer.from('9999', 'latin1'), KEY)).toMatchObject({ ok: false, error: { field: 0 } });
  });

  it('refuses to encode what breaks the profile', () => {
    expect(() =>
      encode(
        {
          mti: '9804',
          fields: new Map([
            [7, '1'],
            [11, '000001'],
            [24, '881'],
          ]),
        },
        KEY,
      ),
    ).toThrow(/field 7/);
    expect(() =>
      encode(
        {
          mti: '9804',
          fields: new Map([
            [7, '1122093015'],
            [24, '881'],
          ]),
        },
        KEY,
      ),
    ).toThrow(/field 11: mandatory/);
    expect(() =>
      encode(
        {
          mti: '9804',
          fields: new Map([
            [7, '1122093015'],
            [11, '000001'],
            [24, '881'],
            [5, '1'],
          ]),
        },
        KEY,
      ),
    ).toThrow(/field 5/);
  });

  it('answers a refused request with zeros and spaces where nothing can be echoed (R11)', () => {
    for (const mti of Object.keys(MESSAGE_TYPES) as Mti[]) {
      if (MESSAGE_TYPES[mti].response === undefined) continue;
      const answer = responseTo(mti, new Map(), '9020', Date.UTC(2026, 10, 22), new Map([[44, '000 unknown']]));
      const r = decode(encode(answer, KEY), KEY);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.message.fields.get(11)).toBe('000000');
    }
  });

  it('reads on past a field whose content is wrong, naming it and keeping 11 and the echoed fields (R11)', () => {
    const paymentRequest = messageArb.filter((m) => m.mti === '9200' || m.mti === '9420');
    fc.assert(
      fc.property(paymentRequest, fc.nat(), fc.nat(), (original, pick, at) => {
        const m: IsoMessage = {
          mti: original.mti,
          fields: new Map(original.fields).set(7, '1122093015').set(11, '000042'),
        };
        const fixed = [...m.fields.keys()].filter((n) => FIELDS.get(n)!.format.kind === 'fixed').sort((a, b) => a - b);
        const field = fixed[pick % fixed.length]!;
        const format = FIELDS.get(field)!.format as { length: number; charset: string };
        const start = fieldOffsets(m).get(field)! + (at % format.length);
        const text = encode(m, KEY).toString('latin1');
        // Same length, a character outside the field's charset, and a valid MAC over the result.
        const corrupted = text.slice(0, start) + (format.charset === 'n' ? 'A' : '-') + text.slice(start + 1);
        const r = decode(remac(corrupted, KEY), KEY);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error).toMatchObject({ code: 'format', field, mti: m.mti });
        expect(r.error.fields.has(field)).toBe(false);
        for (const n of [11, ...ECHOED].filter((n) => n !== field))
          expect(r.error.fields.get(n), `field ${n}`).toBe(m.fields.get(n));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a payment request that breaks the profile beyond its charsets, naming the field (R11)', () => {
    const base = paymentFields(baseReturnFields);
    base.set(7, '1122093015').set(11, '000042');
    expect(decode(encode({ mti: '9200', fields: base }, KEY), KEY).ok).toBe(true);
    const cases: Array<[number, string, RegExp]> = [
      [31, 'trn00000000000001a', /TRN/],
      [127, 'TRN00000000000000991020261121', /FPID/], // 19 characters where the TRN is 18
      [127, 'TRN0000000000000991020261321', /FPID/], // month 13
      [127, 'TRN0000000000000995020261121', /FPID/], // payment type 50
      [127, 'TRN0000000000000991020261121EUR', /FPID/],
      [6, '00000000000000', /above zero/],
    ];
    for (const [n, value, reason] of cases) {
      const r = decode(withContent({ mti: '9200', fields: base }, n, value, KEY), KEY);
      expect(r, `${n} ${value}`).toMatchObject({
        ok: false,
        error: { code: 'format', field: n, reason: expect.stringMatching(reason) },
      });
      if (!r.ok) expect(r.error.fields.get(11)).toBe('000042');
    }
    // The gateway never sends one either.
    expect(() => encode({ mti: '9200', fields: new Map(base).set(31, 'trn00000000000001a') }, KEY)).toThrow(/field 31/);
    expect(() => encode({ mti: '9200', fields: new Map(base).set(6, '00000000000000') }, KEY)).toThrow(/field 6/);
  });
});
