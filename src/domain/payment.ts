import type { PaymentType } from './codes.js';

/**
 * The payment table: every attribute of a payment, once. Each row names the attribute, the kind
 * of its value, whether every payment has it, its ISO 8583 field (scheme-link.md section 3), its
 * element under CdtTrfTxInf in a pacs.008 where it has one (participant-mq.md section 3), its
 * ledger column (migrations/*_payments.sql), and whether it is personal data, which is never
 * logged. The scheme mapping, the ledger's rows and its commit statement loop over this table.
 *
 * Kinds: `text` as it is; `pence` integer pence (field 6 zero-padded, a bigint column);
 * `paymentType` field 3's first two digits; `fpid` a FPID held without its right padding.
 */
export const PAYMENT_ATTRIBUTES = [
  {
    name: 'type',
    kind: 'paymentType',
    required: true,
    field: 3,
    iso20022: 'PmtTpInf/LclInstrm/Prtry',
    column: 'payment_type',
    personal: false,
  },
  {
    name: 'amountPence',
    kind: 'pence',
    required: true,
    field: 6,
    iso20022: 'IntrBkSttlmAmt',
    column: 'amount_pence',
    personal: false,
  },
  { name: 'trn', kind: 'text', required: true, field: 31, iso20022: 'PmtId/TxId', column: 'trn', personal: false },
  /** YYYYMMDD */
  { name: 'dateSent', kind: 'text', required: true, field: 12, iso20022: null, column: 'date_sent', personal: false },
  {
    name: 'originatorSortCode',
    kind: 'text',
    required: true,
    field: 42,
    iso20022: 'DbtrAgt/FinInstnId/ClrSysMmbId/MmbId',
    column: 'originator_sort_code',
    personal: false,
  },
  {
    name: 'originatorAccount',
    kind: 'text',
    required: true,
    field: 43,
    iso20022: 'DbtrAcct/Id/Othr/Id',
    column: 'originator_account',
    personal: true,
  },
  {
    name: 'beneficiarySortCode',
    kind: 'text',
    required: true,
    field: 95,
    iso20022: 'CdtrAgt/FinInstnId/ClrSysMmbId/MmbId',
    column: 'beneficiary_sort_code',
    personal: false,
  },
  {
    name: 'beneficiaryAccount',
    kind: 'text',
    required: true,
    field: 35,
    iso20022: 'CdtrAcct/Id/Othr/Id',
    column: 'beneficiary_account',
    personal: true,
  },
  /** The sending FPS institution, 6 digits; in a pacs.008 only the gateway's own (inbound). */
  {
    name: 'institution',
    kind: 'text',
    required: true,
    field: 98,
    iso20022: 'InstgAgt/FinInstnId/ClrSysMmbId/MmbId',
    column: 'institution',
    personal: false,
  },
  /** YYYYMMDD; an xs:date in a pacs.008. */
  {
    name: 'settlementDate',
    kind: 'text',
    required: false,
    field: 15,
    iso20022: 'IntrBkSttlmDt',
    column: 'settlement_date',
    personal: false,
  },
  {
    name: 'settlementCycle',
    kind: 'text',
    required: false,
    field: 29,
    iso20022: null,
    column: 'settlement_cycle',
    personal: false,
  },
  {
    name: 'endToEndRef',
    kind: 'text',
    required: false,
    field: 62,
    iso20022: 'PmtId/EndToEndId',
    column: 'end_to_end_ref',
    personal: false,
  },
  {
    name: 'originatorName',
    kind: 'text',
    required: false,
    field: 116,
    iso20022: 'Dbtr/Nm',
    column: 'originator_name',
    personal: true,
  },
  {
    name: 'beneficiaryName',
    kind: 'text',
    required: false,
    field: 118,
    iso20022: 'Cdtr/Nm',
    column: 'beneficiary_name',
    personal: true,
  },
  {
    name: 'reference',
    kind: 'text',
    required: false,
    field: 120,
    iso20022: 'RmtInf/Strd/CdtrRefInf/Ref',
    column: 'reference',
    personal: false,
  },
  /** Free text the payer wrote: it may name anyone, so it is treated as personal. */
  {
    name: 'remittance',
    kind: 'text',
    required: false,
    field: 121,
    iso20022: 'RmtInf/Ustrd',
    column: 'remittance',
    personal: true,
  },
  /** Returns only. */
  {
    name: 'returnReason',
    kind: 'text',
    required: false,
    field: 126,
    iso20022: 'RmtInf/Strd/AddtlRmtInf',
    column: 'return_reason',
    personal: false,
  },
  /** Returns only: the FPID of the payment being returned (compact in a pacs.008). */
  {
    name: 'returnedFpid',
    kind: 'fpid',
    required: false,
    field: 127,
    iso20022: 'RmtInf/Strd/RfrdDocInf/Nb',
    column: 'returned_fpid',
    personal: false,
  },
] as const satisfies readonly AttributeSpec[];

export type AttributeKind = 'text' | 'pence' | 'paymentType' | 'fpid';

interface AttributeSpec {
  readonly name: string;
  readonly kind: AttributeKind;
  readonly required: boolean;
  readonly field: number;
  readonly iso20022: string | null;
  readonly column: string;
  readonly personal: boolean;
}

export type PaymentAttribute = (typeof PAYMENT_ATTRIBUTES)[number];
export type AttributeName = PaymentAttribute['name'];
export type RequiredAttribute = Extract<PaymentAttribute, { required: true }>;
export type OptionalAttribute = Extract<PaymentAttribute, { required: false }>;

/** The type of each kind's value in the domain. Money is integer pence. */
export interface DomainValues {
  text: string;
  pence: number;
  paymentType: PaymentType;
  fpid: string;
}

/** A payment's attributes with the value types `V` gives each kind (a layer may store some differently). */
export type AttributesOf<V extends Record<AttributeKind, unknown>> = {
  -readonly [A in RequiredAttribute as A['name']]: V[A['kind']];
} & {
  -readonly [A in OptionalAttribute as A['name']]?: V[A['kind']];
};

/** A payment: what the scheme, the ledger and the participants all say about it. */
export type PaymentAttributes = AttributesOf<DomainValues>;

/** The attributes that are personal data (account numbers, names, free text). */
export type PersonalAttributeName = Extract<PaymentAttribute, { personal: true }>['name'];
export const PERSONAL_ATTRIBUTES: readonly PersonalAttributeName[] = PAYMENT_ATTRIBUTES.flatMap((a) =>
  a.personal ? [a.name] : [],
);

/**
 * Builds a payment attribute by attribute from `value`, leaving out those it gives no value.
 * TypeScript cannot relate a looped row's name to its value's type, so the result is typed here,
 * once: `value` must give each attribute a value of its kind, which callers ensure by reading
 * through a table of codecs typed per kind. A missing required attribute is the caller's to prevent.
 */
export function attributesFrom<V extends Record<AttributeKind, unknown>>(
  value: (a: PaymentAttribute) => V[AttributeKind] | undefined,
): AttributesOf<V> {
  const out: Partial<Record<AttributeName, V[AttributeKind]>> = {};
  for (const a of PAYMENT_ATTRIBUTES) {
    const v = value(a);
    if (v !== undefined) out[a.name] = v;
  }
  return out as AttributesOf<V>;
}

/** The table's row for one attribute, by name. */
export function attribute<N extends AttributeName>(name: N): Extract<PaymentAttribute, { name: N }> {
  const row = PAYMENT_ATTRIBUTES.find((a) => a.name === name);
  if (row === undefined) throw new Error(`no payment attribute ${name}`);
  return row as Extract<PaymentAttribute, { name: N }>;
}
