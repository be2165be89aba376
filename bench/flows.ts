/**
 * The latency the gateway adds to each payment, from the two simulators' timings (GET /timings,
 * simulators/timings.ts) joined by TRN:
 * - inbound: the scheme's 9200 write to its 9210 read, less the time the bank spent deciding
 *   within that span (its offer read to its decision put);
 * - outbound: the bank's instruction put to its report read, less the time the scheme spent
 *   answering within that span (its 9200 read to its 9210 write).
 * "Within that span" keeps a decision that came after the gateway's stand-in from counting for
 * more than the time it overlapped. Both simulators read the same machine's wall clock in
 * milliseconds, so each figure is good to a millisecond or two.
 */
import type { TimingRow, TimingsView } from '../simulators/timings.js';
import { ActionCode } from '../src/scheme/profile.js';

/** One payment of a run, as the simulators saw it. */
export interface Flow {
  direction: 'inbound' | 'outbound';
  /** When it was offered to the gateway (9200 written, or instruction put). */
  sentMs: number;
  /** Answered in time (inbound) or reported (outbound): what the gateway added, ms. */
  addedMs?: number;
  /** Inbound: not answered within T_in (timed out by the scheme, or answered late). */
  missed: boolean;
  /** Inbound: answered 0912 by the gateway's stand-in. */
  stoodIn: boolean;
  /** Inbound: reversed by the scheme after its time-out (R3). */
  reversed: boolean;
}

/** The time `row` (the other side's own work) overlaps [from, to]. */
function overlapMs(row: TimingRow | undefined, from: number, to: number): number {
  if (row?.request_ms === undefined || row.answer_ms === undefined) return 0;
  return Math.max(0, Math.min(to, row.answer_ms) - Math.max(from, row.request_ms));
}

/** Every payment the scheme sent or the bank put, with its added latency where it was answered. */
export function joinFlows(scheme: TimingsView, bank: TimingsView, tInMs: number): Flow[] {
  const byTrn = (v: TimingsView, direction: TimingRow['direction']) =>
    new Map(v.rows.filter((r) => r.direction === direction).map((r) => [r.trn, r]));
  const decisions = byTrn(bank, 'inbound');
  const answers = byTrn(scheme, 'outbound');
  const flows: Flow[] = [];
  for (const r of scheme.rows) {
    if (r.direction !== 'inbound' || r.request_ms === undefined) continue;
    const answered = r.answer_ms !== undefined && r.answer_ms - r.request_ms <= tInMs;
    flows.push({
      direction: 'inbound',
      sentMs: r.request_ms,
      ...(answered
        ? { addedMs: r.answer_ms! - r.request_ms - overlapMs(decisions.get(r.trn), r.request_ms, r.answer_ms!) }
        : {}),
      missed: !answered || r.timed_out === true,
      stoodIn: r.outcome === ActionCode.standIn,
      reversed: r.reversed === true,
    });
  }
  for (const r of bank.rows) {
    if (r.direction !== 'outbound' || r.request_ms === undefined) continue;
    flows.push({
      direction: 'outbound',
      sentMs: r.request_ms,
      ...(r.answer_ms === undefined
        ? {}
        : { addedMs: r.answer_ms - r.request_ms - overlapMs(answers.get(r.trn), r.request_ms, r.answer_ms) }),
      missed: false,
      stoodIn: false,
      reversed: false,
    });
  }
  return flows;
}

/** The p-th percentile (nearest rank) of ascending `sorted`; null when empty. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Latency {
  p50_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
}

export function latencyOf(flows: readonly Flow[]): Latency {
  const ms = flows
    .map((f) => f.addedMs)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  return { p50_ms: percentile(ms, 50), p99_ms: percentile(ms, 99), p999_ms: percentile(ms, 99.9) };
}

export interface DirectionSummary extends Latency {
  offered_per_s: number;
  /** Answered by the other side's decision (stand-ins and misses not counted), a second. */
  achieved_per_s: number;
}

export interface FlowSummary extends Latency {
  offered_per_s: number;
  achieved_per_s: number;
  inbound: DirectionSummary;
  outbound: DirectionSummary;
  deadline_misses: number;
  stand_ins: number;
  reversals: number;
  /** Outbound instructions put that had no report by the end of the run. */
  outbound_unreported: number;
}

const perSecond = (n: number, seconds: number) => Math.round((n / seconds) * 10) / 10;
const carried = (f: Flow) => f.addedMs !== undefined && !f.stoodIn;

function directionSummary(flows: readonly Flow[], seconds: number): DirectionSummary {
  return {
    offered_per_s: perSecond(flows.length, seconds),
    achieved_per_s: perSecond(flows.filter(carried).length, seconds),
    ...latencyOf(flows),
  };
}

/** The payments offered in [fromMs, fromMs + seconds), summed up. */
export function summarize(all: readonly Flow[], fromMs: number, seconds: number): FlowSummary {
  const flows = all.filter((f) => f.sentMs >= fromMs && f.sentMs < fromMs + seconds * 1000);
  const inbound = flows.filter((f) => f.direction === 'inbound');
  const outbound = flows.filter((f) => f.direction === 'outbound');
  return {
    offered_per_s: perSecond(flows.length, seconds),
    achieved_per_s: perSecond(flows.filter(carried).length, seconds),
    ...latencyOf(flows),
    inbound: directionSummary(inbound, seconds),
    outbound: directionSummary(outbound, seconds),
    deadline_misses: inbound.filter((f) => f.missed).length,
    stand_ins: inbound.filter((f) => f.stoodIn).length,
    reversals: inbound.filter((f) => f.reversed).length,
    outbound_unreported: outbound.filter((f) => f.addedMs === undefined).length,
  };
}

/** p99 added latency of the payments offered in each second from `fromMs`, null for a second with none answered. */
export function p99BySecond(all: readonly Flow[], fromMs: number, seconds: number): Array<number | null> {
  const buckets: Flow[][] = Array.from({ length: seconds }, () => []);
  for (const f of all) {
    const s = Math.floor((f.sentMs - fromMs) / 1000);
    if (s >= 0 && s < seconds) buckets[s]!.push(f);
  }
  return buckets.map((b) => latencyOf(b).p99_ms);
}
