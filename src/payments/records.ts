import { attributesFrom, type DomainValues, type PaymentAttributes } from '../domain/payment.js';
import type { Direction, NewPayment, Payment, StoredValues } from '../ledger/transition.js';
import type { PaymentType } from '../domain/codes.js';

/** The ledger's record of a payment first seen now: its attributes (the payment table) and its links. */
export function newPayment(direction: Direction, p: PaymentAttributes, extra: { participantId?: string | null; arrivalConnection?: string; participantMsgId?: string }): NewPayment {
  const links = { participantId: extra.participantId ?? undefined, arrivalConnection: extra.arrivalConnection, participantMsgId: extra.participantMsgId };
  const r: NewPayment = { ...attributesFrom<StoredValues>((a) => p[a.name]), direction };
  for (const [k, v] of Object.entries(links)) if (v !== undefined) r[k as keyof typeof links] = v;
  return r;
}

/** The attributes of a payment read back from the ledger, which wrote the payment type it was given. */
export function schemePaymentOf(row: Payment): PaymentAttributes {
  return attributesFrom<DomainValues>((a) => (a.kind === 'paymentType' ? (row.type as PaymentType) : row[a.name]));
}
