import type { SchemePayment } from '../../src/scheme/messages.js';
import { businessDate } from '../../src/scheme/messages.js';
import { ActionCode, PAYMENT_LIMIT_PENCE } from '../../src/scheme/profile.js';

/** The CI's answer to a payment: its action code and, when accepted, fields 15 and 29. */
export interface Decision {
  readonly action: ActionCode;
  readonly extra: ReadonlyMap<number, string>;
}

/** Three settlement cycles a business day, by UTC time: before 08:00, before 16:00, the rest. */
export function settlement(now: number): { date: string; cycle: string } {
  const hour = new Date(now).getUTCHours();
  return { date: businessDate(now), cycle: hour < 8 ? '01' : hour < 16 ? '02' : '03' };
}

/**
 * How the simulated CI decides an outbound payment (R7), first match wins: beneficiary account
 * ending 99 is not valid (1100), ending 98 is closed (1114), an amount over the scheme limit is
 * refused (1160); anything else is accepted with the settlement date and cycle.
 */
export function decide(payment: Pick<SchemePayment, 'beneficiaryAccount' | 'amountPence'>, now: number): Decision {
  if (payment.beneficiaryAccount.endsWith('99')) return { action: ActionCode.invalidAccount, extra: new Map() };
  if (payment.beneficiaryAccount.endsWith('98')) return { action: ActionCode.accountClosed, extra: new Map() };
  if (payment.amountPence > PAYMENT_LIMIT_PENCE) return { action: ActionCode.overLimit, extra: new Map() };
  const s = settlement(now);
  return {
    action: ActionCode.accepted,
    extra: new Map([
      [15, s.date],
      [29, s.cycle],
    ]),
  };
}
