/**
 * `--find-max` and `--overload`: the highest rate that holds the bar, found by short runs (doubling,
 * then bisection), and a run past it followed by a run well under it, with how soon the latency
 * came back under the bar.
 */
import { p99BySecond } from './flows.js';
import type { SiteFigures } from './sites.js';
import { lineOf, run, type PhaseResult, type RunContext, type RunLine } from './run.js';

/**
 * The bar a rate must hold: p99 added latency at most this, no deadline miss, and nothing stood in
 * (a stand-in is an answer, and a fast one, but a rate the gateway sheds is past its capacity).
 */
export const P99_BAR_MS = 100;
/** Bisection stops when the bracket is this narrow, relative to the rate that held. */
const PRECISION = 0.1;
/** No search goes past this many payments a second. */
const MAX_RATE = 20_000;

export const holds = (p: PhaseResult) =>
  p.deadline_misses === 0 && p.stand_ins === 0 && p.p99_ms !== null && p.p99_ms <= P99_BAR_MS;

export interface Step {
  rate_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  deadline_misses: number;
  stand_ins: number;
  holds: boolean;
}

export interface MaxResult {
  max_rate: number;
  /** The run at `max_rate`, or null when no rate held. */
  best: RunLine | null;
  steps: Step[];
}

/** Doubles from `startRate` while the bar holds, then bisects between the last that held and the first that did not. */
export async function findMax(ctx: RunContext, startRate: number, stepSeconds: number): Promise<MaxResult> {
  const steps: Step[] = [];
  let best: RunLine | null = null;
  let low = 0;
  let high: number | undefined;
  const tryRate = async (rate: number): Promise<boolean> => {
    const result = lineOf(await run(ctx, [{ rate, seconds: stepSeconds }], `find-max step ${steps.length + 1}`));
    const ok = holds(result);
    steps.push({
      rate_per_s: rate,
      p50_ms: result.p50_ms,
      p99_ms: result.p99_ms,
      deadline_misses: result.deadline_misses,
      stand_ins: result.stand_ins,
      holds: ok,
    });
    process.stderr.write(
      `find-max: ${rate}/s ${ok ? 'holds' : 'does not hold'} (p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, misses ${result.deadline_misses}, stood in ${result.stand_ins})\n`,
    );
    if (ok) best = result;
    return ok;
  };
  for (let rate = startRate; high === undefined && rate <= MAX_RATE; rate *= 2) {
    if (await tryRate(rate)) low = rate;
    else high = rate;
  }
  while (high !== undefined && high - low > Math.max(1, low * PRECISION)) {
    const mid = Math.round((low + high) / 2);
    if (await tryRate(mid)) low = mid;
    else high = mid;
  }
  return { max_rate: low, best, steps };
}

export interface OverloadResult {
  base_rate_per_s: number;
  factor: number;
  overload: PhaseResult;
  after: PhaseResult;
  /** Seconds from the end of the overload to the first second whose payments' p99 is back under the bar; null if none. */
  recovery_s: number | null;
  /** p99 added latency of the payments offered in each second, overload then after. */
  p99_per_s_ms: Array<number | null>;
  errors: number;
  error_counts: Record<string, number>;
  settled: boolean;
  /** Offers shed by admission control over both phases, and the outbox's lag. */
  sites: SiteFigures;
}

/** `factor` times `base` for `phaseSeconds`, then half of `base` for as long, back to back. */
export async function overload(
  ctx: RunContext,
  base: number,
  factor: number,
  phaseSeconds: number,
): Promise<OverloadResult> {
  const phases = [
    { rate: Math.round(base * factor), seconds: phaseSeconds },
    { rate: Math.round(base * 0.5), seconds: phaseSeconds },
  ];
  const r = await run(ctx, phases, 'overload');
  // Seconds are counted by when payments were offered, each phase from its own start.
  const during = p99BySecond(r.flows, r.startsMs[0]!, phaseSeconds);
  const afterwards = p99BySecond(r.flows, r.startsMs[1]!, phaseSeconds);
  const series = [...during, ...afterwards];
  const after = afterwards.findIndex((p99) => p99 !== null && p99 <= P99_BAR_MS);
  return {
    base_rate_per_s: base,
    factor,
    overload: r.phases[0]!,
    after: r.phases[1]!,
    recovery_s: after === -1 ? null : after,
    p99_per_s_ms: series,
    errors: r.errors,
    error_counts: r.error_counts,
    settled: r.settled,
    sites: r.sites,
  };
}
