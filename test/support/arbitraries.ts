import fc from 'fast-check';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { ActionCode, FIELDS, FunctionCode, MESSAGE_TYPES, PaymentType, type Mti } from '../../src/scheme/profile.js';

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));
const DIGITS = '0123456789';
const UPPER_ALNUM = DIGITS + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = UPPER_ALNUM + 'abcdefghijklmnopqrstuvwxyz';
const dateArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10).replaceAll('-', ''));
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

/** A canonical value for a field: what decode returns for it. */
function valueArb(n: number): fc.Arbitrary<string> {
  if (n === 3) return fc.constantFrom(...Object.values(PaymentType)).map((t) => t + '0000');
  if (n === 24) return fc.constantFrom(...Object.values(FunctionCode));
  if (n === 26) return fc.constantFrom(...Object.values(ActionCode));
  if (n === 51) return fc.constant('GBP');
  // This profile's value rules for payment requests (codec `paymentRule`): any response echoes them too.
  if (n === 6) return fc.integer({ min: 1, max: 99_999_999_999_999 }).map((p) => String(p).padStart(14, '0'));
  if (n === 31) return chars(UPPER_ALNUM, 18, 18);
  if (n === 127)
    return fc
      .tuple(chars(UPPER_ALNUM, 18, 18), fc.constantFrom(...Object.values(PaymentType)), dateArb, chars(ALNUM, 1, 11))
      .map(([t, p, d, i]) => t + p + d + 'GBP' + i);
  const f = FIELDS.get(n)!.format;
  if (f.kind === 'fixed') return f.charset === 'n' ? chars(DIGITS, f.length, f.length) : chars(ALNUM, 0, f.length);
  return chars(PRINTABLE, 0, f.max);
}

/** Any valid message of any type, with the type-20 fields present exactly for returns. */
export const messageArb: fc.Arbitrary<IsoMessage> = fc
  .constantFrom(...(Object.keys(MESSAGE_TYPES) as Mti[]))
  .chain((mti) => {
    const spec = MESSAGE_TYPES[mti];
    const mandatory = spec.mandatory.filter((n) => n !== 128);
    const optional = spec.allowed.filter((n) => n !== 126 && n !== 127);
    return fc
      .tuple(
        fc.tuple(...mandatory.map((n) => valueArb(n))),
        fc.subarray(optional),
        fc.tuple(...optional.map((n) => valueArb(n))),
        fc.tuple(valueArb(126), valueArb(127)),
      )
      .map(([req, chosen, optValues, ret]) => {
        const fields = new Map<number, string>();
        mandatory.forEach((n, i) => fields.set(n, req[i]!));
        optional.forEach((n, i) => chosen.includes(n) && fields.set(n, optValues[i]!));
        if (spec.response !== undefined && fields.get(3)?.startsWith('20') && spec.allowed.includes(126)) {
          fields.set(126, ret[0]).set(127, ret[1]);
        }
        return { mti, fields };
      });
  });
