import type { AttributesOf, DomainValues } from '../domain/payment.js';
import type { SignalKind } from './site-signals.js';

/**
 * The ledger's vocabulary: a payment as recorded, the transitions that move it between states,
 * and what a commit reports back. Pure data; nothing here touches the database.
 */

export type Direction = 'inbound' | 'outbound';

/**
 * The values the ledger keeps: the domain's, but the payment type as the text it was given (the
 * ledger records codes; judging them is the scheme's and the desks').
 */
export type StoredValues = Omit<DomainValues, 'paymentType'> & { paymentType: string };

/**
 * The facts of a payment fixed when it is first recorded: its attributes (the payment table,
 * src/domain/payment.ts) and the links the gateway keeps beside them.
 */
export type NewPayment = AttributesOf<StoredValues> & {
  direction: Direction;
  participantId?: string;
  participantMsgId?: string;
  arrivalConnection?: string;
  /** The W3C traceparent of the payment's trace (src/base/tracing.ts); written on create only. */
  traceparent?: string;
};

/** Fields a transition may change. `null` clears a timestamp; an absent key leaves it alone. */
export interface PaymentPatch {
  outcome?: string;
  standInAt?: number | null;
  deadlineAt?: number | null;
  arrivalConnection?: string;
  participantMsgId?: string;
  /** The lifecycle's state beyond the state name; replaces what was stored. */
  context?: Record<string, unknown>;
}

/**
 * The message that caused a transition. Deliberately closed: identifiers only, so account numbers
 * and names cannot reach the journal.
 */
export interface Cause {
  mti?: string;
  /** Field 11. */
  stan?: string;
  connectionId?: string;
  participantMsgId?: string;
  /** Admission control stood the payment in rather than offer it, and why (src/payments/admission.ts). */
  shed?: string;
}

export interface OutboxEvent {
  topic: string;
  key: string;
  payload: unknown;
}

export interface Transition {
  fpid: string;
  /** `null` records a new payment; otherwise the state the payment must be in for this to apply. */
  from: string | null;
  to: string;
  /** Domain event, e.g. 'received', 'offered', 'decided', 'stand-in'. */
  event: string;
  /** Clock milliseconds. */
  at: number;
  site: string;
  /** [P3] Fencing: refused unless it equals the `open-site` lease epoch, when such a lease exists. */
  epoch: number;
  /** [P3] False for a write any site may make (it applies whatever the epoch); absent is true. */
  fenced?: boolean;
  /** Required when `from` is null. */
  payment?: NewPayment;
  patch?: PaymentPatch;
  cause?: Cause;
  /** Published only if the transition applies, in the same transaction. */
  outbox?: OutboxEvent[];
  /**
   * A cross-site signal about this payment, sent as the batch commits (whether or not this
   * transition applies: a signal is only a hint), with no statement of its own.
   */
  signal?: { to: string; kind: SignalKind };
  /**
   * The record of an effect already performed (a 9210 written, a report put): nothing waits on its
   * commit, so it may wait a few milliseconds to ride in a batch with others (LedgerOptions.lingerMs).
   */
  afterTheFact?: boolean;
}

export type RefusalReason = 'duplicate' | 'conflict' | 'fenced';

export type CommitResult =
  | { fpid: string; ok: true }
  /** `currentState` is the state the payment was in when refused, when a payment with that FPID exists. */
  | { fpid: string; ok: false; reason: RefusalReason; currentState?: string };

/** A payment as the ledger holds it. Times are clock milliseconds. */
export interface Payment extends NewPayment {
  fpid: string;
  state: string;
  site: string;
  outcome?: string;
  context?: Record<string, unknown>;
  standInAt?: number;
  deadlineAt?: number;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** One row of the append-only journal: a transition that applied. */
export type JournalEntry = Pick<Transition, 'fpid' | 'from' | 'to' | 'event' | 'at' | 'site' | 'epoch' | 'cause'> & {
  id: number;
};

export const FPID_LENGTH = 42;

/**
 * Says what is wrong with a transition, or undefined when it may be queued. Checked before batching
 * so one malformed transition cannot fail the statement that carries everyone else's.
 */
export function transitionProblem(t: Transition): string | undefined {
  if (t.fpid.length !== FPID_LENGTH) return `FPID must be ${FPID_LENGTH} characters, got ${t.fpid.length}`;
  if (!Number.isSafeInteger(t.at)) return `at must be integer clock milliseconds, got ${t.at}`;
  if (!Number.isSafeInteger(t.epoch) || t.epoch < 0) return `epoch must be a non-negative integer, got ${t.epoch}`;
  for (const [name, ms] of [
    ['standInAt', t.patch?.standInAt],
    ['deadlineAt', t.patch?.deadlineAt],
  ] as const) {
    if (ms !== undefined && ms !== null && !Number.isSafeInteger(ms))
      return `${name} must be integer clock milliseconds, got ${ms}`;
  }
  if (t.from !== null) return t.payment ? 'payment is only for creating a payment (from: null)' : undefined;
  const p = t.payment;
  if (!p) return 'creating a payment (from: null) needs its payment details';
  if (p.direction !== 'inbound' && p.direction !== 'outbound')
    return `direction must be inbound or outbound, got ${String(p.direction)}`;
  if (!Number.isSafeInteger(p.amountPence) || p.amountPence < 0)
    return `amountPence must be non-negative integer pence, got ${p.amountPence}`;
  return undefined;
}
