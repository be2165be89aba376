import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import type { Fence } from './fence.js';
import type { LeaseStatements, MoveRequest, ReleaseReason } from './lease.js';
import type { LeaseTiming } from './lease-timing.js';

/**
 * Why a site stopped being open: the lease was found not ours (`lost`), a renew failed, the renew
 * deadline passed without a successful renew, an operator moved the open site (`moved`), or the
 * keeper was stopped.
 */
export type CloseReason = 'lost' | 'renew-failed' | 'renew-deadline' | 'moved' | 'stopped';

/** Told of every change between open and closed, in order, never twice the same way running. */
export interface LeaseListener {
  /** This site is open under `epoch`: bridge, and write under it. */
  onOpen(epoch: number): void;
  /** This site is closed: stop bridging at once. */
  onClose(reason: CloseReason): void;
  /**
   * Resolves once the site has stopped bridging after the last `onClose`, what it took while open
   * finished. A manual move waits for it (until the renew deadline at most) before it releases.
   */
  whenClosed?(): Promise<void>;
}

export interface LeaseKeeperDeps {
  lease: LeaseStatements;
  timing: LeaseTiming;
  /** Monotonic in production (`monotonicClock`): the renew deadline must not move with the wall clock. */
  clock: Clock;
  log: Logger;
  listener: LeaseListener;
}

/** The epoch a closed site writes under: never a lease's (they start at 1), so always fenced once a lease exists. */
export const NO_EPOCH = 0;

interface Holding {
  epoch: number;
  deadline: Timer;
}

/**
 * Keeps this site's hold on the lease: while closed it tries to acquire every `renewPeriodMs`;
 * while open it renews every `renewPeriodMs` and closes at once when a renew fails, finds the lease
 * not ours, or when `renewDeadlineMs` has passed since the start of the last successful renew. The
 * database's expiry is `leaseMs` after that start at the earliest, so the site has closed before
 * the other site can open. One loop, one statement in flight at a time.
 */
export class LeaseKeeper {
  private holding: Holding | undefined;
  /** An epoch the database holds for this site that it did not open under (won too late, or while stopping). */
  private unopened: number | undefined;
  /** The epoch a site stepping down for a manual move still writes under, until it has released it. */
  private leaving: number | undefined;
  /** After a manual move, no acquire before this (clock ms): the other site is to take the lease. */
  private holdOffUntil = -Infinity;
  private running = false;
  private next: Timer | undefined;
  private step: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  get isOpen(): boolean {
    return this.holding !== undefined;
  }

  /** Who writes, for the desks: this site, under its epoch while open and `NO_EPOCH` while closed. */
  readonly fence = (): Fence => ({
    site: this.deps.lease.site,
    epoch: this.holding?.epoch ?? this.leaving ?? NO_EPOCH,
  });

  /** Starts the loop (closed, contending); refused while it runs or stops, so that there is never a second. */
  start(): void {
    if (this.running || this.stopping) throw new Error('lease keeper is already running');
    this.running = true;
    this.runStep();
  }

  /**
   * Ends the loop: waits for the statement in flight, closes, then releases the lease if held,
   * saying why (`manual` hands the open site to the other site, `stop` is a clean shutdown). The
   * keeper may be started again afterwards; a started keeper contends as a closed site.
   */
  stop(reason: ReleaseReason = 'stop'): Promise<void> {
    this.stopping ??= this.finish(reason).finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async finish(reason: ReleaseReason): Promise<void> {
    this.running = false;
    this.next?.cancel();
    await this.step;
    const epoch = this.holding?.epoch ?? this.unopened;
    this.close('stopped');
    this.unopened = undefined;
    if (epoch === undefined) return;
    try {
      if (!(await this.deps.lease.release(epoch, reason)))
        this.deps.log.warn({ epoch }, 'lease was no longer ours to release');
    } catch (err) {
      // The lease then expires by itself; the other site waits leaseMs instead of a renew period.
      this.deps.log.warn({ epoch, err: (err as Error).message }, 'lease release failed');
    }
  }

  private runStep(): void {
    const startedAt = this.deps.clock.now();
    this.step = (this.holding ? this.renew(this.holding, startedAt) : this.acquire(startedAt)).then(() => {
      if (!this.running) return;
      const wait = startedAt + this.deps.timing.renewPeriodMs - this.deps.clock.now();
      this.next = this.deps.clock.after(wait, () => this.runStep());
    });
  }

  private async acquire(startedAt: number): Promise<void> {
    if (startedAt < this.holdOffUntil) return;
    let tenure;
    try {
      tenure = await this.deps.lease.tryAcquire();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'lease acquire failed');
      return;
    }
    if (tenure === undefined) return;
    // Won too late to be of use (the deadline counts from the start), or while stopping: held in
    // the database, the lease is this site's to take again at the next attempt under a new epoch,
    // or to release on stopping.
    if (!this.running || this.pastDeadline(startedAt)) {
      this.unopened = tenure.epoch;
      return;
    }
    this.unopened = undefined;
    this.holding = { epoch: tenure.epoch, deadline: this.armDeadline(startedAt) };
    this.deps.log.info({ epoch: tenure.epoch, reason: tenure.reason }, 'lease acquired: site open');
    this.tell(() => this.deps.listener.onOpen(tenure.epoch));
  }

  private async renew(held: Holding, startedAt: number): Promise<void> {
    let renewed;
    try {
      renewed = await this.deps.lease.renew(held.epoch);
    } catch (err) {
      this.deps.log.warn({ epoch: held.epoch, err: (err as Error).message }, 'lease renew failed');
      if (this.holding === held) this.close('renew-failed');
      return;
    }
    // Closed by the deadline while the renew was in flight: its success opens nothing.
    if (this.holding !== held) return;
    if (!renewed) return this.close('lost');
    if (this.pastDeadline(startedAt)) return this.close('renew-deadline');
    if (renewed.move) return this.stepDown(held, startedAt, renewed.move);
    held.deadline.cancel();
    held.deadline = this.armDeadline(startedAt);
  }

  /**
   * An operator moved the open site: close (the gateway stops taking new work from MQ), let what
   * the site took finish under its epoch until it has stopped bridging or the renew deadline has
   * come (the lease is still ours: the renew just made holds it `leaseMs` from `startedAt`), then
   * write under it no more, release it, saying `manual`, and try no acquire for `leaseMs`, so that
   * the other site takes it. With no other site, this one takes it again after that.
   */
  private async stepDown(held: Holding, startedAt: number, move: MoveRequest): Promise<void> {
    this.deps.log.warn({ epoch: held.epoch, by: move.by }, 'open site moved by an operator: stepping down');
    this.leaving = held.epoch;
    this.close('moved');
    await this.closedOrDeadline(startedAt);
    // Nothing more under the epoch: from here the ledger refuses this site's fenced writes.
    this.leaving = undefined;
    try {
      if (!(await this.deps.lease.release(held.epoch, 'manual')))
        this.deps.log.warn({ epoch: held.epoch }, 'lease was no longer ours to release');
    } catch (err) {
      this.deps.log.warn({ epoch: held.epoch, err: (err as Error).message }, 'lease release failed');
    }
    this.holdOffUntil = this.deps.clock.now() + this.deps.timing.leaseMs;
  }

  private closedOrDeadline(startedAt: number): Promise<void> {
    const wait = startedAt + this.deps.timing.renewDeadlineMs - this.deps.clock.now();
    return new Promise<void>((resolve) => {
      const timer = this.deps.clock.after(wait, () => {
        this.deps.log.warn('site still bridging at its renew deadline: releasing the lease all the same');
        resolve();
      });
      const done = () => {
        timer.cancel();
        resolve();
      };
      let closed: Promise<void>;
      try {
        closed = this.deps.listener.whenClosed?.() ?? Promise.resolve();
      } catch (err) {
        closed = Promise.reject(err as Error);
      }
      closed.then(done, (err: Error) => {
        this.deps.log.error({ err: err.message }, 'lease listener failed to close');
        done();
      });
    });
  }

  private pastDeadline(startedAt: number): boolean {
    return this.deps.clock.now() - startedAt >= this.deps.timing.renewDeadlineMs;
  }

  private armDeadline(startedAt: number): Timer {
    const wait = startedAt + this.deps.timing.renewDeadlineMs - this.deps.clock.now();
    return this.deps.clock.after(wait, () => this.close('renew-deadline'));
  }

  private close(reason: CloseReason): void {
    const held = this.holding;
    if (held === undefined) return;
    this.holding = undefined;
    held.deadline.cancel();
    this.deps.log.warn({ epoch: held.epoch, reason }, 'site closed');
    this.tell(() => this.deps.listener.onClose(reason));
  }

  /** A listener's fault is logged, never allowed to stop the loop that keeps the lease. */
  private tell(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'lease listener failed');
    }
  }
}
