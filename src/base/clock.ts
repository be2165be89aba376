/**
 * The one source of time. Production uses `systemClock`; tests inject their own so that
 * deadlines can be driven without waiting.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    // A pending deadline must never be what keeps a stopping process alive.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
