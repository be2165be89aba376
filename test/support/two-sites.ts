import type pg from 'pg';
import { connect } from 'amqplib';
import type { Cleanup } from './cleanup.js';
import type { SchemeSim } from './scheme-sim.js';
import {
  eventually,
  gatewayConfig,
  startGateway,
  startSimulators,
  SORT_CODE,
  type RunningGateway,
  type SimulatorOptions,
  type Simulators,
} from './stack.js';

/** The two sites of the two-site tests and benches. */
export const SITES = ['site-a', 'site-b'] as const;
export type SiteName = (typeof SITES)[number];

export interface TwoSites extends Simulators {
  /** The sites running now, each its own gateway process. */
  sites: Map<SiteName, RunningGateway>;
  /** Starts `site` (again, after a kill) on its config and waits until every running site is signed on. */
  start(site: SiteName): Promise<void>;
}

export interface TwoSitesOptions {
  /** A site that reaches the ledger by another way than `databaseUrl` (a proxy in front of it). */
  databaseUrlOf?: Partial<Record<SiteName, string>>;
  /** Runs once the simulators are up, before any site starts: to watch the sites from their first moment. */
  beforeSites?: (sims: Simulators) => Promise<void>;
}

/**
 * The scheme and bank simulators and two gateway sites on one ledger (`databaseUrl`), each site
 * its own process, started one after the other (site-a opens first) and signed on at both DCs;
 * everything stopped by `cleanup`.
 */
export async function startTwoSites(
  cleanup: Cleanup,
  databaseUrl: string,
  simOptions: SimulatorOptions,
  bankOptions: SimulatorOptions,
  signOnTimeoutMs = 30_000,
  options: TwoSitesOptions = {},
): Promise<TwoSites> {
  const sims = await startSimulators(cleanup, simOptions, bankOptions);
  const configs = new Map<SiteName, string>();
  for (const site of SITES)
    configs.set(
      site,
      await gatewayConfig(sims.sim, {
        site,
        databaseUrl: options.databaseUrlOf?.[site] ?? databaseUrl,
        participant: { id: sims.participant, sortCodes: [SORT_CODE] },
      }),
    );
  const sites = new Map<SiteName, RunningGateway>();
  cleanup.push(async () => {
    for (const g of sites.values()) await g.stop().catch(() => g.kill());
  });
  const start = async (site: SiteName): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    // A gateway that never prints its ready line would hold the caller for ever.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${site} printed no ready line in ${signOnTimeoutMs} ms`)),
        signOnTimeoutMs,
      );
    });
    try {
      sites.set(site, await Promise.race([startGateway(configs.get(site)!), late]));
    } finally {
      clearTimeout(timer);
    }
    await sitesSignedOn(sims.sim, sites.size, signOnTimeoutMs);
  };
  await options.beforeSites?.(sims);
  for (const site of SITES) await start(site);
  return { ...sims, sites, start };
}

/** Waits until `sites` gateways hold all their scheme connections (2 a DC each) open, signed on both ways. */
export async function sitesSignedOn(sim: SchemeSim, sites: number, timeoutMs: number): Promise<void> {
  await eventually(
    () => sim.sessions(),
    (s) => s.filter((v) => v.open && v.submit && v.receive).length === 4 * sites,
    timeoutMs,
    `${sites} gateway sites signed on at both DCs`,
  );
}

export interface LeaseRow {
  holder: string;
  epoch: number;
}

/** The open-site lease as the ledger holds it now. */
export async function openSite(pool: pg.Pool): Promise<LeaseRow | undefined> {
  const r = await pool.query<{ holder: string; epoch: string }>(
    "SELECT holder, epoch FROM site_lease WHERE name = 'open-site' AND released_at IS NULL AND expires_at > now()",
  );
  const row = r.rows[0];
  return row === undefined ? undefined : { holder: row.holder, epoch: Number(row.epoch) };
}

/** When (clock ms) `site` first took a message from MQ under `epoch`: its first instruction or decision recorded. */
export async function firstReadFromMq(pool: pg.Pool, site: string, epoch: number): Promise<number | undefined> {
  const r = await pool.query<{ at: Date | null }>(
    `SELECT min(at) AS at FROM payment_journal
     WHERE site = $1 AND epoch = $2 AND fenced AND event IN ('instructed', 'decided')`,
    [site, epoch],
  );
  return r.rows[0]?.at?.getTime();
}

/**
 * Fenced journal rows written under an epoch their site never held: a write the fence should have
 * refused. Zero when the fence holds.
 */
export async function staleEpochWrites(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM payment_journal j
     WHERE j.fenced AND NOT EXISTS (
       SELECT 1 FROM lease_changes c WHERE c.new_holder = j.site AND c.new_epoch = j.epoch)`,
  );
  return Number(r.rows[0]!.n);
}

/**
 * Epochs whose fenced writes overlap in time with another epoch's: two sites bridging at once.
 * Each epoch's fenced writes must all come before the first fenced write of the next epoch.
 */
export async function overlappingEpochs(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `WITH spans AS (
       SELECT epoch, min(at) AS first, max(at) AS last FROM payment_journal WHERE fenced GROUP BY epoch)
     SELECT count(*) AS n FROM spans a JOIN spans b ON b.epoch > a.epoch AND b.first < a.last`,
  );
  return Number(r.rows[0]!.n);
}

export interface ConsumerWatch {
  /** The most consumers the queue had at any sample. */
  readonly max: number;
  readonly samples: number;
  stop(): Promise<void>;
}

/**
 * Samples how many consumers `queue` has on the broker every `everyMs` (RabbitMQ counts a waiting
 * single-active consumer too): at most one while no two sites read MQ at once. A sample that
 * fails (the queue not yet declared) is skipped.
 */
export async function watchConsumers(url: string, queue: string, everyMs = 50): Promise<ConsumerWatch> {
  const model = await connect(url);
  model.on('error', () => undefined);
  let max = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const ch = await model.createChannel();
      ch.on('error', () => undefined);
      try {
        const { consumerCount } = await ch.checkQueue(queue);
        max = Math.max(max, consumerCount);
        samples += 1;
        await ch.close();
      } catch {
        // not declared yet: its channel is closed by the broker
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    get max() {
      return max;
    },
    get samples() {
      return samples;
    },
    async stop() {
      running = false;
      await loop;
      await model.close().catch(() => undefined);
    },
  };
}

/** Connections `application_name` names, as the server sees them now. */
export async function connectionsNamed(pool: pg.Pool, name: string): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [
    name,
  ]);
  return Number(r.rows[0]!.n);
}

export interface InboundPath {
  /** Payments that arrived on this site's connections, by the site that offered them (`none`: never offered). */
  offeredBy: Record<string, number>;
  /** Of those, answered by a participant's decision, and stood in (0912). */
  decided: number;
  stoodIn: number;
  /** Scheme request to 9210 written (the journal's first row, to `reply_sent`), ms. */
  replyMs: { p50: number; p99: number; n: number };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/**
 * How the inbound payments that arrived on `arrivalSite`'s connections went, from the journal:
 * who offered them, how they were decided, and the time from their arrival to their 9210, split
 * into those offered by the arrival site itself and those offered by another (cross-site).
 */
export async function inboundPaths(
  pool: pg.Pool,
  arrivalSite: string,
): Promise<{ sameSite: InboundPath; crossSite: InboundPath; unoffered: number }> {
  const { rows } = await pool.query<{ offered_by: string | null; outcome: string | null; reply_ms: number | null }>(
    `SELECT o.site AS offered_by, p.outcome,
            extract(epoch FROM (s.at - r.at)) * 1000 AS reply_ms
       FROM payment_journal r
       JOIN payments p ON p.fpid = r.fpid
       LEFT JOIN payment_journal o ON o.fpid = r.fpid AND o.event = 'offer'
       LEFT JOIN payment_journal s ON s.fpid = r.fpid AND s.event = 'reply_sent'
      WHERE r.from_state IS NULL AND r.site = $1 AND p.direction = 'inbound'`,
    [arrivalSite],
  );
  const path = (pick: (offeredBy: string) => boolean): InboundPath => {
    const mine = rows.filter((r) => r.offered_by !== null && pick(r.offered_by));
    const ms = mine
      .map((r) => r.reply_ms)
      .filter((v): v is number => v !== null)
      .map(Number)
      .sort((a, b) => a - b);
    const offeredBy: Record<string, number> = {};
    for (const r of mine) offeredBy[r.offered_by!] = (offeredBy[r.offered_by!] ?? 0) + 1;
    return {
      offeredBy,
      decided: mine.filter((r) => r.outcome !== null && r.outcome !== '0912').length,
      stoodIn: mine.filter((r) => r.outcome === '0912').length,
      replyMs: { p50: Math.round(percentile(ms, 50)), p99: Math.round(percentile(ms, 99)), n: ms.length },
    };
  };
  return {
    sameSite: path((by) => by === arrivalSite),
    crossSite: path((by) => by !== arrivalSite),
    unoffered: rows.filter((r) => r.offered_by === null).length,
  };
}

/** Inbound payments that arrived on `site`'s connections and did not end answered there (`replied`). */
export async function arrivalsNotReplied(pool: pg.Pool, site: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ state: string; n: string }>(
    `SELECT p.state, count(*) AS n FROM payment_journal r JOIN payments p ON p.fpid = r.fpid
      WHERE r.from_state IS NULL AND r.site = $1 AND p.direction = 'inbound' AND p.state <> 'replied' GROUP BY p.state`,
    [site],
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
