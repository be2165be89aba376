/**
 * `npm run bench -- --rate R --seconds S [--mix 2:1] [--find-max] [--overload F]`: end-to-end
 * throughput and the latency the gateway adds. Everything runs as its own process: PostgreSQL
 * (embedded, or DATABASE_URL), two gateway sites sharing its ledger, the scheme simulator and the
 * bank simulator (deciding in 20-300 ms), on the RabbitMQ at AMQP_URL (scripts/start-rabbitmq.sh).
 * Drives inbound and outbound payments in the mix at the total rate, writes a progress line to
 * stderr each second, and prints one JSON line (README "Benchmarks"); `npm run bench` runs the
 * build, as bench:rss does. The simulators record per-payment times (`--timings`), which
 * bench/flows.ts joins into the gateway's added latency.
 */
import { parseArgs } from 'node:util';
import { lineOf, run } from './run.js';
import { findMax, overload } from './search.js';
import { startBenchStack } from './stack.js';
import { benchCleanup, benchFailed } from './stops.js';

const USAGE = `usage: npm run bench -- [--rate R] [--seconds S] [--mix IN:OUT] [--find-max] [--overload F]
  --rate R           total payments a second, both directions (default 1000; with --find-max the first step, default 100)
  --seconds S        length of the run (default 60; with --find-max of each step, default 15)
  --mix IN:OUT       inbound to outbound payments (default 2:1)
  --find-max         search the highest rate with p99 added latency <= 100 ms and no deadline miss
  --overload F       F times the rate (found, or --rate) for --phase-seconds, then half the rate as long
  --phase-seconds S  length of each overload phase (default 30)
  --latency-ms A-B   the bank's decision time (default 20-300)
  --warm-up-seconds S  an unmeasured run at 100/s first (default 10; 0: none)
  --seed N           the bank simulator's seed (default 1)`;

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    mix: { type: 'string', default: '2:1' },
    'find-max': { type: 'boolean', default: false },
    overload: { type: 'string' },
    'phase-seconds': { type: 'string', default: '30' },
    'latency-ms': { type: 'string', default: '20-300' },
    seed: { type: 'string', default: '1' },
    'warm-up-seconds': { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
const FIND_MAX = values['find-max'];
const RATE = Number(values.rate ?? (FIND_MAX ? 100 : 1000));
const SECONDS = Number(values.seconds ?? (FIND_MAX ? 15 : 60));
const MIX = /^(\d+):(\d+)$/.exec(values.mix);
const OVERLOAD = values.overload === undefined ? undefined : Number(values.overload);
const PHASE_SECONDS = Number(values['phase-seconds']);
const WARM_UP_SECONDS = Number(values['warm-up-seconds']);
if (
  values.help ||
  !(RATE > 0 && SECONDS > 0 && PHASE_SECONDS > 0 && WARM_UP_SECONDS >= 0) ||
  MIX === null ||
  Number(MIX[2]) === 0 ||
  (OVERLOAD !== undefined && !(OVERLOAD > 0))
) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
const INBOUND_PER_OUTBOUND = Number(MIX[1]) / Number(MIX[2]);
/** How long the stack is watched idle first: its CPU without payments, to read a low rate's CPU per payment against. */
const IDLE_SECONDS = 5;
/** The rate of the run before the measured ones, so that the first does not measure JIT warm-up. */
const WARM_UP_RATE = 100;

const say = (what: string) => process.stderr.write(`bench: ${what}\n`);
const cleanup = benchCleanup();
try {
  const ctx = await startBenchStack(cleanup, {
    bankLatencyMs: values['latency-ms'],
    seed: values.seed,
    inboundPerOutbound: INBOUND_PER_OUTBOUND,
    say,
  });
  const { meter } = ctx;
  say('all signed on; watching them idle');
  const idle = await meter.window();
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idle_cpu_ms_per_s = Object.fromEntries(
    Object.entries(await idle.end()).map(([name, u]) => [name, Math.round(u.cpu_us / IDLE_SECONDS / 100) / 10]),
  );
  if (WARM_UP_SECONDS > 0) await run(ctx, [{ rate: WARM_UP_RATE, seconds: WARM_UP_SECONDS }], 'warm-up');
  const line: Record<string, unknown> = {
    compiled: import.meta.url.endsWith('.js'),
    mix: values.mix,
    idle_cpu_ms_per_s,
  };
  let base = RATE;
  if (FIND_MAX) {
    const m = await findMax(ctx, RATE, SECONDS);
    Object.assign(line, { mode: 'find-max', max_rate: m.max_rate, ...m.best, steps: m.steps });
    base = m.max_rate;
  } else if (OVERLOAD === undefined) {
    Object.assign(line, { mode: 'run', ...lineOf(await run(ctx, [{ rate: RATE, seconds: SECONDS }], 'run')) });
  }
  if (OVERLOAD !== undefined) {
    if (!FIND_MAX) line.mode = 'overload';
    line.overload = base > 0 ? await overload(ctx, base, OVERLOAD, PHASE_SECONDS) : null;
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
} catch (err) {
  benchFailed(err);
} finally {
  await cleanup.stopAll();
}
