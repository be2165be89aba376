import {
  connect,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Message,
} from 'amqplib';
import { TransientFault } from '../../base/faults.js';
import type { Logger } from '../../base/log.js';
import {
  checkOutgoing,
  logFields,
  type ConsumeOptions,
  type Consumer,
  type Handler,
  type IncomingMessage,
  type MqTransport,
  type OutgoingMessage,
  registered,
} from './port.js';
import { coalesceWrites } from './amqp-coalesce.js';
import { readByOneSite } from './queues.js';
import { settle } from './settle.js';

export interface AmqpOptions {
  /** e.g. amqp://guest:guest@127.0.0.1:5672 */
  url: string;
  /** A put whose publisher confirm has not arrived by then is rejected. */
  confirmTimeoutMs?: number;
  /** Reconnect back-off after a lost connection: doubles from the first delay up to the last. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

const DEFAULTS = { confirmTimeoutMs: 10_000, reconnectMinMs: 200, reconnectMaxMs: 30_000 };

/** Quorum queues survive a node loss and count deliveries in `x-delivery-count`, which MQ calls BackoutCount. */
const QUEUE_ARGS = { 'x-queue-type': 'quorum' };

/**
 * [P3] A queue the gateway reads (`TO.GATEWAY`) is declared single active consumer: the broker
 * delivers to one consumer at a time and hands over to the next when it cancels or its connection
 * goes, so two sites never read it at once whatever the lease says.
 */
export function queueArguments(queue: string): Record<string, unknown> {
  return readByOneSite(queue) ? { ...QUEUE_ARGS, 'x-single-active-consumer': true } : QUEUE_ARGS;
}

/** RabbitMQ's reply when a queue exists with other arguments. */
const PRECONDITION_FAILED = 406;

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | undefined)?.code;

interface Link {
  model: ChannelModel;
  publisher: ConfirmChannel;
  /** Message ids the broker returned as unroutable (mandatory flag), awaiting their confirms. */
  returned: Set<string>;
}

/**
 * AMQP 0-9-1 (RabbitMQ) transport: durable quorum queues, persistent puts awaited on publisher
 * confirms, manual acknowledgement as the transactional get. A lost connection is re-established
 * with back-off and consumers resume; the broker redelivers whatever they had not acknowledged.
 */
export class AmqpTransport implements MqTransport {
  readonly name = 'amqp';
  readonly durable = true;
  private link: Link | undefined;
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly options: Required<AmqpOptions>;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    options: AmqpOptions,
    private readonly log: Logger,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Connects once; a broker unreachable at start is an error, not something to wait for. */
  static async connect(options: AmqpOptions, log: Logger): Promise<AmqpTransport> {
    const t = new AmqpTransport(options, log);
    t.link = await t.open();
    log.info({ transport: t.name, broker: redactUrl(options.url) }, 'connected to the AMQP broker');
    return t;
  }

  /**
   * Declares each queue durable, with `queueArguments`. A queue that already exists with other
   * arguments (RabbitMQ cannot change them: PRECONDITION_FAILED), such as a TO.GATEWAY declared
   * before single active consumer, is used as it is, with a warning: the lease alone then keeps
   * one site reading it (an exclusive consume is no help: quorum queues do not enforce it). A failed
   * declare closes its channel, so each queue gets a channel of its own.
   */
  async ensureQueues(queues: readonly string[]): Promise<void> {
    const { model } = this.live('ensureQueues');
    for (const q of queues) {
      const ch = await model.createChannel();
      ch.on('error', () => undefined);
      try {
        await ch.assertQueue(q, { durable: true, arguments: queueArguments(q) });
      } catch (err) {
        if (codeOf(err) !== PRECONDITION_FAILED) throw err;
        await this.checkQueues(model, [q]);
        this.log.warn(
          { queue: q, err: (err as Error).message },
          readByOneSite(q)
            ? 'AMQP queue exists without single active consumer: used as it is, the lease alone keeps one site reading it; recreate it (emptied) to have the broker enforce one consumer'
            : 'AMQP queue exists with other arguments: used as it is',
        );
      } finally {
        await ch.close().catch(() => undefined);
      }
    }
  }

  async put(m: OutgoingMessage): Promise<void> {
    checkOutgoing(m);
    await this.publish(m.queue, Buffer.from(m.body, 'utf8'), {
      messageId: m.messageId,
      ...(m.correlationId === undefined ? {} : { correlationId: m.correlationId }),
      ...(m.expiryMs === undefined ? {} : { expiration: String(m.expiryMs) }),
      ...(m.traceparent === undefined ? {} : { headers: { traceparent: m.traceparent } }),
    });
    this.log.debug(logFields(m), 'message put');
  }

  async consume(queue: string, handler: Handler, options: ConsumeOptions): Promise<Consumer> {
    const { model } = this.live(`consume from ${queue}`);
    await this.checkQueues(model, [queue, options.backoutQueue]);
    const consumer = new AmqpConsumer(this, queue, handler, options, this.log);
    await consumer.attach(model);
    return registered(this.consumers, consumer);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.consumers.clear();
    const link = this.link;
    this.link = undefined;
    await link?.model.close().catch(() => undefined);
  }

  /** Publishes a persistent message to `queue` and resolves on the broker's confirm. */
  publish(
    queue: string,
    content: Buffer,
    props: { messageId: string; correlationId?: string; expiration?: string; headers?: Record<string, unknown> },
  ): Promise<void> {
    const link = this.live(`put to ${queue}`);
    return new Promise<void>((resolve, reject) => {
      // Anything but a missing queue is the link's fault, not the message's: worth putting again.
      const fail = (why: string, transient = true): void => {
        const message = `put to ${queue} (message ${props.messageId}) failed: ${why}`;
        reject(transient ? new TransientFault(message) : new Error(message));
      };
      const timer = setTimeout(
        () =>
          fail(`no publisher confirm within ${this.options.confirmTimeoutMs} ms; the broker may or may not have it`),
        this.options.confirmTimeoutMs,
      );
      const done = (err: unknown): void => {
        clearTimeout(timer);
        // With `mandatory`, an unroutable message comes back (basic.return) before its confirm.
        if (link.returned.delete(props.messageId)) fail(`queue ${queue} does not exist`, false);
        else if (err) fail(err instanceof Error ? err.message : String(err));
        else resolve();
      };
      try {
        // [P4] Every message the gateway puts is persistent (delivery mode 2), awaited on the broker's confirm.
        link.publisher.sendToQueue(
          queue,
          content,
          { ...props, persistent: true, mandatory: true, contentType: 'application/xml', contentEncoding: 'utf-8' },
          done,
        );
      } catch (err) {
        done(err); // the channel is already closed
      }
    });
  }

  private async open(): Promise<Link> {
    const model = await connect(this.options.url, {
      // Nagle's algorithm held each small publish or ack for the broker's delayed ACK (about 40 ms).
      noDelay: true,
      clientProperties: { connection_name: 'fps-gateway participant MQ' },
    });
    // 'error' always precedes 'close'; the close handler does the work, this keeps it from being thrown.
    model.on('error', (err: Error) => this.log.warn({ transport: this.name, err }, 'AMQP connection error'));
    model.on('close', () => this.lost(model));
    if (!coalesceWrites(model)) {
      this.log.warn({ transport: this.name }, 'AMQP frames not coalesced: amqplib is not the version expected');
    }
    const link: Link = { model, publisher: await model.createConfirmChannel(), returned: new Set() };
    this.watchPublisher(link);
    return link;
  }

  /** A channel-level error closes only the publisher channel; replace it while the connection lives. */
  private watchPublisher(link: Link): void {
    const { publisher } = link;
    publisher.on('error', (err: Error) => this.log.warn({ transport: this.name, err }, 'AMQP publisher channel error'));
    publisher.on('return', (m: Message) => {
      if (typeof m.properties.messageId === 'string') link.returned.add(m.properties.messageId);
    });
    publisher.on('close', () => {
      if (this.closed || this.link !== link) return;
      link.model.createConfirmChannel().then(
        (next) => {
          link.publisher = next;
          this.watchPublisher(link);
        },
        () => undefined, // the whole connection is going; lost() reconnects
      );
    });
  }

  private lost(model: ChannelModel): void {
    if (this.closed || this.link?.model !== model) return;
    this.link = undefined;
    this.log.warn(
      { transport: this.name, consumers: this.consumers.size },
      'AMQP connection lost; unacknowledged messages will be redelivered; reconnecting',
    );
    this.reconnect(1);
  }

  private reconnect(attempt: number): void {
    const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** (attempt - 1));
    this.reconnectTimer = setTimeout(() => {
      void this.open().then(
        async (link) => {
          if (this.closed) return void (await link.model.close().catch(() => undefined));
          this.link = link;
          this.log.info({ transport: this.name, attempt }, 'AMQP connection re-established');
          for (const c of this.consumers) {
            await c
              .attach(link.model)
              .catch((err: unknown) =>
                this.log.error(
                  { transport: this.name, queue: c.queue, err },
                  'could not resume consuming after reconnect',
                ),
              );
          }
        },
        (err: unknown) => {
          this.log.warn({ transport: this.name, attempt, nextInMs: delay, err }, 'AMQP reconnect failed');
          if (!this.closed) this.reconnect(attempt + 1);
        },
      );
    }, delay);
  }

  /** A failed checkQueue closes its channel, so each check gets a throwaway one. */
  private async checkQueues(model: ChannelModel, queues: readonly string[]): Promise<void> {
    for (const q of queues) {
      const ch = await model.createChannel();
      ch.on('error', () => undefined);
      try {
        await ch.checkQueue(q);
      } catch {
        throw new Error(`AMQP queue ${q} does not exist; declare it with ensureQueues first`);
      } finally {
        await ch.close().catch(() => undefined);
      }
    }
  }

  private live(what: string): Link {
    if (this.closed) throw new Error(`${what}: the AMQP transport is closed`);
    if (this.link === undefined) throw new TransientFault(`${what}: the AMQP broker is unreachable (reconnecting)`);
    return this.link;
  }
}

class AmqpConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly transport: AmqpTransport,
    readonly queue: string,
    private readonly handler: Handler,
    private readonly options: ConsumeOptions,
    private readonly log: Logger,
  ) {}

  /** Subscribes on a fresh channel of `model`; called again after every reconnect. */
  async attach(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ queue: this.queue, err }, 'AMQP consumer channel error'));
    // Per-consumer prefetch: the broker holds back deliveries while this many are unacknowledged.
    await ch.prefetch(this.options.prefetch);
    const { consumerTag } = await ch.consume(
      this.queue,
      (msg) => {
        if (msg === null) {
          this.log.error(
            { queue: this.queue },
            'the broker cancelled the consumer (queue deleted?); no more messages will be read from it',
          );
          return;
        }
        const p = this.deliver(ch, msg).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      },
      // [P6] Manual acknowledgement: a message is removed only when its handler commits it.
      { noAck: false },
    );
    if (this.stopped) {
      // stop() ran while a reconnect was re-attaching this consumer.
      await ch.close().catch(() => undefined);
      return;
    }
    this.channel = ch;
    this.consumerTag = consumerTag;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ch = this.channel;
    if (ch !== undefined && this.consumerTag !== undefined) await ch.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await ch?.close().catch(() => undefined);
  }

  private deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const message = toIncoming(this.queue, msg);
    if (this.stopped) {
      // Arrived between cancel and stop: hand it straight back.
      return Promise.resolve().then(() => ch.nack(msg, false, true));
    }
    return settle(
      {
        message,
        commit: async () => ch.ack(msg),
        rollback: async () => ch.nack(msg, false, true),
        backout: async () => {
          // Confirmed on the backout queue before the ack: a crash in between duplicates, never loses.
          await this.transport.publish(this.options.backoutQueue, msg.content, {
            messageId: message.messageId,
            ...(message.correlationId === null ? {} : { correlationId: message.correlationId }),
            headers: {
              'x-backout-from': this.queue,
              'x-backout-delivery-count': message.deliveryCount,
              ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
            },
          });
          ch.ack(msg);
        },
        // After a reconnect the broker redelivers the message on the new channel.
        abandoned: () => this.stopped || this.channel !== ch,
      },
      this.handler,
      this.options.backoutThreshold,
      this.log,
    );
  }
}

function toIncoming(queue: string, msg: ConsumeMessage): IncomingMessage {
  const count: unknown = msg.properties.headers?.['x-delivery-count'];
  const traceparent: unknown = msg.properties.headers?.['traceparent'];
  return {
    queue,
    body: msg.content.toString('utf8'),
    messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : '',
    correlationId: typeof msg.properties.correlationId === 'string' ? msg.properties.correlationId : null,
    // Quorum queues count deliveries; a classic queue only says whether there was an earlier one.
    deliveryCount: typeof count === 'number' ? count : msg.fields.redelivered ? 1 : 0,
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
  };
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
