import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Clock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { openDatabase, PROJECT_ROOT } from '../../src/ledger/database.js';
import { freePort } from '../../src/ledger/embedded.js';
import { migrate } from '../../src/ledger/migrate.js';

export { freePort };
import { createPool } from '../../src/ledger/pool.js';
import type { NewPayment, Transition } from '../../src/ledger/transition.js';

export const FINAL_STATES = ['accepted', 'rejected'] as const;

export interface TestDatabase {
  /** A fresh, empty database of its own. */
  url: string;
  /** The same database as the gateway's runtime pool connects to it: the role that cannot delete (the URL itself on DATABASE_URL). */
  runtimeUrl: string;
  pool: pg.Pool;
  stop(): Promise<void>;
  /**
   * Stops the server as an operator's restart does (fast shutdown: every session ended with 57P01),
   * keeps it down `downMs`, then starts it on the same data and port. Absent on DATABASE_URL, a
   * server this process does not own.
   */
  restart?: (downMs: number) => Promise<void>;
  /** The embedded cluster's data directory (its `postmaster.pid` names the server); absent on DATABASE_URL. */
  dataDir?: string;
}

/**
 * One server per test file: DATABASE_URL if set, else an embedded cluster on a free port in a
 * throwaway directory under var/. Either way the file gets a freshly created database.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  const id = randomBytes(4).toString('hex');
  const dataDir = path.join(PROJECT_ROOT, 'var', 'test-pg', id);
  const options = { name: `test-${id}`, dataDir, port: await freePort() };
  let server = await openDatabase(options, silentLogger);
  let admin = new pg.Client(server.migrationUrl);
  await admin.connect();
  const database = `ledger_test_${id}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(server.migrationUrl);
  url.pathname = `/${database}`;
  const pool = createPool({ url: url.toString(), max: 8 }, silentLogger);
  const runtimeUrl = new URL(server.url);
  runtimeUrl.pathname = `/${database}`;
  return {
    url: url.toString(),
    runtimeUrl: runtimeUrl.toString(),
    pool,
    async stop() {
      await pool.end();
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
      await server.stop();
      if (!process.env.DATABASE_URL) await rm(dataDir, { recursive: true, force: true });
    },
    ...(process.env.DATABASE_URL
      ? {}
      : {
          dataDir,
          async restart(downMs: number) {
            await admin.end();
            await server.stop();
            await new Promise((r) => setTimeout(r, downMs));
            server = await openDatabase(options, silentLogger);
            admin = new pg.Client(server.migrationUrl);
            await admin.connect();
          },
        }),
  };
}

export async function startMigratedDatabase(): Promise<TestDatabase> {
  const db = await startTestDatabase();
  try {
    await migrate(db.url, silentLogger);
  } catch (err) {
    await db.stop();
    throw err;
  }
  return db;
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2025, 10, 22, 9, 0, 0)): Clock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    after: () => ({ cancel: () => {} }),
    set: (ms) => {
      now = ms;
    },
  };
}

let serial = 0;

/** A distinct 42-character FPID: TRN (18) + type (2) + date (8) + currency (3) + institution (11). */
export function fpid(n = (serial += 1)): string {
  return `TRN${String(n).padStart(15, '0')}01` + '20251122GBP' + '400000'.padEnd(11, ' ');
}

export function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    direction: 'inbound',
    type: '01',
    amountPence: 12_345,
    trn: 'TRN000000000000001',
    dateSent: '20251122',
    institution: '400000',
    originatorSortCode: '400000',
    originatorAccount: '12345678',
    originatorName: 'A Payer',
    beneficiarySortCode: '200000',
    beneficiaryAccount: '87654321',
    beneficiaryName: 'A Payee',
    settlementDate: '20251122',
    settlementCycle: '01',
    ...overrides,
  };
}

export const SITE = { site: 'site-a', epoch: 1 } as const;

export function create(id: string, at: number, overrides: Partial<Transition> = {}): Transition {
  return { fpid: id, from: null, to: 'received', event: 'received', at, ...SITE, payment: newPayment(), ...overrides };
}

export function move(
  id: string,
  from: string,
  to: string,
  at: number,
  overrides: Partial<Transition> = {},
): Transition {
  return { fpid: id, from, to, event: to, at, ...SITE, ...overrides };
}
