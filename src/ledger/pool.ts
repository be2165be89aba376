import pg from 'pg';
import type { Logger } from '../base/log.js';

export interface PoolOptions {
  url: string;
  /** Connections; the ledger needs one per batch in flight plus a few for reads. */
  max: number;
  /** Shown in `pg_stat_activity`, so that an operator can tell the pools apart. */
  applicationName?: string;
  /** How long a query waits for a connection; 5 s unless said (the lease's own is its renew deadline). */
  connectTimeoutMs?: number;
}

/** How long a query waits for a connection before it fails (and is retried by its caller). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A pool that survives its server going away: an idle connection's error (server restart,
 * shutdown) is logged and the connection replaced, where an unheard 'error' would end the process.
 */
export function createPool(options: PoolOptions, logger: Logger): pg.Pool {
  // A server that does not answer is a transient fault to surface, not a wait without end.
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
  pool.on('error', (err) =>
    logger.warn({ code: (err as { code?: string }).code }, `idle ledger connection lost: ${err.message}`),
  );
  return pool;
}
