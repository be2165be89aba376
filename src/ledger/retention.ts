import type pg from 'pg';
import type { Clock } from '../clock.js';

export interface RetentionOptions {
  /** Only payments in these states are ever removed; open payments stay however old they are. */
  finalStates: readonly string[];
}

export interface Purged {
  payments: number;
  journal: number;
  outbox: number;
}

/**
 * Removes finished payments first seen more than `ageMs` ago, with their journal, and outbox rows
 * published before then. Run with the duplicate window as `ageMs`: an FPID stays a duplicate until
 * this removes it, so a late purge errs towards refusing, never towards paying twice.
 */
export async function purgeOlderThan(pool: pg.Pool, clock: Clock, ageMs: number, options: RetentionOptions): Promise<Purged> {
  const cutoff = new Date(clock.now() - ageMs);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The journal's append-only trigger admits deletes only from a transaction that says it is this job.
    await client.query("SET LOCAL ledger.retention = 'on'");
    const payments = await client.query<{ fpid: string }>(
      'DELETE FROM payments WHERE created_at < $1 AND state = ANY($2::text[]) RETURNING fpid',
      [cutoff, options.finalStates],
    );
    const journal = await client.query('DELETE FROM payment_journal WHERE fpid = ANY($1::text[])', [payments.rows.map((r) => r.fpid)]);
    const outbox = await client.query('DELETE FROM outbox WHERE published_at < $1', [cutoff]);
    await client.query('COMMIT');
    return { payments: payments.rowCount ?? 0, journal: journal.rowCount ?? 0, outbox: outbox.rowCount ?? 0 };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
