/**
 * Admission control against the gateway (src/payments/admission.ts): past the bound of offered
 * payments a new inbound payment is stood in at once (R6: 9210 0912), never offered, and recorded
 * with the reason; once the offered one is decided, the next is offered again. The scheme is played
 * over real TCP, the participant on the in-process MQ transport, the ledger in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPacs002, detectMessage, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues } from '../../src/participant/mq/index.js';
import { SAMPLE_MS } from '../../src/payments/admission.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { businessDate, fpidOf } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import { inboundFields } from '../support/iso20022-arbitraries.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { scrape } from '../support/metrics.js';
import { until } from '../support/tcp.js';

const Q = participantQueues('300001');
let here: GatewayHere;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];

async function dc(): Promise<string> {
  const p = await schemePeer(wires, { onRequest: (_m, reply) => reply.reply('0000') });
  peers.push(p);
  return p.address;
}

let serial = 0;
function inbound(): IsoMessage {
  const trn = `ADM${String(serial++).padStart(15, '0')}`;
  return {
    mti: '9200',
    fields: inboundFields({ trn, settlementDate: businessDate(Date.now()), settlementCycle: '01' }),
  };
}

const offers = () => here.fromGateway.filter((m) => detectMessage(m.body) === 'pacs.008');
/** Two samples of the load: the admission decision after this sees what changed before it. */
const sampled = () => new Promise((r) => setTimeout(r, 2 * SAMPLE_MS + 50));

beforeAll(async () => {
  here = await gatewayHere({
    site: 'admission-test',
    scheme: { dc1: [await dc()], dc2: [await dc()], connectionsPerDc: 1 },
    participant: { id: '300001', sortCodes: ['200000'] },
    admission: { offeredMax: 1 },
  });
}, 60_000);

afterAll(async () => {
  await here.stop();
  for (const p of peers) p.close();
});

describe('gateway admission control', () => {
  it('stands in at once what it cannot offer past its bound, offering nothing, and offers again once there is room (R6)', async () => {
    const first = inbound();
    const firstAnswer = wires[0]!.request(first);
    await until(() => offers().length === 1, 5000, 'the first offer');
    await sampled();

    const started = Date.now();
    const second = inbound();
    const secondAnswer = await wires[1]!.request(second);
    expect(secondAnswer.fields.get(26)).toBe('0912');
    // Answered at once, not at the stand-in deadline (T_in - margin, 9 s).
    expect(Date.now() - started).toBeLessThan(2000);
    expect(offers()).toHaveLength(1);
    const rows = await here.db.pool.query<{ state: string; event: string; cause: { shed?: string } }>(
      `SELECT p.state, j.event, j.cause FROM payments p JOIN payment_journal j USING (fpid) WHERE fpid = $1 ORDER BY j.id`,
      [fpidOf(second.fields)],
    );
    expect(rows.rows[0]).toMatchObject({ event: 'received', cause: { shed: 'offered' } });
    expect(rows.rows.at(-1)!.state).toBe('replied');

    const offer = offers()[0]!;
    const parsed = parsePacs008(offer.body);
    if (!parsed.ok) throw new Error(parsed.reason);
    await here.transport.put({
      queue: Q.toGateway,
      body: buildPacs002({
        msgId: 'ADM-D1',
        createdAt: Date.now(),
        originalTrn: parsed.instruction.trn,
        status: 'ACSC',
      }),
      messageId: newMessageId(),
      correlationId: offer.messageId,
    });
    expect((await firstAnswer).fields.get(26)).toBe('0000');
    await sampled();

    const third = inbound();
    const thirdAnswer = wires[0]!.request(third);
    await until(() => offers().length === 2, 5000, 'the third offer');
    expect(offers()[1]!.body).toContain(third.fields.get(31)!);
    const m = await scrape(here.gateway.httpUrl!);
    expect(m.sum('gateway_admission_shed_total', { reason: 'offered' })).toBe(1);
    expect(m.has('gateway_admission_load')).toBe(true);
    void thirdAnswer.catch(() => undefined);
  });
});
