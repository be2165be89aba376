/**
 * Transient faults: a dependency (the database, the MQ broker) is unavailable for a while. What
 * failed this way did not happen, or may not have, and is tried again after a bounded back-off;
 * it never counts against a message as if the message were at fault (poison).
 */
export class TransientFault extends Error {
  override readonly name = 'TransientFault';
}

export function isTransient(err: unknown): boolean {
  return err instanceof TransientFault;
}

/** Bounded exponential back-off: the n-th (1-based) delay, doubling from `firstMs` up to `maxMs`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

export function backoffDelay(b: Backoff, attempt: number): number {
  return Math.min(b.maxMs, b.firstMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

/** How long the gateway keeps retrying one transient failure before giving up on this attempt. */
export const TRANSIENT_BACKOFF: Backoff = { firstMs: 100, maxMs: 5_000 };
