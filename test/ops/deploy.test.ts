/**
 * The SLO rules (deploy/prometheus) and the dashboard (deploy/grafana) name only metrics the
 * gateway exposes or the rules record: a metric renamed in src/ops/metrics.ts breaks this test,
 * not an operator's alert. promtool checks the rules themselves (npm run slo:check).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { GatewayMetrics } from '../../src/ops/metrics.js';

const read = (file: string) => readFile(path.join(PROJECT_ROOT, file), 'utf8');

/** Every series name a metric of the registry can expose (a histogram's buckets, sum and count). */
async function exposed(): Promise<Set<string>> {
  const metrics = await new GatewayMetrics('test').registry.getMetricsAsJSON();
  return new Set(
    metrics.flatMap((m) =>
      String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
    ),
  );
}

const NAME = /\b((?:gateway|nodejs|process)_[a-z0-9_]+|slo:[a-z0-9_:]+)/g;
const namesIn = (text: string) => new Set([...text.matchAll(NAME)].map((m) => m[1]!));

describe('deploy/', () => {
  it('the rules and the dashboard use only metrics the gateway exposes and the rules record', async () => {
    const rules = (await read('deploy/prometheus/gateway-slo.rules.yml')).replace(/^\s*#.*$/gm, '');
    const recorded = new Set([...rules.matchAll(/record: (\S+)/g)].map((m) => m[1]!));
    const known = new Set([...(await exposed()), ...recorded]);
    const dashboard = JSON.parse(await read('deploy/grafana/fps-gateway.json')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    const used = new Set([...namesIn(rules), ...namesIn(exprs)]);
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    // Each SLO has its ratio over each window the alerts read, and the dashboard shows it.
    expect(recorded.size).toBe(16);
    for (const r of recorded) if (r.endsWith('rate1h')) expect(exprs).toContain(r);
  });
});
