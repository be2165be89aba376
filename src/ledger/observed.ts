/**
 * What metrics and the readiness probe read from the database: small statements, each bounded, none
 * on the payment path. They run when Prometheus scrapes or a probe asks, never per payment.
 */
import type pg from 'pg';
import { ledgerError } from './ledger.js';

/**
 * Unpublished outbox rows counted at most, oldest first (the partial index `outbox_unpublished`,
 * in id order): a scrape costs at most this many index entries however far a relay has fallen
 * behind. Past it the count reads this bound: "at least".
 */
export const OUTBOX_LAG_ROWS_MAX = 10_000;

/** Unpublished rows of one outbox topic and the age of its oldest, among the oldest unpublished rows. */
export interface OutboxLag {
  topic: string;
  rows: number;
  oldestSeconds: number;
}

export async function outboxLag(pool: pg.Pool, rowsMax = OUTBOX_LAG_ROWS_MAX): Promise<OutboxLag[]> {
  try {
    const { rows } = await pool.query<{ topic: string; n: string; age: string }>(
      `SELECT topic, count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age
       FROM (SELECT topic, created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1) oldest
       GROUP BY topic`,
      [rowsMax],
    );
    return rows.map((r) => ({ topic: r.topic, rows: Number(r.n), oldestSeconds: Math.max(0, Number(r.age)) }));
  } catch (e) {
    throw ledgerError('outbox lag query failed', e);
  }
}

/** Changes of holder of a lease by reason (`lease_changes`, one row per change: a handful a day). */
export async function leaseChanges(pool: pg.Pool, role: string): Promise<Map<string, number>> {
  try {
    const { rows } = await pool.query<{ reason: string; n: string }>(
      'SELECT reason, count(*) AS n FROM lease_changes WHERE role = $1 GROUP BY reason',
      [role],
    );
    return new Map(rows.map((r) => [r.reason, Number(r.n)]));
  } catch (e) {
    throw ledgerError('lease changes query failed', e);
  }
}

/** Resolves when the database answers a trivial statement. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    throw ledgerError('database ping failed', e);
  }
}
