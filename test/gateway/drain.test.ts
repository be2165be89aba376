/**
 * Instructions read while the gateway drains (R8): recorded, not submitted, and submitted and
 * reported by the next run. The scheme is played by the test over real TCP (a Wire on each
 * accepted connection), the participant over RabbitMQ, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig, type GatewayConfig } from '../../src/daemon/config.js';
import { silentLogger } from '../../src/base/log.js';
import { parsePacs002 } from '../../src/participant/iso20022/index.js';
import {
  createTransport,
  ensureParticipantQueues,
  newMessageId,
  type IncomingMessage,
  type MqTransport,
} from '../../src/participant/mq/index.js';
import type { Wire } from '../../src/scheme/wire.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { inboundFields } from '../support/iso20022-arbitraries.js';
import { schemePeer, startSignedOn, type SchemePeer } from '../support/gateway-here.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import { AMQP_URL, runParticipantId } from '../support/stack.js';
import { deleteQueues } from '../support/bank-gateway.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
/** A participant of this run only, on RabbitMQ: its queues outlive the first gateway's stop. */
const PARTICIPANT = runParticipantId();

let db: TestDatabase;
let config: GatewayConfig;
let transport: MqTransport;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];
/** What the scheme got from the gateway: sign-offs and payment requests, in order. */
const seen: string[] = [];
const reports: IncomingMessage[] = [];

async function peer(): Promise<string> {
  const p = await schemePeer(wires, {
    onRequest: (m, reply) => {
      const fn = m.fields.get(24);
      if (m.mti !== '9804') seen.push(`${m.mti} ${m.fields.get(31)}`);
      else if (fn === '882' || fn === '892') seen.push(fn);
      reply.reply('0000');
    },
  });
  peers.push(p);
  return p.address;
}

beforeAll(async () => {
  db = await startTestDatabase();
  transport = await createTransport({ kind: 'amqp', url: AMQP_URL }, silentLogger);
  config = parseGatewayConfig({
    site: 'drain-test',
    scheme: { dc1: [await peer()], dc2: [await peer()], macKey: MAC_KEY, connectionsPerDc: 1 },
    timing: { tInMs: 3000, standInMarginMs: 1000 },
    participants: [{ id: PARTICIPANT, name: 'Bank', sortCodes: ['040004'] }],
    mq: { kind: 'amqp', url: AMQP_URL },
    database: { url: db.url },
    http: { port: 0 },
  });
}, 60_000);

afterAll(async () => {
  await transport.close();
  for (const p of peers) p.close();
  await db.stop();
  await deleteQueues([PARTICIPANT]);
});

const stateOf = async (trn: string) =>
  (
    await db.pool.query<{ state: string }>("SELECT state FROM payments WHERE trn = $1 AND direction = 'outbound'", [
      trn,
    ])
  ).rows[0]?.state;

/** The outbound payment's state once it is `state`, or whatever it is after 2 s. */
async function stateBecomes(trn: string, state: string): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const now = await stateOf(trn);
    if (now === state) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
  return stateOf(trn);
}

describe('gateway drain: instructions (R8)', () => {
  it('records an instruction read during the drain without submitting it; the next run submits and reports it', async () => {
    const first = await startSignedOn(config);
    const Q = await ensureParticipantQueues(transport, PARTICIPANT);
    await transport.consume(Q.fromGateway, async (m) => (reports.push(m), 'commit'), {
      prefetch: 100,
      backoutThreshold: 3,
      backoutQueue: Q.backout,
    });
    // An inbound payment nobody decides keeps the drain open until its stand-in (2 s).
    const inbound = inboundFields({ trn: 'DRAININBOUND000001', beneficiarySortCode: '040004' });
    const answered = wires[0]!.request({ mti: '9200', fields: inbound });
    await until(() => reports.length === 1, 5000, 'the offer');
    const stopping = first.stop();
    await until(() => seen.filter((s) => s === '892').length === 2, 3000, 'receive signed off');
    const messageId = newMessageId();
    await transport.put({
      queue: Q.toGateway,
      body: FIXTURE.replace('NWBK20261122093015000042', 'MSG-DRAIN').replace(
        'TRN00000000000001A',
        'DRAINOUTBOUND00001',
      ),
      messageId,
    });
    expect(await stateBecomes('DRAINOUTBOUND00001', 'recorded')).toBe('recorded');
    await stopping;
    expect((await answered).fields.get(26)).toBe('0912');
    expect(seen.filter((s) => s.startsWith('92'))).toEqual([]);
    expect(seen.slice(-2)).toEqual(['882', '882']);
    expect(reports.filter((r) => r.correlationId === messageId)).toHaveLength(0);

    const second = await startSignedOn(config);
    try {
      await until(() => reports.some((r) => r.correlationId === messageId), 8000, 'the report from the next run');
      expect(parsePacs002(reports.find((r) => r.correlationId === messageId)!.body)).toMatchObject({
        ok: true,
        status: { status: 'ACSC', originalTrn: 'DRAINOUTBOUND00001' },
      });
      expect(seen.filter((s) => s.startsWith('92'))).toEqual(['9200 DRAINOUTBOUND00001']);
      expect(await stateBecomes('DRAINOUTBOUND00001', 'reported')).toBe('reported');
    } finally {
      await second.stop();
    }
  });
});
