import type pg from 'pg';
import type { Clock } from '../base/clock.js';

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
export async function purgeOlderThan(
  pool: pg.Pool,
  clock: Clock,
  ageMs: number,
  options: RetentionOptions,
): Promise<Purged> {
  const cutoff = new Date(clock.now() - ageMs);
  // ledger_purge (migrations/*_runtime-role.sql) deletes as the schema's owner: the runtime role has no DELETE.
  const { rows } = await pool.query<{ purged_payments: string; purged_journal: string; purged_outbox: string }>(
    'SELECT * FROM ledger_purge($1, $2::text[])',
    [cutoff, options.finalStates],
  );
  const r = rows[0]!;
  return { payments: Number(r.purged_payments), journal: Number(r.purged_journal), outbox: Number(r.purged_outbox) };
}
