import type { Direction, NewPayment, Payment } from '../ledger/transition.js';
import { OPTIONAL_FIELDS, type SchemePayment } from '../scheme/messages.js';
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
  const fields = r as unknown as Record<string, unknown>;
  // The ledger row names the optional scheme fields as SchemePayment does.
  for (const [k] of OPTIONAL_FIELDS) if (p[k] !== undefined) fields[k] = p[k];
  const links = { participantId: extra.participantId ?? undefined, arrivalConnection: extra.arrivalConnection, participantMsgId: extra.participantMsgId };
  for (const [k, v] of Object.entries(links)) if (v !== undefined) fields[k] = v;
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
  const stored = row as unknown as Record<string, unknown>;
  for (const [k] of OPTIONAL_FIELDS) {
    const v = stored[k];
    if (v !== undefined && v !== null) (p as unknown as Record<string, unknown>)[k] = v;
  }
  return p;
}
