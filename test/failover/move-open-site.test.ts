/**
 * A manual move end to end: two gateway sites (processes) share one ledger, both signed on to both
 * DCs; under light traffic both ways an operator moves the open site (`failover:move`, here its
 * `runMove`). The open site stops reading MQ, releases the lease saying `manual` and holds off; the
 * other opens under a new epoch. Checked from the scheme simulator's report, the bank simulator's
 * report, the broker's consumer count and the ledger.
 */
import { describe, expect, it } from 'vitest';
import { runMove } from '../../src/failover/move.js';
import { participantQueues } from '../../src/participant/mq/queues.js';
import { stopAfterAll } from '../support/cleanup.js';
import { expectEveryPaymentFinal } from '../support/final-states.js';
import { AMQP_URL, driveTraffic, everyPaymentSettled, ledgerCounts, offeredTwice } from '../support/stack.js';
import { startTestDatabase } from '../support/ledger.js';
import { historyOf } from '../support/lease.js';
import {
  connectionsNamed,
  firstReadFromMq,
  openSite,
  overlappingEpochs,
  staleEpochWrites,
  startTwoSites,
  watchConsumers,
  type ConsumerWatch,
} from '../support/two-sites.js';

const cleanup = stopAfterAll();

const RATES = { inbound: 5, outbound: 4 };

describe('manual move of the open site (P3)', () => {
  it("moves the open site at an operator's request under traffic: a new epoch, reason manual, never two sites reading MQ, every payment final", async () => {
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    let consumers!: ConsumerWatch;
    const { sim, bank, sites } = await startTwoSites(
      cleanup,
      db.url,
      { reversalRepeatMs: 1000 },
      { latencyMs: '100-800', lateShare: 0, rejectShare: 0.1, drainMs: 5000, seed: 23 },
      20_000,
      {
        beforeSites: async ({ participant }) => {
          consumers = await watchConsumers(AMQP_URL, participantQueues(participant).toGateway);
          cleanup.push(() => consumers.stop());
        },
      },
    );
    const before = await openSite(db.pool);
    expect(before?.holder).toBe('site-a');
    // Each site's lease statements run on a pool of their own, of two connections at most.
    for (const s of ['site-a', 'site-b']) {
      const n = await connectionsNamed(db.pool, `lease ${s}`);
      expect(n, `lease ${s} connections`).toBeGreaterThanOrEqual(1);
      expect(n, `lease ${s} connections`).toBeLessThanOrEqual(2);
    }

    let moved: Promise<{ code: number; out: string[] }> | undefined;
    let askedAt = 0;
    await driveTraffic(sim, bank, 6, RATES, (t) => {
      if (t !== 2) return;
      askedAt = Date.now();
      const out: string[] = [];
      moved = runMove(['--by', 'test-operator', '--database-url', db.url, '--wait-ms', '10000'], {
        env: {},
        out: (l) => out.push(l),
        err: (l) => out.push(l),
      }).then((code) => ({ code, out }));
    });
    const { code, out } = await moved!;
    expect(code, out.join('\n')).toBe(0);
    const result = JSON.parse(out[0]!) as { from: unknown; to: { holder: string; epoch: number } };
    expect(result.from).toEqual(before);

    const after = await openSite(db.pool);
    expect(after?.holder).toBe('site-b');
    expect(after!.epoch).toBeGreaterThan(before!.epoch);
    expect(result.to).toEqual(after);
    const firstRead = await firstReadFromMq(db.pool, 'site-b', after!.epoch);
    expect(firstRead).toBeDefined();
    console.error(JSON.stringify({ move_ms: firstRead! - askedAt }));
    const changes = await historyOf(db.pool, 'open-site');
    expect(changes.slice(-2)).toEqual([
      { old_holder: 'site-a', new_holder: null, old_epoch: before!.epoch, new_epoch: before!.epoch, reason: 'manual' },
      {
        old_holder: 'site-a',
        new_holder: 'site-b',
        old_epoch: before!.epoch,
        new_epoch: after!.epoch,
        reason: 'manual',
      },
    ]);
    const { rows: asked } = await db.pool.query<{ requested_by: string }>(
      "SELECT requested_by FROM lease_changes WHERE reason = 'manual' AND new_holder IS NULL",
    );
    expect(asked).toEqual([{ requested_by: 'test-operator' }]);

    // The site moved away stays closed once its hold-off is over: the other renews.
    await driveTraffic(sim, bank, 3, RATES);
    expect(await openSite(db.pool)).toEqual(after);

    await everyPaymentSettled(sim, bank, 40_000);
    await sites.get('site-a')!.stop();
    await sites.get('site-b')!.stop();
    await consumers.stop();
    const bankReport = await bank.process.stop();
    const schemeReport = await sim.stop();
    console.error(
      JSON.stringify({
        consumers_max: consumers.max,
        samples: consumers.samples,
        inbound: schemeReport.inbound,
      }),
    );

    const rows = await ledgerCounts(db.pool);
    expectEveryPaymentFinal(rows);
    // Nobody was killed: every inbound payment answered on its arrival connection in time (R2),
    // those the moved site offered and the other decided too (cross-site inbound).
    expect(rows.total('inbound')).toBe(schemeReport.inbound.sent);
    expect(schemeReport.inbound).toMatchObject({ answered_in_time: schemeReport.inbound.sent, unanswered: 0 });
    expect(schemeReport.wrong_connection_responses).toBe(0);
    expect(bankReport.duplicates_seen).toBe(0);
    expect(await offeredTwice(db.pool)).toBe(0);
    // Every instruction answered exactly once.
    expect(rows.total('outbound')).toBe(bankReport.instructions_sent);
    expect(schemeReport.outbound.accepted + schemeReport.outbound.rejected).toBe(bankReport.instructions_sent);
    expect(bankReport).toMatchObject({ missing_reports: 0, duplicate_reports: 0 });
    // No write under a stale epoch, never two sites bridging at once, never two consumers of TO.GATEWAY.
    expect(await staleEpochWrites(db.pool)).toBe(0);
    expect(await overlappingEpochs(db.pool)).toBe(0);
    expect(consumers.samples).toBeGreaterThan(100);
    expect(consumers.max).toBe(1);
  }, 180_000);
});
