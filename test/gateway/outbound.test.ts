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

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
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
  await here.transport.consume(Q.backout, async (m) => (kept.push(m), 'commit'), {
    prefetch: 100,
    backoutThreshold: 3,
    backoutQueue: Q.backout,
  });
}, 60_000);

afterAll(async () => {
  await here.stop();
  await sim.stop();
});

const instruction = (msgId: string, trn: string, amount = '12.50') =>
  FIXTURE.replace('NWBK20261122093015000042', msgId)
    .replace('TRN00000000000001A', trn)
    .replace(/(<IntrBkSttlmAmt[^>]*>)[^<]*/, `$1${amount}`);

async function put(body: string, messageId = newMessageId()): Promise<string> {
  await here.transport.put({ queue: Q.toGateway, body, messageId });
  return messageId;
}

const reportFor = (messageId: string) => reports.filter((r) => r.correlationId === messageId);

describe('gateway outbound', () => {
  it('submits an instruction once and reports it once, however often the message is delivered (R7, P12)', async () => {
    const id = await put(instruction('MSG-A', 'OUTA00000000000001'));
    await until(() => reportFor(id).length === 1, 5000, 'the report');
    const report = parsePacs002(reportFor(id)[0]!.body);
    expect(report).toMatchObject({
      ok: true,
      status: { status: 'ACSC', originalTrn: 'OUTA00000000000001', originalMsgId: 'MSG-A' },
    });
    // The same message again (MQ redelivery): recorded once, reported once.
    await put(instruction('MSG-A', 'OUTA00000000000001'), id);
    await new Promise((r) => setTimeout(r, 300));
    expect(reportFor(id)).toHaveLength(1);
    expect((await sim.report()).outbound.received).toBe(1);
  });

  it('refuses another instruction that reuses a TRN, answering it RJCT and keeping it', async () => {
    const id = await put(instruction('MSG-B', 'OUTA00000000000001'));
    await until(() => reportFor(id).length === 1 && kept.length === 1, 5000, 'the refusal');
    expect(parsePacs002(reportFor(id)[0]!.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '9020' },
    });
    expect((await sim.report()).outbound.received).toBe(1);
  });

  it("rejects 1160 an amount over the participant's limit without reaching the scheme", async () => {
    const id = await put(instruction('MSG-C', 'OUTC00000000000001', '10000.01'));
    await until(() => reportFor(id).length === 1, 5000, 'the refusal');
    expect(parsePacs002(reportFor(id)[0]!.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '1160' },
    });
    expect((await sim.report()).outbound.received).toBe(1);
  });

  it('answers each of two instructions put back to back with one TRN exactly once: one payment, the other RJCT 9020 for the reused TRN (P12)', async () => {
    const before = (await sim.report()).outbound.received;
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < 10; i++) {
      const trn = `DUPT${String(i).padStart(14, '0')}`;
      pairs.push([await put(instruction(`MSG-D${i}-1`, trn)), await put(instruction(`MSG-D${i}-2`, trn))]);
    }
    // The same message twice back to back (a redelivery racing its original) stays one payment, one report.
    const same = instruction('MSG-SAME', 'DUPS00000000000001');
    const sameId = newMessageId();
    await put(same, sameId);
    await put(same, sameId);
    await until(
      () => pairs.flat().every((id) => reportFor(id).length >= 1) && reportFor(sameId).length >= 1,
      10_000,
      'a report for every instruction',
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const [a, b] of pairs) {
      expect([reportFor(a).length, reportFor(b).length]).toEqual([1, 1]);
      const codes = [a, b].map((id) => {
        const p = parsePacs002(reportFor(id)[0]!.body);
        return p.ok ? `${p.status.status} ${p.status.reason ?? ''}`.trim() : 'unparsed';
      });
      expect(codes.sort()).toEqual(['ACSC', 'RJCT 9020']);
    }
    expect(reportFor(sameId)).toHaveLength(1);
    expect((await sim.report()).outbound.received).toBe(before + 11);
  });

  it('refuses, before submitting, an instruction whose MQ message id no report can correlate to, answering it by its GrpHdr/MsgId and keeping it', async () => {
    const before = (await sim.report()).outbound.received;
    const keptBefore = kept.length;
    const ids = { 'MSG-UUID': '3f1c2a9e-6b1d-4c4e-9a7e-2b8c1d0e5f6a', 'MSG-NOID': '' };
    for (const [msgId, messageId] of Object.entries(ids)) {
      // Delivered as a broker hands it over: AMQP lets a sender set any message_id, or none.
      here.transport.enqueue(Q.toGateway, {
        body: instruction(msgId, `UNID${msgId === 'MSG-NOID' ? 'A' : 'B'}0000000000001`),
        messageId,
        correlationId: null,
        expiresAt: null,
        deliveryCount: 0,
      });
    }
    const answerFor = (msgId: string) =>
      reports.filter((r) => {
        const p = parsePacs002(r.body);
        return p.ok && p.status.originalMsgId === msgId;
      });
    await until(
      () => Object.keys(ids).every((m) => answerFor(m).length === 1) && kept.length === keptBefore + 2,
      5000,
      'the refusals and the backouts',
    );
    for (const msgId of Object.keys(ids)) {
      const [answer] = answerFor(msgId);
      expect(answer!.correlationId).toBeNull();
      expect(parsePacs002(answer!.body)).toMatchObject({ ok: true, status: { status: 'RJCT', reason: '9020' } });
      expect(answer!.body).toContain('MQ message id must be 48 lower-case hex');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(Object.keys(ids).map((m) => answerFor(m).length)).toEqual([1, 1]);
    expect((await sim.report()).outbound.received).toBe(before);
  });
});
