/**
 * What the ops console reads and writes in the ledger (migration `ops-console`): the audit log, each
 * site's status row, four-eyes proposals, and the small bounded reads of the console's pages. None
 * of it is on the payment path; every read is bounded by a LIMIT or an indexed time range.
 */
import type pg from 'pg';
import { ledgerError } from './ledger.js';

/** Audit rows and lease changes shown at most. */
export const HISTORY_ROWS_MAX = 200;
/** Payments a search returns at most. */
export const SEARCH_ROWS_MAX = 50;
/** The traffic window and its buckets. */
export const TRAFFIC_WINDOW_S = 15 * 60;
export const TRAFFIC_BUCKET_S = 10;

export type AuditResult = 'ok' | 'refused' | 'failed';

export interface AuditEntry {
  site: string;
  operator: string | undefined;
  address: string | undefined;
  action: string;
  target?: string | undefined;
  result: AuditResult;
  detail?: string | undefined;
}

export interface AuditRow extends AuditEntry {
  id: number;
  atMs: number;
}

/** One console statement; a failure says which read or write it was. */
export async function consoleQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  what: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(text, values);
  } catch (e) {
    throw ledgerError(`console: ${what} failed`, e);
  }
}

/** Writes one audit row; resolves with its id (a site command names the row of its request). */
export async function audit(pool: pg.Pool, e: AuditEntry): Promise<number> {
  const { rows } = await consoleQuery<{ id: string }>(
    pool,
    'audit insert',
    'INSERT INTO audit_log (site, operator, address, action, target, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
    [e.site, e.operator ?? null, e.address ?? null, e.action, e.target ?? null, e.result, e.detail ?? null],
  );
  return Number(rows[0]!.id);
}

interface AuditDbRow {
  id: string;
  at: Date;
  site: string;
  operator: string | null;
  address: string | null;
  action: string;
  target: string | null;
  result: AuditResult;
  detail: string | null;
}

export async function recentAudit(pool: pg.Pool, limit = HISTORY_ROWS_MAX): Promise<AuditRow[]> {
  const { rows } = await consoleQuery<AuditDbRow>(
    pool,
    'audit read',
    'SELECT * FROM audit_log ORDER BY id DESC LIMIT $1',
    [Math.min(limit, HISTORY_ROWS_MAX)],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    atMs: r.at.getTime(),
    site: r.site,
    operator: r.operator ?? undefined,
    address: r.address ?? undefined,
    action: r.action,
    target: r.target ?? undefined,
    result: r.result,
    detail: r.detail ?? undefined,
  }));
}

/** One site's own account of itself, written about once a second (`site_status`). */
export async function writeSiteStatus(pool: pg.Pool, site: string, status: unknown): Promise<void> {
  await consoleQuery(
    pool,
    'site status write',
    `INSERT INTO site_status (site, at, status) VALUES ($1, now(), $2)
     ON CONFLICT (site) DO UPDATE SET at = now(), status = EXCLUDED.status`,
    [site, JSON.stringify(status)],
  );
}

export interface SiteStatusRow {
  site: string;
  atMs: number;
  ageMs: number;
  status: unknown;
}

export async function siteStatuses(pool: pg.Pool): Promise<SiteStatusRow[]> {
  const { rows } = await consoleQuery<{ site: string; at: Date; age_ms: string; status: unknown }>(
    pool,
    'site status read',
    'SELECT site, at, extract(epoch FROM now() - at) * 1000 AS age_ms, status FROM site_status ORDER BY site',
  );
  return rows.map((r) => ({
    site: r.site,
    atMs: r.at.getTime(),
    ageMs: Math.round(Number(r.age_ms)),
    status: r.status,
  }));
}

export interface LeaseView {
  holder: string;
  epoch: number;
  live: boolean;
  expiresAtMs: number;
  renewedAtMs: number;
  acquiredAtMs: number;
  moveRequestedBy: string | undefined;
  dbNowMs: number;
}

export async function leaseView(pool: pg.Pool, role: string): Promise<LeaseView | undefined> {
  const { rows } = await consoleQuery<{
    holder: string;
    epoch: string;
    live: boolean;
    expires_at: Date;
    renewed_at: Date;
    acquired_at: Date;
    move_requested_by: string | null;
    db_now: Date;
  }>(
    pool,
    'lease read',
    `SELECT holder, epoch, released_at IS NULL AND expires_at > now() AS live, expires_at, renewed_at, acquired_at,
            move_requested_by, now() AS db_now
     FROM site_lease WHERE name = $1`,
    [role],
  );
  const r = rows[0];
  return (
    r && {
      holder: r.holder,
      epoch: Number(r.epoch),
      live: r.live,
      expiresAtMs: r.expires_at.getTime(),
      renewedAtMs: r.renewed_at.getTime(),
      acquiredAtMs: r.acquired_at.getTime(),
      moveRequestedBy: r.move_requested_by ?? undefined,
      dbNowMs: r.db_now.getTime(),
    }
  );
}

export interface LeaseChangeRow {
  id: number;
  atMs: number;
  oldHolder: string | null;
  newHolder: string | null;
  oldEpoch: number | null;
  newEpoch: number;
  reason: string;
  requestedBy: string | null;
}

export async function leaseHistory(pool: pg.Pool, role: string, limit = HISTORY_ROWS_MAX): Promise<LeaseChangeRow[]> {
  const { rows } = await consoleQuery<{
    id: string;
    at: Date;
    old_holder: string | null;
    new_holder: string | null;
    old_epoch: string | null;
    new_epoch: string;
    reason: string;
    requested_by: string | null;
  }>(pool, 'lease history read', 'SELECT * FROM lease_changes WHERE role = $1 ORDER BY id DESC LIMIT $2', [
    role,
    Math.min(limit, HISTORY_ROWS_MAX),
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    atMs: r.at.getTime(),
    oldHolder: r.old_holder,
    newHolder: r.new_holder,
    oldEpoch: r.old_epoch === null ? null : Number(r.old_epoch),
    newEpoch: Number(r.new_epoch),
    reason: r.reason,
    requestedBy: r.requested_by,
  }));
}

export type ProposalAction = 'move' | 'drain-dc';
export type ProposalState = 'proposed' | 'approved' | 'cancelled' | 'done' | 'failed';

export interface Proposal {
  id: number;
  action: ProposalAction;
  target: string;
  proposedBy: string;
  proposedAtMs: number;
  expiresAtMs: number;
  /** `proposed` past its expiry reads `expired`. */
  state: ProposalState | 'expired';
  decidedBy: string | null;
  result: string | null;
}

interface ProposalDbRow {
  id: string;
  action: ProposalAction;
  target: string;
  proposed_by: string;
  proposed_at: Date;
  expires_at: Date;
  state: ProposalState;
  decided_by: string | null;
  result: string | null;
  expired: boolean;
}

const PROPOSAL_COLUMNS = `id, action, target, proposed_by, proposed_at, expires_at, state, decided_by, result,
  state = 'proposed' AND expires_at <= now() AS expired`;

const proposalOf = (r: ProposalDbRow): Proposal => ({
  id: Number(r.id),
  action: r.action,
  target: r.target,
  proposedBy: r.proposed_by,
  proposedAtMs: r.proposed_at.getTime(),
  expiresAtMs: r.expires_at.getTime(),
  state: r.expired ? 'expired' : r.state,
  decidedBy: r.decided_by,
  result: r.result,
});

export async function propose(
  pool: pg.Pool,
  p: { action: ProposalAction; target: string; by: string; ttlMs: number },
): Promise<Proposal> {
  const { rows } = await consoleQuery<ProposalDbRow>(
    pool,
    'proposal insert',
    `INSERT INTO console_proposals (action, target, proposed_by, expires_at)
     VALUES ($1, $2, $3, now() + $4::bigint * interval '1 millisecond') RETURNING ${PROPOSAL_COLUMNS}`,
    [p.action, p.target, p.by, p.ttlMs],
  );
  return proposalOf(rows[0]!);
}

export async function proposalById(pool: pg.Pool, id: number): Promise<Proposal | undefined> {
  const { rows } = await consoleQuery<ProposalDbRow>(
    pool,
    'proposal read',
    `SELECT ${PROPOSAL_COLUMNS} FROM console_proposals WHERE id = $1`,
    [id],
  );
  return rows[0] && proposalOf(rows[0]);
}

/**
 * Approves a live proposal by an operator other than its proposer: one statement, so that two
 * approvers cannot both win. Undefined when it is not (or no longer) approvable by `by`.
 */
export async function approveProposal(pool: pg.Pool, id: number, by: string): Promise<Proposal | undefined> {
  const { rows } = await consoleQuery<ProposalDbRow>(
    pool,
    'proposal approve',
    `UPDATE console_proposals SET state = 'approved', decided_by = $2, decided_at = now()
     WHERE id = $1 AND state = 'proposed' AND expires_at > now() AND proposed_by <> $2
     RETURNING ${PROPOSAL_COLUMNS}`,
    [id, by],
  );
  return rows[0] && proposalOf(rows[0]);
}

/** Cancels a live proposal; undefined when it was no longer proposed. */
export async function cancelProposal(pool: pg.Pool, id: number, by: string): Promise<Proposal | undefined> {
  const { rows } = await consoleQuery<ProposalDbRow>(
    pool,
    'proposal cancel',
    `UPDATE console_proposals SET state = 'cancelled', decided_by = $2, decided_at = now()
     WHERE id = $1 AND state = 'proposed' RETURNING ${PROPOSAL_COLUMNS}`,
    [id, by],
  );
  return rows[0] && proposalOf(rows[0]);
}

/** Records what became of an approved proposal. */
export async function finishProposal(pool: pg.Pool, id: number, ok: boolean, result: string): Promise<void> {
  await consoleQuery(
    pool,
    'proposal finish',
    `UPDATE console_proposals SET state = $2, result = $3 WHERE id = $1 AND state = 'approved'`,
    [id, ok ? 'done' : 'failed', result],
  );
}

export async function recentProposals(pool: pg.Pool, limit = 20): Promise<Proposal[]> {
  const { rows } = await consoleQuery<ProposalDbRow>(
    pool,
    'proposals read',
    `SELECT ${PROPOSAL_COLUMNS} FROM console_proposals ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(proposalOf);
}

/** Counts per bucket of the last 15 minutes, oldest first; every bucket is present. */
export interface Traffic {
  bucketSeconds: number;
  /** Bucket start times, ms. */
  at: number[];
  inbound: number[];
  outbound: number[];
  standIns: number[];
  reversals: number[];
  replyLost: number[];
  /** The least inbound deadline margin of the bucket's 9210s (T_in minus arrival to 9210), ms; null without one. */
  marginMsMin: Array<number | null>;
}

/**
 * From the journal through its `at` index: the first step of each payment (an outbound one is
 * `instructed`), and the steps into the states that count.
 */
export async function traffic(pool: pg.Pool, tInMs: number): Promise<Traffic> {
  const { rows } = await consoleQuery<{ bucket: string; kind: string; n: string; now_s: string }>(
    pool,
    'traffic read',
    `WITH w AS (SELECT floor(extract(epoch FROM now()) / $2) * $2 AS end_s)
     SELECT floor(extract(epoch FROM j.at) / $2) * $2 AS bucket,
            CASE WHEN j.from_state IS NULL AND j.event = 'instructed' THEN 'outbound'
                 WHEN j.from_state IS NULL THEN 'inbound'
                 ELSE j.to_state END AS kind,
            count(*) AS n, (SELECT end_s FROM w) AS now_s
     FROM payment_journal j
     WHERE j.at > now() - $1::bigint * interval '1 second'
       AND (j.from_state IS NULL OR j.to_state IN ('stood-in', 'reversed', 'reply-lost'))
     GROUP BY 1, 2`,
    [TRAFFIC_WINDOW_S, TRAFFIC_BUCKET_S],
  );
  const endS =
    rows.length > 0 ? Number(rows[0]!.now_s) : Math.floor(Date.now() / 1000 / TRAFFIC_BUCKET_S) * TRAFFIC_BUCKET_S;
  const n = TRAFFIC_WINDOW_S / TRAFFIC_BUCKET_S;
  const startS = endS - (n - 1) * TRAFFIC_BUCKET_S;
  const series = () => new Array<number>(n).fill(0);
  const t: Traffic = {
    bucketSeconds: TRAFFIC_BUCKET_S,
    at: Array.from({ length: n }, (_, i) => (startS + i * TRAFFIC_BUCKET_S) * 1000),
    inbound: series(),
    outbound: series(),
    standIns: series(),
    reversals: series(),
    replyLost: series(),
    marginMsMin: new Array<number | null>(n).fill(null),
  };
  const key: Record<string, keyof Omit<Traffic, 'bucketSeconds' | 'at'>> = {
    inbound: 'inbound',
    outbound: 'outbound',
    'stood-in': 'standIns',
    reversed: 'reversals',
    'reply-lost': 'replyLost',
  };
  for (const r of rows) {
    const i = (Number(r.bucket) - startS) / TRAFFIC_BUCKET_S;
    const k = key[r.kind];
    if (k !== undefined && i >= 0 && i < n) t[k][i]! += Number(r.n);
  }
  // Each 9210 of the window against its payment's first step (both through indexes: `at`, `fpid`).
  const margins = await consoleQuery<{ bucket: string; worst_ms: string }>(
    pool,
    'deadline margin read',
    `SELECT floor(extract(epoch FROM s.at) / $2) * $2 AS bucket, max(extract(epoch FROM s.at - r.at) * 1000) AS worst_ms
     FROM payment_journal s JOIN payment_journal r ON r.fpid = s.fpid AND r.from_state IS NULL
     WHERE s.at > now() - $1::bigint * interval '1 second' AND s.event = 'reply_sent'
     GROUP BY 1`,
    [TRAFFIC_WINDOW_S, TRAFFIC_BUCKET_S],
  );
  for (const r of margins.rows) {
    const i = (Number(r.bucket) - startS) / TRAFFIC_BUCKET_S;
    if (i >= 0 && i < n) t.marginMsMin[i] = Math.round(tInMs - Number(r.worst_ms));
  }
  return t;
}

/** A payment as the console lists it; personal fields are masked by the console, not here. */
export interface PaymentSummary {
  fpid: string;
  direction: string;
  state: string;
  trn: string;
  amountPence: number;
  participantId: string | null;
  site: string;
  outcome: string | null;
  originatorSortCode: string;
  originatorAccount: string;
  originatorName: string | null;
  beneficiarySortCode: string;
  beneficiaryAccount: string;
  beneficiaryName: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export type PaymentSearch = { fpid: string } | { trn: string } | { participant: string };

interface PaymentDbRow {
  fpid: string;
  direction: string;
  state: string;
  trn: string;
  amount_pence: string;
  participant_id: string | null;
  site: string;
  outcome: string | null;
  originator_sort_code: string;
  originator_account: string;
  originator_name: string | null;
  beneficiary_sort_code: string;
  beneficiary_account: string;
  beneficiary_name: string | null;
  created_at: Date;
  updated_at: Date;
}

/** By primary key, by TRN, or a participant's latest (through `payments_created_at`). */
export async function searchPayments(pool: pg.Pool, s: PaymentSearch): Promise<PaymentSummary[]> {
  const [where, value] =
    'fpid' in s ? ['fpid = $1', s.fpid] : 'trn' in s ? ['trn = $1', s.trn] : ['participant_id = $1', s.participant];
  const { rows } = await consoleQuery<PaymentDbRow>(
    pool,
    'payment search',
    `SELECT fpid, direction, state, trn, amount_pence, participant_id, site, outcome, originator_sort_code,
            originator_account, originator_name, beneficiary_sort_code, beneficiary_account, beneficiary_name,
            created_at, updated_at
     FROM payments WHERE ${where} ORDER BY created_at DESC LIMIT $2`,
    [value, SEARCH_ROWS_MAX],
  );
  return rows.map((r) => ({
    fpid: r.fpid,
    direction: r.direction,
    state: r.state,
    trn: r.trn,
    amountPence: Number(r.amount_pence),
    participantId: r.participant_id,
    site: r.site,
    outcome: r.outcome,
    originatorSortCode: r.originator_sort_code,
    originatorAccount: r.originator_account,
    originatorName: r.originator_name,
    beneficiarySortCode: r.beneficiary_sort_code,
    beneficiaryAccount: r.beneficiary_account,
    beneficiaryName: r.beneficiary_name,
    createdAtMs: r.created_at.getTime(),
    updatedAtMs: r.updated_at.getTime(),
  }));
}

export interface JournalStep {
  atMs: number;
  from: string | null;
  to: string;
  event: string;
  site: string;
  epoch: number;
}

/** Every step of one payment, in commit order (`payment_journal_fpid`). */
export async function paymentSteps(pool: pg.Pool, fpid: string): Promise<JournalStep[]> {
  const { rows } = await consoleQuery<{
    at: Date;
    from_state: string | null;
    to_state: string;
    event: string;
    site: string;
    epoch: string;
  }>(
    pool,
    'journal read',
    'SELECT at, from_state, to_state, event, site, epoch FROM payment_journal WHERE fpid = $1 ORDER BY id LIMIT 500',
    [fpid],
  );
  return rows.map((r) => ({
    atMs: r.at.getTime(),
    from: r.from_state,
    to: r.to_state,
    event: r.event,
    site: r.site,
    epoch: Number(r.epoch),
  }));
}
