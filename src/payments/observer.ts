/**
 * What the payment core tells whoever watches it (metrics, `src/ops`): one call per committed step
 * and per answer or report, each a counter increment or a histogram observation on the other side.
 * The core depends on this port, never on a metrics library.
 */

/** A step the ledger committed: one per state change (and per event a state takes in place, a repeat say). */
export interface CommittedStep {
  direction: 'inbound' | 'outbound';
  /** The journal's event name: `received`, `offer`, `repeat`, `deadline`... */
  event: string;
  from: string | null;
  to: string;
  /** Admission control stood the payment in rather than offer it, and why (`admission.ts`). */
  shed?: string;
}

/**
 * What became of an inbound payment's 9210: `sent` on its arrival connection (within T_in: a later
 * one is never written), `late` (not written: T_in had passed), `lost` with its connection (R4), or
 * `unrecorded` (left unanswered before anything was recorded: the ledger away, a bound reached).
 */
export type InboundAnswerResult = 'sent' | 'late' | 'lost' | 'unrecorded';

export interface InboundAnswer {
  /** `cross-site`: answered by a closed arrival site, the open site having offered and decided it. */
  path: 'same-site' | 'cross-site';
  result: InboundAnswerResult;
  /** From the request read to the answer; for `sent` only. */
  seconds?: number;
  /** T_in minus that: how much of the scheme's deadline was left; for `sent` only. */
  marginSeconds?: number;
}

export interface OutboundReport {
  /** From the instruction recorded to its pacs.002 put. */
  seconds: number;
  /** Reported within T_out of the instruction. */
  inTime: boolean;
  accepted: boolean;
}

export interface PaymentObserver {
  stepCommitted(step: CommittedStep): void;
  inboundAnswered(answer: InboundAnswer): void;
  outboundReported(report: OutboundReport): void;
}

/** Watches nothing: the default for tests and tools that build a desk alone. */
export const UNOBSERVED: PaymentObserver = {
  stepCommitted: () => undefined,
  inboundAnswered: () => undefined,
  outboundReported: () => undefined,
};
