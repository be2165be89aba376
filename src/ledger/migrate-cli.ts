import { createLogger } from '../base/log.js';
import { openDatabase } from './database.js';
import { migrate } from './migrate.js';

// `npm run migrate`: DATABASE_URL, or else the embedded cluster the gateway itself uses.
const logger = createLogger('migrate');
const db = await openDatabase({ name: process.env.LEDGER_DB_NAME ?? 'gateway' }, logger);
try {
  await migrate(db.migrationUrl, logger);
} catch (err) {
  logger.error({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.stop();
}
