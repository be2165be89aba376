/**
 * Decisions after the stand-in, end to end: the scheme simulator, the gateway and the bank
 * simulator, each its own process, with T_in 3 s and a 700 ms margin. The bank decides a share of
 * inbound payments just after the stand-in deadline, racing the 9210 and the payment leaving the
 * gateway's memory (the late-decision issue): every one of them must be answered RJCT 0912.
 */
import { describe, expect, it } from 'vitest';
import { answeredInTime, eventually, startStack, stopStack } from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const SECONDS = 15;
const INBOUND_PER_S = 20;
const T_IN_MS = 3000;
const MARGIN_MS = 700;
/** From the bank reading the offer: just after the stand-in at T_in - margin = 2.3 s, well before T_in. */
const LATE_MS = 2290;

const cleanup = stopAfterAll();

describe('late decisions end to end', () => {
  it(`answers every decision that comes after the stand-in RJCT 0912, at ${INBOUND_PER_S} inbound/s for ${SECONDS} s`, async () => {
    const stack = await startStack(
      cleanup,
      {
        sim: { tIn: T_IN_MS },
        bank: { latencyMs: '20-300', lateShare: 0.1, lateMs: LATE_MS, rejectShare: 0, drainMs: 5000, seed: 11 },
        gateway: { site: 'late', timing: { tInMs: T_IN_MS, standInMarginMs: MARGIN_MS } },
      },
      15_000,
    );
    const { db, sim, bank } = stack;

    for (let t = 0; t < SECONDS; t++) {
      await sim.control('POST', '/inbound', { count: INBOUND_PER_S });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const inbound = SECONDS * INBOUND_PER_S;
    await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= inbound,
      20_000,
      'the scheme to have every answer',
    );
    await eventually(
      () => bank.report(),
      (r) => r.inbound_decided >= inbound && r.late_answers >= r.stand_in_notices,
      15_000,
      'an answer to every late decision',
    );

    const { bankReport, schemeReport } = await stopStack(stack);

    expect(schemeReport.inbound).toMatchObject(answeredInTime(inbound));
    // Only late decisions miss the deadline; each stood-in payment's decision came after it and was answered once.
    expect(bankReport.stand_in_notices).toBeGreaterThan(0);
    expect(bankReport.stand_in_notices).toBeLessThanOrEqual(bankReport.inbound_late);
    expect(schemeReport.inbound.rejected).toBe(bankReport.stand_in_notices);
    expect(bankReport.late_answers).toBe(bankReport.stand_in_notices);
    expect(bankReport.unexpected_messages + bankReport.invalid_messages + bankReport.duplicates_seen).toBe(0);
    const refused = await db.pool.query('SELECT 1 FROM refused_participant_messages');
    expect(refused.rowCount).toBe(0);
  }, 120_000);
});
