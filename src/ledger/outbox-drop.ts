import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import { ledgerError } from './ledger.js';

/** Which unsent outbox rows one run may drop. */
export interface UnsentBound {
  /** The outbox topics bounded; never the participant notices, which are owed to a bank. */
  topics: readonly string[];
  /** Unsent rows of these topics kept at most, the newest; the older go. */
  keep: number;
  /** Unsent rows written longer ago than this go, however few. */
  maxAgeMs: number;
}

/**
 * Deletes the unsent rows of `bound.topics` beyond the newest `keep` or older than `maxAgeMs`,
 * oldest first, and says how many went per topic. Rows a relay holds locked are left to it. Only
 * `outbox_drop_unsent` (migrations/*_outbox-unsent-bound.sql) deletes: the runtime role cannot.
 */
export async function dropUnsent(pool: pg.Pool, clock: Clock, bound: UnsentBound): Promise<Map<string, number>> {
  try {
    const { rows } = await pool.query<{ dropped_topic: string; dropped: string }>(
      'SELECT * FROM outbox_drop_unsent($1::text[], $2, $3)',
      [bound.topics, bound.keep, new Date(clock.now() - bound.maxAgeMs)],
    );
    return new Map(rows.map((r) => [r.dropped_topic, Number(r.dropped)]));
  } catch (e) {
    throw ledgerError('dropping unsent outbox rows failed', e);
  }
}
