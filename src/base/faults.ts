import type { Clock } from './clock.js';

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

/**
 * Runs `run(n)` for n = 1, 2, ... until it resolves, or fails with anything but a TransientFault
 * (rethrown at once). After a transient fault `next(n, delayMs, err)` says how long to wait before
 * try n + 1 (`delayMs` is TRANSIENT_BACKOFF's; a caller may wait less), or undefined to give up,
 * which rethrows that fault. Every caller's bound lives in its `next`.
 */
export async function retryTransient<T>(
  clock: Clock,
  run: (n: number) => Promise<T>,
  next: (n: number, delayMs: number, err: Error) => number | undefined,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await run(n);
    } catch (e) {
      const waitMs = isTransient(e) ? next(n, backoffDelay(TRANSIENT_BACKOFF, n), e as Error) : undefined;
      if (waitMs === undefined) throw e;
      await new Promise<void>((resolve) => clock.after(waitMs, resolve));
    }
  }
}
