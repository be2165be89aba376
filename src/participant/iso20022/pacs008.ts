import { attribute, type PaymentAttribute } from '../../domain/payment.js';
import { PaymentType } from '../../scheme/profile.js';
import { fpidOf, paymentFields, type SchemePayment } from '../../scheme/messages.js';
import type { Instruction } from '../../payments/participant-port.js';

export type { Instruction };
import { formatPence, readPence } from './amount.js';
import { optionalField, requiredField, schemeField } from './formats.js';
import { checkOneTransaction, settledGroupHeader } from './header.js';
import { parseMessage, withoutAbsent, type ParseOptions, type Rejection } from './parse.js';
import { Refusal, optionalElement, optionalText, requiredText, writeDocument, type XmlNode } from './xml.js';

export interface Pacs008Build {
  /** GrpHdr/MsgId, chosen by the gateway. */
  msgId: string;
  /** GrpHdr/CreDtTm, epoch milliseconds. */
  createdAt: number;
  payment: SchemePayment;
  /** A participant's instruction (simulators, tests): without the inbound-only ClrSysRef and InstgAgt. */
  instruction?: boolean;
}

export type Pacs008Parse = { ok: true; instruction: Instruction } | Rejection;

/** Field 3's payment type as LclInstrm/Prtry. */
const LOCAL_INSTRUMENTS: Readonly<Record<PaymentType, string>> = {
  [PaymentType.sip]: 'SIP',
  [PaymentType.return]: 'RTN',
  [PaymentType.sop]: 'SOP',
  [PaymentType.fdp]: 'FDP',
};
const PAYMENT_TYPES = new Map(Object.entries(LOCAL_INSTRUMENTS).map(([type, code]) => [code, type as PaymentType]));

/** EndToEndId is mandatory in ISO, field 62 optional in the scheme: ISO's own "none given" value. */
const NO_END_TO_END_ID = 'NOTPROVIDED';

/*
 * A FPID is 42 characters, but ClrSysRef and RfrdDocInf/Nb (field 127) are Max35Text. They carry
 * the compact form (participant-mq.md section 3): the FPID without what the profile fixes, the
 * currency (always GBP) and the 5 spaces padding the 6-digit institution. The 34 characters left
 * restore the FPID exactly.
 */
const FPID = /^([A-Z0-9]{18}[0-9]{10})GBP([0-9]{6}) {5}$/;
const COMPACT_FPID = /^([A-Z0-9]{18}[0-9]{10})([0-9]{6})$/;

const TX = 'CdtTrfTxInf';

/** The attributes a pacs.008 carries (the payment table gives each its element under CdtTrfTxInf). */
type CarriedAttribute = Extract<PaymentAttribute, { iso20022: string }>['name'];

/** Where an attribute lives in a pacs.008. */
const element = (name: CarriedAttribute): string => `${TX}/${attribute(name).iso20022}`;
const requiredAttribute = (m: XmlNode, name: CarriedAttribute): string =>
  requiredField(m, element(name), attribute(name).field);
const optionalAttribute = (m: XmlNode, name: CarriedAttribute): string | undefined =>
  optionalField(m, element(name), attribute(name).field);

/*
 * Fixed values for elements the XSD requires and the link's table leaves open (besides the group
 * header's, see header.ts):
 * - ChrgBr SLEV: charges follow the scheme's rules; FPS deducts nothing from the amount.
 * - ClrSysMmbId/ClrSysId/Cd GBDSC: the agents' member ids are UK domestic sort codes.
 * - Dbtr and Cdtr are written empty when fields 116 and 118 are absent (ISO requires the parties).
 */
const SORT_CODE_SCHEME = { Cd: 'GBDSC' };
/** InstgAgt's member id is an FPS institution id (field 98), not a sort code: FPS's own, proprietary scheme. */
const INSTITUTION_SCHEME = { Prtry: 'FPS' };

/** The gateway's inbound payment to the participant. Empty optional fields are left out. */
export function buildPacs008(p: Pacs008Build): string {
  const pay = p.payment;
  const isReturn = pay.type === PaymentType.return;
  const reference = given(pay.reference);
  const strd = reference !== undefined || isReturn;
  const inbound = p.instruction !== true;
  return writeDocument('pacs.008', {
    GrpHdr: settledGroupHeader(p.msgId, p.createdAt),
    CdtTrfTxInf: {
      // Participant-mq.md v1.1: the FPID in compact form, so that the participant can name the payment later.
      PmtId: {
        EndToEndId: given(pay.endToEndRef) ?? NO_END_TO_END_ID,
        TxId: pay.trn,
        ...(inbound && { ClrSysRef: compactFpid(fpidOf(paymentFields(pay))) }),
      },
      PmtTpInf: { LclInstrm: { Prtry: LOCAL_INSTRUMENTS[pay.type] } },
      IntrBkSttlmAmt: { '@_Ccy': 'GBP', '#text': formatPence(pay.amountPence) },
      ...(pay.settlementDate !== undefined && { IntrBkSttlmDt: isoDate(pay.settlementDate) }),
      ChrgBr: 'SLEV',
      ...(inbound && {
        InstgAgt: { FinInstnId: { ClrSysMmbId: { ClrSysId: INSTITUTION_SCHEME, MmbId: pay.institution } } },
      }),
      Dbtr: party(pay.originatorName),
      DbtrAcct: account(pay.originatorAccount),
      DbtrAgt: agent(pay.originatorSortCode),
      CdtrAgt: agent(pay.beneficiarySortCode),
      Cdtr: party(pay.beneficiaryName),
      CdtrAcct: account(pay.beneficiaryAccount),
      ...((given(pay.remittance) !== undefined || strd) && {
        RmtInf: {
          ...(given(pay.remittance) !== undefined && { Ustrd: pay.remittance }),
          ...(strd && {
            Strd: {
              ...(isReturn && {
                RfrdDocInf: { Nb: compactFpid(required(pay.returnedFpid, 'returnedFpid (field 127)')) },
              }),
              ...(reference !== undefined && { CdtrRefInf: { Ref: reference } }),
              ...(isReturn && { AddtlRmtInf: required(pay.returnReason, 'returnReason (field 126)') }),
            },
          }),
        },
      }),
    },
  });
}

/** A participant's outbound pacs.008: schema first, then the scheme fields' formats. */
export function parsePacs008(xml: string, options: ParseOptions = {}): Pacs008Parse {
  const r = parseMessage(
    'pacs.008',
    xml,
    { endToEndId: element('endToEndRef'), trn: element('trn') },
    readInstruction,
    options,
  );
  return r.ok ? { ok: true, instruction: r.value } : r;
}

function readInstruction(m: XmlNode): Instruction {
  checkOneTransaction(m, TX);
  const lclInstrm = element('type');
  const type = PAYMENT_TYPES.get(requiredText(m, lclInstrm, 'field 3, payment type'));
  if (type === undefined)
    throw new Refusal(`${lclInstrm} (field 3) must be one of ${[...PAYMENT_TYPES.keys()].join(', ')}`);
  const endToEnd = requiredText(m, element('endToEndRef'), 'field 62');
  return withoutAbsent<Instruction>({
    msgId: requiredText(m, 'GrpHdr/MsgId', 'message id'),
    trn: requiredAttribute(m, 'trn'),
    type,
    amountPence: readPence(m, element('amountPence')),
    originatorName: optionalAttribute(m, 'originatorName'),
    originatorAccount: requiredAttribute(m, 'originatorAccount'),
    originatorSortCode: requiredAttribute(m, 'originatorSortCode'),
    beneficiaryName: optionalAttribute(m, 'beneficiaryName'),
    beneficiaryAccount: requiredAttribute(m, 'beneficiaryAccount'),
    beneficiarySortCode: requiredAttribute(m, 'beneficiarySortCode'),
    endToEndRef:
      endToEnd === NO_END_TO_END_ID
        ? undefined
        : schemeField(attribute('endToEndRef').field, endToEnd, element('endToEndRef')),
    settlementDate: readDate(m, element('settlementDate')),
    remittance: optionalAttribute(m, 'remittance'),
    fpid: readCompactFpid(m, `${TX}/PmtId/ClrSysRef`, "the payment's FPID"),
    instructingAgent: readInstitution(m, element('institution')),
    ...readStructured(m, type),
  });
}

/** Field 120, and for a return its fields 126 and 127, from the one RmtInf/Strd. */
function readStructured(
  m: XmlNode,
  type: PaymentType,
): Pick<Instruction, 'reference' | 'returnReason' | 'returnedFpid'> {
  const strd = `${TX}/RmtInf/Strd`;
  optionalElement(m, strd); // refuses a repeated Strd: the fields below must come from one

  const nb = readCompactFpid(m, element('returnedFpid'), 'field 127');
  const reason = optionalAttribute(m, 'returnReason');
  const reference = optionalAttribute(m, 'reference');
  if (type !== PaymentType.return) {
    if (nb !== undefined || reason !== undefined)
      throw new Refusal(`${strd}/RfrdDocInf/Nb and AddtlRmtInf (fields 127, 126) are only for a return (RTN)`);
    return { reference };
  }
  if (reason === undefined)
    throw new Refusal(`${strd}/AddtlRmtInf (field 126, return reason code) is mandatory for a return (RTN)`);
  if (nb === undefined)
    throw new Refusal(
      `${strd}/RfrdDocInf/Nb (field 127, FPID of the payment being returned) is mandatory for a return (RTN)`,
    );
  return { reference, returnReason: reason, returnedFpid: nb };
}

/** Field 98 as InstgAgt carries it: the institution's 6 digits, without the scheme's padding. */
function readInstitution(m: XmlNode, path: string): string | undefined {
  const text = optionalText(m, path);
  if (text !== undefined && !/^[0-9]{6}$/.test(text))
    throw new Refusal(`${path} (field 98, sending institution) must be 6 digits`);
  return text;
}

/** A compact FPID element read back as the 42-character FPID; undefined when absent. */
function readCompactFpid(m: XmlNode, path: string, what: string): string | undefined {
  const text = optionalText(m, path);
  if (text === undefined) return undefined;
  const fpid = COMPACT_FPID.exec(text);
  if (fpid === null)
    throw new Refusal(
      `${path} (${what}) must be a FPID without its currency and padding: 18 characters A-Z 0-9, then 16 digits`,
    );
  return `${fpid[1]}GBP${fpid[2]}     `;
}

/** xs:date (collapsed whitespace, optional time zone) to the scheme's YYYYMMDD. */
function readDate(m: XmlNode, path: string): string | undefined {
  const text = optionalText(m, path);
  if (text === undefined) return undefined;
  const d = /^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?$/.exec(text.trim());
  if (d === null) throw new Refusal(`${path} must be a date YYYY-MM-DD`);
  return d[1]! + d[2]! + d[3]!;
}

function isoDate(yyyymmdd: string): string {
  if (!/^\d{8}$/.test(yyyymmdd)) throw new RangeError('settlementDate (field 15) must be YYYYMMDD');
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6)}`;
}

/** Participant-mq.md section 3: the FPID in ISO's Max35Text, without the fixed currency and padding. */
function compactFpid(fpid: string): string {
  const m = FPID.exec(fpid);
  if (m === null) throw new RangeError('the FPID is not that of a GBP payment from a 6-digit institution');
  return m[1]! + m[2]!;
}

/** ISO text elements are at least one character: an empty optional field is an absent one. */
function given(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new RangeError(`${what} is mandatory for a return`);
  return value;
}

const party = (name: string | undefined): object => (given(name) === undefined ? {} : { Nm: name });
const account = (number: string): object => ({ Id: { Othr: { Id: number } } });
const agent = (sortCode: string): object => ({
  FinInstnId: { ClrSysMmbId: { ClrSysId: SORT_CODE_SCHEME, MmbId: sortCode } },
});
