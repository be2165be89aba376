import type pg from 'pg';
import type { Clock, Timer } from '../base/clock.js';
import { backoffDelay, isTransient, TRANSIENT_BACKOFF, type Backoff } from '../base/faults.js';
import type { Logger } from '../base/log.js';
import { deliverOutbox, type OutboxClaim, type OutboxRow } from './outbox.js';

/** What an outbox relay delivers, and how. */
export interface OutboxRelayOptions {
  /** Named in its logs: 'participant notices', 'payment events'. */
  what: string;
  claim: OutboxClaim;
  /** How often it looks when nothing woke it. */
  pollMs: number;
  /** Between failed claims: bounded, reset by the first claim that succeeds. */
  backoff?: Backoff;
  /**
   * Delivers claimed rows (locked meanwhile) and returns the ids delivered; only those are marked
   * published. Throwing delivers none of the batch: they are claimed again after the back-off.
   */
  deliver(rows: readonly OutboxRow[]): Promise<readonly number[]>;
}

/**
 * One loop that delivers outbox rows: started when the site opens, stopped when it closes. Woken by
 * a signal (the writer says so) and by a poll; a batch that fills `claim.limit` is followed at once
 * by the next. A claim that fails is logged and tried again after a bounded back-off; the rows stay
 * in the outbox meanwhile. One claim at a time per relay.
 */
export class OutboxRelay {
  private running = false;
  private timer: Timer | undefined;
  /** A claim is in progress; `again` asks it to look once more before it sleeps. */
  private active = false;
  private again = false;
  private busy: Promise<void> = Promise.resolve();
  private failures = 0;
  private deliveredTotal = 0;

  constructor(
    private readonly deps: { pool: pg.Pool; clock: Clock; log: Logger },
    private readonly options: OutboxRelayOptions,
  ) {}

  /** Rows delivered since the process started. */
  get delivered(): number {
    return this.deliveredTotal;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.wake();
  }

  /** Stops claiming; resolves once the claim in progress is done. */
  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    await this.busy;
  }

  /** Something was written: deliver now rather than at the next poll. */
  wake(): void {
    if (!this.running) return;
    if (this.active) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.active = true;
    this.busy = this.run().finally(() => {
      this.active = false;
      // Woken after its last look: look again now rather than at the poll.
      if (this.again) this.wake();
    });
  }

  private async run(): Promise<void> {
    const { claim, pollMs, what } = this.options;
    let delayMs = pollMs;
    try {
      for (;;) {
        this.again = false;
        const n = await deliverOutbox(this.deps.pool, claim, (rows) => this.options.deliver(rows));
        this.deliveredTotal += n;
        if (this.failures > 0) this.deps.log.info({ what, failures: this.failures }, `${what} delivered again`);
        this.failures = 0;
        if (!this.running || (n < claim.limit && !this.again)) break;
      }
    } catch (e) {
      this.failures += 1;
      delayMs = backoffDelay(this.options.backoff ?? TRANSIENT_BACKOFF, this.failures);
      this.deps.log.warn(
        { what, err: (e as Error).message, transient: isTransient(e), failures: this.failures, retryInMs: delayMs },
        `${what} not delivered; trying again`,
      );
    }
    if (this.running) this.timer = this.deps.clock.after(delayMs, () => this.wake());
  }
}
