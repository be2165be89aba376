/**
 * The closing bar of the fault issues: real processes (scheme simulator, gateway, bank simulator)
 * on RabbitMQ and PostgreSQL, with the gateway's database connections cut for 10 s and its broker
 * connection cut three times under traffic both ways. Afterwards every instruction has exactly one
 * pacs.002, every inbound payment was answered in time, stood in or reversed, and nothing is left
 * open in the ledger or on the backout queue.
 */
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { participantQueues } from '../../src/participant/mq/index.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { CuttableProxy } from '../support/transport-proxy.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import {
  AMQP_URL,
  eventually,
  gatewayConfig,
  runParticipantId,
  startBank,
  startGateway,
  type Bank,
} from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const cleanup = stopAfterAll();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const viaPort = (url: string, port: number): string => {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
};

/** One second of traffic both ways, `seconds` times; `at(t)` runs the fault planned for second t. */
async function drive(sim: SchemeSim, bank: Bank, seconds: number, at: (t: number) => void): Promise<void> {
  for (let t = 0; t < seconds; t++) {
    at(t);
    await Promise.all([sim.control('POST', '/inbound', { count: 5 }), bank.control('POST', '/outbound', { count: 4 })]);
    await sleep(1000);
  }
}

async function backoutDepth(participant: string): Promise<number> {
  const model = await connect(AMQP_URL);
  try {
    const ch = await model.createChannel();
    return (await ch.checkQueue(participantQueues(participant).backout)).messageCount;
  } finally {
    await model.close();
  }
}

describe('faults under traffic', () => {
  it('answers every instruction exactly once and every inbound payment in time, stood in or reversed, through a 10 s database cut and three broker cuts', async () => {
    const db: TestDatabase = await startTestDatabase();
    cleanup.push(() => db.stop());
    const dbProxy = await CuttableProxy.start(Number(new URL(db.url).port));
    cleanup.push(() => dbProxy.close());
    const mqProxy = await CuttableProxy.start(Number(new URL(AMQP_URL).port || 5672), new URL(AMQP_URL).hostname);
    cleanup.push(() => mqProxy.close());
    const participant = runParticipantId();
    const sim = await startSchemeSim(['--sort-codes', '200000', '--reversal-repeat-ms', '1000']);
    cleanup.push(() => sim.stop());
    const bank = await startBank([
      '--participant',
      `${participant}:200000`,
      '--latency-ms',
      '50-1500',
      '--late-share',
      '0',
      '--reject-share',
      '0.1',
      '--drain-ms',
      '5000',
      '--seed',
      '7',
    ]);
    cleanup.push(() => bank.process.stop());
    const config = await gatewayConfig(sim, {
      site: 'faults',
      participant: { id: participant, sortCodes: ['200000'] },
      databaseUrl: viaPort(db.url, dbProxy.port),
      mqUrl: viaPort(AMQP_URL, mqProxy.port),
    });
    const gateway = await startGateway(config);
    cleanup.push(() => gateway.stop());
    await eventually(
      () => sim.sessions(),
      (s) => s.filter((v) => v.open && v.submit && v.receive).length === 4,
      20_000,
      'the gateway signed on',
    );

    const outages: Promise<void>[] = [];
    await drive(sim, bank, 36, (t) => {
      if (t === 6) outages.push(dbProxy.outage(10_000));
      if (t === 22 || t === 26 || t === 30) outages.push(mqProxy.outage(1_000));
    });
    await Promise.all(outages);

    await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= r.inbound.sent,
      45_000,
      'every inbound payment answered or reversed',
    );
    await eventually(
      () => bank.report(),
      (r) => r.reports_received >= r.instructions_sent,
      45_000,
      'a report for every instruction',
    );
    await gateway.stop();
    const bankReport = await bank.process.stop();
    const schemeReport = await sim.stop();

    // Every instruction: exactly one report, one payment at the scheme; nothing kept as poison.
    expect(bankReport.instructions_sent).toBeGreaterThan(100);
    expect(bankReport).toMatchObject({
      missing_reports: 0,
      duplicate_reports: 0,
      reports_received: bankReport.instructions_sent,
      duplicates_seen: 0,
    });
    // No stand-in notice for an offer the bank never saw, nothing it could not read.
    expect(bankReport).toMatchObject({ unexpected_messages: 0, invalid_messages: 0 });
    expect(schemeReport.outbound.accepted + schemeReport.outbound.rejected).toBe(bankReport.instructions_sent);
    expect(bankReport.reports_accepted).toBe(schemeReport.outbound.accepted);
    expect(await backoutDepth(participant)).toBe(0);
    // Every inbound payment answered in time, stood in, or (unanswered while the ledger was away) reversed.
    expect(schemeReport.inbound.late).toBe(0);
    expect(schemeReport.inbound.answered_in_time + schemeReport.inbound.reversed).toBe(schemeReport.inbound.sent);
    expect(schemeReport.inbound.reversed).toBe(schemeReport.inbound.unanswered);
    expect(schemeReport.wrong_connection_responses).toBe(0);

    // Nothing left open; the ledger agrees with both simulators.
    const rows = await db.pool.query<{ direction: string; state: string; n: string }>(
      'SELECT direction, state, count(*) AS n FROM payments GROUP BY 1, 2',
    );
    for (const r of rows.rows)
      expect(
        r.direction === 'inbound' ? ['replied', 'reply-lost', 'reversed'] : ['reported'],
        `${r.direction} ${r.state}`,
      ).toContain(r.state);
    const total = (d: string) => rows.rows.filter((r) => r.direction === d).reduce((n, r) => n + Number(r.n), 0);
    expect(total('inbound')).toBe(schemeReport.inbound.sent);
    expect(total('outbound')).toBe(bankReport.instructions_sent);
    // The figures of the run, for the record (stderr: the one console method the lint allows).
    console.error(
      JSON.stringify({
        bank: {
          instructions: bankReport.instructions_sent,
          offered: bankReport.inbound_offered,
          standInNotices: bankReport.stand_in_notices,
        },
        scheme: schemeReport.inbound,
        states: rows.rows,
      }),
    );
  }, 180_000);
});
