import type { Fields, IsoMessage } from './codec.js';
import { FIELDS, MESSAGE_TYPES, type ActionCode, type Mti, type PaymentType } from './profile.js';

/** A payment as the scheme carries it in a 9200 (section 3). Money is integer pence. */
export interface SchemePayment {
  type: PaymentType;
  amountPence: number;
  trn: string;
  /** YYYYMMDD */
  dateSent: string;
  originatorSortCode: string;
  originatorAccount: string;
  beneficiarySortCode: string;
  beneficiaryAccount: string;
  /** Sending FPS institution, the 6-digit id. */
  institution: string;
  settlementDate?: string;
  settlementCycle?: string;
  endToEndRef?: string;
  originatorName?: string;
  beneficiaryName?: string;
  reference?: string;
  remittance?: string;
  returnReason?: string;
  returnedFpid?: string;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Field 7: UTC `MMDDhhmmss`. */
export function transmissionTime(ms: number): string {
  // Every message carries it; within one second the text is the same.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const d = new Date(ms);
    lastText = pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2);
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
  return (fields.get(31) ?? '').padEnd(18, ' ') + pc.slice(0, 2) + (fields.get(12) ?? '') + 'GBP' + (fields.get(98) ?? '').padEnd(11, ' ');
}

/** Optional payment fields: where each lives in a SchemePayment and on the wire. */
export const OPTIONAL_FIELDS: ReadonlyArray<readonly [keyof SchemePayment, number]> = [
  ['settlementDate', 15],
  ['settlementCycle', 29],
  ['endToEndRef', 62],
  ['originatorName', 116],
  ['beneficiaryName', 118],
  ['reference', 120],
  ['remittance', 121],
  ['returnReason', 126],
  ['returnedFpid', 127],
];

export function paymentFields(p: SchemePayment): Map<number, string> {
  const f = new Map<number, string>([
    [3, p.type + '0000'],
    [6, pad(p.amountPence, 14)],
    [12, p.dateSent],
    [31, p.trn],
    [35, p.beneficiaryAccount],
    [42, p.originatorSortCode],
    [43, p.originatorAccount],
    [51, 'GBP'],
    [95, p.beneficiarySortCode],
    [98, p.institution],
  ]);
  for (const [k, n] of OPTIONAL_FIELDS) {
    const v = p[k];
    // Canonical form: a FPID (127) is held without the institution's right padding.
    if (v !== undefined) f.set(n, n === 127 ? (v as string).trimEnd() : (v as string));
  }
  return f;
}

/** Reads a payment from the fields of a decoded 9200, 9201, 9420 or 9421. */
export function paymentOf(fields: Fields): SchemePayment {
  const get = (n: number): string => fields.get(n) ?? '';
  const p: SchemePayment = {
    type: get(3).slice(0, 2) as PaymentType,
    amountPence: Number(get(6)),
    trn: get(31),
    dateSent: get(12),
    originatorSortCode: get(42),
    originatorAccount: get(43),
    beneficiarySortCode: get(95),
    beneficiaryAccount: get(35),
    institution: get(98),
  };
  for (const [k, n] of OPTIONAL_FIELDS) {
    const v = fields.get(n);
    if (v !== undefined) (p as unknown as Record<string, string>)[k] = v;
  }
  return p;
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
  return { mti: '9804', fields: new Map([[7, transmissionTime(now)], [24, functionCode]]) };
}

export function advice(functionCode: string, text: string, now: number): IsoMessage {
  return { mti: '9824', fields: new Map([[7, transmissionTime(now)], [24, functionCode], [120, text]]) };
}
