/**
 * Participants an operator suspended (migration `participant-suspensions`): the open site reads no
 * suspended participant's TO.GATEWAY, whichever site that is. The row is the truth; each site's
 * bridge applies it (on opening, before any queue is read, and on the console's poll while open).
 */
import type pg from 'pg';
import { consoleQuery } from './console.js';

export interface Suspension {
  participant: string;
  by: string;
  atMs: number;
  /** The site whose console suspended it. */
  site: string;
}

/** Every suspension in force, by participant id. */
export async function suspensions(pool: pg.Pool): Promise<Suspension[]> {
  const { rows } = await consoleQuery<{
    participant_id: string;
    suspended_by: string;
    suspended_at: Date;
    site: string;
  }>(
    pool,
    'suspensions read',
    `SELECT participant_id, suspended_by, suspended_at, site FROM participant_suspensions
     WHERE resumed_at IS NULL ORDER BY participant_id`,
  );
  return rows.map((r) => ({
    participant: r.participant_id,
    by: r.suspended_by,
    atMs: r.suspended_at.getTime(),
    site: r.site,
  }));
}

/** Records a suspension; false when the participant was suspended already. */
export async function suspendParticipant(
  pool: pg.Pool,
  participant: string,
  by: string,
  site: string,
): Promise<boolean> {
  const { rowCount } = await consoleQuery(
    pool,
    'suspension insert',
    `INSERT INTO participant_suspensions (participant_id, suspended_by, site) VALUES ($1, $2, $3)
     ON CONFLICT (participant_id) WHERE resumed_at IS NULL DO NOTHING`,
    [participant, by, site],
  );
  return rowCount === 1;
}

/** Ends a suspension (its row stays, resumed); false when the participant was not suspended. */
export async function resumeParticipant(pool: pg.Pool, participant: string, by: string): Promise<boolean> {
  const { rowCount } = await consoleQuery(
    pool,
    'suspension end',
    `UPDATE participant_suspensions SET resumed_by = $2, resumed_at = now()
     WHERE participant_id = $1 AND resumed_at IS NULL`,
    [participant, by],
  );
  return rowCount === 1;
}
