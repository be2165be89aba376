import type pg from 'pg';
import { Kafka, logLevel, Partitioners, type LogEntry, type Message, type Producer } from 'kafkajs';
import type { Clock } from '../base/clock.js';
import type { Backoff } from '../base/faults.js';
import type { Logger } from '../base/log.js';
import { outboxLag, type OutboxRow } from '../ledger/outbox.js';
import { OutboxRelay } from '../ledger/outbox-relay.js';
import { PAYMENT_EVENT_SCHEMA_VERSION, PAYMENT_EVENT_TOPICS } from '../payments/payment-event.js';

/** Outbox topics relayed to Kafka: one a direction, in one id order. */
export const EVENT_TOPICS: readonly string[] = [PAYMENT_EVENT_TOPICS.inbound, PAYMENT_EVENT_TOPICS.outbound];

/**
 * Events sent per claim: one transaction holds their rows while the broker acknowledges them, and
 * they go as one produce request. At 2,000 steps a second (1,000 payments each way, a few steps
 * each) a claim of 500 every few milliseconds keeps up with room to spare.
 */
export const EVENT_BATCH = 500;
/** How often the open site looks for events when none were written here (another site's steps). */
const POLL_MS = 250;
/** Between failed claims (the broker away): 200 ms doubling to 5 s, one log line each. */
const BROKER_BACKOFF: Backoff = { firstMs: 200, maxMs: 5_000 };
/**
 * The claim's advisory lock: one relay claims at a time across every site, so a site that opens
 * while the one before still holds a batch cannot send a payment's later event first. 'EVNT'.
 */
const EVENTS_LOCK = 0x45564e54;
/** Bounds on one produce: the broker's acknowledgement, connecting, and kafkajs' own retries. */
const REQUEST_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;
const PRODUCE_RETRIES = 3;
/**
 * The longest a claim waits for connecting and the broker's acknowledgement, whatever kafkajs'
 * retries add up to (a broker that accepts connections and answers nothing): then the batch counts
 * as not sent, its rows' locks go, and closing or stopping the site waits no longer than this. A
 * request that still lands later is a duplicate under the same eventIds, in order.
 */
const SEND_TIMEOUT_MS = 10_000;

export interface PaymentEventRelayStatus {
  /** Brokers configured: the relay runs while this site is open. */
  on: boolean;
  running: boolean;
  /** Events the broker acknowledged since the process started. */
  relayed: number;
}

/**
 * [P3] The open site's relay of payment events from the outbox to Kafka. The producer is
 * idempotent with `acks: -1` and one request in flight, so a batch is on every in-sync replica, in
 * order, before its rows are marked published; a failure marks none and the batch goes again
 * (at least once: a consumer drops a second copy by `eventId`). Each direction has its topic
 * (`payments.inbound`, `payments.outbound`, after `topicPrefix`), keyed by FPID, so a payment's
 * events stay in one partition in the order its steps were committed.
 */
export class PaymentEventRelay {
  private readonly relay: OutboxRelay;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  /** Counts producers dropped: a connect that ends after its claim gave up is not kept. */
  private drops = 0;
  /** Rows from before the event schema (no `schemaVersion`): marked published, never sent. */
  private skipped = 0;

  constructor(
    private readonly deps: { pool: pg.Pool; clock: Clock; log: Logger },
    private readonly settings: { brokers: readonly string[]; topicPrefix: string; clientId: string },
  ) {
    const log = deps.log;
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: [...settings.brokers],
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      retry: { retries: PRODUCE_RETRIES, initialRetryTime: 100, maxRetryTime: 1_000 },
      // kafkajs logs every retry at error: kept at debug here; the relay logs each failed claim.
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, log: entry }: LogEntry) =>
          log.debug({ kafkajs: namespace, message: entry.message }, 'kafkajs'),
    });
    this.relay = new OutboxRelay(deps, {
      what: 'payment events',
      claim: { topics: EVENT_TOPICS, limit: EVENT_BATCH, exclusiveLock: EVENTS_LOCK },
      pollMs: POLL_MS,
      backoff: BROKER_BACKOFF,
      deliver: (rows) => this.send(rows),
    });
  }

  start(): void {
    this.deps.log.info(
      { brokers: this.settings.brokers, topics: EVENT_TOPICS.map((t) => this.topic(t)) },
      'event relay on',
    );
    this.relay.start();
  }

  /** Stops claiming, waits for the batch in flight, and disconnects. */
  async stop(): Promise<void> {
    await this.relay.stop();
    await this.dropProducer();
  }

  status(): PaymentEventRelayStatus {
    return { on: true, running: this.relay.isRunning, relayed: this.relay.delivered - this.skipped };
  }

  /** Events in the outbox not yet acknowledged by the broker, and the age of the oldest. */
  lag(): Promise<{ rows: number; oldestMs: number }> {
    return outboxLag(this.deps.pool, EVENT_TOPICS);
  }

  private topic(outboxTopic: string): string {
    return `${this.settings.topicPrefix}${outboxTopic}`;
  }

  /** One produce request for the batch; every row is delivered, or (throwing) none. */
  private async send(rows: readonly OutboxRow[]): Promise<number[]> {
    const byTopic = new Map<string, Message[]>();
    let skipped = 0;
    for (const row of rows) {
      const payload = row.payload as { schemaVersion?: unknown; eventId?: unknown };
      if (payload.schemaVersion !== PAYMENT_EVENT_SCHEMA_VERSION || typeof payload.eventId !== 'string') {
        skipped += 1;
        continue;
      }
      const messages = byTopic.get(row.topic) ?? [];
      messages.push({
        key: row.key,
        value: JSON.stringify(payload),
        headers: { eventId: payload.eventId, schemaVersion: String(PAYMENT_EVENT_SCHEMA_VERSION) },
      });
      byTopic.set(row.topic, messages);
    }
    if (skipped > 0) {
      this.skipped += skipped;
      this.deps.log.warn({ rows: skipped }, 'outbox rows from before the event schema: marked published, not relayed');
    }
    if (byTopic.size > 0) {
      try {
        await this.within(SEND_TIMEOUT_MS, async () => {
          const producer = await this.connected();
          await producer.sendBatch({
            acks: -1,
            timeout: REQUEST_TIMEOUT_MS,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic: this.topic(topic), messages })),
          });
        });
      } catch (e) {
        // A producer whose request failed may hold sequence numbers the broker never saw: a new one
        // (a new producer id) sends the batch again cleanly.
        await this.dropProducer();
        throw e;
      }
    }
    return rows.map((r) => r.id);
  }

  /** `run`, or a failure once `ms` have passed (what `run` does after that is ignored). */
  private within(ms: number, run: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.deps.clock.after(ms, () =>
        reject(new Error(`no acknowledgement from the broker within ${ms} ms`)),
      );
      run().then(
        () => (timer.cancel(), resolve()),
        (e: unknown) => (timer.cancel(), reject(e instanceof Error ? e : new Error(String(e)))),
      );
    });
  }

  private async connected(): Promise<Producer> {
    if (this.producer !== undefined) return this.producer;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: PRODUCE_RETRIES, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const drops = this.drops;
    try {
      await producer.connect();
      if (drops !== this.drops) throw new Error('connected after the claim gave up');
    } catch (e) {
      await producer.disconnect().catch(() => undefined);
      throw e;
    }
    this.producer = producer;
    return producer;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.drops += 1;
    await producer?.disconnect().catch(() => undefined);
  }
}
