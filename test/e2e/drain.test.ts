/**
 * Drain under traffic: the gateway (its own process) gets SIGTERM while the scheme simulator keeps
 * sending inbound payments and the bank simulator decides them over RabbitMQ. The ledger is a real
 * PostgreSQL owned by the test, given to the gateway by URL.
 */
import { describe, expect, it } from 'vitest';
import { eventually, startStack } from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const T_IN_MS = 4000;
const DRAIN_TIMEOUT_MS = 30_000;
/** Sign-offs, the last answers and the process exit on top of T_in, on a busy machine. */
const DRAIN_SLACK_MS = 3000;

const cleanup = stopAfterAll();

describe('gateway drain under traffic (R8)', () => {
  it('stops in about T_in on SIGTERM, every inbound payment it took final or reply-lost, 892 then 882 on every connection', async () => {
    // Every decision comes well before the stand-in (T_in - 1 s): during the drain they must be read.
    const { db, sim, gateway } = await startStack(
      cleanup,
      {
        sim: { tIn: T_IN_MS, inboundRate: 20 },
        bank: { latencyMs: '100-1000', lateShare: 0, drainMs: 3000, seed: 5 },
        gateway: {
          site: 'drain',
          timing: { tInMs: T_IN_MS, standInMarginMs: 1000 },
          scheme: { drainTimeoutMs: DRAIN_TIMEOUT_MS },
        },
      },
      15_000,
    );
    await eventually(
      () => db.pool.query<{ n: string }>("SELECT count(*) AS n FROM payments WHERE state IN ('recorded', 'offered')"),
      (r) => Number(r.rows[0]!.n) >= 10,
      15_000,
      'payments awaiting decisions',
    );

    const stopAt = Date.now();
    await gateway.stop();
    const stopMs = Date.now() - stopAt;
    process.stdout.write(`${JSON.stringify({ drain_under_traffic_stop_ms: stopMs })}\n`);
    // At most about T_in (the stand-in of the last payment taken), nowhere near the drain timeout.
    expect(stopMs).toBeLessThan(T_IN_MS + DRAIN_SLACK_MS);

    const report = await sim.report();
    const sessions = await sim.sessions();
    expect(sessions).toHaveLength(4);
    for (const v of sessions) expect(v.sign_offs, v.id).toEqual(['892', '882']);
    expect(report.drain_violations).toBe(0);
    const states = await db.pool.query<{ state: string; n: string }>(
      "SELECT state, count(*) AS n FROM payments WHERE direction = 'inbound' GROUP BY 1",
    );
    const byState = Object.fromEntries(states.rows.map((r) => [r.state, Number(r.n)]));
    const taken = Object.values(byState).reduce((a, b) => a + b, 0);
    expect(taken).toBe(report.inbound.sent);
    for (const state of Object.keys(byState)) expect(['replied', 'reply-lost', 'reversed']).toContain(state);
    // Every one answered within T_in on its own connection, with the bank's decision: the queues
    // were read until the payments held were answered, so none needed a stand-in (0912).
    expect(report.inbound).toMatchObject({ answered_in_time: taken, late: 0, unanswered: 0 });
    const stoodIn = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM payments WHERE direction = 'inbound' AND outcome = '0912'",
    );
    expect(Number(stoodIn.rows[0]!.n)).toBe(0);
    expect(report.wrong_connection_responses).toBe(0);
  }, 120_000);
});
