import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import { TransientFault } from '../base/faults.js';
import type { Logger } from '../base/log.js';
import { LEDGER_DEFAULTS } from './config.js';
import { commitQuery, commitResults, type RefusedRow } from './commit-statement.js';
import { GROUP_COMMIT_QUEUED_MAX, GroupCommitter } from './group-commit.js';
import { ReadBatcher } from './read-batch.js';
import { signalPayloads } from './site-signals.js';
import { toJournalEntry, toPayment, type JournalRow, type PaymentRow } from './rows.js';
import {
  transitionProblem,
  type CommitResult,
  type JournalEntry,
  type Payment,
  type Transition,
} from './transition.js';

export interface LedgerOptions {
  /** States a payment never leaves; everything else is open and resumed after a crash. */
  finalStates: readonly string[];
  /** Most transitions written in one transaction. */
  maxBatch: number;
  /** Batches in flight at once, each on its own pooled connection. */
  maxInFlight: number;
  /** Transitions waiting for a batch at most; past it `commit` refuses with a TransientFault. */
  maxQueued: number;
  /** How long an FPID counts as seen; retention removes finished payments older than this. */
  duplicateWindowDays: number;
  /** The fencing lease a write's epoch is checked against. */
  leaseName: string;
  /** Told of every batch written (metrics): its transitions and how long its statement took. */
  onBatch?: (batch: BatchWritten) => void;
  /** How long a batch of after-the-fact transitions alone waits for others to ride with (Transition.afterTheFact). */
  lingerMs: number;
}

/** One batch statement, as metrics see it. */
export interface BatchWritten {
  transitions: number;
  /** From sending the statement to its result, retries included. */
  seconds: number;
  ok: boolean;
}

/**
 * What goes ahead under load (the group committer's urgent lane): a payment's later steps (its
 * answer, stand-in, report), and the record of a payment admission control stood in on arrival,
 * whose answer waits on it alone. A new payment's record to be offered is new work, and waits.
 */
export const owedNow = (t: Transition): boolean => t.from !== null || t.cause?.shed !== undefined;

/** The lease whose holder is the open site; fenced writes are checked against its epoch. */
export const OPEN_SITE_LEASE = 'open-site';

export const DEFAULT_LEDGER_OPTIONS: Omit<LedgerOptions, 'finalStates'> = {
  maxBatch: LEDGER_DEFAULTS.maxBatch,
  maxInFlight: LEDGER_DEFAULTS.maxInFlight,
  maxQueued: GROUP_COMMIT_QUEUED_MAX,
  duplicateWindowDays: LEDGER_DEFAULTS.duplicateWindowDays,
  leaseName: OPEN_SITE_LEASE,
  // A commit a payment less on its way at a steady load, where another write comes within this;
  // at a trickle the record waits this long for nothing, and nobody waits on it.
  lingerMs: 5,
};

export const DAY_MS = 86_400_000;

/** Signal payloads one batch is handed at most; past it a sender sends its own. */
const CARRIED_MAX = 1_000;

/** Most keys in one coalesced point read. */
const READ_BATCH_MAX = 500;

/** A participant's TRN as one key: JSON, so no separator can be forged by either part. */
const participantTrnKey = (participantId: string, trn: string): string => JSON.stringify([participantId, trn]);

/** A deadlock between two in-flight batches aborts the whole statement, which is then safe to rerun. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

/**
 * SQLSTATE classes of a server that is going, gone or overloaded (08 connection, 57P shutdown,
 * 53 resources, 40 rollback): the statement did not take effect, or may not have, and is worth
 * trying again later. An error without a SQLSTATE is the client's (refused, reset, timed out).
 */
const TRANSIENT_STATE = /^(08|57P|53|40)/;

export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || TRANSIENT_STATE.test(code);
}

/**
 * The server's `detail` can quote a failing row, account numbers included, so the error handed on
 * carries only the message and the code; a transient one as a TransientFault.
 */
export function ledgerError(what: string, err: unknown): Error {
  const code = (err as { code?: string }).code;
  const message = `${what} (code ${code ?? 'none'}): ${(err as Error).message}`;
  return isTransientDbError(err) ? new TransientFault(message) : new Error(message);
}

/**
 * The payment ledger over a pg.Pool. Every state change goes through `commit`, which resolves only
 * after the transaction holding it has committed: durable before effect.
 */
export class Ledger {
  private readonly options: LedgerOptions;
  private readonly committer: GroupCommitter<Transition, CommitResult>;
  /** Point reads asked for in one turn, one statement each (the desks' reads after signals and instructions). */
  private readonly byFpid: ReadBatcher<string, Payment>;
  private readonly byParticipantTrn: ReadBatcher<string, Payment>;
  /** Signal payloads for the next batch to carry (`carrySignals`). */
  private carried: string[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: Partial<LedgerOptions> & Pick<LedgerOptions, 'finalStates'>,
  ) {
    this.options = { ...DEFAULT_LEDGER_OPTIONS, ...options };
    this.byFpid = new ReadBatcher(async (fpids) => {
      const { rows } = await this.query<PaymentRow>('SELECT * FROM payments WHERE fpid = ANY($1::text[])', [fpids]);
      return new Map(rows.map((r) => [r.fpid, toPayment(r)]));
    }, READ_BATCH_MAX);
    this.byParticipantTrn = new ReadBatcher(async (keys) => {
      const pairs = keys.map((k) => JSON.parse(k) as [string, string]);
      const { rows } = await this.query<PaymentRow>(
        `SELECT p.* FROM payments p JOIN unnest($1::text[], $2::text[]) AS k (participant_id, trn)
           ON p.participant_id = k.participant_id AND p.trn = k.trn
         WHERE p.direction = 'outbound'`,
        [pairs.map(([participant]) => participant), pairs.map(([, trn]) => trn)],
      );
      return new Map(rows.map((r) => [participantTrnKey(r.participant_id!, r.trn), toPayment(r)]));
    }, READ_BATCH_MAX);
    this.committer = new GroupCommitter(
      (batch) => this.write(batch),
      (t) => t.fpid,
      this.options,
      owedNow,
      () => clock.now(),
      (t) => t.afterTheFact === true,
    );
  }

  /** Applies one transition, grouped with whatever else is committing at the same moment. */
  commit(t: Transition): Promise<CommitResult> {
    const problem = transitionProblem(t);
    if (problem)
      return Promise.reject(new Error(`transition ${t.event} for ${t.fpid} refused before writing: ${problem}`));
    return this.committer.submit(t);
  }

  /** How long the oldest transition not yet committed has waited: how far the database is behind the traffic. */
  get commitDelayMs(): number {
    return this.committer.oldestWaitMs;
  }

  /**
   * Hands cross-site signals (their payloads, site-signals.ts) to the next batch, when one waits to
   * be written: they go out as it commits, in its transaction. False when none waits (or too many
   * ride already): the caller sends them itself.
   */
  carrySignals(payloads: readonly string[]): boolean {
    if (!this.committer.writeDue || this.carried.length + payloads.length > CARRIED_MAX) return false;
    this.carried.push(...payloads);
    return true;
  }

  /** Resolves once every commit submitted so far has settled. The pool stays the caller's to end. */
  drain(): Promise<void> {
    return this.committer.drained();
  }

  get(fpid: string): Promise<Payment | undefined> {
    return this.byFpid.get(fpid);
  }

  /** The state of each of these payments the ledger holds (cross-site polling: primary key lookups only). */
  async statesOf(fpids: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.query<{ fpid: string; state: string }>(
      'SELECT fpid, state FROM payments WHERE fpid = ANY($1::text[])',
      [fpids],
    );
    return new Map(rows.map((r) => [r.fpid, r.state]));
  }

  /** Every payment not in a final state, oldest first: what a restarting gateway must resume. */
  async findOpen(): Promise<Payment[]> {
    const { rows } = await this.query<PaymentRow>(
      'SELECT * FROM payments WHERE state <> ALL($1::text[]) ORDER BY created_at, fpid',
      [this.options.finalStates],
    );
    return rows.map(toPayment);
  }

  /** The outbound payment a participant instructed under its own TRN, if any. */
  findByParticipantTrn(participantId: string, trn: string): Promise<Payment | undefined> {
    return this.byParticipantTrn.get(participantTrnKey(participantId, trn));
  }

  /** The payment whose offer to a participant went out under this message id, if any. */
  async findByParticipantMsgId(participantMsgId: string): Promise<Payment | undefined> {
    const { rows } = await this.query<PaymentRow>('SELECT * FROM payments WHERE participant_msg_id = $1', [
      participantMsgId,
    ]);
    return rows[0] && toPayment(rows[0]);
  }

  async journal(fpid: string): Promise<JournalEntry[]> {
    const { rows } = await this.query<JournalRow>('SELECT * FROM payment_journal WHERE fpid = $1 ORDER BY id', [fpid]);
    return rows.map(toJournalEntry);
  }

  /** Whether the FPID was first seen within the duplicate window. */
  async isDuplicate(fpid: string): Promise<boolean> {
    const since = new Date(this.clock.now() - this.options.duplicateWindowDays * DAY_MS);
    const { rowCount } = await this.query('SELECT 1 FROM payments WHERE fpid = $1 AND created_at >= $2', [fpid, since]);
    return (rowCount ?? 0) > 0;
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw ledgerError('ledger read failed', err);
    }
  }

  /** What a batch notifies as it commits: the signals it was handed, and its transitions' own. */
  private signalsFor(batch: readonly Transition[]): string[] {
    const own = signalPayloads(batch.flatMap((t) => (t.signal === undefined ? [] : [{ ...t.signal, fpid: t.fpid }])));
    const payloads = this.carried.length === 0 ? own : [...this.carried, ...own];
    this.carried = [];
    return payloads;
  }

  private async write(batch: readonly Transition[]): Promise<CommitResult[]> {
    const query = commitQuery(batch, this.options.leaseName, this.signalsFor(batch));
    // A duration, not a time of day: the monotonic clock, apart from the injected one.
    const started = performance.now();
    const written = (ok: boolean) =>
      this.options.onBatch?.({ transitions: batch.length, seconds: (performance.now() - started) / 1000, ok });
    for (let attempt = 1; ; attempt += 1) {
      try {
        // Autocommit: the single statement is the transaction, so it has committed when this returns.
        const { rows } = await this.pool.query<RefusedRow>(query);
        written(true);
        return commitResults(batch, rows);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || code === undefined || !RETRYABLE.has(code)) {
          const error = ledgerError(`ledger batch of ${batch.length} transitions failed (attempt ${attempt})`, err);
          this.logger.error(
            { code, transitions: batch.length, attempt, transient: error instanceof TransientFault },
            error.message,
          );
          written(false);
          throw error;
        }
        this.logger.warn({ code, transitions: batch.length, attempt }, 'ledger batch aborted by the server; retrying');
      }
    }
  }
}
