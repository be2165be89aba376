/**
 * `npm run bench` end to end, short and slow: every part started as its own process, a few seconds
 * of traffic both ways, and one valid JSON line. The figures are not checked, only that they are there.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const PROCESSES = ['site-a', 'site-b', 'scheme-sim', 'bank-sim'];

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/throughput.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('bench: throughput', () => {
  it('runs two sites, the ledger and both simulators, and prints one line with every figure', async () => {
    const r = await bench(['--rate', '15', '--seconds', '3', '--warm-up-seconds', '0']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown> & {
      inbound: Record<string, unknown>;
      outbound: Record<string, unknown>;
      rss_mb_max: Record<string, number>;
      cpu_us_per_payment: Record<string, number>;
    };
    expect(line).toMatchObject({ mode: 'run', rate_per_s: 15, seconds: 3, deadline_misses: 0, settled: true });
    for (const key of [
      'offered_per_s',
      'achieved_per_s',
      'p50_ms',
      'p99_ms',
      'p999_ms',
      'stand_ins',
      'reversals',
      'errors',
    ])
      expect(typeof line[key], key).toBe('number');
    expect(line.offered_per_s).toBeGreaterThan(10);
    for (const d of [line.inbound, line.outbound]) expect(d.achieved_per_s).toBeGreaterThan(0);
    for (const p of PROCESSES) {
      expect(line.rss_mb_max[p], p).toBeGreaterThan(0);
      expect(line.cpu_us_per_payment[p], p).toBeGreaterThan(0);
    }
    // Admission control's sheds by reason and the outbox's lag by topic, from the sites' metrics.
    expect(Object.keys(line.shed as object).sort()).toEqual(['ledger', 'loop', 'offered', 'window']);
    expect(typeof line.outbox_lag_s_max).toBe('object');
    expect(r.stderr).toMatch(/run \d+s: offered \d+ \(in \d+, out \d+\), answered \d+, in flight \d+, misses \d+/);
  }, 180_000);
});
