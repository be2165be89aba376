/**
 * End to end: the scheme simulator, the gateway (one site), RabbitMQ and the bank simulator, each
 * its own process, for 30 s at a modest rate in both directions. The gateway's ledger is a real
 * PostgreSQL owned by the test.
 */
import { describe, expect, it } from 'vitest';
import {
  answeredInTime,
  driveTraffic,
  eventually,
  ledgerCounts,
  offeredTwice,
  startStack,
  stopStack,
} from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const SECONDS = 30;
const INBOUND_PER_S = 8;
const OUTBOUND_PER_S = 4;

const cleanup = stopAfterAll();

describe('gateway end to end', () => {
  it(`answers every inbound payment on its arrival connection in time and every instruction exactly once, over ${SECONDS} s`, async () => {
    // Late answers (9.3 s) come after the stand-in (T_in 10 s - 1 s margin) and before the scheme's T_in.
    const stack = await startStack(
      cleanup,
      {
        sim: {},
        bank: {
          latencyMs: '20-300',
          lateShare: 0.05,
          lateMs: 9300,
          rejectShare: 0.1,
          beneficiarySortCodes: '300000',
          drainMs: 5000,
          seed: 7,
        },
        gateway: { site: 'e2e' },
      },
      15_000,
    );
    const { db, sim, bank } = stack;

    await driveTraffic(sim, bank, SECONDS, { inbound: INBOUND_PER_S, outbound: OUTBOUND_PER_S });
    const inbound = SECONDS * INBOUND_PER_S;
    const outbound = SECONDS * OUTBOUND_PER_S;
    await eventually(
      () => sim.report(),
      (r) =>
        r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= inbound && r.outbound.answered >= outbound,
      20_000,
      'the scheme to have every answer',
    );
    await eventually(
      () => bank.report(),
      (r) => r.reports_received >= outbound && r.inbound_decided >= inbound && r.late_answers >= r.inbound_late,
      20_000,
      'every report, and an answer to every late decision',
    );

    const { bankReport, schemeReport } = await stopStack(stack);

    // Every inbound payment answered on its arrival connection within T_in.
    expect(schemeReport.inbound).toMatchObject(answeredInTime(inbound));
    expect(schemeReport.wrong_connection_responses).toBe(0);
    expect(schemeReport.unmatched_responses).toBe(0);
    expect(schemeReport.mac_errors + schemeReport.format_errors).toBe(0);
    // Every instruction became exactly one payment at the scheme and got exactly one report.
    expect(schemeReport.outbound.accepted + schemeReport.outbound.rejected).toBe(outbound);
    expect(schemeReport.outbound.duplicates).toBe(0);
    expect(bankReport).toMatchObject({
      instructions_sent: outbound,
      reports_received: outbound,
      missing_reports: 0,
      duplicate_reports: 0,
    });
    expect(bankReport.reports_rejected).toBe(schemeReport.outbound.rejected);
    // No payment offered twice, none lost.
    expect(bankReport.duplicates_seen).toBe(0);
    expect(bankReport.inbound_offered).toBe(inbound);
    // The bank's late answers came after the stand-in: the scheme saw those rejected 0912.
    expect(bankReport.inbound_late).toBeGreaterThan(0);
    expect(schemeReport.inbound.accepted).toBe(bankReport.inbound_accepted - bankReport.inbound_late);
    expect(schemeReport.inbound.rejected).toBe(bankReport.inbound_rejected + bankReport.inbound_late);
    expect(bankReport.stand_in_notices).toBe(bankReport.inbound_late);
    expect(bankReport.late_answers).toBe(bankReport.inbound_late);
    expect(bankReport.unexpected_messages + bankReport.invalid_messages).toBe(0);

    const states = await ledgerCounts(db.pool);
    expect(Object.fromEntries(states.rows.map((r) => [`${r.direction}/${r.state}`, Number(r.n)]))).toEqual({
      'inbound/replied': inbound,
      'outbound/reported': outbound,
    });
    expect(await offeredTwice(db.pool)).toBe(0);
    // One event in the outbox for each step in the journal, and every participant notice delivered.
    const count = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql)).rows[0]!.n);
    expect(await count("SELECT count(*) AS n FROM outbox WHERE topic LIKE 'payments.%'")).toBe(
      await count('SELECT count(*) AS n FROM payment_journal'),
    );
    expect(await count("SELECT count(*) AS n FROM outbox WHERE topic = 'participant.notices'")).toBe(
      bankReport.stand_in_notices + bankReport.late_answers,
    );
    expect(
      await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND topic = $$participant.notices$$'),
    ).toBe(0);
  }, 150_000);
});
