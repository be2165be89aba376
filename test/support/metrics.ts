/** Reads a Prometheus text exposition, as a scrape would, for tests to check figures by name and labels. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scraped {
  samples: Sample[];
  /** The sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  /** Whether any sample of `name` was exposed. */
  has(name: string): boolean;
  text: string;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scraped {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matching = (name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    text,
    sum: (name, labels = {}) => matching(name, labels).reduce((n, s) => n + s.value, 0),
    has: (name) => samples.some((s) => s.name === name),
  };
}

export async function scrape(baseUrl: string): Promise<Scraped> {
  const r = await fetch(`${baseUrl}/metrics`);
  if (!r.ok) throw new Error(`GET /metrics: ${r.status}`);
  return parseMetrics(await r.text());
}
