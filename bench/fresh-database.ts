/** The benches' database: dropped and created again each run, then migrated. */
import pg from 'pg';
import type { Logger } from 'pino';
import { migrate } from '../src/ledger/migrate.js';

/** A fresh database `name` beside `migrationUrl`'s, migrated, so every run starts from empty tables; its URL. */
export async function freshDatabase(migrationUrl: string, name: string, logger: Logger): Promise<string> {
  const admin = new pg.Client(migrationUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(migrationUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), logger);
  return url.toString();
}
