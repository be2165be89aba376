/**
 * FPS ISO 8583 profile v1.1 (../shared/spec/scheme-link.md sections 3 and 4) as data: field formats,
 * message types and the codes the gateway and the simulator agree on.
 */

export const PROFILE_VERSION = 'v1.1';

export type Charset = 'n' | 'an' | 'ans';

export type FieldFormat =
  { kind: 'fixed'; charset: Charset; length: number } | { kind: 'llvar' | 'lllvar'; charset: Charset; max: number };

export interface FieldSpec {
  readonly name: string;
  readonly format: FieldFormat;
}

const fixed = (charset: Charset, length: number): FieldFormat => ({ kind: 'fixed', charset, length });
const llvar = (max: number): FieldFormat => ({ kind: 'llvar', charset: 'ans', max });
const lllvar = (max: number): FieldFormat => ({ kind: 'lllvar', charset: 'ans', max });

export const FIELDS: ReadonlyMap<number, FieldSpec> = new Map<number, FieldSpec>([
  [3, { name: 'processing code', format: fixed('n', 6) }],
  [6, { name: 'amount in pence', format: fixed('n', 14) }],
  [7, { name: 'transmission date/time', format: fixed('n', 10) }],
  [11, { name: 'message id', format: fixed('n', 6) }],
  [12, { name: 'date sent', format: fixed('n', 8) }],
  [15, { name: 'settlement date', format: fixed('n', 8) }],
  [24, { name: 'function code', format: fixed('n', 3) }],
  [26, { name: 'action code', format: fixed('n', 4) }],
  [29, { name: 'settlement cycle id', format: fixed('n', 2) }],
  [31, { name: 'TRN', format: fixed('an', 18) }],
  [35, { name: 'beneficiary account number', format: fixed('n', 8) }],
  [42, { name: 'originating sort code', format: fixed('n', 6) }],
  [43, { name: 'originating account number', format: fixed('n', 8) }],
  [44, { name: 'error data', format: llvar(99) }],
  [51, { name: 'currency', format: fixed('an', 3) }],
  [62, { name: 'end-to-end reference', format: llvar(35) }],
  [95, { name: 'beneficiary sort code', format: fixed('n', 6) }],
  [98, { name: 'sending FPS institution', format: fixed('an', 11) }],
  [116, { name: 'originator name', format: llvar(40) }],
  [118, { name: 'beneficiary name', format: llvar(40) }],
  [120, { name: 'payment reference / status text', format: llvar(18) }],
  [121, { name: 'remittance information', format: lllvar(140) }],
  [126, { name: 'return reason code', format: fixed('n', 8) }],
  [127, { name: 'FPID of the payment being returned', format: fixed('an', 42) }],
  [128, { name: 'MAC', format: fixed('an', 16) }],
]);

export const MAC_FIELD = 128;

export type Mti = '9200' | '9201' | '9210' | '9420' | '9421' | '9430' | '9804' | '9814' | '9824' | '9834';

export interface MessageTypeSpec {
  readonly meaning: string;
  readonly mandatory: readonly number[];
  /** Optional and conditional fields: allowed, not required (conditions are checked in `validate`). */
  readonly allowed: readonly number[];
  /** The response type for a request, absent for responses. */
  readonly response?: Mti;
}

const PAYMENT_MANDATORY = [3, 6, 7, 11, 12, 31, 35, 42, 43, 51, 95, 98, 128];
const PAYMENT_ALLOWED = [15, 29, 62, 116, 118, 120, 121, 126, 127];

/*
 * Field 44 is listed only for 9210, but R11 answers any request with a bad body by "its response
 * type and 9020 (field 44 says which field)". This profile therefore allows 44 on every response.
 */
export const MESSAGE_TYPES: Readonly<Record<Mti, MessageTypeSpec>> = {
  '9200': { meaning: 'payment request', mandatory: PAYMENT_MANDATORY, allowed: PAYMENT_ALLOWED, response: '9210' },
  '9201': {
    meaning: 'repeat payment request',
    mandatory: PAYMENT_MANDATORY,
    allowed: PAYMENT_ALLOWED,
    response: '9210',
  },
  '9210': { meaning: 'payment response', mandatory: [3, 6, 7, 11, 12, 26, 31, 51, 98, 128], allowed: [15, 29, 44] },
  '9420': { meaning: 'reversal request', mandatory: PAYMENT_MANDATORY, allowed: PAYMENT_ALLOWED, response: '9430' },
  '9421': {
    meaning: 'repeat reversal request',
    mandatory: PAYMENT_MANDATORY,
    allowed: PAYMENT_ALLOWED,
    response: '9430',
  },
  '9430': { meaning: 'reversal response', mandatory: [3, 7, 11, 12, 26, 31, 98, 128], allowed: [44] },
  '9804': { meaning: 'network management request', mandatory: [7, 11, 24, 128], allowed: [], response: '9814' },
  '9814': { meaning: 'network management response', mandatory: [7, 11, 24, 26, 128], allowed: [44] },
  '9824': { meaning: 'unsolicited advice', mandatory: [7, 11, 24, 120, 128], allowed: [], response: '9834' },
  '9834': { meaning: 'advice acknowledgement', mandatory: [7, 11, 24, 26, 128], allowed: [44] },
};

export function isMti(s: string): s is Mti {
  return Object.hasOwn(MESSAGE_TYPES, s);
}

export function isRequest(mti: Mti): boolean {
  return MESSAGE_TYPES[mti].response !== undefined;
}

/** Function codes, field 24. */
export const FunctionCode = {
  signOnSubmit: '881',
  signOnReceive: '891',
  signOffSubmit: '882',
  signOffReceive: '892',
  echo: '831',
  serviceStatus: '971',
} as const;

/** Action codes (field 26) and payment types (field 3) are the payment's own words: src/domain/codes.ts. */
export { ActionCode, PaymentType } from '../domain/codes.js';

/** The scheme's single payment limit (action code 1160 above it). */
export const PAYMENT_LIMIT_PENCE = 100_000_000;

/** Section 2. */
export const MAX_FRAME_BODY = 8192;
