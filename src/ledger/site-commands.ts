/**
 * Commands one site's console sends another site through the ledger (migration `site-commands`):
 * drain or undrain the target's scheme connections, which only the site holding them can do. The
 * row is the truth and the signal only a hint: the target looks for its pending rows on every
 * signal and every poll, applies each once, oldest first, and records what came of it.
 */
import type pg from 'pg';
import { consoleQuery } from './console.js';

export type SiteCommandName = 'drain' | 'undrain';
export type SiteCommandArguments = { connection: string } | { dc: string };
export type SiteCommandState = 'pending' | 'applied' | 'failed';

/** Commands the console lists at most. */
export const COMMAND_ROWS_MAX = 50;

export interface SiteCommand {
  id: number;
  targetSite: string;
  command: SiteCommandName;
  arguments: SiteCommandArguments;
  requestedBy: string;
  requestedOn: string;
  auditId: number;
  requestedAtMs: number;
  expiresAtMs: number;
  /** `pending` past its expiry reads `expired`: it will not be applied. */
  state: SiteCommandState | 'expired';
  appliedAtMs: number | null;
  result: string | null;
}

interface SiteCommandDbRow {
  id: string;
  target_site: string;
  command: SiteCommandName;
  arguments: SiteCommandArguments;
  requested_by: string;
  requested_on: string;
  audit_id: string;
  requested_at: Date;
  expires_at: Date;
  state: SiteCommandState;
  applied_at: Date | null;
  result: string | null;
  expired: boolean;
}

const COLUMNS = `id, target_site, command, arguments, requested_by, requested_on, audit_id, requested_at, expires_at,
  state, applied_at, result, state = 'pending' AND expires_at <= now() AS expired`;

const commandOf = (r: SiteCommandDbRow): SiteCommand => ({
  id: Number(r.id),
  targetSite: r.target_site,
  command: r.command,
  arguments: r.arguments,
  requestedBy: r.requested_by,
  requestedOn: r.requested_on,
  auditId: Number(r.audit_id),
  requestedAtMs: r.requested_at.getTime(),
  expiresAtMs: r.expires_at.getTime(),
  state: r.expired ? 'expired' : r.state,
  appliedAtMs: r.applied_at?.getTime() ?? null,
  result: r.result,
});

export async function sendCommand(
  pool: pg.Pool,
  c: {
    targetSite: string;
    command: SiteCommandName;
    arguments: SiteCommandArguments;
    by: string;
    on: string;
    auditId: number;
    ttlMs: number;
  },
): Promise<SiteCommand> {
  const { rows } = await consoleQuery<SiteCommandDbRow>(
    pool,
    'site command insert',
    `INSERT INTO site_commands (target_site, command, arguments, requested_by, requested_on, audit_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + $7::bigint * interval '1 millisecond') RETURNING ${COLUMNS}`,
    [c.targetSite, c.command, JSON.stringify(c.arguments), c.by, c.on, c.auditId, c.ttlMs],
  );
  return commandOf(rows[0]!);
}

/** `site`'s commands still to apply, oldest first, expired ones among them (to be marked failed). */
export async function pendingCommands(pool: pg.Pool, site: string): Promise<SiteCommand[]> {
  const { rows } = await consoleQuery<SiteCommandDbRow>(
    pool,
    'pending site commands read',
    `SELECT ${COLUMNS} FROM site_commands WHERE target_site = $1 AND state = 'pending' ORDER BY id LIMIT $2`,
    [site, COMMAND_ROWS_MAX],
  );
  return rows.map(commandOf);
}

/** Records what came of a pending command; false when it was no longer pending. */
export async function finishCommand(pool: pg.Pool, id: number, ok: boolean, result: string): Promise<boolean> {
  const { rowCount } = await consoleQuery(
    pool,
    'site command finish',
    `UPDATE site_commands SET state = $2, result = $3, applied_at = now() WHERE id = $1 AND state = 'pending'`,
    [id, ok ? 'applied' : 'failed', result],
  );
  return rowCount === 1;
}

export async function recentCommands(pool: pg.Pool, limit = 20): Promise<SiteCommand[]> {
  const { rows } = await consoleQuery<SiteCommandDbRow>(
    pool,
    'site commands read',
    `SELECT ${COLUMNS} FROM site_commands ORDER BY id DESC LIMIT $1`,
    [Math.min(limit, COMMAND_ROWS_MAX)],
  );
  return rows.map(commandOf);
}
