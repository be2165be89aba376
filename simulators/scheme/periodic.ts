import type { Clock, Timer } from '../../src/base/clock.js';

/** Runs `fn` every `ms` on the injected clock until cancelled. */
export function every(clock: Clock, ms: number, fn: () => void): Timer {
  let cancelled = false;
  let timer: Timer;
  const tick = (): void => {
    if (cancelled) return;
    fn();
    if (!cancelled) timer = clock.after(ms, tick);
  };
  timer = clock.after(ms, tick);
  return {
    cancel: () => {
      cancelled = true;
      timer.cancel();
    },
  };
}
