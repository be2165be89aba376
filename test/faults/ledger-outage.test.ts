/**
 * The gateway's database connections cut for a few seconds while instructions and decisions
 * arrive: a transient fault is waited out, never taken for poison. The gateway runs in this
 * process on the in-process MQ transport, the scheme simulator as a process, PostgreSQL behind a
 * TCP proxy.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';
import { Gateway } from '../../src/daemon/gateway.js';
import { silentLogger } from '../../src/base/log.js';
import { buildPacs002, parsePacs002, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { inFrontOf, type ProxiedUrl } from '../support/transport-proxy.js';
import { MAC_KEY, startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const Q = participantQueues('040004');

let db: TestDatabase;
let proxy: ProxiedUrl;
let sim: SchemeSim;
let gateway: Gateway;
let transport: InProcessTransport;
const reports: IncomingMessage[] = [];
const kept: IncomingMessage[] = [];
const offers: IncomingMessage[] = [];

beforeAll(async () => {
  db = await startTestDatabase();
  proxy = await inFrontOf(db.url);
  sim = await startSchemeSim(['--sort-codes', '040004', '--reversal-repeat-ms', '1000']);
  transport = new InProcessTransport(silentLogger);
  const config = parseGatewayConfig({
    site: 'ledger-outage',
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], macKey: MAC_KEY, connectionsPerDc: 1 },
    participants: [{ id: '040004', name: 'Bank', sortCodes: ['040004'] }],
    database: { url: proxy.url },
    http: { port: 0 },
  });
  gateway = await Gateway.start(config, { clock: systemClock, log: silentLogger, transport });
  // The bank: every offer is accepted at once, every report collected.
  await transport.consume(
    Q.fromGateway,
    async (m) => {
      const offer = parsePacs008(m.body);
      if (!offer.ok) return (reports.push(m), 'commit');
      offers.push(m);
      const decision = buildPacs002({
        msgId: `DEC${offers.length}`,
        createdAt: Date.now(),
        originalTrn: offer.instruction.trn,
        status: 'ACSC',
      });
      await transport.put({
        queue: Q.toGateway,
        body: decision,
        messageId: newMessageId(),
        correlationId: m.messageId,
      });
      return 'commit';
    },
    { prefetch: 100, backoutThreshold: 3, backoutQueue: Q.backout },
  );
  await transport.consume(Q.backout, async (m) => (kept.push(m), 'commit'), {
    prefetch: 100,
    backoutThreshold: 3,
    backoutQueue: Q.backout,
  });
  await until(() => gateway.status().connections.every((c) => c.state === 'ready'), 10_000, 'signed on');
}, 60_000);

afterAll(async () => {
  await gateway.stop();
  await transport.close();
  await sim.stop();
  await proxy.close();
  await db.stop();
});

const instruction = (i: number) =>
  FIXTURE.replace('NWBK20261122093015000042', `MSG-L${i}`)
    .replace('TRN00000000000001A', `LDGR${String(i).padStart(14, '0')}`)
    .replace(/(<MmbId>)200000/, '$1040004');

describe('a ledger outage', () => {
  it('answers every instruction once, records every decision before acknowledging it, and leaves no payment open', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await put(instruction(i)));
    await sim.control('POST', '/inbound', { count: 5 });
    const outage = proxy.outage(4000);
    // Offers already out are decided, and instructions arrive, while the ledger is away.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 5; i < 25; i++) ids.push(await put(instruction(i)));
    await sim.control('POST', '/inbound', { count: 5 });
    await outage;

    const reportsFor = (id: string) => reports.filter((r) => r.correlationId === id);
    await until(() => ids.every((id) => reportsFor(id).length >= 1), 30_000, 'a report for every instruction');
    const scheme = await (async () => {
      for (;;) {
        const r = await sim.report();
        if (r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= r.inbound.sent) return r;
        await new Promise((res) => setTimeout(res, 250));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));

    expect(ids.map((id) => reportsFor(id).length)).toEqual(ids.map(() => 1));
    for (const id of ids)
      expect(parsePacs002(reportsFor(id)[0]!.body)).toMatchObject({ ok: true, status: { status: 'ACSC' } });
    expect(kept).toHaveLength(0);
    expect(scheme.inbound.late).toBe(0);
    expect(scheme.inbound.answered_in_time + scheme.inbound.reversed).toBe(scheme.inbound.sent);
    const open = await db.pool.query<{ state: string }>(
      "SELECT state FROM payments WHERE state NOT IN ('replied', 'reply-lost', 'reversed', 'reported')",
    );
    expect(open.rows).toEqual([]);
  }, 60_000);
});

async function put(body: string): Promise<string> {
  const messageId = newMessageId();
  await transport.put({ queue: Q.toGateway, body, messageId });
  return messageId;
}
