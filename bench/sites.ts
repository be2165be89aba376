/**
 * What the bench reads of the gateway sites themselves, from their /metrics: the offers admission
 * control shed, by reason, and the outbox's lag (its oldest unpublished row), sampled each second.
 */
import { scrape, type Scraped } from '../test/support/metrics.js';

const SAMPLE_MS = 1_000;

export interface SiteFigures {
  /** Inbound payments stood in at once rather than offered, by reason (src/payments/admission.ts). */
  shed: Record<string, number>;
  /** The most the oldest unpublished outbox row lagged at any sample, seconds, on any site. */
  outbox_lag_s_max: number;
}

const SHED = 'gateway_admission_shed_total';
const REASONS = ['window', 'offered', 'loop', 'ledger'] as const;

async function scrapeAll(urls: readonly string[]): Promise<Scraped[]> {
  return Promise.all(urls.map((u) => scrape(u)));
}

const shedOf = (all: readonly Scraped[], reason: string) => all.reduce((n, s) => n + s.sum(SHED, { reason }), 0);

/** Watches the sites from now until `end()`. */
export async function watchSites(urls: readonly string[]): Promise<{ end(): Promise<SiteFigures> }> {
  const from = await scrapeAll(urls);
  let lagMax = 0;
  const timer = setInterval(() => {
    void scrapeAll(urls)
      .then((all) => {
        for (const s of all)
          for (const v of s.samples)
            if (v.name === 'gateway_outbox_oldest_unpublished_seconds') lagMax = Math.max(lagMax, v.value);
      })
      .catch(() => undefined);
  }, SAMPLE_MS);
  return {
    async end() {
      clearInterval(timer);
      const to = await scrapeAll(urls);
      const shed: Record<string, number> = {};
      for (const r of REASONS) shed[r] = shedOf(to, r) - shedOf(from, r);
      return { shed, outbox_lag_s_max: Math.round(lagMax * 1000) / 1000 };
    },
  };
}
