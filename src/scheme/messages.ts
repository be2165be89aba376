import type { Fields, IsoMessage } from './codec.js';
import {
  PAYMENT_ATTRIBUTES,
  attributesFrom,
  type AttributeKind,
  type DomainValues,
  type PaymentAttributes,
} from '../domain/payment.js';
import { FIELDS, MESSAGE_TYPES, type ActionCode, type Mti, type PaymentType } from './profile.js';

/** A payment as the scheme carries it in a 9200 (section 3): the domain's payment, field by field. */
export type SchemePayment = PaymentAttributes;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Field 7: UTC `MMDDhhmmss`. */
export function transmissionTime(ms: number): string {
  // Every message carries it; within one second the text is the same.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(ms);
    lastText =
      pad(d.getUTCMonth() + 1, 2) +
      pad(d.getUTCDate(), 2) +
      pad(d.getUTCHours(), 2) +
      pad(d.getUTCMinutes(), 2) +
      pad(d.getUTCSeconds(), 2);
    lastSecond = second;
  }
  return lastText;
}
let lastSecond = NaN;
let lastText = '';

/** Fields 12 and 15: UTC `YYYYMMDD`. */
export function businessDate(ms: number): string {
  const d = new Date(ms);
  return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2);
}

/** Field 11 as sent: six digits. */
export function stanText(stan: number): string {
  return pad(stan, 6);
}

/**
 * The FPID (section 3): TRN + payment type + date sent + currency + sending institution, 42
 * characters with the TRN and institution padded to their field widths.
 */
export function fpidOf(fields: Fields): string {
  const pc = fields.get(3) ?? '';
  // The currency is always GBP (field 51), and some messages that name a payment (9430) lack it.
  return (
    (fields.get(31) ?? '').padEnd(18, ' ') +
    pc.slice(0, 2) +
    (fields.get(12) ?? '') +
    'GBP' +
    (fields.get(98) ?? '').padEnd(11, ' ')
  );
}

/** How each kind of payment attribute reads and writes its field. */
const FIELD_CODECS: {
  readonly [K in AttributeKind]: { write(v: DomainValues[K]): string; read(text: string): DomainValues[K] };
} = {
  text: { write: (v) => v, read: (text) => text },
  pence: { write: (v) => pad(v, 14), read: Number },
  // Field 3 is the type and four zeros; what the type's two digits are is the validator's to check.
  paymentType: { write: (v) => v + '0000', read: (text) => text.slice(0, 2) as PaymentType },
  // Canonical form: a FPID (127) is held without the institution's right padding.
  fpid: { write: (v) => v.trimEnd(), read: (text) => text },
};

const CURRENCY_FIELD = 51;

/** A payment's fields, one per attribute it has (the payment table), and the currency. */
export function paymentFields(p: SchemePayment): Map<number, string> {
  const f = new Map<number, string>();
  for (const a of PAYMENT_ATTRIBUTES) {
    const v = p[a.name];
    if (v !== undefined) f.set(a.field, writeField(a.kind, v));
  }
  f.set(CURRENCY_FIELD, 'GBP');
  return f;
}

/** Reads a payment from the fields of a decoded 9200, 9201, 9420 or 9421; a missing mandatory field reads as empty. */
export function paymentOf(fields: Fields): SchemePayment {
  return attributesFrom<DomainValues>((a) => {
    const text = fields.get(a.field) ?? (a.required ? '' : undefined);
    return text === undefined ? undefined : readField(a.kind, text);
  });
}

function readField<K extends AttributeKind>(kind: K, text: string): DomainValues[K] {
  return FIELD_CODECS[kind].read(text);
}

function writeField<K extends AttributeKind>(kind: K, value: DomainValues[K]): string {
  return FIELD_CODECS[kind].write(value);
}

/** Fields a response copies from its request (section 4 and R1 matching). */
const ECHOED = [3, 6, 11, 12, 24, 31, 51, 98];

/**
 * Builds the response to a request. Echoed fields come from the request; those it lacks (a
 * request refused by R11) go as zeros for `n` and spaces for `an` fields.
 */
export function responseTo(
  requestMti: Mti,
  request: Fields,
  action: ActionCode,
  now: number,
  extra: ReadonlyMap<number, string> = new Map(),
): IsoMessage {
  const mti = MESSAGE_TYPES[requestMti].response;
  if (mti === undefined) throw new Error(`${requestMti} is not a request`);
  const fields = new Map<number, string>();
  for (const n of MESSAGE_TYPES[mti].mandatory) {
    if (n === 128) continue;
    if (n === 7) fields.set(7, transmissionTime(now));
    else if (n === 26) fields.set(26, action);
    else if (ECHOED.includes(n)) fields.set(n, request.get(n) ?? blank(n));
  }
  for (const [n, v] of extra) fields.set(n, v);
  return { mti, fields };
}

function blank(n: number): string {
  const f = FIELDS.get(n)!.format;
  return f.kind === 'fixed' && f.charset === 'n' ? '0'.repeat(f.length) : '';
}

export function networkRequest(functionCode: string, now: number): IsoMessage {
  return {
    mti: '9804',
    fields: new Map([
      [7, transmissionTime(now)],
      [24, functionCode],
    ]),
  };
}

export function advice(functionCode: string, text: string, now: number): IsoMessage {
  return {
    mti: '9824',
    fields: new Map([
      [7, transmissionTime(now)],
      [24, functionCode],
      [120, text],
    ]),
  };
}
