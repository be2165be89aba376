import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../base/log.js';
import { OWNER_ROLE, RUNTIME_ROLE, scramVerifier, startEmbedded } from './embedded.js';

export interface DatabaseOptions {
  /** Names the embedded cluster; its data lives in `var/pg/<name>` unless `dataDir` says otherwise. */
  name: string;
  /** A server to use instead of starting one; defaults to the `DATABASE_URL` environment variable. */
  url?: string;
  /** With `url`: the schema owner's URL, for migrations; defaults to `DATABASE_MIGRATION_URL`, then `url`. */
  migrationUrl?: string;
  dataDir?: string;
  /** The embedded server's port; a free one when absent. */
  port?: number;
}

export interface DatabaseHandle {
  /** What the gateway's runtime pool connects as: on the embedded cluster a role that cannot alter the journal. */
  url: string;
  /** What migrations run as: the schema's owner. */
  migrationUrl: string;
  /** Stops the embedded server; a no-op for a server given by URL, which this process does not own. */
  stop(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The checkout's root, from source (src/ledger) or from the build (dist/src/ledger). */
export const PROJECT_ROOT = path.resolve(
  HERE,
  path.basename(path.resolve(HERE, '../..')) === 'dist' ? '../../..' : '../..',
);

/**
 * A server given by URL (option or `DATABASE_URL`) is the operator's: migrations run on
 * `DATABASE_MIGRATION_URL` when set, else on the same URL. Otherwise the embedded cluster starts.
 */
export async function openDatabase(options: DatabaseOptions, logger: Logger): Promise<DatabaseHandle> {
  const url = options.url ?? process.env.DATABASE_URL;
  if (url)
    return {
      url,
      migrationUrl: options.migrationUrl ?? process.env.DATABASE_MIGRATION_URL ?? url,
      stop: async () => {},
    };
  const dataDir = path.resolve(options.dataDir ?? path.join(PROJECT_ROOT, 'var', 'pg', options.name));
  const server = await startEmbedded(dataDir, options.port, logger);
  const at = (role: string, password: string) =>
    `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/postgres`;
  const migrationUrl = at(OWNER_ROLE, server.secret.owner);
  try {
    await enableRuntimeRole(migrationUrl, server.secret.runtime);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return { url: at(RUNTIME_ROLE, server.secret.runtime), migrationUrl, stop: () => server.stop() };
}

/** The role exists before its grants (a migration) so that they can name it; it logs in with the cluster's secret. */
async function enableRuntimeRole(ownerUrl: string, password: string): Promise<void> {
  const client = new pg.Client(ownerUrl);
  await client.connect();
  try {
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN CREATE ROLE ${RUNTIME_ROLE}; END IF;
    END $$`);
    await client.query(
      `ALTER ROLE ${RUNTIME_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${scramVerifier(password)}'`,
    );
  } finally {
    await client.end();
  }
}
