/**
 * Crash recovery: the gateway is killed with SIGKILL while payments are in flight both ways,
 * restarted on the same ledger, and every payment must end final and as the scheme saw it.
 */
import { describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { eventually, gatewayConfig, runParticipantId, startBank, startGateway, type Bank } from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const cleanup = stopAfterAll();

async function drive(sim: SchemeSim, bank: Bank, seconds: number): Promise<void> {
  for (let t = 0; t < seconds; t++) {
    await Promise.all([
      sim.control('POST', '/inbound', { count: 12 }),
      bank.control('POST', '/outbound', { count: 6 }),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('crash recovery', () => {
  it('loses no payment, offers none twice, and ends every one final and consistent with the scheme after SIGKILL', async () => {
    const db: TestDatabase = await startTestDatabase();
    cleanup.push(() => db.stop());
    const participant = runParticipantId();
    const sim = await startSchemeSim(['--sort-codes', '200000', '--reversal-repeat-ms', '1000']);
    cleanup.push(() => sim.stop());
    // Slow decisions keep many inbound payments open at the moment of the crash.
    const bank = await startBank([
      '--participant',
      `${participant}:200000`,
      '--latency-ms',
      '200-2500',
      '--late-share',
      '0',
      '--reject-share',
      '0.1',
      '--drain-ms',
      '5000',
      '--seed',
      '11',
    ]);
    cleanup.push(() => bank.process.stop());
    const config = await gatewayConfig(sim, {
      site: 'crash',
      participant: { id: participant, sortCodes: ['200000'] },
      databaseUrl: db.url,
    });
    const signedOn = () =>
      eventually(
        () => sim.sessions(),
        (s) => s.filter((v) => v.open && v.submit && v.receive).length === 4,
        20_000,
        'the gateway signed on',
      );

    const first = await startGateway(config);
    cleanup.push(async () => first.kill());
    await signedOn();
    await drive(sim, bank, 8);
    const open = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE state NOT IN ('replied', 'reply-lost', 'reversed', 'reported')",
    );
    expect(Number(open.rows[0]!.n)).toBeGreaterThan(0);
    first.kill();
    // Instructions keep arriving on the queue while the gateway is down.
    await drive(sim, bank, 2);

    const second = await startGateway(config);
    cleanup.push(() => second.stop());
    await signedOn();
    await drive(sim, bank, 4);
    await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= r.inbound.sent,
      40_000,
      'the scheme to have every inbound payment answered or reversed',
    );
    await eventually(
      () => bank.report(),
      (r) => r.reports_received >= r.instructions_sent,
      40_000,
      'a report for every instruction',
    );
    await second.stop();
    const bankReport = await bank.process.stop();
    const schemeReport = await sim.stop();

    const rows = await db.pool.query<{ direction: string; state: string; n: string }>(
      'SELECT direction, state, count(*) AS n FROM payments GROUP BY 1, 2',
    );
    const count = (d: string, s: string) => Number(rows.rows.find((r) => r.direction === d && r.state === s)?.n ?? 0);
    const total = (d: string) => rows.rows.filter((r) => r.direction === d).reduce((n, r) => n + Number(r.n), 0);

    // Every payment ended in a final state.
    for (const r of rows.rows)
      expect(
        r.direction === 'inbound' ? ['replied', 'reply-lost', 'reversed'] : ['reported'],
        `${r.direction} ${r.state}`,
      ).toContain(r.state);
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
    const offeredTwice = await db.pool.query(
      "SELECT fpid FROM payment_journal WHERE event = 'offer' GROUP BY fpid HAVING count(*) > 1",
    );
    expect(offeredTwice.rowCount).toBe(0);
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
