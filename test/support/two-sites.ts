import type pg from 'pg';
import type { SchemeSim } from './scheme-sim.js';
import { eventually } from './stack.js';

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
