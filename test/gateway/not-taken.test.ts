/**
 * R7a against the gateway: a payment request the scheme answers 9091 was not taken. The scheme is
 * played by the test over real TCP (a Wire on each accepted connection, answers scripted per
 * request), the participant on the in-process MQ transport, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePacs002 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { ScriptedScheme } from '../support/scripted-scheme.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const Q = participantQueues('040004');
const RETRY_MS = 300;

let here: GatewayHere;
const peers: SchemePeer[] = [];
const scheme = new ScriptedScheme();

async function peer(): Promise<string> {
  const p = await schemePeer([], scheme);
  peers.push(p);
  return p.address;
}

beforeAll(async () => {
  here = await gatewayHere({
    site: 'not-taken-test',
    scheme: { dc1: [await peer()], dc2: [await peer()], connectionsPerDc: 1, requestTimeoutMs: 500 },
    timing: { tOutMs: 5000, retryMs: RETRY_MS },
    participant: { id: '040004', sortCodes: ['040004'] },
  });
}, 60_000);

afterAll(async () => {
  await here.stop();
  for (const p of peers) p.close();
});

async function instruct(msgId: string, trn: string): Promise<IncomingMessage> {
  const messageId = newMessageId();
  await here.transport.put({
    queue: Q.toGateway,
    body: FIXTURE.replace('NWBK20261122093015000042', msgId).replace('TRN00000000000001A', trn),
    messageId,
  });
  await until(() => here.fromGateway.some((r) => r.correlationId === messageId), 8000, `the report on ${trn}`);
  return here.fromGateway.find((r) => r.correlationId === messageId)!;
}

describe('gateway outbound: not taken (R7a)', () => {
  it('submits a 9200 answered 9091 again as a 9200, the same FPID, and reports its outcome', async () => {
    scheme.seen.length = 0;
    scheme.script = ['9091', '0000'];
    const report = await instruct('MSG-NT1', 'NOTTAKEN0000000001');
    expect(parsePacs002(report.body)).toMatchObject({
      ok: true,
      status: { status: 'ACSC', originalTrn: 'NOTTAKEN0000000001' },
    });
    expect(scheme.seen.map((s) => s.mti)).toEqual(['9200', '9200']);
    expect(scheme.seen[1]!.fpid).toBe(scheme.seen[0]!.fpid);
    const row = await here.db.pool.query<{ state: string; outcome: string }>(
      'SELECT state, outcome FROM payments WHERE fpid = $1',
      [scheme.seen[0]!.fpid],
    );
    expect(row.rows[0]).toEqual({ state: 'reported', outcome: '0000' });
  });

  it('repeats a 9201 answered 9091 as a 9201 after a pause, not at once', async () => {
    scheme.seen.length = 0;
    // The 9200 goes unanswered (T_out), its 9201 is not taken, the next 9201 is accepted.
    scheme.script = [undefined, '9091', '0000'];
    const report = await instruct('MSG-NT2', 'NOTTAKEN0000000002');
    expect(parsePacs002(report.body)).toMatchObject({ ok: true, status: { status: 'ACSC' } });
    expect(scheme.seen.map((s) => s.mti)).toEqual(['9200', '9201', '9201']);
    expect(new Set(scheme.seen.map((s) => s.fpid)).size).toBe(1);
    expect(scheme.seen[2]!.at - scheme.seen[1]!.at).toBeGreaterThanOrEqual(RETRY_MS - 20);
  });
});
