import type pg from 'pg';
import { ledgerError } from './ledger.js';

/** An outbox row claimed for delivery. */
export interface OutboxRow {
  id: number;
  key: string;
  payload: unknown;
}

/**
 * Delivery from the outbox: rows written in the same transaction as the step that called for them,
 * delivered after it by whichever process claims them. `deliver` runs with the claimed rows locked
 * (`FOR UPDATE SKIP LOCKED`: two deliverers never take the same row) and returns the ids it
 * delivered; only those are marked published, in the same transaction. A row not returned, or a
 * batch whose transaction fails, is claimed again next time: at least once, in id order per claim.
 */
export async function deliverOutbox(
  pool: pg.Pool,
  topic: string,
  limit: number,
  deliver: (rows: readonly OutboxRow[]) => Promise<readonly number[]>,
): Promise<number> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw ledgerError('outbox claim failed', e);
  }
  let failed = false;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string; key: string; payload: unknown }>(
      `SELECT id, key, payload FROM outbox WHERE published_at IS NULL AND topic = $1
       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [topic, limit],
    );
    const delivered = rows.length === 0 ? [] : await deliver(rows.map((r) => ({ ...r, id: Number(r.id) })));
    if (delivered.length > 0)
      await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [delivered]);
    await client.query('COMMIT');
    return delivered.length;
  } catch (e) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw e instanceof Error && !('code' in e) ? e : ledgerError('outbox delivery failed', e);
  } finally {
    client.release(failed);
  }
}
