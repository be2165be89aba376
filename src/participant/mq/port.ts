import { randomBytes } from 'node:crypto';
import { parseTraceparent } from '../../base/tracing.js';

/**
 * The one interface the gateway sees of a participant's MQ link (participant-mq.md §1–2). Each
 * transport maps it onto its broker: IBM MQ, AMQP 0-9-1 (RabbitMQ), or memory for the demo.
 */

export interface OutgoingMessage {
  queue: string;
  /** UTF-8 XML. */
  body: string;
  /** 48 hex chars: the 24 bytes of an MQ MsgId. */
  messageId: string;
  /** 48 hex chars: the `messageId` of the message this one answers. */
  correlationId?: string;
  /** Time to live; the broker discards the message once it has passed. */
  expiryMs?: number;
  /** The W3C trace context of the payment it is about, as a message property (AMQP header, MQ property). */
  traceparent?: string;
}

export interface IncomingMessage {
  queue: string;
  body: string;
  messageId: string;
  correlationId: string | null;
  /** Earlier deliveries of this message: 0 on the first. */
  deliveryCount: number;
  /** The `traceparent` property it carried, if any (not checked: a parse of it decides). */
  traceparent?: string;
}

/**
 * commit: the effect is durably recorded, remove the message.
 * rollback: redeliver it (MQ backout, AMQP nack with requeue).
 * backout: it can never be processed; move it to the backout queue now, then remove it.
 */
export type Disposition = 'commit' | 'rollback' | 'backout';

export type Handler = (m: IncomingMessage) => Promise<Disposition>;

export interface ConsumeOptions {
  /** Cap on handlers in flight. */
  prefetch: number;
  /** A message delivered this many times before goes to the backout queue unseen by the handler. */
  backoutThreshold: number;
  backoutQueue: string;
}

export interface Consumer {
  /** Takes no new messages, waits for the handlers in flight to settle theirs, then returns. */
  stop(): Promise<void>;
}

export interface MqTransport {
  readonly name: 'amqp' | 'ibmmq' | 'in-process';
  /** Whether a put survives a restart of the broker (false only in memory). */
  readonly durable: boolean;
  /** Declares the queues where the broker lets us (AMQP, memory); checks they exist where an admin defines them (IBM MQ). */
  ensureQueues(queues: readonly string[]): Promise<void>;
  /** Persistent put; resolves only once the broker has the message (publisher confirm / MQPUT done). */
  put(m: OutgoingMessage): Promise<void>;
  /**
   * Transactional get: a message is removed only after `handler` resolved 'commit'; a handler that
   * throws rolls it back. A message already delivered `backoutThreshold` times goes to the backout
   * queue without reaching the handler.
   */
  consume(queue: string, handler: Handler, options: ConsumeOptions): Promise<Consumer>;
  /** Drops the connection. Messages whose handlers have not settled yet are redelivered later. */
  close(): Promise<void>;
}

export const DEFAULT_BACKOUT_THRESHOLD = 3;

const HEX_ID = /^[0-9a-f]{48}$/;

/** Whether `id` is a message id every transport can carry, and so one an answer can correlate to. */
export function isMessageId(id: string): boolean {
  return HEX_ID.test(id);
}

/** 24 random bytes as 48 lower-case hex chars, usable as MQ MsgId and AMQP message_id alike. */
export function newMessageId(): string {
  return randomBytes(24).toString('hex');
}

/** Rejects what no transport can carry faithfully, so that all three fail alike. */
export function checkOutgoing(m: OutgoingMessage): void {
  if (!HEX_ID.test(m.messageId)) {
    throw new Error(
      `put to ${m.queue}: messageId must be 48 lower-case hex chars (a 24-byte MsgId), got ${JSON.stringify(m.messageId)}`,
    );
  }
  if (m.correlationId !== undefined && !HEX_ID.test(m.correlationId)) {
    throw new Error(
      `put to ${m.queue}: correlationId must be 48 lower-case hex chars, got ${JSON.stringify(m.correlationId)}`,
    );
  }
  if (m.expiryMs !== undefined && !(Number.isInteger(m.expiryMs) && m.expiryMs > 0)) {
    throw new Error(`put to ${m.queue}: expiryMs must be a positive integer, got ${m.expiryMs}`);
  }
  if (m.traceparent !== undefined && parseTraceparent(m.traceparent) === undefined) {
    throw new Error(`put to ${m.queue}: traceparent must be a W3C traceparent, got ${JSON.stringify(m.traceparent)}`);
  }
}

/** Log fields for a message: identifiers only, never the body (it holds names and account numbers). */
export function logFields(m: IncomingMessage | OutgoingMessage): Record<string, unknown> {
  return {
    queue: m.queue,
    messageId: m.messageId,
    correlationId: m.correlationId ?? null,
    ...('deliveryCount' in m ? { deliveryCount: m.deliveryCount } : {}),
  };
}

/** The Consumer handed out for a transport's consumer: stopping it also forgets it. */
export function registered<C extends { stop(): Promise<void> }>(all: Set<C>, consumer: C): Consumer {
  all.add(consumer);
  return {
    stop: async () => {
      all.delete(consumer);
      await consumer.stop();
    },
  };
}
