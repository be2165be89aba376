import { systemClock, type Clock } from '../../base/clock.js';
import { TransientFault } from '../../base/faults.js';
import type { Logger } from '../../base/log.js';
import {
  checkOutgoing,
  type ConsumeOptions,
  type Consumer,
  type Handler,
  type MqTransport,
  type OutgoingMessage,
  registered,
} from './port.js';
import { settle } from './settle.js';

interface Stored {
  body: string;
  messageId: string;
  correlationId: string | null;
  /** Epoch ms after which the message is discarded, or null for never. */
  expiresAt: number | null;
  deliveryCount: number;
  /** Message properties beside the headers, as a broker keeps them: `traceparent` only, so far. */
  properties?: Readonly<Record<string, string>>;
}

/**
 * Messages in one in-process queue at most. At the bound a put is refused with a TransientFault,
 * as a broker refuses a put to a full queue (MQRC_Q_FULL), and the putter waits and tries again.
 * A message moved by a rollback or to the backout queue was counted when put and is not refused:
 * a full backout queue, which nobody reads in the demo, drops its oldest message instead.
 */
export const IN_PROCESS_QUEUE_DEPTH_MAX = 10_000;

/**
 * The transport contract in memory, for the demo and single-process tests. Messages die with the
 * process, so it refuses to exist in production.
 */
export class InProcessTransport implements MqTransport {
  readonly name = 'in-process';
  readonly durable = false;
  private readonly queues = new Map<string, Stored[]>();
  private readonly consumers = new Set<InProcessConsumer>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    if (process.env.NODE_ENV === 'production') {
      throw new Error(
        'the in-process MQ transport keeps messages in memory only and is refused when NODE_ENV=production; configure mq.kind "amqp" or "ibmmq"',
      );
    }
    log.warn(
      { transport: this.name },
      'in-process MQ transport is NOT durable: queued messages are lost when the process exits',
    );
  }

  async ensureQueues(queues: readonly string[]): Promise<void> {
    this.assertOpen('ensureQueues');
    for (const q of queues) if (!this.queues.has(q)) this.queues.set(q, []);
  }

  async put(m: OutgoingMessage): Promise<void> {
    this.assertOpen(`put to ${m.queue}`);
    checkOutgoing(m);
    if (this.existing(m.queue).length >= IN_PROCESS_QUEUE_DEPTH_MAX)
      throw new TransientFault(`in-process queue ${m.queue} is full (${IN_PROCESS_QUEUE_DEPTH_MAX} messages)`);
    this.enqueue(m.queue, {
      body: m.body,
      messageId: m.messageId,
      correlationId: m.correlationId ?? null,
      expiresAt: m.expiryMs === undefined ? null : this.clock.now() + m.expiryMs,
      deliveryCount: 0,
      properties: m.traceparent === undefined ? {} : { traceparent: m.traceparent },
    });
  }

  async consume(queue: string, handler: Handler, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen(`consume from ${queue}`);
    const source = this.existing(queue);
    this.existing(options.backoutQueue);
    const consumer = new InProcessConsumer(this, queue, source, handler, options, this.log);
    const handle = registered(this.consumers, consumer);
    consumer.pump();
    return handle;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.consumers) c.abandon();
    this.consumers.clear();
  }

  /** Appends (or, for a rollback, returns to the head) and wakes the queue's consumers. */
  enqueue(queue: string, s: Stored, atHead = false): void {
    const q = this.existing(queue);
    if (atHead) q.unshift(s);
    else q.push(s);
    if (q.length > IN_PROCESS_QUEUE_DEPTH_MAX && !atHead) {
      q.shift();
      this.log.warn({ queue }, 'in-process queue over its bound; its oldest message was dropped');
    }
    // Deferred, so that a handler that always rolls back cannot recurse without bound.
    setImmediate(() => {
      for (const c of this.consumers) if (c.queue === queue) c.pump();
    });
  }

  isOpen(): boolean {
    return !this.closed;
  }

  now(): number {
    return this.clock.now();
  }

  private existing(queue: string): Stored[] {
    const q = this.queues.get(queue);
    if (q === undefined)
      throw new Error(`in-process queue ${queue} does not exist; declare it with ensureQueues first`);
    return q;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new Error(`${what}: the in-process transport is closed`);
  }
}

class InProcessConsumer {
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly transport: InProcessTransport,
    readonly queue: string,
    private readonly source: Stored[],
    private readonly handler: Handler,
    private readonly options: ConsumeOptions,
    private readonly log: Logger,
  ) {}

  pump(): void {
    while (!this.stopped && this.inFlight.size < this.options.prefetch) {
      const s = this.source.shift();
      if (s === undefined) return;
      if (s.expiresAt !== null && s.expiresAt <= this.transport.now()) continue; // expired: the broker discards it
      const p = this.deliver(s).finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
      this.inFlight.add(p);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Transport closed: deliver nothing more; handlers still running can no longer settle. */
  abandon(): void {
    this.stopped = true;
  }

  private deliver(s: Stored): Promise<void> {
    const message = {
      queue: this.queue,
      body: s.body,
      messageId: s.messageId,
      correlationId: s.correlationId,
      deliveryCount: s.deliveryCount,
      ...(s.properties?.['traceparent'] === undefined ? {} : { traceparent: s.properties['traceparent'] }),
    };
    return settle(
      {
        message,
        commit: async () => this.assertOpen(),
        rollback: async () => {
          this.assertOpen();
          this.transport.enqueue(this.queue, { ...s, deliveryCount: s.deliveryCount + 1 }, true);
        },
        backout: async () => {
          this.assertOpen();
          this.transport.enqueue(this.options.backoutQueue, { ...s, expiresAt: null, deliveryCount: 0 });
        },
        abandoned: () => this.stopped || !this.transport.isOpen(),
      },
      this.handler,
      this.options.backoutThreshold,
      this.log,
    );
  }

  private assertOpen(): void {
    if (!this.transport.isOpen()) throw new Error('the in-process transport was closed before the message was settled');
  }
}
