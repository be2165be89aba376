import path from 'node:path';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../base/log.js';
import { PROJECT_ROOT } from './database.js';

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');

/**
 * Brings the schema up to date. Forward-only and idempotent: applied migrations are recorded in
 * `pgmigrations`, so running it on every start applies only what is new. Concurrent starters wait
 * on node-pg-migrate's advisory lock instead of failing.
 */
export async function migrate(url: string, logger: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl: url,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    logger: {
      debug: (msg: string) => logger.debug(msg),
      info: (msg: string) => logger.debug(msg),
      warn: (msg: string) => logger.warn(msg),
      error: (msg: string) => logger.error(msg),
    },
  });
  const names = applied.map((m) => m.name);
  if (names.length > 0) logger.info({ migrations: names }, 'migrations applied');
  return names;
}
