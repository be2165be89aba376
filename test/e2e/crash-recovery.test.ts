/**
 * Crash recovery: the gateway is killed with SIGKILL while payments are in flight both ways,
 * restarted on the same ledger, and every payment must end final and as the scheme saw it.
 */
import { describe, expect, it } from 'vitest';
import {
  driveTraffic,
  everyPaymentSettled,
  ledgerCounts,
  offeredTwice,
  prepareStack,
  signedOn,
  startGateway,
  startSignedOnGateway,
  stopStack,
} from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';
import { expectEveryPaymentFinal } from '../support/final-states.js';

const cleanup = stopAfterAll();

const RATES = { inbound: 12, outbound: 6 };

describe('crash recovery', () => {
  it('loses no payment, offers none twice, and ends every one final and consistent with the scheme after SIGKILL', async () => {
    // Slow decisions keep many inbound payments open at the moment of the crash.
    const { db, sim, bank, config } = await prepareStack(cleanup, {
      sim: { reversalRepeatMs: 1000 },
      bank: { latencyMs: '200-2500', lateShare: 0, rejectShare: 0.1, drainMs: 5000, seed: 11 },
      gateway: { site: 'crash' },
    });

    const first = await startGateway(config);
    cleanup.push(async () => first.kill());
    await signedOn(sim, 20_000);
    await driveTraffic(sim, bank, 8, RATES);
    const open = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE state NOT IN ('replied', 'reply-lost', 'reversed', 'reported')",
    );
    expect(Number(open.rows[0]!.n)).toBeGreaterThan(0);
    first.kill();
    // Instructions keep arriving on the queue while the gateway is down.
    await driveTraffic(sim, bank, 2, RATES);

    const second = await startSignedOnGateway(cleanup, sim, config, 20_000);
    await driveTraffic(sim, bank, 4, RATES);
    await everyPaymentSettled(sim, bank, 40_000);
    const { bankReport, schemeReport } = await stopStack({ gateway: second, sim, bank });

    const rows = await ledgerCounts(db.pool);
    const { count, total } = rows;

    // Every payment ended in a final state.
    expectEveryPaymentFinal(rows);
    // No inbound payment lost: each the scheme sent is in the ledger, answered or reversed as the scheme saw it.
    expect(total('inbound')).toBe(schemeReport.inbound.sent);
    // The scheme timed out what the crash left unanswered (R2), and every one of those was reversed (R3).
    expect(schemeReport.inbound.answered_in_time + schemeReport.inbound.unanswered).toBe(schemeReport.inbound.sent);
    expect(schemeReport.inbound.reversed).toBe(schemeReport.inbound.unanswered);
    expect(count('inbound', 'reversed')).toBe(schemeReport.inbound.reversed);
    expect(count('inbound', 'replied')).toBeLessThanOrEqual(
      schemeReport.inbound.answered_in_time + schemeReport.inbound.late,
    );
    expect(schemeReport.wrong_connection_responses).toBe(0);
    // None offered twice.
    expect(bankReport.duplicates_seen).toBe(0);
    expect(await offeredTwice(db.pool)).toBe(0);
    // Every instruction: one payment at the scheme, one report.
    expect(total('outbound')).toBe(bankReport.instructions_sent);
    expect(schemeReport.outbound.accepted + schemeReport.outbound.rejected).toBe(bankReport.instructions_sent);
    expect(bankReport).toMatchObject({
      missing_reports: 0,
      duplicate_reports: 0,
      reports_received: bankReport.instructions_sent,
    });
    expect(bankReport.reports_accepted).toBe(schemeReport.outbound.accepted);
  }, 180_000);
});
