import { randomUUID } from 'node:crypto';

/**
 * The event each committed step announces, written to the outbox in the step's transaction and
 * relayed to Kafka by the open site (src/events). Its JSON Schema is
 * `schemas/events/payment-event.v1.json` (a test proves every payload the runtime writes conforms).
 * It names the payment by FPID and carries no account number nor name: what a downstream system
 * may see of a payment without being told whose it is.
 */
export interface PaymentEvent {
  schemaVersion: typeof PAYMENT_EVENT_SCHEMA_VERSION;
  type: typeof PAYMENT_EVENT_TYPE;
  /** Unique per event (a UUID written with it): consumers drop a second delivery by it. */
  eventId: string;
  fpid: string;
  direction: 'inbound' | 'outbound';
  /** The journal's event name: 'received', 'offer', 'decided', 'instructed', 'accepted', ... */
  event: string;
  /** The state the step left (null for the first) and the one it reached. */
  state: { from: string | null; to: string };
  /** The action code decided so far, null before one is. */
  outcome: string | null;
  amountPence: number;
  /** When the step was taken, and when the payment was first recorded (ISO 8601, UTC). */
  at: string;
  receivedAt: string;
  /** The site that took the step, and the open-site lease epoch it wrote under (0: unfenced, closed). */
  site: string;
  epoch: number;
}

export const PAYMENT_EVENT_SCHEMA_VERSION = 1;
export const PAYMENT_EVENT_TYPE = 'payment.step';

/** The outbox topic of each direction's events, which is also the Kafka topic (after a prefix). */
export const PAYMENT_EVENT_TOPICS = { inbound: 'payments.inbound', outbound: 'payments.outbound' } as const;

/** What a payment's events carry beside the step: kept by the runtime while the payment is held. */
export interface PaymentFacts {
  amountPence: number;
  /** Clock milliseconds. */
  receivedAtMs: number;
}

/** One step's event, with a fresh event id. */
export function paymentEvent(step: {
  fpid: string;
  direction: 'inbound' | 'outbound';
  event: string;
  from: string | null;
  to: string;
  outcome: string | null;
  atMs: number;
  site: string;
  epoch: number;
  facts: PaymentFacts;
}): PaymentEvent {
  return {
    schemaVersion: PAYMENT_EVENT_SCHEMA_VERSION,
    type: PAYMENT_EVENT_TYPE,
    eventId: randomUUID(),
    fpid: step.fpid,
    direction: step.direction,
    event: step.event,
    state: { from: step.from, to: step.to },
    outcome: step.outcome,
    amountPence: step.facts.amountPence,
    at: new Date(step.atMs).toISOString(),
    receivedAt: new Date(step.facts.receivedAtMs).toISOString(),
    site: step.site,
    epoch: step.epoch,
  };
}
