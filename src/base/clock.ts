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

/**
 * `systemClock` whose `now` never steps with the wall clock (NTP, an operator's `date`): for
 * deadlines that must hold whatever the wall clock does, such as a lease holder's renew deadline.
 * It starts at the wall time the process started and moves at the monotonic clock's rate.
 */
export const monotonicClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  after: systemClock.after,
};
