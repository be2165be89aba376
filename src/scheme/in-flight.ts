import type { Clock, Timer } from '../clock.js';
import type { IsoMessage } from './codec.js';
import { RequestError } from './errors.js';

interface Waiter {
  resolve(m: IsoMessage): void;
  reject(e: RequestError): void;
  timer: Timer;
}

const STAN_SPACE = 1_000_000;

/**
 * Requests sent on one connection and awaiting their response, keyed by field 11. Field 11 is
 * unique among this sender's messages in flight on the connection (section 3), so
 * (connection, field 11) names exactly one waiter.
 */
export class InFlight {
  private readonly waiters = new Map<number, Waiter>();
  private next = 1;

  constructor(
    private readonly clock: Clock,
    private readonly cap: number,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  get hasRoom(): boolean {
    return this.waiters.size < this.cap;
  }

  /** The next field 11 not in flight. 000000 is never used so that a zero-filled echo never matches. */
  allocate(): number {
    for (;;) {
      const stan = this.next;
      this.next = stan + 1 >= STAN_SPACE ? 1 : stan + 1;
      if (!this.waiters.has(stan)) return stan;
    }
  }

  /** Registers a waiter. Throws RequestError for a duplicate field 11, and for a full connection when capped. */
  track(stan: number, timeoutMs: number, capped: boolean): Promise<IsoMessage> {
    if (this.waiters.has(stan)) throw new RequestError('duplicate-stan', `field 11 ${stan} is already in flight`);
    if (capped && !this.hasRoom) throw new RequestError('busy', `${this.cap} requests already in flight`);
    return new Promise((resolve, reject) => {
      const timer = this.clock.after(timeoutMs, () => {
        this.waiters.delete(stan);
        reject(new RequestError('timeout', `no response to field 11 ${stan} within ${timeoutMs} ms`));
      });
      this.waiters.set(stan, { resolve, reject, timer });
    });
  }

  /** Hands a response to its waiter; false when nothing waits for that field 11. */
  settle(stan: number, response: IsoMessage): boolean {
    const w = this.waiters.get(stan);
    if (w === undefined) return false;
    this.waiters.delete(stan);
    w.timer.cancel();
    w.resolve(response);
    return true;
  }

  /** Every waiter learns at once that its response will not come. */
  failAll(reason: string): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of all) {
      w.timer.cancel();
      w.reject(new RequestError('closed', reason));
    }
  }
}
