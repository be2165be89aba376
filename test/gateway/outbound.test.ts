/**
 * The gateway's outbound side: a participant's instructions on the in-process MQ transport, the
 * scheme simulator as a process, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/log.js';
import { parsePacs002 } from '../../src/participant/iso20022/index.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { startTestDatabase, type TestDatabase } from '../ledger/support.js';
import { MAC_KEY, startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../participant/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const Q = participantQueues('040004');

let db: TestDatabase;
let sim: SchemeSim;
let gateway: Gateway;
let transport: InProcessTransport;
const reports: IncomingMessage[] = [];
const kept: IncomingMessage[] = [];

beforeAll(async () => {
  db = await startTestDatabase();
  sim = await startSchemeSim();
  transport = new InProcessTransport(silentLogger);
  const config = parseGatewayConfig({
    site: 'outbound-test',
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], macKey: MAC_KEY, connectionsPerDc: 1 },
    participants: [{ id: '040004', name: 'Bank', sortCodes: ['040004'], maxAmountPence: 1_000_000 }],
    database: { url: db.url },
  });
  gateway = await Gateway.start(config, { clock: systemClock, log: silentLogger, transport });
  await transport.consume(Q.fromGateway, async (m) => (reports.push(m), 'commit'), { prefetch: 100, backoutThreshold: 3, backoutQueue: Q.backout });
  await transport.consume(Q.backout, async (m) => (kept.push(m), 'commit'), { prefetch: 100, backoutThreshold: 3, backoutQueue: Q.backout });
  await until(() => gateway.status().connections.every((c) => c.state === 'ready'), 10_000, 'signed on');
}, 60_000);

afterAll(async () => {
  await gateway.stop();
  await transport.close();
  await sim.stop();
  await db.stop();
});

const instruction = (msgId: string, trn: string, amount = '12.50') =>
  FIXTURE.replace('NWBK20261122093015000042', msgId).replace('TRN00000000000001A', trn).replace(/(<IntrBkSttlmAmt[^>]*>)[^<]*/, `$1${amount}`);

async function put(body: string, messageId = newMessageId()): Promise<string> {
  await transport.put({ queue: Q.toGateway, body, messageId });
  return messageId;
}

const reportFor = (messageId: string) => reports.filter((r) => r.correlationId === messageId);

describe('gateway outbound', () => {
  it('submits an instruction once and reports it once, however often the message is delivered', async () => {
    const id = await put(instruction('MSG-A', 'OUTA00000000000001'));
    await until(() => reportFor(id).length === 1, 5000, 'the report');
    const report = parsePacs002(reportFor(id)[0]!.body);
    expect(report).toMatchObject({ ok: true, status: { status: 'ACSC', originalTrn: 'OUTA00000000000001', originalMsgId: 'MSG-A' } });
    // The same message again (MQ redelivery): recorded once, reported once.
    await put(instruction('MSG-A', 'OUTA00000000000001'), id);
    await new Promise((r) => setTimeout(r, 300));
    expect(reportFor(id)).toHaveLength(1);
    expect((await sim.report()).outbound.received).toBe(1);
  });

  it('refuses another instruction that reuses a TRN, answering it RJCT and keeping it', async () => {
    const id = await put(instruction('MSG-B', 'OUTA00000000000001'));
    await until(() => reportFor(id).length === 1 && kept.length === 1, 5000, 'the refusal');
    expect(parsePacs002(reportFor(id)[0]!.body)).toMatchObject({ ok: true, status: { status: 'RJCT', reason: '9020' } });
    expect((await sim.report()).outbound.received).toBe(1);
  });

  it("rejects 1160 an amount over the participant's limit without reaching the scheme", async () => {
    const id = await put(instruction('MSG-C', 'OUTC00000000000001', '10000.01'));
    await until(() => reportFor(id).length === 1, 5000, 'the refusal');
    expect(parsePacs002(reportFor(id)[0]!.body)).toMatchObject({ ok: true, status: { status: 'RJCT', reason: '1160' } });
    expect((await sim.report()).outbound.received).toBe(1);
  });
});
