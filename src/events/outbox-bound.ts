import type pg from 'pg';
import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import { dropUnsent } from '../ledger/outbox-drop.js';
import type { EventsConfig } from './config.js';
import { EVENT_TOPICS } from './kafka-relay.js';

/** How often each site applies the bound: the outbox exceeds it by at most a minute's events. */
const BOUND_EVERY_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Told how many unsent events of a topic a run dropped (the metrics count them). */
export type EventsDropped = (topic: string, n: number) => void;

/**
 * The bound on payment events waiting in the outbox for a relay (`events.outbox`): without
 * brokers nothing ever sends them, and a broker away for long lets them pile up. Every site, open
 * or closed, relay on or off, drops the oldest beyond `maxUnsentEvents` or older than
 * `maxUnsentAgeHours` every minute, counts them and warns: Kafka's consumers never see those. No
 * payment waits on the outbox's events, so none is held or lost; participant notices are not
 * touched.
 */
export class UnsentEventsBound {
  private timer: Timer | undefined;
  private run: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly deps: { pool: pg.Pool; clock: Clock; log: Logger; onDropped: EventsDropped },
    private readonly settings: EventsConfig['outbox'],
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Applies the bound no more; waits for a run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.run;
  }

  /** One run of the bound: the events it dropped, by topic. */
  async apply(): Promise<Map<string, number>> {
    const { pool, clock, log, onDropped } = this.deps;
    const { maxUnsentEvents, maxUnsentAgeHours } = this.settings;
    const dropped = await dropUnsent(pool, clock, {
      topics: EVENT_TOPICS,
      keep: maxUnsentEvents,
      maxAgeMs: maxUnsentAgeHours * HOUR_MS,
    });
    for (const [topic, n] of dropped) onDropped(topic, n);
    if (dropped.size > 0)
      log.warn(
        { dropped: Object.fromEntries(dropped), maxUnsentEvents, maxUnsentAgeHours },
        'outbox bound: the oldest unsent payment events were dropped; Kafka consumers will not see them',
      );
    return dropped;
  }

  private schedule(): void {
    this.timer = this.deps.clock.after(BOUND_EVERY_MS, () => {
      if (this.stopped) return;
      this.run = this.apply()
        .catch((e: Error) =>
          this.deps.log.error({ err: e.message }, 'applying the outbox bound failed; will try again'),
        )
        .finally(() => {
          this.run = undefined;
          if (!this.stopped) this.schedule();
        });
    });
  }
}
