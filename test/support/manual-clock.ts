import type { Clock, Timer } from '../../src/base/clock.js';

/** A clock that moves only when told, for deadline tests without waiting. */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];

  constructor(private t = Date.UTC(2026, 10, 22, 9, 30)) {}

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    const timer = { at: this.t + Math.max(0, ms), fn, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = due.at;
      due.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
  }
}
