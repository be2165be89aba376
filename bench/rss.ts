/**
 * `npm run bench:rss`: the gateway daemon's resident set size (VmRSS), idle 20 s after sign-on and
 * busy (its peak, sampled every 500 ms) under `--inbound` + `--outbound` payments a second for
 * `--seconds`, with the scheme and bank simulators and a PostgreSQL of its own. `npm run bench:rss`
 * runs the build, as production does; `node --import tsx bench/rss.ts` runs every process from
 * source through tsx, for comparison. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { driveTraffic, everyPaymentSettled, startStack, type Rates } from '../test/support/stack.js';
import { rssMb } from './measure.js';
import { benchCleanup, benchFailed } from './stops.js';

const { values } = parseArgs({
  options: {
    inbound: { type: 'string', default: '100' },
    outbound: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
  },
});
const RATES: Rates = { inbound: Number(values.inbound), outbound: Number(values.outbound) };
const SECONDS = Number(values.seconds);

const cleanup = benchCleanup();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  const stack = await startStack(
    cleanup,
    { sim: {}, bank: { latencyMs: '5-50', lateShare: 0, drainMs: 5000, seed: 3 }, gateway: { site: 'rss' } },
    30_000,
  );
  const pid = stack.gateway.process.pid!;
  await sleep(20_000);
  const idle = await rssMb(pid);
  let busyMax = 0;
  const sampler = setInterval(() => void rssMb(pid).then((mb) => (busyMax = Math.max(busyMax, mb))), 500);
  await driveTraffic(stack.sim, stack.bank, SECONDS, RATES);
  await everyPaymentSettled(stack.sim, stack.bank, 60_000);
  clearInterval(sampler);
  const after = await rssMb(pid);
  const scheme = await stack.sim.report();
  const bank = await stack.bank.report();
  process.stdout.write(
    `${JSON.stringify({
      compiled: import.meta.url.endsWith('.js'),
      rates_per_s: RATES,
      seconds: SECONDS,
      idle_rss_mb: idle,
      busy_rss_max_mb: busyMax,
      settled_rss_mb: after,
      inbound: scheme.inbound,
      outbound_answered: scheme.outbound.answered,
      reports_received: bank.reports_received,
      instructions_sent: bank.instructions_sent,
    })}\n`,
  );
} catch (err) {
  benchFailed(err);
} finally {
  await cleanup.stopAll();
}
