import { attributesFrom, type DomainValues, type PaymentAttributes } from '../domain/payment.js';
import type { Direction, NewPayment, Payment, StoredValues } from '../ledger/transition.js';
import type { PaymentType } from '../domain/codes.js';

/** The ledger's record of a payment first seen now: its attributes (the payment table) and its links. */
export function newPayment(
  direction: Direction,
  p: PaymentAttributes,
  extra: {
    participantId?: string | null;
    arrivalConnection?: string;
    participantMsgId?: string;
    traceparent?: string | undefined;
  },
): NewPayment {
  const r: NewPayment = { ...attributesFrom<StoredValues>((a) => p[a.name]), direction };
  if (extra.participantId !== undefined && extra.participantId !== null) r.participantId = extra.participantId;
  if (extra.arrivalConnection !== undefined) r.arrivalConnection = extra.arrivalConnection;
  if (extra.participantMsgId !== undefined) r.participantMsgId = extra.participantMsgId;
  if (extra.traceparent !== undefined) r.traceparent = extra.traceparent;
  return r;
}

/** The attributes of a payment read back from the ledger, which wrote the payment type it was given. */
export function schemePaymentOf(row: Payment): PaymentAttributes {
  return attributesFrom<DomainValues>((a) => (a.kind === 'paymentType' ? (row.type as PaymentType) : row[a.name]));
}
