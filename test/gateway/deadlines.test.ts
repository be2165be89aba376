/**
 * The gateway's own deadlines against a scheme played by the test over real TCP (a Wire on each
 * accepted connection): the stand-in before T_in runs out, and the 9201 on another connection when
 * a 9200 goes unanswered. The participant is on the in-process MQ transport, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectMessage, parsePacs002 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { businessDate } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { basePayment, inboundFields } from '../support/iso20022-arbitraries.js';
import { ScriptedScheme } from '../support/scripted-scheme.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const Q = participantQueues('040004');
/** Stand-in at T_in - margin = 2.3 s after arrival. */
const T_IN_MS = 3000;
const MARGIN_MS = 700;

let here: GatewayHere;
const peers: SchemePeer[] = [];
/** The CI side of each connection the gateway opened. */
const wires: Wire[] = [];
const scheme = new ScriptedScheme();
const { seen } = scheme;

beforeAll(async () => {
  const dc = async () => {
    const p = await schemePeer(wires, scheme);
    peers.push(p);
    return p.address;
  };
  here = await gatewayHere({
    site: 'deadlines-test',
    scheme: { dc1: [await dc()], dc2: [await dc()], connectionsPerDc: 1, requestTimeoutMs: 500 },
    timing: { tInMs: T_IN_MS, standInMarginMs: MARGIN_MS, tOutMs: 5000, retryMs: 300 },
    participant: { id: '040004', sortCodes: ['040004', basePayment.beneficiarySortCode] },
  });
}, 60_000);

afterAll(async () => {
  await here.stop();
  for (const p of peers) p.close();
});

/** Puts a participant instruction and resolves with the one pacs.002 that answers it. */
async function instruct(body: string): Promise<IncomingMessage> {
  const messageId = newMessageId();
  await here.transport.put({ queue: Q.toGateway, body, messageId });
  await until(() => here.fromGateway.some((r) => r.correlationId === messageId), 8000, 'the report');
  return here.fromGateway.find((r) => r.correlationId === messageId)!;
}

const instruction = (msgId: string, trn: string) =>
  FIXTURE.replace('NWBK20261122093015000042', msgId).replace('TRN00000000000001A', trn);

describe('gateway deadlines', () => {
  it('answers an undecided inbound payment 0912 itself at T_in - margin, within T_in, and tells the participant RJCT 0912 (R2, R6, P10)', async () => {
    const trn = 'DEADLINE0000000001';
    const fields = inboundFields({ trn, settlementDate: businessDate(Date.now()), settlementCycle: '01' });
    const started = Date.now();
    const answer = await wires[0]!.request({ mti: '9200', fields });
    const tookMs = Date.now() - started;
    expect(answer.mti).toBe('9210');
    expect(answer.fields.get(26)).toBe('0912');
    expect(tookMs).toBeGreaterThanOrEqual(T_IN_MS - MARGIN_MS - 50);
    expect(tookMs).toBeLessThan(T_IN_MS);
    const offer = here.fromGateway.find(
      (m) => detectMessage(m.body) === 'pacs.008' && m.body.includes(`<TxId>${trn}</TxId>`),
    );
    expect(offer).toBeDefined();
    const noticeOf = () =>
      here.fromGateway.find((m) => m.correlationId === offer!.messageId && detectMessage(m.body) === 'pacs.002');
    await until(() => noticeOf() !== undefined, 2000, 'the stand-in notice');
    expect(parsePacs002(noticeOf()!.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '0912', originalTrn: trn },
    });
  });

  it('repeats an unanswered 9200 as a 9201 with the same FPID on another connection: one payment, one report (R7, P12)', async () => {
    seen.length = 0;
    scheme.script = [undefined, '0000'];
    const report = await instruct(instruction('MSG-R7', 'REPEAT000000000001'));
    expect(parsePacs002(report.body)).toMatchObject({
      ok: true,
      status: { status: 'ACSC', originalTrn: 'REPEAT000000000001' },
    });
    expect(seen.map((s) => s.mti)).toEqual(['9200', '9201']);
    expect(seen[1]!.fpid).toBe(seen[0]!.fpid);
    expect(seen[1]!.connection).not.toBe(seen[0]!.connection);
    await new Promise((r) => setTimeout(r, 300));
    expect(here.fromGateway.filter((m) => m.correlationId === report.correlationId)).toHaveLength(1);
  });
});

describe('gateway outbound: the sender owns the debtor sort code (P2)', () => {
  it('rejects 1100 an instruction from a sort code its sender does not own, without reaching the scheme', async () => {
    seen.length = 0;
    const foreign = instruction('MSG-P2', 'FOREIGN00000000001').replace(
      '<MmbId>040004</MmbId>',
      '<MmbId>040005</MmbId>',
    );
    const report = await instruct(foreign);
    expect(parsePacs002(report.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '1100', originalTrn: 'FOREIGN00000000001' },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
  });
});
