import type { Direction, NewPayment, Payment } from '../ledger/transition.js';
import type { SchemePayment } from '../scheme/messages.js';
import type { PaymentType } from '../scheme/profile.js';

/** The ledger's record of a payment first seen now, from its scheme fields. */
export function newPayment(direction: Direction, p: SchemePayment, extra: { participantId?: string | null; arrivalConnection?: string; participantMsgId?: string }): NewPayment {
  const r: NewPayment = {
    direction,
    paymentType: p.type,
    amountPence: p.amountPence,
    trn: p.trn,
    dateSent: p.dateSent,
    institution: p.institution,
    originatorSortCode: p.originatorSortCode,
    originatorAccount: p.originatorAccount,
    beneficiarySortCode: p.beneficiarySortCode,
    beneficiaryAccount: p.beneficiaryAccount,
  };
  const optional: Partial<NewPayment> = {
    originatorName: p.originatorName,
    beneficiaryName: p.beneficiaryName,
    endToEndRef: p.endToEndRef,
    reference: p.reference,
    remittance: p.remittance,
    settlementDate: p.settlementDate,
    settlementCycle: p.settlementCycle,
    returnReason: p.returnReason,
    returnedFpid: p.returnedFpid,
    participantId: extra.participantId ?? undefined,
    arrivalConnection: extra.arrivalConnection,
    participantMsgId: extra.participantMsgId,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  return r;
}

/** The scheme fields of a payment read back from the ledger. */
export function schemePaymentOf(row: Payment): SchemePayment {
  const p: SchemePayment = {
    type: row.paymentType as PaymentType,
    amountPence: row.amountPence,
    trn: row.trn,
    dateSent: row.dateSent,
    institution: row.institution,
    originatorSortCode: row.originatorSortCode,
    originatorAccount: row.originatorAccount,
    beneficiarySortCode: row.beneficiarySortCode,
    beneficiaryAccount: row.beneficiaryAccount,
  };
  const optional: Partial<SchemePayment> = {
    originatorName: row.originatorName,
    beneficiaryName: row.beneficiaryName,
    endToEndRef: row.endToEndRef,
    reference: row.reference,
    remittance: row.remittance,
    settlementDate: row.settlementDate,
    settlementCycle: row.settlementCycle,
    returnReason: row.returnReason,
    returnedFpid: row.returnedFpid,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[k] = v;
  return p;
}
