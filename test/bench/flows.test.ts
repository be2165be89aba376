/** The added latency the throughput bench reports, from the simulators' timings (bench/flows.ts). */
import { describe, expect, it } from 'vitest';
import { joinFlows, p99BySecond, summarize } from '../../bench/flows.js';
import type { TimingsView } from '../../simulators/timings.js';

const view = (rows: TimingsView['rows']): TimingsView => ({ capacity: 100, dropped: 0, rows });
const T_IN_MS = 10_000;

describe('bench: flows from the simulators timings', () => {
  it('takes the bank decision time off an inbound payment and the scheme answer time off an outbound one', () => {
    const scheme = view([
      { trn: 'IN1', direction: 'inbound', request_ms: 1_000, answer_ms: 1_250, outcome: '0000' },
      { trn: 'OUT1', direction: 'outbound', request_ms: 2_010, answer_ms: 2_012, outcome: '0000' },
    ]);
    const bank = view([
      { trn: 'IN1', direction: 'inbound', request_ms: 1_020, answer_ms: 1_220, outcome: 'ACSC' },
      { trn: 'OUT1', direction: 'outbound', request_ms: 2_000, answer_ms: 2_030, outcome: 'ACSC' },
    ]);
    const flows = joinFlows(scheme, bank, T_IN_MS);
    expect(flows.map((f) => [f.direction, f.addedMs])).toEqual([
      ['inbound', 50],
      ['outbound', 28],
    ]);
  });

  it('counts a decision after the stand-in only for the time it overlapped, and a time-out as a miss', () => {
    const scheme = view([
      { trn: 'STOOD', direction: 'inbound', request_ms: 0, answer_ms: 9_000, outcome: '0912' },
      { trn: 'LOST', direction: 'inbound', request_ms: 100, timed_out: true, reversed: true },
    ]);
    // The bank read the offer at 8,000 and decided at 12,000: 1,000 ms of it fell before the 9210.
    const bank = view([{ trn: 'STOOD', direction: 'inbound', request_ms: 8_000, answer_ms: 12_000 }]);
    const flows = joinFlows(scheme, bank, T_IN_MS);
    expect(flows[0]).toMatchObject({ addedMs: 8_000, stoodIn: true, missed: false });
    expect(flows[1]).toMatchObject({ missed: true, reversed: true });
    expect(flows[1]!.addedMs).toBeUndefined();
    const s = summarize(flows, 0, 1);
    expect(s).toMatchObject({ deadline_misses: 1, stand_ins: 1, reversals: 1, achieved_per_s: 0, p99_ms: 8_000 });
    expect(s.inbound.offered_per_s).toBe(2);
  });

  it('sums up only the payments offered in the window, and gives p99 per second', () => {
    const rows: TimingsView['rows'] = [];
    for (let i = 0; i < 200; i++)
      rows.push({ trn: `T${i}`, direction: 'inbound', request_ms: i * 10, answer_ms: i * 10 + (i < 100 ? 5 : 500) });
    const flows = joinFlows(view(rows), view([]), T_IN_MS);
    expect(summarize(flows, 0, 1)).toMatchObject({ offered_per_s: 100, p50_ms: 5, p99_ms: 5 });
    expect(summarize(flows, 1_000, 1)).toMatchObject({ offered_per_s: 100, p99_ms: 500 });
    expect(p99BySecond(flows, 0, 3)).toEqual([5, 500, null]);
  });
});
