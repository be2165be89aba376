/**
 * The line a running bench writes to stderr each second: payments offered, answered, still in
 * flight and deadline misses so far, from the simulators' own reports.
 */
import type { BankReport } from '../simulators/participant/bank.js';
import type { Report } from '../simulators/scheme/report.js';
import type { Bank } from '../test/support/stack.js';
import type { SchemeSim } from '../test/support/scheme-sim.js';

/** The simulators' counts that progress is told from; a run reads them at its start and end. */
export interface Counts {
  scheme: Report;
  bank: BankReport;
}

export async function readCounts(sim: SchemeSim, bank: Bank): Promise<Counts> {
  const [scheme, b] = await Promise.all([sim.report(), bank.report()]);
  return { scheme, bank: b };
}

/** What was offered: payments the simulators say they sent. */
interface Offered {
  inbound: number;
  outbound: number;
}

/** Inbound payments the scheme sent and instructions the bank put (broker-confirmed) since `from`. */
export function offeredSince(from: Counts, now: Counts): Offered {
  return {
    inbound: now.scheme.inbound.sent - from.scheme.inbound.sent,
    outbound: now.bank.instructions_sent - from.bank.instructions_sent,
  };
}

/** Inbound answered (in time or late), outbound reported, and inbound timed out, since `from`. */
export function answeredSince(from: Counts, now: Counts): { answered: number; misses: number } {
  const i = now.scheme.inbound;
  const f = from.scheme.inbound;
  return {
    answered:
      i.answered_in_time -
      f.answered_in_time +
      (i.late - f.late) +
      now.bank.reports_received -
      from.bank.reports_received,
    misses: i.unanswered - f.unanswered,
  };
}

/** Writes a progress line each second until the returned function is called. */
export function showProgress(sim: SchemeSim, bank: Bank, from: Counts, label: () => string): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    void readCounts(sim, bank).then(
      (now) => {
        const { answered, misses } = answeredSince(from, now);
        const offered = offeredSince(from, now);
        const sent = offered.inbound + offered.outbound;
        const t = Math.round((Date.now() - started) / 1000);
        process.stderr.write(
          `${label()} ${t}s: offered ${sent} (in ${offered.inbound}, out ${offered.outbound}), answered ${answered}, ` +
            `in flight ${Math.max(0, sent - answered - misses)}, misses ${misses}\n`,
        );
      },
      () => undefined,
    );
  }, 1000);
  return () => clearInterval(timer);
}
