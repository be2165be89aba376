/**
 * The gateway's outbound side: a participant's instructions on the in-process MQ transport, the
 * scheme simulator as a process, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePacs002 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { gatewayHere, type GatewayHere } from '../support/gateway-here.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../participant/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const Q = participantQueues('040004');

let sim: SchemeSim;
let here: GatewayHere;
let reports: IncomingMessage[];
const kept: IncomingMessage[] = [];

beforeAll(async () => {
  sim = await startSchemeSim();
  here = await gatewayHere({
    site: 'outbound-test',
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], connectionsPerDc: 1 },
    participant: { id: '040004', sortCodes: ['040004'], maxAmountPence: 1_000_000 },
  });
  reports = here.fromGateway;
  await here.transport.consume(Q.backout, async (m) => (kept.push(m), 'commit'), { prefetch: 100, backoutThreshold: 3, backoutQueue: Q.backout });
}, 60_000);

afterAll(async () => {
  await here.stop();
  await sim.stop();
});

const instruction = (msgId: string, trn: string, amount = '12.50') =>
  FIXTURE.replace('NWBK20261122093015000042', msgId).replace('TRN00000000000001A', trn).replace(/(<IntrBkSttlmAmt[^>]*>)[^<]*/, `$1${amount}`);

async function put(body: string, messageId = newMessageId()): Promise<string> {
  await here.transport.put({ queue: Q.toGateway, body, messageId });
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
