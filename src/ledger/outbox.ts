import type pg from 'pg';
import { ledgerError } from './ledger.js';

/** An outbox row claimed for delivery. */
export interface OutboxRow {
  id: number;
  topic: string;
  key: string;
  payload: unknown;
}

/** Which rows one claim takes. */
export interface OutboxClaim {
  /** The outbox topics delivered together, in one id order. */
  topics: readonly string[];
  /** Rows claimed at most: one transaction holds their locks while they are delivered. */
  limit: number;
  /**
   * A transaction-level advisory lock taken before the rows, when the order across claims matters
   * (events keyed by FPID): a claimer that cannot take it at once claims nothing this time. Rows
   * locked `FOR UPDATE SKIP LOCKED` alone would let a second claimer (a site just opened while the
   * one before still holds a batch) deliver a payment's later event before its earlier one.
   */
  exclusiveLock?: number;
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
  claim: OutboxClaim,
  deliver: (rows: readonly OutboxRow[]) => Promise<readonly number[]>,
): Promise<number> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw ledgerError('outbox claim failed', e);
  }
  let failed = false;
  // While `deliver` awaits the broker no query is active, and a checked-out client has no pool
  // listener: an ended connection would be an unhandled 'error' event, ending the process. It is
  // noted instead; the next query fails, and the client is not returned to the pool.
  const lost = (): void => {
    failed = true;
  };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    if (claim.exclusiveLock !== undefined) {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        claim.exclusiveLock,
      ]);
      if (rows[0]?.locked !== true) {
        await client.query('COMMIT');
        return 0;
      }
    }
    const { rows } = await client.query<{ id: string; topic: string; key: string; payload: unknown }>(
      `SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL AND topic = ANY($1::text[])
       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [claim.topics, claim.limit],
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
    client.off('error', lost);
    client.release(failed);
  }
}

/** Rows of these topics not yet delivered, and how long the oldest has waited (0 when none). */
export async function outboxLag(pool: pg.Pool, topics: readonly string[]): Promise<{ rows: number; oldestMs: number }> {
  const { rows } = await pool.query<{ n: string; oldest_ms: number | null }>(
    `SELECT count(*) AS n, (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS oldest_ms
     FROM outbox WHERE published_at IS NULL AND topic = ANY($1::text[])`,
    [topics],
  );
  return { rows: Number(rows[0]?.n ?? 0), oldestMs: Math.max(0, Math.round(rows[0]?.oldest_ms ?? 0)) };
}
