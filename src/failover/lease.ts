import type pg from 'pg';
import { ledgerError } from '../ledger/ledger.js';
import type { LeaseTiming } from './lease-timing.js';

/** Why a holder let go: an operator moving the open site, or the holder stopping. */
export type ReleaseReason = 'manual' | 'stop';

/**
 * Why a lease changed hands (`lease_changes.reason`): no lease existed, the holder stopped renewing,
 * the holder released it (for a manual move or on stopping), or the holder took its own live lease
 * again (after a restart or a failed renew).
 */
export type AcquireReason = 'start' | 'expiry' | ReleaseReason | 'resume';

/** What an acquire won: an epoch no earlier holding had, and its expiry by the database's clock. */
export interface Tenure {
  epoch: number;
  expiresAtMs: number;
  reason: AcquireReason;
}

/** The lease row as the database sees it now; `live` means held, unreleased and unexpired. */
export interface LeaseState {
  holder: string;
  epoch: number;
  live: boolean;
  expiresAtMs: number;
  acquiredAtMs: number;
  renewedAtMs: number;
  releasedAtMs: number | undefined;
  /** A move asked of the current tenure that its holder has not yet acted on. */
  moveRequested: MoveRequest | undefined;
  dbNowMs: number;
}

/** An operator's request that the holder hand the open site to the other site (`requestMove`). */
export interface MoveRequest {
  by: string;
  /** When it was made, by the database's clock. */
  atMs: number;
}

/** A successful renew; `move` when an operator has asked the holder to step down. */
export interface Renewal {
  move: MoveRequest | undefined;
}

/** What `requestMove` marked: the tenure asked to end, the one live when it was made. */
export interface MoveRequested {
  role: string;
  holder: string;
  epoch: number;
  by: string;
  atMs: number;
}

/** The three statements a `LeaseKeeper` needs; `Lease` is the real one. */
export interface LeaseStatements {
  readonly site: string;
  tryAcquire(): Promise<Tenure | undefined>;
  /** Undefined once the tenure of `epoch` is not ours or has expired. */
  renew(epoch: number): Promise<Renewal | undefined>;
  release(epoch: number, reason: ReleaseReason): Promise<boolean>;
}

/** The interval of a parameter's milliseconds, so that every time is reckoned by the database's clock. */
const millis = (param: string): string => `${param}::bigint * interval '1 millisecond'`;

/**
 * Acquire: insert the row (epoch 1) or take it over when it has expired or is already this site's,
 * bumping the epoch either way, and record the change in the same statement. Row locks make
 * contenders take turns: the first wins, the rest find a live lease held by another and get no row.
 * A move request survives only the holder taking its own unreleased lease again (`resume`): the
 * resumed tenure then steps down at its first renew.
 */
const ACQUIRE = `
WITH acquired AS (
  INSERT INTO site_lease AS l (name, holder, epoch, expires_at, acquired_at, renewed_at, previous_holder, acquire_reason)
  VALUES ($1, $2, 1, now() + ${millis('$3')}, now(), now(), NULL, 'start')
  ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    epoch = l.epoch + 1,
    expires_at = EXCLUDED.expires_at,
    acquired_at = EXCLUDED.acquired_at,
    renewed_at = EXCLUDED.renewed_at,
    released_at = NULL,
    release_reason = NULL,
    previous_holder = l.holder,
    move_requested_at = CASE WHEN l.holder = EXCLUDED.holder AND l.released_at IS NULL THEN l.move_requested_at END,
    move_requested_by = CASE WHEN l.holder = EXCLUDED.holder AND l.released_at IS NULL THEN l.move_requested_by END,
    acquire_reason = CASE
      WHEN l.released_at IS NOT NULL THEN l.release_reason
      WHEN l.expires_at <= now() THEN 'expiry'
      ELSE 'resume' END
  WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
  RETURNING l.name, l.holder, l.epoch, l.expires_at, l.previous_holder, l.acquire_reason
), recorded AS (
  INSERT INTO lease_changes (role, old_holder, new_holder, old_epoch, new_epoch, at, reason)
  SELECT name, previous_holder, holder, CASE WHEN previous_holder IS NULL THEN NULL ELSE epoch - 1 END, epoch, now(), acquire_reason
  FROM acquired
)
SELECT epoch, expires_at, acquire_reason FROM acquired`;

/**
 * Renew: only the holder of this epoch, while the lease lives; an expired lease is acquired anew.
 * It returns an operator's move request, so that the holder learns of it within a renew period.
 */
const RENEW = `
UPDATE site_lease SET expires_at = now() + ${millis('$4')}, renewed_at = now()
WHERE name = $1 AND holder = $2 AND epoch = $3 AND released_at IS NULL AND expires_at > now()
RETURNING move_requested_at, move_requested_by`;

/** Move: mark the live tenure, whoever holds it, for its holder to hand over (see the keeper). */
const REQUEST_MOVE = `
UPDATE site_lease SET move_requested_at = now(), move_requested_by = $2
WHERE name = $1 AND released_at IS NULL AND expires_at > now()
RETURNING holder, epoch, move_requested_at`;

/**
 * Release: expire the lease now and say why, recorded in the same statement (with the operator who
 * asked, for a manual move); the epoch is kept.
 */
const RELEASE = `
WITH released AS (
  UPDATE site_lease SET expires_at = least(expires_at, now()), released_at = now(), release_reason = $4
  WHERE name = $1 AND holder = $2 AND epoch = $3 AND released_at IS NULL
  RETURNING name, holder, epoch, move_requested_by
)
INSERT INTO lease_changes (role, old_holder, new_holder, old_epoch, new_epoch, at, reason, requested_by)
SELECT name, holder, NULL, epoch, epoch, now(), $4, CASE WHEN $4 = 'manual' THEN move_requested_by END FROM released
RETURNING new_epoch`;

const CURRENT = `
SELECT holder, epoch, expires_at, acquired_at, renewed_at, released_at, move_requested_at, move_requested_by, now() AS db_now,
  released_at IS NULL AND expires_at > now() AS live
FROM site_lease WHERE name = $1`;

interface TenureRow {
  epoch: string;
  expires_at: Date;
  acquire_reason: AcquireReason;
}

interface RenewalRow {
  move_requested_at: Date | null;
  move_requested_by: string | null;
}

interface MoveRow {
  holder: string;
  epoch: string;
  move_requested_at: Date;
}

interface StateRow extends RenewalRow {
  holder: string;
  epoch: string;
  expires_at: Date;
  acquired_at: Date;
  renewed_at: Date;
  released_at: Date | null;
  db_now: Date;
  live: boolean;
}

/**
 * One site's view of a lease role (`open-site`) in PostgreSQL: each operation is one statement in
 * autocommit, timed by the database's clock, and cut off after `renewDeadlineMs`. Give it a pool of
 * its own, so that renewals never queue behind the ledger's batches for a connection.
 */
export class Lease implements LeaseStatements {
  constructor(
    private readonly pool: pg.Pool,
    readonly role: string,
    readonly site: string,
    private readonly timing: LeaseTiming,
  ) {}

  /** Opens a tenure if the lease is free, expired, released or already this site's; else undefined. */
  async tryAcquire(): Promise<Tenure | undefined> {
    const { rows } = await this.query<TenureRow>('acquire', ACQUIRE, [this.role, this.site, this.timing.leaseMs]);
    const row = rows[0];
    return row && { epoch: Number(row.epoch), expiresAtMs: row.expires_at.getTime(), reason: row.acquire_reason };
  }

  /**
   * Extends this site's tenure of `epoch` by `leaseMs` from now, saying whether an operator asked
   * for a move; undefined once it is not ours or has expired.
   */
  async renew(epoch: number): Promise<Renewal | undefined> {
    const { rows } = await this.query<RenewalRow>('renew', RENEW, [this.role, this.site, epoch, this.timing.leaseMs]);
    const row = rows[0];
    if (row === undefined) return undefined;
    return { move: moveOf(row) };
  }

  /**
   * Asks the holder of the live lease, on behalf of `by` (an operator), to hand the open site to
   * the other site: one statement that marks the row; the holder sees it on its next renew, stops
   * bridging, releases with reason `manual` and holds off a lease period (`LeaseKeeper`). Undefined
   * when no site holds the lease. Asking again before the holder has stepped down marks it again.
   */
  async requestMove(by: string): Promise<MoveRequested | undefined> {
    const { rows } = await this.query<MoveRow>('move request', REQUEST_MOVE, [this.role, by]);
    const row = rows[0];
    return (
      row && {
        role: this.role,
        holder: row.holder,
        epoch: Number(row.epoch),
        by,
        atMs: row.move_requested_at.getTime(),
      }
    );
  }

  /** Lets go of this site's tenure of `epoch` at once, recording why; false if it was not ours to release. */
  async release(epoch: number, reason: ReleaseReason): Promise<boolean> {
    const { rowCount } = await this.query('release', RELEASE, [this.role, this.site, epoch, reason]);
    return rowCount === 1;
  }

  /** The lease as the database sees it, or undefined if no site ever held it. */
  async current(): Promise<LeaseState | undefined> {
    const { rows } = await this.query<StateRow>('read', CURRENT, [this.role]);
    const row = rows[0];
    return (
      row && {
        holder: row.holder,
        epoch: Number(row.epoch),
        live: row.live,
        expiresAtMs: row.expires_at.getTime(),
        acquiredAtMs: row.acquired_at.getTime(),
        renewedAtMs: row.renewed_at.getTime(),
        releasedAtMs: row.released_at?.getTime(),
        moveRequested: row.released_at === null ? moveOf(row) : undefined,
        dbNowMs: row.db_now.getTime(),
      }
    );
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    what: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      // A statement past the renew deadline is of no use to the keeper; pg then drops the connection.
      return await this.pool.query<R>({ text, values, query_timeout: this.timing.renewDeadlineMs } as pg.QueryConfig);
    } catch (err) {
      throw ledgerError(`${this.role} lease ${what} by ${this.site} failed`, err);
    }
  }
}

function moveOf(row: RenewalRow): MoveRequest | undefined {
  const { move_requested_at: at, move_requested_by: by } = row;
  return at === null || by === null ? undefined : { by, atMs: at.getTime() };
}
