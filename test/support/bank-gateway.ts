import { connect } from 'amqplib';
import { silentLogger, createLogger } from '../../src/base/log.js';
import {
  buildPacs002,
  buildPacs007,
  buildPacs008,
  parsePacs008,
  type Instruction,
} from '../../src/participant/iso20022/index.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import {
  consumeOptions,
  ensureParticipantQueues,
  newMessageId,
  type Consumer,
  type IncomingMessage,
  type ParticipantQueues,
} from '../../src/participant/mq/index.js';
import { ActionCode, PaymentType } from '../../src/scheme/profile.js';
import type { SchemePayment } from '../../src/scheme/messages.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const log = process.env.LOG_LEVEL === undefined ? silentLogger : createLogger('participant-sim-test');

/** A participant id (and sort code) unlikely to collide with another run or test: 9xxxxx. */
export function randomParticipant(): string {
  return String(900000 + Math.floor(Math.random() * 100000));
}

let serial = 0;
/** An 18-character TRN unique to this run. */
export function trn(): string {
  return `GW${Date.now().toString(36).toUpperCase().slice(-6)}${String(++serial).padStart(10, '0')}`;
}

export function inboundPayment(beneficiarySortCode: string, overrides: Partial<SchemePayment> = {}): SchemePayment {
  return {
    type: PaymentType.sip,
    amountPence: 12_345,
    trn: trn(),
    dateSent: '20250102',
    settlementDate: '20250102',
    originatorSortCode: '040004',
    originatorAccount: '12345678',
    beneficiarySortCode,
    beneficiaryAccount: '87654321',
    institution: '040004',
    endToEndRef: 'E2E-TEST',
    ...overrides,
  };
}

/**
 * The test's stand-in for the gateway: it puts on FROM.GATEWAY what the bridge would
 * (src/participant/bridge.ts) and collects everything the simulator puts on TO.GATEWAY.
 */
export class FakeGateway {
  readonly received: IncomingMessage[] = [];
  private consumer?: Consumer;

  private constructor(
    readonly transport: AmqpTransport,
    readonly queues: ParticipantQueues,
  ) {}

  static async start(participant: string): Promise<FakeGateway> {
    const transport = await AmqpTransport.connect({ url: AMQP_URL }, log);
    const g = new FakeGateway(transport, await ensureParticipantQueues(transport, participant));
    g.consumer = await transport.consume(
      g.queues.toGateway,
      async (m) => {
        g.received.push(m);
        return 'commit';
      },
      consumeOptions(g.queues.toGateway, 16),
    );
    return g;
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
    await this.transport.close();
  }

  /** Offers an inbound payment as the bridge does; returns the pacs.008's MQ message id and GrpHdr/MsgId. */
  async offer(
    payment: SchemePayment,
    ids: { messageId?: string; msgId?: string } = {},
  ): Promise<{ messageId: string; msgId: string; body: string }> {
    const messageId = ids.messageId ?? newMessageId();
    const msgId = ids.msgId ?? `GW${messageId.slice(0, 32).toUpperCase()}`;
    const body = buildPacs008({ msgId, createdAt: Date.now(), payment });
    await this.transport.put({ queue: this.queues.fromGateway, body, messageId, expiryMs: 60_000 });
    return { messageId, msgId, body };
  }

  async putRaw(body: string, correlationId?: string): Promise<void> {
    await this.transport.put({
      queue: this.queues.fromGateway,
      body,
      messageId: newMessageId(),
      ...(correlationId === undefined ? {} : { correlationId }),
    });
  }

  /** The gateway's pacs.002 on an outbound instruction (bridge.report). */
  async report(instruction: IncomingMessage, code: ActionCode): Promise<void> {
    const parsed = parsePacs008(instruction.body);
    if (!parsed.ok) throw new Error(`not a pacs.008: ${parsed.reason}`);
    const i: Instruction = parsed.instruction;
    const body = buildPacs002({
      msgId: `GWR${newMessageId().slice(0, 30).toUpperCase()}`,
      createdAt: Date.now(),
      originalMsgId: i.msgId,
      ...(i.endToEndRef === undefined ? {} : { originalEndToEndId: i.endToEndRef }),
      originalTrn: i.trn,
      status: code === ActionCode.accepted ? 'ACSC' : 'RJCT',
      ...(code === ActionCode.accepted ? {} : { reason: code }),
    });
    await this.putRaw(body, instruction.messageId);
  }

  /** bridge.standIn: RJCT 0912 correlated to the offer. */
  async standIn(offer: { messageId: string; msgId: string }, payment: SchemePayment): Promise<void> {
    const body = buildPacs002({
      msgId: `GWS${offer.messageId.slice(0, 30).toUpperCase()}`,
      createdAt: Date.now(),
      originalMsgId: offer.msgId,
      originalTrn: payment.trn,
      status: 'RJCT',
      reason: ActionCode.standIn,
    });
    await this.putRaw(body, offer.messageId);
  }

  /** bridge.reversal: pacs.007 TMOT correlated to the offer. */
  async reversal(offer: { messageId: string; msgId: string }, payment: SchemePayment): Promise<void> {
    const body = buildPacs007({
      msgId: `GWV${offer.messageId.slice(0, 30).toUpperCase()}`,
      createdAt: Date.now(),
      originalMsgId: offer.msgId,
      originalTrn: payment.trn,
      amountPence: payment.amountPence,
      reason: 'TMOT',
    });
    await this.putRaw(body, offer.messageId);
  }

  async next(what: string, match: (m: IncomingMessage) => boolean, timeoutMs = 5_000): Promise<IncomingMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find(match);
      if (m !== undefined) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The port cannot delete queues; the tests remove theirs with amqplib, as the transport tests do. */
export async function deleteQueues(participants: readonly string[]): Promise<void> {
  if (participants.length === 0) return;
  const model = await connect(AMQP_URL);
  try {
    const ch = await model.createChannel();
    for (const id of participants) {
      for (const q of ['TO.GATEWAY', 'FROM.GATEWAY', 'TO.GATEWAY.BACKOUT']) await ch.deleteQueue(`FPS.${id}.${q}`);
    }
  } finally {
    await model.close();
  }
}
