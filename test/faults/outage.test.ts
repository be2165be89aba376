/**
 * The closing bar of the fault issues: real processes (scheme simulator, gateway, bank simulator)
 * on RabbitMQ and PostgreSQL, with the gateway's database connections cut for 10 s, the database
 * server restarted (on the embedded test server) and its broker connection cut three times under
 * traffic both ways. Afterwards every instruction has exactly one
 * pacs.002, every inbound payment was answered in time, stood in or reversed, and nothing is left
 * open in the ledger or on the backout queue.
 */
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { participantQueues } from '../../src/participant/mq/index.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { inFrontOf } from '../support/transport-proxy.js';
import { AMQP_URL, driveTraffic, everyPaymentSettled, ledgerCounts, startStack, stopStack } from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';
import { expectEveryPaymentFinal } from '../support/final-states.js';

const cleanup = stopAfterAll();

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
  it('answers every instruction exactly once and every inbound payment in time, stood in or reversed, through a 10 s database cut, a database restart and three broker cuts', async () => {
    const db: TestDatabase = await startTestDatabase();
    cleanup.push(() => db.stop());
    const dbProxy = await inFrontOf(db.url);
    cleanup.push(() => dbProxy.close());
    const mqProxy = await inFrontOf(AMQP_URL);
    cleanup.push(() => mqProxy.close());
    const { sim, bank, participant, gateway } = await startStack(
      cleanup,
      {
        db,
        sim: { reversalRepeatMs: 1000 },
        bank: { latencyMs: '50-1500', lateShare: 0, rejectShare: 0.1, drainMs: 5000, seed: 7 },
        gateway: { site: 'faults', databaseUrl: dbProxy.url, mqUrl: mqProxy.url },
      },
      20_000,
    );

    const outages: Promise<void>[] = [];
    await driveTraffic(sim, bank, 36, { inbound: 5, outbound: 4 }, (t) => {
      if (t === 6) outages.push(dbProxy.outage(10_000));
      // A real restart as well where the test owns the server: sessions ended by the server, 3 s down.
      if (t === 17 && db.restart) outages.push(db.restart(3_000));
      if (t === 22 || t === 26 || t === 30) outages.push(mqProxy.outage(1_000));
    });
    await Promise.all(outages);

    await everyPaymentSettled(sim, bank, 45_000);
    const { bankReport, schemeReport } = await stopStack({ gateway, sim, bank });

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
    const rows = await ledgerCounts(db.pool);
    expectEveryPaymentFinal(rows);
    const { total } = rows;
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
