/**
 * One measured run of the throughput bench: one or more phases of paced traffic back to back, then
 * a wait until everything offered has settled, then the simulators' timings joined into flows and
 * summed up per phase, with the CPU and peak memory of every process.
 */
import type { TimingsView } from '../simulators/timings.js';
import type { SchemeSim } from '../test/support/scheme-sim.js';
import type { Bank } from '../test/support/stack.js';
import { drive, NO_TRAFFIC, setRates, type DirectionRates } from './drive.js';
import { joinFlows, summarize, type Flow, type FlowSummary } from './flows.js';
import type { Meter, Usage } from './measure.js';
import type { QueueDepth } from './queues.js';
import { offeredSince, readCounts, showProgress, type Counts } from './progress.js';
import { watchSites, type SiteFigures } from './sites.js';

export interface Phase {
  /** Total payments a second, both directions. */
  rate: number;
  seconds: number;
}

export interface RunContext {
  sim: SchemeSim;
  bank: Bank;
  meter: Meter;
  /** Inbound payments per outbound one (2 for a 2:1 mix). */
  inboundPerOutbound: number;
  /** The scheme's T_in: an inbound payment answered later is a deadline miss. */
  tInMs: number;
  /** The participant's TO.GATEWAY and FROM.GATEWAY: empty once the gateway has caught up. */
  queues: QueueDepth;
  /** Each gateway site's HTTP base URL (its /metrics). */
  siteUrls: readonly string[];
}

export interface PhaseResult extends FlowSummary {
  rate_per_s: number;
  seconds: number;
  rss_mb_max: Record<string, number>;
  cpu_us_per_payment: Record<string, number>;
}

export interface RunResult {
  phases: PhaseResult[];
  /** Every flow of the run, for per-second series. */
  flows: Flow[];
  /** Clock ms at the start of each phase. */
  startsMs: number[];
  errors: number;
  /** The non-zero error counts (simulator reports, over the run), by name. */
  error_counts: Record<string, number>;
  /** Everything offered was answered, reversed or reported, and the queues drained, in time. */
  settled: boolean;
  /** Timing rows dropped by a simulator for room: the run's figures then miss its oldest payments. */
  timings_dropped: number;
  /** Offers shed by admission control, and the outbox's lag, from the sites' metrics. */
  sites: SiteFigures;
}

/** Longest wait after the traffic for the last payments: T_in, reversals and a backlog in the queues. */
const SETTLE_TIMEOUT_MS = 90_000;

export function splitRate(rate: number, inboundPerOutbound: number): DirectionRates {
  const inbound = (rate * inboundPerOutbound) / (inboundPerOutbound + 1);
  return { inbound, outbound: rate - inbound };
}

/** Runs `phases` back to back, waits for the run to settle, and sums up each phase. */
export async function run(ctx: RunContext, phases: readonly Phase[], label: string): Promise<RunResult> {
  const { sim, bank } = ctx;
  await Promise.all([sim.control('POST', '/timings/clear'), bank.control('POST', '/timings/clear')]);
  const from = await readCounts(sim, bank);
  let phaseLabel = '';
  const stopProgress = showProgress(sim, bank, from, () => `${label}${phaseLabel}`);
  const startsMs: number[] = [];
  const usages: Array<Record<string, Usage>> = [];
  const offeredAt: number[] = [];
  let window = await ctx.meter.window();
  const watch = await watchSites(ctx.siteUrls);
  let settled: boolean;
  try {
    for (const [i, p] of phases.entries()) {
      phaseLabel = phases.length > 1 ? ` phase ${i + 1}/${phases.length} at ${p.rate}/s` : '';
      startsMs.push(Date.now());
      await drive(sim, bank, splitRate(p.rate, ctx.inboundPerOutbound), p.seconds);
      if (i === phases.length - 1) await setRates(sim, bank, NO_TRAFFIC);
      const offered = offeredSince(from, await readCounts(sim, bank));
      offeredAt.push(offered.inbound + offered.outbound);
      // The last phase's window runs on through the settling: its payments' work ends there.
      if (i < phases.length - 1) {
        usages.push(await window.end());
        window = await ctx.meter.window();
      }
    }
    phaseLabel = ' settling';
    settled = await settle(ctx, from);
    usages.push(await window.end());
  } finally {
    stopProgress();
    // A run cut short by an error leaves no traffic running behind it.
    await setRates(sim, bank, NO_TRAFFIC).catch(() => undefined);
  }
  const sites = await watch.end();
  const to = await readCounts(sim, bank);
  const [schemeTimings, bankTimings] = await Promise.all([
    sim.control<TimingsView>('GET', '/timings'),
    bank.control<TimingsView>('GET', '/timings'),
  ]);
  const flows = joinFlows(schemeTimings, bankTimings, ctx.tInMs);
  const results = phases.map((p, i) => {
    const summary = summarize(flows, startsMs[i]!, p.seconds);
    const payments = offeredAt[i]! - (i === 0 ? 0 : offeredAt[i - 1]!);
    return phaseResult(p, summary, usages[i]!, payments);
  });
  const error_counts = errorCounts(from, to, results);
  return {
    phases: results,
    flows,
    startsMs,
    errors: Object.values(error_counts).reduce((a, b) => a + b, 0),
    error_counts,
    settled,
    timings_dropped: schemeTimings.dropped + bankTimings.dropped,
    sites,
  };
}

/** A one-phase run as the bench prints it: the phase's figures with the run's errors. */
export type RunLine = PhaseResult &
  Pick<RunResult, 'errors' | 'error_counts' | 'settled' | 'timings_dropped'> &
  SiteFigures;

export function lineOf(r: RunResult): RunLine {
  const { errors, error_counts, settled, timings_dropped, sites } = r;
  return { ...r.phases[0]!, errors, error_counts, settled, timings_dropped, ...sites };
}

function phaseResult(p: Phase, summary: FlowSummary, usage: Record<string, Usage>, payments: number): PhaseResult {
  const rss_mb_max: Record<string, number> = {};
  const cpu_us_per_payment: Record<string, number> = {};
  for (const [name, u] of Object.entries(usage)) {
    rss_mb_max[name] = u.rss_mb_max;
    cpu_us_per_payment[name] = payments === 0 ? 0 : Math.round(u.cpu_us / payments);
  }
  return { rate_per_s: p.rate, seconds: p.seconds, ...summary, rss_mb_max, cpu_us_per_payment };
}

/**
 * What went wrong over the run, from the simulators' reports (differences from its start) and the
 * flows: refused or unmatched messages, duplicates, failed puts, instructions never reported.
 */
function errorCounts(from: Counts, to: Counts, phases: readonly PhaseResult[]): Record<string, number> {
  const d = (a: number, b: number) => b - a;
  const s = (
    k: 'mac_errors' | 'format_errors' | 'unmatched_responses' | 'wrong_connection_responses' | 'drain_violations',
  ) => d(from.scheme[k], to.scheme[k]);
  const b = (
    k: 'invalid_messages' | 'unexpected_messages' | 'put_failures' | 'duplicate_reports' | 'duplicates_seen',
  ) => d(from.bank[k], to.bank[k]);
  const all: Record<string, number> = {
    scheme_mac_errors: s('mac_errors'),
    scheme_format_errors: s('format_errors'),
    scheme_unmatched_responses: s('unmatched_responses'),
    scheme_wrong_connection_responses: s('wrong_connection_responses'),
    scheme_drain_violations: s('drain_violations'),
    scheme_duplicate_payments: d(from.scheme.outbound.duplicates, to.scheme.outbound.duplicates),
    bank_invalid_messages: b('invalid_messages'),
    bank_unexpected_messages: b('unexpected_messages'),
    bank_put_failures: b('put_failures'),
    bank_duplicate_reports: b('duplicate_reports'),
    bank_offered_twice: b('duplicates_seen'),
    outbound_unreported: phases.reduce((n, p) => n + p.outbound_unreported, 0),
  };
  return Object.fromEntries(Object.entries(all).filter(([, n]) => n !== 0));
}

/**
 * Waits until the scheme has every inbound payment of the run answered or reversed, the bank a
 * report for every instruction, and the participant's queues are empty; false if that has not
 * happened within SETTLE_TIMEOUT_MS.
 */
async function settle(ctx: RunContext, from: Counts): Promise<boolean> {
  const end = Date.now() + SETTLE_TIMEOUT_MS;
  while (Date.now() < end) {
    const now = await readCounts(ctx.sim, ctx.bank);
    const offered = offeredSince(from, now);
    const i = now.scheme.inbound;
    const f = from.scheme.inbound;
    const inboundDone = i.answered_in_time - f.answered_in_time + (i.reversed - f.reversed) >= offered.inbound;
    const outboundDone = now.bank.reports_received - from.bank.reports_received >= offered.outbound;
    if (inboundDone && outboundDone && (await ctx.queues.total()) === 0) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
