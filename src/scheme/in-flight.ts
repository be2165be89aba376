import { assert } from '../base/assert.js';
import type { Clock, Timer } from '../base/clock.js';
import type { IsoMessage } from './codec.js';
import { RequestError } from './errors.js';
import { StanTable } from './stan-table.js';

interface Waiter {
  resolve(m: IsoMessage): void;
  reject(e: RequestError): void;
  deadline: number;
  timeoutMs: number;
}

const STAN_SPACE = 1_000_000;

/**
 * Requests in flight beyond the cap on payments, at most: network management (an echo, two
 * sign-ons, a sign-off) is not held back by the cap, and needs four at a time. Past it an exempt
 * request is refused `busy` too, so the table never holds more than `cap` + this.
 */
export const NETWORK_IN_FLIGHT_MAX = 8;

/**
 * Requests sent on one connection and awaiting their response, keyed by field 11. Field 11 is
 * unique among this sender's messages in flight on the connection (section 3), so
 * (connection, field 11) names exactly one waiter.
 *
 * One timer serves all waiters: it fires at the earliest deadline and sweeps, so a request costs
 * no timer of its own on the hot path.
 */
export class InFlight {
  private readonly waiters = new StanTable<Waiter>();
  private next = 1;
  private sweep: Timer | undefined;
  private sweepAt = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly cap: number,
  ) {
    assert(cap >= 1, `a cap of ${cap} requests in flight takes none`);
  }

  get size(): number {
    return this.waiters.size;
  }

  get hasRoom(): boolean {
    return this.waiters.size < this.cap;
  }

  /** The next field 11 not in flight. 000000 is never used so that a zero-filled echo never matches. */
  allocate(): number {
    // The search below ends only while some field 11 is free (a cap past the space would not be).
    assert(this.waiters.size < STAN_SPACE - 1, 'every field 11 is in flight');
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
    if (this.waiters.size >= this.cap + NETWORK_IN_FLIGHT_MAX)
      throw new RequestError('busy', `${this.waiters.size} requests already in flight, network management included`);
    const deadline = this.clock.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      this.waiters.add(stan, { resolve, reject, deadline, timeoutMs });
      // Paired with the checks above and in `settle`: one waiter per field 11, the table bounded.
      assert(
        this.waiters.size <= this.cap + NETWORK_IN_FLIGHT_MAX,
        `${this.waiters.size} requests in flight, over the bound`,
      );
      if (deadline < this.sweepAt) this.armSweep(deadline);
    });
  }

  /** Hands a response to its waiter; false when nothing waits for that field 11. */
  settle(stan: number, response: IsoMessage): boolean {
    const w = this.waiters.delete(stan);
    if (w === undefined) return false;
    assert(!this.waiters.has(stan), `field 11 ${stan} still in flight after its response`);
    w.resolve(response);
    return true;
  }

  /** Every waiter learns at once that its response will not come. */
  failAll(reason: string): void {
    const all = this.waiters.entries();
    this.waiters.clear();
    this.disarm();
    for (const [, w] of all) w.reject(new RequestError('closed', reason));
  }

  private armSweep(at: number): void {
    this.sweep?.cancel();
    this.sweepAt = at;
    this.sweep = this.clock.after(at - this.clock.now(), () => this.expire());
  }

  private disarm(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    this.sweepAt = Infinity;
  }

  private expire(): void {
    this.disarm();
    const now = this.clock.now();
    let earliest = Infinity;
    for (const [stan, w] of this.waiters.entries()) {
      if (w.deadline <= now) {
        this.waiters.delete(stan);
        w.reject(new RequestError('timeout', `no response to field 11 ${stan} within ${w.timeoutMs} ms`));
      } else if (w.deadline < earliest) {
        earliest = w.deadline;
      }
    }
    if (earliest !== Infinity) this.armSweep(earliest);
  }
}
