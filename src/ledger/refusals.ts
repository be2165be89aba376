import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import { ledgerError } from './ledger.js';

/** A participant message the gateway refused: identifiers and the reason only. */
export interface RefusedMessage {
  participantId: string;
  mqMessageId: string;
  correlationId: string | null;
  /** What it was: `pacs.008`, `pacs.002`, or `unknown` for what could not be read as either. */
  kind: string;
  /** Why, for operators: names elements and rules, never a value. */
  reason: string;
  /** The payment it tried to act on, when one was found. */
  fpid?: string;
}

export interface RefusalAudit {
  /** Resolves once the refusal is durably recorded. */
  record(r: RefusedMessage): Promise<void>;
}

/** The ledger's durable record of refused participant messages (table refused_participant_messages). */
export class RefusalLog implements RefusalAudit {
  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
  ) {}

  /** A database away surfaces as a TransientFault, so the transport holds the message and tries again. */
  async record(r: RefusedMessage): Promise<void> {
    await this.pool
      .query(
        'INSERT INTO refused_participant_messages (participant_id, mq_message_id, correlation_id, kind, reason, fpid, refused_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [r.participantId, r.mqMessageId, r.correlationId, r.kind, r.reason, r.fpid ?? null, new Date(this.clock.now())],
      )
      .catch((e: unknown) => {
        throw ledgerError('recording a refused participant message failed', e);
      });
  }

  /** Bounds the table: removes refusals older than `ageMs`; returns how many. */
  async purgeOlderThan(ageMs: number): Promise<number> {
    // The runtime role may not delete audit rows itself: the owner's function does, within this bound.
    const r = await this.pool.query<{ purged: string }>('SELECT refusals_purge($1) AS purged', [
      new Date(this.clock.now() - ageMs),
    ]);
    return Number(r.rows[0]!.purged);
  }
}
