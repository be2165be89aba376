import pg from 'pg';

/** A pool that connects as the gateway's runtime role, `ledger_runtime`, to a test database. */
export function runtimePool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, options: '-c role=ledger_runtime', max });
  pool.on('error', () => undefined);
  return pool;
}

export interface LeaseChange {
  old_holder: string | null;
  new_holder: string | null;
  old_epoch: number | null;
  new_epoch: number;
  reason: string;
}

/** The role's changes of holder, oldest first. */
export async function historyOf(pool: pg.Pool, role: string): Promise<LeaseChange[]> {
  const { rows } = await pool.query<LeaseChange>(
    'SELECT old_holder, new_holder, old_epoch::int, new_epoch::int, reason FROM lease_changes WHERE role = $1 ORDER BY id',
    [role],
  );
  return rows;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
