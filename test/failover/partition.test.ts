/**
 * A partition end to end: two gateway sites (processes) share one ledger; the open site reaches it
 * through a TCP proxy under the test's control (loopback). Under traffic both ways the proxy cuts
 * every connection and refuses new ones for a while, then lets them through again. The cut site
 * stops bridging within its renew deadline, before its lease expires; the other opens once it has.
 * Checked from the broker's consumer count of TO.GATEWAY, the journal's epochs, the scheme
 * simulator's and the bank simulator's reports.
 */
import { describe, expect, it } from 'vitest';
import { participantQueues } from '../../src/participant/mq/queues.js';
import { stopAfterAll } from '../support/cleanup.js';
import { expectEveryPaymentFinal } from '../support/final-states.js';
import { startTestDatabase } from '../support/ledger.js';
import { historyOf } from '../support/lease.js';
import { AMQP_URL, driveTraffic, everyPaymentSettled, ledgerCounts, offeredTwice } from '../support/stack.js';
import { inFrontOf } from '../support/transport-proxy.js';
import {
  firstReadFromMq,
  openSite,
  overlappingEpochs,
  staleEpochWrites,
  startTwoSites,
  watchConsumers,
  type ConsumerWatch,
} from '../support/two-sites.js';

const cleanup = stopAfterAll();

const RATES = { inbound: 8, outbound: 6 };
/** Long enough for the other site to open (lease 2 s + a renew period) and to work a while. */
const OUTAGE_MS = 6_000;

describe('partition of the open site from the database (P3)', () => {
  it('closes the site cut off from the database before the other opens: never two sites bridging, nothing offered twice, every payment final after healing', async () => {
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    const proxy = await inFrontOf(db.url);
    cleanup.push(() => proxy.close());
    let consumers!: ConsumerWatch;
    const { sim, bank, sites } = await startTwoSites(
      cleanup,
      db.url,
      { reversalRepeatMs: 1000 },
      { latencyMs: '100-800', lateShare: 0, rejectShare: 0.1, drainMs: 5000, seed: 29 },
      20_000,
      {
        databaseUrlOf: { 'site-a': proxy.url },
        beforeSites: async ({ participant }) => {
          consumers = await watchConsumers(AMQP_URL, participantQueues(participant).toGateway);
          cleanup.push(() => consumers.stop());
        },
      },
    );
    const before = await openSite(db.pool);
    expect(before?.holder).toBe('site-a');

    await driveTraffic(sim, bank, 3, RATES);
    let cutAt = 0;
    let outage: Promise<void> | undefined;
    await driveTraffic(sim, bank, 8, RATES, (t) => {
      if (t !== 0) return;
      cutAt = Date.now();
      outage = proxy.outage(OUTAGE_MS);
    });
    await outage;

    // The other site took over on expiry and keeps the lease; the healed site stays closed.
    const after = await openSite(db.pool);
    expect(after?.holder).toBe('site-b');
    expect(after!.epoch).toBeGreaterThan(before!.epoch);
    expect((await historyOf(db.pool, 'open-site')).at(-1)).toEqual({
      old_holder: 'site-a',
      new_holder: 'site-b',
      old_epoch: before!.epoch,
      new_epoch: after!.epoch,
      reason: 'expiry',
    });
    const firstRead = await firstReadFromMq(db.pool, 'site-b', after!.epoch);
    expect(firstRead).toBeDefined();
    console.error(JSON.stringify({ cut_to_first_read_ms: firstRead! - cutAt }));
    await driveTraffic(sim, bank, 3, RATES);
    expect(await openSite(db.pool)).toEqual(after);

    await everyPaymentSettled(sim, bank, 60_000);
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
        outbound: schemeReport.outbound,
      }),
    );

    const rows = await ledgerCounts(db.pool);
    expectEveryPaymentFinal(rows);
    // Every inbound payment answered on its arrival connection in time, or reversed (R2, R3): the
    // cut site could record nothing while cut.
    // A payment missing from the ledger arrived on the cut site, which could not record it: reversed.
    expect(rows.total('inbound')).toBeLessThanOrEqual(schemeReport.inbound.sent);
    expect(schemeReport.inbound.sent - rows.total('inbound')).toBeLessThanOrEqual(schemeReport.inbound.reversed);
    expect(schemeReport.inbound.answered_in_time + schemeReport.inbound.unanswered).toBe(schemeReport.inbound.sent);
    expect(schemeReport.inbound.reversed).toBe(schemeReport.inbound.unanswered);
    expect(schemeReport.wrong_connection_responses).toBe(0);
    // Nothing offered twice.
    expect(bankReport.duplicates_seen).toBe(0);
    expect(await offeredTwice(db.pool)).toBe(0);
    // Every instruction answered exactly once.
    expect(rows.total('outbound')).toBe(bankReport.instructions_sent);
    expect(schemeReport.outbound.accepted + schemeReport.outbound.rejected).toBe(bankReport.instructions_sent);
    expect(bankReport).toMatchObject({ missing_reports: 0, duplicate_reports: 0 });
    // Never two sites bridging: no write under a stale epoch, the epochs' writes never interleave,
    // and the broker never had two consumers on TO.GATEWAY.
    expect(await staleEpochWrites(db.pool)).toBe(0);
    expect(await overlappingEpochs(db.pool)).toBe(0);
    expect(consumers.samples).toBeGreaterThan(100);
    expect(consumers.max).toBe(1);
  }, 240_000);
});
