/**
 * What the throughput bench runs on, each part its own process: PostgreSQL (embedded, or
 * DATABASE_URL), the scheme and bank simulators recording per-payment times, and two gateway sites
 * on the one ledger; with a meter on every process and the participant's queue depths.
 */
import { T_IN_MS } from '../src/scheme/config.js';
import type { Cleanup } from '../test/support/cleanup.js';
import { startTestDatabase } from '../test/support/ledger.js';
import { startTwoSites } from '../test/support/two-sites.js';
import { localBrokerPid, Meter, postmasterPid, processGroupProbe, processProbe, type Probe } from './measure.js';
import { queueDepth } from './queues.js';
import type { RunContext } from './run.js';

/**
 * Rows each simulator keeps (simulators/timings.ts): enough for the longest run at 2,000/s, both
 * phases of --overload 2; a run that outgrows it reports `timings_dropped`.
 */
const TIMINGS_CAP = 300_000;

export interface BenchStackSettings {
  /** The bank's decision time, `MIN-MAX` ms. */
  bankLatencyMs: string;
  seed: string;
  inboundPerOutbound: number;
  /** Says what is being started, for the operator watching. */
  say(what: string): void;
}

/** Starts everything, stopped by `cleanup`; resolves once both sites are signed on. */
export async function startBenchStack(cleanup: Cleanup, s: BenchStackSettings): Promise<RunContext> {
  s.say('starting PostgreSQL');
  const db = await startTestDatabase();
  cleanup.push(() => db.stop());
  s.say('starting the simulators and the two gateway sites');
  const { sim, bank, participant, sites } = await startTwoSites(
    cleanup,
    db.url,
    { timings: TIMINGS_CAP },
    // No deliberately late decisions: every stand-in and miss is the gateway's. The bank trusts the
    // gateway's XML: the tests check it against the XSDs, and here the check would cost the machine
    // a fifth of the bank's CPU.
    { latencyMs: s.bankLatencyMs, lateShare: 0, drainMs: 5000, seed: s.seed, timings: TIMINGS_CAP, validate: 'off' },
  );
  const probes = new Map<string, Probe>();
  for (const [site, g] of sites) probes.set(site, processProbe(g.process.pid!));
  probes.set('scheme-sim', processProbe(sim.process.process.pid!));
  probes.set('bank-sim', processProbe(bank.process.process.pid!));
  if (db.dataDir !== undefined) probes.set('postgres', processGroupProbe(await postmasterPid(db.dataDir)));
  const broker = await localBrokerPid();
  if (broker !== undefined) probes.set('rabbitmq', processProbe(broker));
  const meter = new Meter(probes);
  meter.start();
  cleanup.push(async () => meter.stop());
  const names = (bank.process.ready.queues as Record<string, { toGateway: string; fromGateway: string }>)[participant]!;
  const queues = await queueDepth([names.toGateway, names.fromGateway]);
  cleanup.push(() => queues.close());
  const siteUrls = [...sites.values()].map((g) => String(g.ready.http));
  return { sim, bank, meter, inboundPerOutbound: s.inboundPerOutbound, tInMs: T_IN_MS, queues, siteUrls };
}
