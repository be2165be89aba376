/**
 * `npm run bench:failover -- --runs 10`: automatic failover, measured. Two gateway sites (their own
 * processes) share one ledger, with the scheme and bank simulators sending traffic both ways all the
 * while. Each run kills the open site with SIGKILL and measures from the kill to the first message
 * the other site reads from MQ (its first instruction or decision recorded under its new epoch),
 * then restarts the killed site, which comes back closed. Prints one JSON line; the counts of lost,
 * offered-twice and answered-twice payments and of stale-epoch writes come from the simulators'
 * reports and the ledger.
 */
import { parseArgs } from 'node:util';
import { everyPaymentSettled, offeredTwice } from '../test/support/stack.js';
import { startTestDatabase } from '../test/support/ledger.js';
import { firstReadFromMq, openSite, staleEpochWrites, startTwoSites } from '../test/support/two-sites.js';
import { benchCleanup, benchFailed } from './stops.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    inbound: { type: 'string', default: '10' },
    outbound: { type: 'string', default: '5' },
  },
});
const RUNS = Number(values.runs);
const RATES = { inbound: Number(values.inbound), outbound: Number(values.outbound) };
if (![RUNS, RATES.inbound, RATES.outbound].every((n) => Number.isInteger(n) && n >= 0) || RUNS < 1) {
  console.error('usage: npm run bench:failover -- [--runs N] [--inbound PER_S] [--outbound PER_S]');
  process.exit(2);
}
/** A failover that has not happened by then has failed. */
const FAILOVER_WAIT_MS = 20_000;
/** Traffic settles between runs, so that each kill finds the open site busy and the closed one ready. */
const SETTLE_MS = 2_000;

const cleanup = benchCleanup();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  const db = await startTestDatabase();
  cleanup.push(() => db.stop());
  const { sim, bank, sites, start } = await startTwoSites(
    cleanup,
    db.url,
    { reversalRepeatMs: 1000 },
    { latencyMs: '50-500', lateShare: 0, drainMs: 5000, seed: 23 },
  );

  let traffic = true;
  const driving = (async () => {
    while (traffic) {
      await Promise.all([
        sim.control('POST', '/inbound', { count: RATES.inbound }),
        bank.control('POST', '/outbound', { count: RATES.outbound }),
      ]);
      await sleep(1000);
    }
  })();

  const times: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    await sleep(SETTLE_MS);
    const before = await openSite(db.pool);
    if (before === undefined) throw new Error(`run ${run}: no site is open`);
    const killed = before.holder === 'site-a' ? 'site-a' : 'site-b';
    const other = killed === 'site-a' ? 'site-b' : 'site-a';
    const killedAt = Date.now();
    sites.get(killed)!.kill();
    let firstRead: number | undefined;
    while (firstRead === undefined) {
      if (Date.now() - killedAt > FAILOVER_WAIT_MS) throw new Error(`run ${run}: ${other} did not open`);
      await sleep(50);
      const now = await openSite(db.pool);
      if (now?.holder === other) firstRead = await firstReadFromMq(db.pool, other, now.epoch);
    }
    times.push(firstRead - killedAt);
    process.stderr.write(
      `run ${run}/${RUNS}: ${before.holder} killed, ${other} read from MQ after ${firstRead - killedAt} ms\n`,
    );
    await start(killed);
  }
  traffic = false;
  await driving;
  await everyPaymentSettled(sim, bank, 60_000);
  for (const g of sites.values()) await g.stop();
  sites.clear();
  const bankReport = await bank.process.stop();
  const scheme = await sim.stop();

  const sorted = [...times].sort((a, b) => a - b);
  const inboundWithoutOutcome =
    scheme.inbound.sent - scheme.inbound.answered_in_time - scheme.inbound.late - scheme.inbound.reversed;
  const outboundWithoutReport = bankReport.missing_reports;
  console.log(
    JSON.stringify({
      runs: RUNS,
      median_ms: sorted[Math.floor((sorted.length - 1) / 2)],
      worst_ms: sorted[sorted.length - 1],
      times_ms: times,
      lost: inboundWithoutOutcome + outboundWithoutReport,
      offered_twice: ((await offeredTwice(db.pool)) ?? 0) + bankReport.duplicates_seen,
      answered_twice: bankReport.duplicate_reports + scheme.unmatched_responses,
      stale_epoch_writes: await staleEpochWrites(db.pool),
      inbound: scheme.inbound,
      instructions: bankReport.instructions_sent,
    }),
  );
} catch (err) {
  benchFailed(err);
} finally {
  await cleanup.stopAll();
}
