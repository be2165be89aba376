import {
  FIELDS,
  MAC_FIELD,
  MESSAGE_TYPES,
  PROFILE_VERSION,
  isMti,
  PaymentType,
  FunctionCode,
  ActionCode,
  type Charset,
  type FieldFormat,
  type FieldSpec,
  type Mti,
} from './profile.js';
import { macMatches, MAC_LENGTH, writeMac } from './mac.js';
import { firstNonPrintable } from './framing.js';

/**
 * Field values are kept in canonical form: fixed `n` fields hold exactly their digits, fixed `an`
 * fields hold their text without the right padding, variable fields hold their content.
 */
export type Fields = ReadonlyMap<number, string>;

export interface IsoMessage {
  readonly mti: Mti;
  readonly fields: Fields;
}

/**
 * Why a body was refused. `field` is the field at fault (0 for the MTI, bitmaps and bytes outside
 * any field); `fields` holds what was read before the fault so that an answer can echo it (R11).
 */
export interface DecodeError {
  readonly code: 'format' | 'mac';
  readonly field: number;
  readonly reason: string;
  readonly mti?: Mti;
  readonly fields: Fields;
}

export type DecodeResult = { ok: true; message: IsoMessage } | { ok: false; error: DecodeError };

/** Fields 7 and 11 as a sender sets them at the moment of sending, over whatever the message holds. */
export interface Stamp {
  time: string;
  stan: string;
}

/** Thrown by `encode` for a message this gateway must never send: a bug, not bad input. */
export class ProfileError extends Error {
  constructor(
    readonly field: number,
    reason: string,
  ) {
    super(`field ${field}: ${reason}`);
    this.name = 'ProfileError';
  }
}

function inCharset(charset: Charset, value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ok =
      charset === 'n'
        ? c >= 48 && c <= 57
        : charset === 'an'
          ? (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
          : c >= 0x20 && c <= 0x7e;
    if (!ok) return false;
  }
  return true;
}

/** Field specs indexed by field number, and the profile's field numbers in ascending order. */
const FIELD_TABLE: ReadonlyArray<FieldSpec | undefined> = Array.from({ length: 129 }, (_, n) => FIELDS.get(n));
const FIELD_ORDER: readonly number[] = [...FIELDS.keys()].sort((a, b) => a - b);

/** Checks a canonical value against its field format; returns the reason it is wrong, or undefined. */
export function checkValue(spec: FieldSpec, value: string): string | undefined {
  const f = spec.format;
  if (f.kind === 'fixed') {
    if (f.charset === 'n') {
      if (value.length !== f.length) return `must be exactly ${f.length} digits`;
    } else if (value.length > f.length) {
      return `longer than ${f.length} characters`;
    }
  } else if (value.length > f.max) {
    return `longer than ${f.max} characters`;
  }
  if (!inCharset(f.charset, value)) return `not ${f.charset}`;
  return undefined;
}

/**
 * Section 4 and the rules of section 3 that are not formats: mandatory and allowed fields, the
 * type-20 conditional fields and the code tables. Requests are held to the tables; a response only
 * echoes, and R11 lets it echo zeros and spaces for what a refused request lacked.
 */
export function validate(mti: Mti, fields: Fields, stamped = false): { field: number; reason: string } | undefined {
  const spec = MESSAGE_TYPES[mti];
  for (const f of spec.mandatory) {
    // The MAC is checked by decode and written by encode; a stamp supplies 7 and 11.
    if (f !== MAC_FIELD && !fields.has(f) && !(stamped && (f === 7 || f === 11)))
      return { field: f, reason: `mandatory in ${mti}` };
  }
  const allowed = ALLOWED[mti];
  for (const f of fields.keys()) {
    if (allowed[f] !== 1) return { field: f, reason: `not allowed in ${mti}` };
  }
  const ac = fields.get(26);
  if (ac !== undefined && !ACTION_CODES.has(ac)) return { field: 26, reason: 'unknown action code' };
  if (spec.response === undefined) return undefined;
  const pc = fields.get(3);
  if (pc !== undefined) {
    const type = pc.slice(0, 2);
    if (!PAYMENT_TYPES.has(type) || pc.slice(2) !== '0000')
      return { field: 3, reason: 'unknown payment type or positions 3-6 not 0000' };
    const isReturn = type === PaymentType.return;
    for (const f of [126, 127]) {
      if (isReturn && !fields.has(f)) return { field: f, reason: 'mandatory for a return (type 20)' };
      if (!isReturn && fields.has(f)) return { field: f, reason: 'only for a return (type 20)' };
    }
  }
  const ccy = fields.get(51);
  if (ccy !== undefined && ccy !== 'GBP') return { field: 51, reason: 'currency must be GBP' };
  const fn = fields.get(24);
  if (fn !== undefined && !FUNCTION_CODES.has(fn)) return { field: 24, reason: 'unknown function code' };
  return paymentRule(fields);
}

/** Field 31 (section 3): the TRN is 18 characters `[A-Z0-9]`, narrower than the `an` charset. */
const TRN = /^[A-Z0-9]{18}$/;
/** Section 3: FPID = TRN (18) + payment type (2) + date sent (8) + `GBP` + institution (an 11, right-padded). */
const FPID = /^[A-Z0-9]{18}(\d{2})(\d{8})GBP[A-Za-z0-9]{1,11}$/;

/** A calendar date written `YYYYMMDD`. */
function isDate(text: string): boolean {
  const y = Number(text.slice(0, 4));
  const m = Number(text.slice(4, 6));
  const d = Number(text.slice(6, 8));
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/**
 * [R11] The value rules of a payment or reversal request that the charsets do not catch: a
 * request breaking them is refused 9020 by the codec, never taken. Zero pence breaks the
 * profile: a payment moves money (participant-mq.md refuses an amount not above zero too).
 */
function paymentRule(fields: Fields): { field: number; reason: string } | undefined {
  const amount = fields.get(6);
  if (amount !== undefined && /^0+$/.test(amount)) return { field: 6, reason: 'amount must be above zero' };
  const trn = fields.get(31);
  if (trn !== undefined && !TRN.test(trn)) return { field: 31, reason: 'TRN must be 18 characters [A-Z0-9]' };
  const returned = fields.get(127);
  if (returned !== undefined) {
    const m = FPID.exec(returned);
    if (m === null || !PAYMENT_TYPES.has(m[1]!) || !isDate(m[2]!))
      return { field: 127, reason: 'not a FPID: TRN, payment type, YYYYMMDD, GBP, institution' };
  }
  return undefined;
}

const ALLOWED = Object.fromEntries(
  Object.entries(MESSAGE_TYPES).map(([mti, t]) => {
    const table = new Uint8Array(129);
    for (const f of [...t.mandatory, ...t.allowed]) table[f] = 1;
    return [mti, table];
  }),
) as Record<Mti, Uint8Array>;
const ACTION_CODES = new Set<string>(Object.values(ActionCode));
const PAYMENT_TYPES = new Set<string>(Object.values(PaymentType));
const FUNCTION_CODES = new Set<string>(Object.values(FunctionCode));

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** Writes bitmap bits `from`..`from + 63` as 16 upper-case hex digits at `at`. */
function writeBitmap(out: Buffer, at: number, bits: Uint8Array, from: number): void {
  for (let i = 0; i < 16; i++) {
    const b = from + 4 * i;
    out[at + i] = HEX[(bits[b]! << 3) | (bits[b + 1]! << 2) | (bits[b + 2]! << 1) | bits[b + 3]!]!;
  }
}

/** Bytes a checked value takes on the wire: fixed fields their length, variable ones a prefix and the content. */
function encodedLength(f: FieldFormat, value: string): number {
  return f.kind === 'fixed' ? f.length : (f.kind === 'llvar' ? 2 : 3) + value.length;
}

/** Writes a checked value at `at` (its characters are all printable ASCII) and returns where it ends. */
function writeValue(out: Buffer, at: number, f: FieldFormat, value: string): number {
  if (f.kind === 'llvar') {
    out[at++] = 48 + Math.floor(value.length / 10);
    out[at++] = 48 + (value.length % 10);
  } else if (f.kind === 'lllvar') {
    out[at++] = 48 + Math.floor(value.length / 100);
    out[at++] = 48 + (Math.floor(value.length / 10) % 10);
    out[at++] = 48 + (value.length % 10);
  }
  for (let i = 0; i < value.length; i++) out[at++] = value.charCodeAt(i);
  // Right padding of a fixed `an` field; a fixed `n` value already has its length.
  if (f.kind === 'fixed') for (let i = value.length; i < f.length; i++) out[at++] = 0x20;
  return at;
}

/** The value of field `n` to send: fields 7 and 11 from the stamp when there is one. */
function sentValue(fields: Fields, n: number, stamp: Stamp | undefined): string | undefined {
  return stamp === undefined ? fields.get(n) : n === 7 ? stamp.time : n === 11 ? stamp.stan : fields.get(n);
}

/**
 * Encodes a message body with its MAC, after `headroom` bytes left for the caller (a frame header),
 * with fields 7 and 11 taken from `stamp` when given. Field 128 is computed here and must not be given. Throws
 * ProfileError for a message that breaks the profile: the gateway never puts one on the wire.
 * The body is written straight into its buffer, measured first, so that no text is built on the way.
 */
export function encode(message: IsoMessage, key: Buffer, headroom = 0, stamp?: Stamp): Buffer {
  const fields = message.fields;
  if (fields.has(MAC_FIELD)) throw new ProfileError(MAC_FIELD, 'the MAC is computed by encode');
  const invalid = validate(message.mti, fields, stamp !== undefined);
  if (invalid !== undefined) throw new ProfileError(invalid.field, invalid.reason);
  const bits = ENCODE_BITS.fill(0);
  // The MTI and both bitmaps.
  let length = 4 + 32;
  for (const n of FIELD_ORDER) {
    const value = sentValue(fields, n, stamp);
    if (value === undefined) continue;
    const spec = FIELD_TABLE[n]!;
    const wrong = checkValue(spec, value);
    if (wrong !== undefined) throw new ProfileError(n, wrong);
    bits[n] = 1;
    length += encodedLength(spec.format, value);
  }
  bits[1] = 1;
  bits[MAC_FIELD] = 1;
  const out = Buffer.allocUnsafe(headroom + length + MAC_LENGTH);
  let at = headroom;
  for (let i = 0; i < 4; i++) out[at++] = message.mti.charCodeAt(i);
  writeBitmap(out, at, bits, 1);
  writeBitmap(out, at + 16, bits, 65);
  at += 32;
  for (const n of FIELD_ORDER) {
    if (bits[n] === 1 && n !== MAC_FIELD)
      at = writeValue(out, at, FIELD_TABLE[n]!.format, sentValue(fields, n, stamp)!);
  }
  writeMac(key, out, headroom, at);
  return out;
}

/** Bitmap scratch space: encode and decode run to completion, so one each is enough. */
const ENCODE_BITS = new Uint8Array(129);
const DECODE_BITS = new Uint8Array(129);

function fail(mti: Mti, fields: Fields, code: DecodeError['code'], field: number, reason: string): DecodeResult {
  return { ok: false, error: { code, field, reason, mti, fields } };
}

function hexBits(text: string, at: number, bits: Uint8Array, first: number): boolean {
  for (let i = 0; i < 16; i++) {
    const c = text.charCodeAt(at + i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (v < 0) return false;
    const b = first + i * 4;
    bits[b] = (v >> 3) & 1;
    bits[b + 1] = (v >> 2) & 1;
    bits[b + 2] = (v >> 1) & 1;
    bits[b + 3] = v & 1;
  }
  return true;
}

/**
 * Decodes and verifies one body. Never throws: any byte string yields a message or a DecodeError
 * naming the field at fault (R11).
 *
 * [R11] A field whose content is wrong does not stop the reading while the next field can still
 * be found (a fixed field by its length, a variable one by a valid length prefix): the fields
 * after it are read, so that the answer echoes field 11 and the other echoed fields. The wrong
 * field itself is left out (its answer carries zeros or spaces there).
 *
 * Order of checks: the structure (MTI, bitmaps, every field located, nothing after the last);
 * then the MAC, as soon as the structure lets it be found, so that a body altered in transit is
 * answered 9068 whatever its content; then the first field whose content is wrong; then the
 * section 4 rules and this profile's value rules. A body that cannot be read as far as its MAC
 * is answered 9020.
 */
export function decode(body: Buffer, key: Buffer): DecodeResult {
  const fields = new Map<number, string>();
  const bad = firstNonPrintable(body);
  if (bad >= 0)
    return {
      ok: false,
      error: { code: 'format', field: 0, reason: `byte ${body[bad]} at offset ${bad} is not printable ASCII`, fields },
    };
  const text = body.toString('latin1');
  const mti = text.slice(0, 4);
  if (!isMti(mti))
    return { ok: false, error: { code: 'format', field: 0, reason: `unknown message type "${mti}"`, fields } };
  const bits = DECODE_BITS.fill(0);
  if (text.length < 20 || !hexBits(text, 4, bits, 1))
    return fail(mti, fields, 'format', 0, 'primary bitmap is not 16 upper-case hex digits');
  let pos = 20;
  if (bits[1] === 1) {
    if (text.length < 36 || !hexBits(text, 20, bits, 65))
      return fail(mti, fields, 'format', 0, 'secondary bitmap is not 16 upper-case hex digits');
    pos = 36;
  }
  let macAt = -1;
  /** The first field whose content is wrong, reported once the structure and the MAC are known good. */
  let wrongField = 0;
  let wrongReason = '';
  for (let n = 2; n <= 128; n++) {
    if (bits[n] === 0) continue;
    const spec = FIELD_TABLE[n];
    // Past any of these the next field cannot be found: the structure is broken here.
    if (spec === undefined) return fail(mti, fields, 'format', n, `not in profile ${PROFILE_VERSION}`);
    const f = spec.format;
    let value: string;
    if (f.kind === 'fixed') {
      if (pos + f.length > text.length) return fail(mti, fields, 'format', n, 'message ends inside the field');
      value = text.slice(pos, pos + f.length);
      if (f.charset !== 'n') value = value.trimEnd();
      if (n === MAC_FIELD) macAt = pos;
      pos += f.length;
    } else {
      const digits = f.kind === 'llvar' ? 2 : 3;
      const lenText = text.slice(pos, pos + digits);
      if (lenText.length < digits || !inCharset('n', lenText))
        return fail(mti, fields, 'format', n, 'length prefix is not digits');
      const len = Number(lenText);
      if (len > f.max) return fail(mti, fields, 'format', n, `length ${len} over ${f.max}`);
      if (pos + digits + len > text.length) return fail(mti, fields, 'format', n, 'message ends inside the field');
      value = text.slice(pos + digits, pos + digits + len);
      pos += digits + len;
    }
    const wrong = checkValue(spec, value);
    if (wrong !== undefined) {
      if (wrongField === 0) {
        wrongField = n;
        wrongReason = wrong;
      }
    } else if (n !== MAC_FIELD) {
      // The MAC is checked below and is not part of the message handed on.
      fields.set(n, value);
    }
  }
  if (pos !== text.length) return fail(mti, fields, 'format', 0, `${text.length - pos} bytes after the last field`);
  if (macAt < 0) return fail(mti, fields, 'format', MAC_FIELD, `mandatory in ${mti}`);
  if (!macMatches(key, body, macAt)) return fail(mti, fields, 'mac', MAC_FIELD, 'MAC verification failed');
  if (wrongField !== 0) return fail(mti, fields, 'format', wrongField, wrongReason);
  const invalid = validate(mti, fields);
  if (invalid !== undefined) return fail(mti, fields, 'format', invalid.field, invalid.reason);
  return { ok: true, message: { mti, fields } };
}
