/**
 * The MQ properties of what the bridge puts on a participant's FROM.GATEWAY queue, read as
 * RabbitMQ holds them with a plain AMQP client: persistence, content type, and an offer's expiry.
 */
import { connect, type GetMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { ParticipantBridge } from '../../src/participant/bridge.js';
import { ParticipantDirectory } from '../../src/participant/directory.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { newMessageId, participantQueues } from '../../src/participant/mq/index.js';
import { AMQP_URL, deleteQueues, randomParticipant } from '../support/bank-gateway.js';
import { basePayment } from '../support/iso20022-arbitraries.js';

const BANK = randomParticipant();
const Q = participantQueues(BANK);
const FPID = 'TRN00000000000001A1020261122GBP040004     ';
let transport: AmqpTransport;
let bridge: ParticipantBridge;

beforeAll(async () => {
  transport = await AmqpTransport.connect({ url: AMQP_URL }, silentLogger);
  await transport.ensureQueues([Q.fromGateway]);
  // Nothing here is refused: the audit is never asked.
  const refusals = { record: async () => undefined };
  bridge = new ParticipantBridge({
    transport,
    participants: new ParticipantDirectory([{ id: BANK, name: 'Bank', sortCodes: ['040004'], prefetch: 8 }]),
    clock: systemClock,
    log: silentLogger,
    refusals,
  });
});

afterAll(async () => {
  await transport.close();
  await deleteQueues([BANK]);
});

/** The next message on FROM.GATEWAY as the broker holds it. */
async function next(): Promise<GetMessage> {
  const c = await connect(AMQP_URL);
  try {
    const ch = await c.createChannel();
    // Declaring it again durable succeeds only when it is: the broker refuses an inequivalent declaration.
    await ch.assertQueue(Q.fromGateway, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const got = await ch.get(Q.fromGateway, { noAck: true });
    if (got === false) throw new Error('nothing on FROM.GATEWAY');
    return got;
  } finally {
    await c.close();
  }
}

afterEach(async () => {
  const c = await connect(AMQP_URL);
  await (await c.createChannel()).purgeQueue(Q.fromGateway);
  await c.close();
});

describe('message properties of what the gateway puts', () => {
  it('puts persistent UTF-8 XML on a durable queue (P4)', async () => {
    const mqMessageId = newMessageId();
    await bridge.report({
      participant: BANK,
      fpid: FPID,
      instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn },
      code: '0000',
    });
    const got = await next();
    expect(got.properties).toMatchObject({
      deliveryMode: 2,
      correlationId: mqMessageId,
      contentType: 'application/xml',
      contentEncoding: 'utf-8',
    });
  });

  it('puts an inbound pacs.008 with an expiry equal to the time left before the stand-in deadline (P5)', async () => {
    const offerMessageId = newMessageId();
    const leftMs = 60_000;
    const before = Date.now();
    await bridge.offer({
      participant: BANK,
      fpid: FPID,
      payment: basePayment,
      offerMessageId,
      expiresAt: before + leftMs,
    });
    const got = await next();
    expect(got.properties.messageId).toBe(offerMessageId);
    expect(got.properties.deliveryMode).toBe(2);
    const expiration = Number(got.properties.expiration);
    expect(expiration).toBeLessThanOrEqual(leftMs);
    expect(expiration).toBeGreaterThan(leftMs - (Date.now() - before) - 1);
  });
});
