/**
 * Stored contexts at the start: a row whose context does not parse, or whose version this build
 * does not know, is not resumed. It is reported (logged at error with its FPID and the issue,
 * never a value) and left in the ledger for an operator, while every other open payment resumes,
 * one written before contexts had a version (version 0) too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { silentLogger } from '../../src/base/log.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { INBOUND_SETTLED } from '../../src/payments/machines/inbound.js';
import { OUTBOUND_SETTLED } from '../../src/payments/machines/outbound.js';
import { newPayment as recordOf } from '../../src/payments/records.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { ensureParticipantQueues, newMessageId } from '../../src/participant/mq/index.js';
import { fpidOf, paymentFields, type SchemePayment } from '../../src/scheme/messages.js';
import { inboundPayment } from '../support/bank-gateway.js';
import { gatewayHere, type GatewayHere } from '../support/gateway-here.js';
import { create, startMigratedDatabase } from '../support/ledger.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const SITE = 'unreadable-test';
const P = '200002';
const lines: string[] = [];
const errors = () =>
  lines
    .map((l) => JSON.parse(l) as { level: number; fpid?: string; issue?: string; msg: string })
    .filter((l) => l.level >= 50);

let sim: SchemeSim;
let here: GatewayHere;
const now = Date.now();
const ids = {
  good: newMessageId(),
  legacy: newMessageId(),
  broken: newMessageId(),
  report: newMessageId(),
  unknownVersion: newMessageId(),
};
const fpids: Record<keyof typeof ids, string> = { good: '', legacy: '', broken: '', report: '', unknownVersion: '' };
const written: Record<string, Record<string, unknown>> = {};

function inboundContext(fpid: string, offerMessageId: string) {
  return {
    v: 1,
    fpid,
    arrivalConnection: 'CI#1',
    participant: P,
    receivedAt: now,
    standInAt: now + 60_000,
    offerMessageId,
    outcome: null,
    decidedBy: null,
    offered: false,
    waitingRepeats: [],
  };
}

function outboundContext(fpid: string, mqMessageId: string, trn: string) {
  return {
    v: 1,
    fpid,
    participant: P,
    instruction: { msgId: `MSG-${trn}`, mqMessageId, trn },
    instructedAt: now,
    submitBy: now + 15_000,
    outcome: '0000',
    lastConnection: 'DC1-1',
    attempts: 1,
  };
}

beforeAll(async () => {
  const db = await startMigratedDatabase();
  const ledger = new Ledger(db.pool, { now: () => now, after: () => ({ cancel: () => undefined }) }, silentLogger, {
    finalStates: [...INBOUND_SETTLED, ...OUTBOUND_SETTLED],
  });
  const put = async (
    key: keyof typeof ids,
    direction: 'inbound' | 'outbound',
    p: SchemePayment,
    state: string,
    context: (fpid: string) => Record<string, unknown>,
  ) => {
    const fpid = fpidOf(paymentFields(p));
    fpids[key] = fpid;
    written[fpid] = context(fpid);
    const payment = recordOf(direction, p, {
      participantId: P,
      participantMsgId: direction === 'inbound' ? ids[key] : `MSG-${p.trn}`,
    });
    const r = await ledger.commit(
      create(fpid, now, { to: state, site: SITE, epoch: 0, payment, patch: { context: written[fpid] } }),
    );
    expect(r).toEqual({ fpid, ok: true });
  };
  await put('good', 'inbound', inboundPayment('200000'), 'recorded', (f) => inboundContext(f, ids.good));
  // Version 0: no `v`, and the offer's id only in the row's participant_msg_id.
  await put('legacy', 'inbound', inboundPayment('200000'), 'recorded', (f) => {
    const { v: _v, offerMessageId: _o, ...rest } = inboundContext(f, ids.legacy);
    return rest;
  });
  // A deadline that is not a number, and a key no version has, holding an account number.
  await put('broken', 'inbound', inboundPayment('200000'), 'recorded', (f) => ({
    ...inboundContext(f, ids.broken),
    standInAt: 'soon',
    beneficiaryAccount: '87654321',
  }));
  const outbound = (): SchemePayment => inboundPayment('040004', { originatorSortCode: '200000', institution: P });
  const report = outbound();
  await put('report', 'outbound', report, 'accepted', (f) => outboundContext(f, ids.report, report.trn));
  const later = outbound();
  await put('unknownVersion', 'outbound', later, 'accepted', (f) => ({
    ...outboundContext(f, ids.unknownVersion, later.trn),
    v: 3,
  }));

  // The participant's queues outlive the gateway at a broker: they are there when recovery puts.
  const transport = new InProcessTransport(silentLogger);
  await ensureParticipantQueues(transport, P);
  sim = await startSchemeSim();
  here = await gatewayHere({
    site: SITE,
    db,
    transport,
    log: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], connectionsPerDc: 1 },
    participant: { id: P, sortCodes: ['200000'] },
  });
}, 60_000);

afterAll(async () => {
  await here?.stop();
  await sim?.stop();
});

describe('gateway start: stored contexts', () => {
  it('reports a row whose context does not parse, leaves it in the ledger, and resumes the others', async () => {
    // The others resume: both inbound offers go (the version 0 one under the id in its row), the outbound report goes.
    await until(
      () => [ids.good, ids.legacy].every((id) => here.fromGateway.some((m) => m.messageId === id)),
      10_000,
      'the offers',
    );
    await until(() => here.fromGateway.some((m) => m.correlationId === ids.report), 10_000, 'the report');
    const rows = await here.db.pool.query<{ fpid: string; state: string; context: Record<string, unknown> }>(
      'SELECT fpid, state, context FROM payments',
    );
    const row = (key: keyof typeof ids) => rows.rows.find((r) => r.fpid === fpids[key])!;
    expect(row('good').state).toBe('offered');
    // Versions 0 and 1 are written as the current one: the arrival site is the row's site.
    expect(row('legacy')).toMatchObject({
      state: 'offered',
      context: { v: 2, offerMessageId: ids.legacy, arrivalSite: SITE },
    });
    expect(row('good').context).toMatchObject({ v: 2, arrivalSite: SITE });
    expect(row('report').state).toBe('reported');

    // The two that do not parse are reported, with the issue, and nothing else is done for them.
    const reported = errors().filter((l) => l.msg.startsWith('payment not resumed'));
    expect(reported.map((l) => l.fpid).sort()).toEqual([fpids.broken, fpids.unknownVersion].sort());
    expect(reported.find((l) => l.fpid === fpids.broken)!.issue).toBe(
      'standInAt: invalid_type (expected number); context: unrecognized_keys (1 unknown)',
    );
    expect(reported.find((l) => l.fpid === fpids.unknownVersion)!.issue).toMatch(
      /^v: version 3 is not one this build reads/,
    );
    for (const key of ['broken', 'unknownVersion'] as const) {
      expect(row(key).state, key).toBe(key === 'broken' ? 'recorded' : 'accepted');
      expect(row(key).context, key).toEqual(written[fpids[key]]);
    }
    expect(here.fromGateway.some((m) => m.messageId === ids.broken || m.correlationId === ids.unknownVersion)).toBe(
      false,
    );
    // Never a value of the broken context, nor personal data, in any log line.
    expect(lines.filter((l) => l.includes('87654321') || l.includes('soon'))).toEqual([]);
  });
});
