/**
 * What the bench reads of the gateway sites themselves, from their /metrics: the offers admission
 * control shed, by reason, and the outbox's lag (its oldest unpublished row), sampled each second.
 */
import { scrape, type Scraped } from '../test/support/metrics.js';

const SAMPLE_MS = 1_000;

export interface SiteFigures {
  /** Inbound payments stood in at once rather than offered, by reason (src/payments/admission.ts). */
  shed: Record<string, number>;
  /**
   * By outbox topic, the most its oldest unpublished row lagged at any sample, seconds: the payment
   * events' only mean something with the Kafka relay on (KAFKA_BROKERS), the notices' always.
   */
  outbox_lag_s_max: Record<string, number>;
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
  const lagMax: Record<string, number> = {};
  const timer = setInterval(() => {
    void scrapeAll(urls)
      .then((all) => {
        for (const s of all)
          for (const v of s.samples)
            if (v.name === 'gateway_outbox_oldest_unpublished_seconds') {
              const topic = v.labels.topic ?? '';
              lagMax[topic] = Math.max(lagMax[topic] ?? 0, Math.round(v.value * 1000) / 1000);
            }
      })
      .catch(() => undefined);
  }, SAMPLE_MS);
  return {
    async end() {
      clearInterval(timer);
      const to = await scrapeAll(urls);
      const shed: Record<string, number> = {};
      for (const r of REASONS) shed[r] = shedOf(to, r) - shedOf(from, r);
      return { shed, outbox_lag_s_max: lagMax };
    },
  };
}
