/**
 * The gateway's broker connection cut: what it puts meanwhile waits for the reconnect instead of
 * failing. RabbitMQ behind a TCP proxy; the participant's side reads directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { ParticipantDirectory, type ParticipantConfig as Participant } from '../../src/participant/directory.js';
import type { RefusedMessage } from '../../src/ledger/refusals.js';
import { silentLogger } from '../../src/base/log.js';
import { ParticipantBridge } from '../../src/participant/bridge.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { ensureParticipantQueues, newMessageId, type IncomingMessage } from '../../src/participant/mq/index.js';
import { basePayment } from '../support/iso20022-arbitraries.js';
import { inFrontOf, type ProxiedUrl } from '../support/transport-proxy.js';
import { AMQP_URL, runParticipantId } from '../support/stack.js';
import { deleteQueues } from '../support/bank-gateway.js';
import { until } from '../support/tcp.js';

let proxy: ProxiedUrl;
let direct: AmqpTransport;
let viaProxy: AmqpTransport;
let bank: Participant;
const seen: IncomingMessage[] = [];
/** Nothing here is refused; a refusal would show up in this list. */
const refused: RefusedMessage[] = [];
const refusals = { record: async (r: RefusedMessage) => void refused.push(r) };

beforeAll(async () => {
  proxy = await inFrontOf(AMQP_URL);
  direct = await AmqpTransport.connect({ url: AMQP_URL }, silentLogger);
  viaProxy = await AmqpTransport.connect({ url: proxy.url, reconnectMinMs: 100, reconnectMaxMs: 500 }, silentLogger);
  bank = { id: runParticipantId(), name: 'Bank', sortCodes: ['040004'], prefetch: 8 };
  const q = await ensureParticipantQueues(direct, bank.id);
  await direct.consume(q.fromGateway, async (m) => (seen.push(m), 'commit'), {
    prefetch: 50,
    backoutThreshold: 3,
    backoutQueue: q.backout,
  });
});

/** The gateway's side of the broker: a bridge whose connection goes through the cuttable proxy. */
function bridgeViaProxy(): ParticipantBridge {
  return new ParticipantBridge({
    transport: viaProxy,
    participants: new ParticipantDirectory([bank]),
    clock: systemClock,
    log: silentLogger,
    refusals,
  });
}

afterAll(async () => {
  await viaProxy.close();
  await direct.close();
  await proxy.close();
  await deleteQueues([bank.id]);
});

describe('a broker outage', () => {
  it('puts offers, notices and reports made while the connection is down once it is back', async () => {
    const bridge = bridgeViaProxy();
    const fpid = `${basePayment.trn}1020261122GBP040004     `;
    const outage = proxy.outage(1500);
    await new Promise((r) => setTimeout(r, 50));
    const mqMessageId = newMessageId();
    const offerMessageId = newMessageId();
    await Promise.all([
      bridge.offer({ participant: bank.id, fpid, offerMessageId, payment: basePayment, expiresAt: Date.now() + 8000 }),
      bridge.standIn({ participant: bank.id, fpid, offerMessageId, payment: basePayment }),
      bridge.report({
        participant: bank.id,
        fpid,
        instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn },
        code: '0000',
      }),
    ]);
    await outage;
    await until(() => seen.length === 3, 10_000, 'all three on the queue');
    expect(seen.map((m) => m.messageId)).toContain(offerMessageId);
    expect(refused).toEqual([]);
    expect(seen.filter((m) => m.correlationId === mqMessageId)).toHaveLength(1);
  });

  it('gives up on an offer once it would have expired, so that the stand-in answers the scheme', async () => {
    const bridge = bridgeViaProxy();
    const outage = proxy.outage(3000);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await expect(
      bridge.offer({
        participant: bank.id,
        fpid: `${'X'.repeat(18)}1020261122GBP040004     `,
        offerMessageId: newMessageId(),
        payment: basePayment,
        expiresAt: Date.now() + 800,
      }),
    ).rejects.toThrow(/unreachable|closed|failed/);
    expect(Date.now() - started).toBeLessThan(2500);
    await outage;
  });
});
