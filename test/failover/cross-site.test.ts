/**
 * Cross-site inbound (P3): two gateway sites (processes) share one ledger and both hold scheme
 * connections; the scheme sends inbound payments over all of them. The closed site records what
 * arrives on its own connections, the open site offers it and records the decision, and the
 * arrival site answers on the arrival connection within T_in (R1, R2). Then the open site is
 * stopped for good and the closed one, still closed, stands in what arrives meanwhile (R6).
 */
import { describe, expect, it } from 'vitest';
import { stopAfterAll } from '../support/cleanup.js';
import { scrape } from '../support/metrics.js';
import { expectEveryPaymentFinal } from '../support/final-states.js';
import {
  driveTraffic,
  everyPaymentSettled,
  gatewayConfig,
  ledgerCounts,
  offeredTwice,
  prepareStack,
  SORT_CODE,
  startGateway,
} from '../support/stack.js';
import { inboundPaths, openSite, sitesSignedOn, staleEpochWrites } from '../support/two-sites.js';

const cleanup = stopAfterAll();

describe('cross-site inbound (P3, R1, R2, R6)', () => {
  it('offers from the open site what arrives on the closed one, and answers it on its arrival connection in time (P3, R1, R6)', async () => {
    const { db, sim, bank, participant, config } = await prepareStack(cleanup, {
      sim: {},
      bank: { latencyMs: '20-200', lateShare: 0, rejectShare: 0.1, seed: 5 },
      gateway: { site: 'site-a' },
    });
    const configB = await gatewayConfig(sim, {
      site: 'site-b',
      databaseUrl: db.url,
      participant: { id: participant, sortCodes: [SORT_CODE] },
    });
    const siteA = await startGateway(config);
    cleanup.push(() => siteA.stop());
    await sitesSignedOn(sim, 1, 20_000);
    const siteB = await startGateway(configB);
    cleanup.push(() => siteB.stop());
    await sitesSignedOn(sim, 2, 20_000);
    expect((await openSite(db.pool))?.holder).toBe('site-a');

    await driveTraffic(sim, bank, 8, { inbound: 25, outbound: 5 });
    await everyPaymentSettled(sim, bank, 30_000);

    const closed = await inboundPaths(db.pool, 'site-b');
    const open = await inboundPaths(db.pool, 'site-a');
    console.error(
      JSON.stringify({ cross_site_reply_ms: closed.crossSite.replyMs, same_site_reply_ms: open.sameSite.replyMs }),
    );
    // The scheme spread its payments over both sites' connections; the open site offered every one.
    expect(closed.crossSite.replyMs.n).toBeGreaterThan(50);
    expect(closed.crossSite.offeredBy).toEqual({ 'site-a': closed.crossSite.replyMs.n });
    expect(closed.sameSite.replyMs.n + closed.unoffered).toBe(0);
    // Decided by the participant, not stood in: the closed site's arrivals are no longer refused 0912.
    expect(closed.crossSite.stoodIn).toBe(0);
    expect(closed.crossSite.decided).toBe(closed.crossSite.replyMs.n);
    // Each site's /metrics: the closed site's answers go by the cross-site path, the open site's by its own.
    const [metricsA, metricsB] = await Promise.all([
      scrape(String(siteA.ready.http)),
      scrape(String(siteB.ready.http)),
    ]);
    expect(metricsB.sum('gateway_inbound_reply_seconds_count', { path: 'cross-site' })).toBe(
      closed.crossSite.replyMs.n,
    );
    expect(metricsB.sum('gateway_inbound_answers_total', { path: 'same-site' })).toBe(0);
    expect(metricsA.sum('gateway_inbound_reply_seconds_count', { path: 'same-site' })).toBe(open.sameSite.replyMs.n);
    expect(metricsA.sum('gateway_inbound_answers_total', { path: 'cross-site' })).toBe(0);
    expect([metricsA.sum('gateway_lease_open'), metricsB.sum('gateway_lease_open')]).toEqual([1, 0]);
    expect(metricsB.sum('gateway_lease_epoch')).toBe(0);
    expect(metricsB.sum('gateway_mq_bridging')).toBe(0);

    // The open site goes away for good; the closed one stays closed meanwhile (the lease lives on
    // until it expires) and stands in what arrives on its connections, in time.
    await siteA.stop();
    await sim.control('POST', '/inbound', { count: 10 });
    await everyPaymentSettled(sim, bank, 30_000);
    await siteB.stop();
    const bankReport = await bank.process.stop();
    const schemeReport = await sim.stop();

    expect(schemeReport.inbound.answered_in_time).toBe(schemeReport.inbound.sent);
    expect(schemeReport.wrong_connection_responses).toBe(0);
    expect(bankReport.duplicates_seen).toBe(0);
    expect(await offeredTwice(db.pool)).toBe(0);
    expect(bankReport).toMatchObject({ missing_reports: 0, duplicate_reports: 0 });
    expect(await staleEpochWrites(db.pool)).toBe(0);
    expectEveryPaymentFinal(await ledgerCounts(db.pool));
  }, 180_000);
});
