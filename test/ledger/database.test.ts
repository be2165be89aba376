import { readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { openDatabase, PROJECT_ROOT } from '../../src/ledger/database.js';
import { DAY_MS, Ledger } from '../../src/ledger/ledger.js';
import { migrate } from '../../src/ledger/migrate.js';
import { RefusalLog } from '../../src/ledger/refusals.js';
import { purgeOlderThan } from '../../src/ledger/retention.js';
import { create, FINAL_STATES, fpid, freePort } from '../support/ledger.js';

const dataDir = path.join(PROJECT_ROOT, 'var', 'test-pg', `reuse-${process.pid}`);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const query = async (url: string, sql: string): Promise<unknown[]> => {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};

// Exercises the embedded server itself, so it has nothing to test against an external one.
describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded database', () => {
  it('initialises once and reuses the data directory on the next start, durably', async () => {
    const port = await freePort();
    const first = await openDatabase({ name: 'reuse', dataDir, port }, silentLogger);
    try {
      await query(first.migrationUrl, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
      expect(
        await query(first.url, "SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s"),
      ).toEqual([{ f: 'on', s: 'on' }]);
    } finally {
      await first.stop();
    }
    const second = await openDatabase({ name: 'reuse', dataDir, port }, silentLogger);
    try {
      expect(await query(second.migrationUrl, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    } finally {
      await second.stop();
    }
  });

  it('says why when the server cannot start', async () => {
    const port = await freePort();
    const running = await openDatabase({ name: 'reuse', dataDir, port }, silentLogger);
    try {
      // Same data directory twice, while the process that started it lives: refused, the first left alone.
      await expect(openDatabase({ name: 'reuse', dataDir, port: await freePort() }, silentLogger)).rejects.toThrow(
        new RegExp(`is in use by process ${process.pid}`),
      );
      expect(await query(running.migrationUrl, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await running.stop();
    }
    // A port already taken: the server's own words.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      await expect(openDatabase({ name: 'reuse', dataDir, port }, silentLogger)).rejects.toThrow(
        /exited before accepting connections: .*(address already in use|could not create any TCP\/IP sockets)/i,
      );
    } finally {
      taken.close();
    }
  });
});

describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded ledger roles', () => {
  const rolesDir = path.join(PROJECT_ROOT, 'var', 'test-pg', `roles-${process.pid}`);
  const otherDir = path.join(PROJECT_ROOT, 'var', 'test-pg', `roles-other-${process.pid}`);
  afterAll(async () => {
    await rm(rolesDir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });

  it('keeps a secret of its own, mode 0600, and the runtime role cannot alter the journal nor the schema', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const db = await openDatabase({ name: 'roles', dataDir: rolesDir }, logger);
    try {
      await migrate(db.migrationUrl, logger);
      const secretFile = path.join(rolesDir, 'ledger-secret.json');
      expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
      const secret = JSON.parse(await readFile(secretFile, 'utf8')) as { owner: string; runtime: string };
      expect(secret.owner).not.toBe(secret.runtime);
      expect(secret.owner.length).toBeGreaterThanOrEqual(24);
      expect(new URL(db.url).username).toBe('ledger_runtime');
      expect(decodeURIComponent(new URL(db.url).password)).toBe(secret.runtime);
      // The superuser's fixed password of old opens nothing: 28P01 invalid_password.
      const fixed = new URL(db.migrationUrl);
      fixed.password = 'ledger';
      const old = new pg.Client(fixed.toString());
      expect(
        await old.connect().then(
          () => 'connected',
          (e: { code?: string }) => e.code,
        ),
      ).toBe('28P01');
      await old.end().catch(() => {});

      const runtime = new pg.Client(db.url);
      await runtime.connect();
      const pool = new pg.Pool({ connectionString: db.url });
      try {
        const ledger = new Ledger(pool, systemClock, silentLogger, { finalStates: FINAL_STATES });
        const id = fpid();
        expect(await ledger.commit(create(id, Date.now()))).toEqual({ fpid: id, ok: true });
        const refused = async (sql: string) =>
          await runtime.query(sql).then(
            () => 'done',
            (e: { code?: string }) => e.code,
          );
        // 42501 insufficient_privilege: refused by the grants, not by the trigger (which the runtime could bypass).
        expect(await refused("SET ledger.retention = 'on'; UPDATE payment_journal SET event = 'x'")).toBe('42501');
        expect(await refused("SET ledger.retention = 'on'; DELETE FROM payment_journal")).toBe('42501');
        expect(await refused('TRUNCATE payment_journal')).toBe('42501');
        expect(await refused('DELETE FROM payments')).toBe('42501');
        expect(await refused('DROP TABLE payment_journal')).toBe('42501');
        expect(await refused('ALTER TABLE payments ADD COLUMN x int')).toBe('42501');
        expect(await refused('CREATE TABLE other (n int)')).toBe('42501');
        expect(
          (await runtime.query('SELECT count(*)::int AS n FROM payment_journal WHERE fpid = $1', [id])).rows,
        ).toEqual([{ n: 1 }]);
        // Retention still removes what it may, through the owner's function.
        const purged = await purgeOlderThan(
          pool,
          { now: () => Date.now() + 30 * DAY_MS, after: systemClock.after },
          7 * DAY_MS,
          { finalStates: ['received'] },
        );
        expect(purged).toEqual({ payments: 1, journal: 1, outbox: 0 });
        // The audit of refused participant messages: the runtime records, cannot delete, and retention purges.
        const refusals = new RefusalLog(pool, systemClock);
        await refusals.record({
          participantId: '040004',
          mqMessageId: 'm'.repeat(48),
          correlationId: null,
          kind: 'pacs.002',
          reason: 'test',
        });
        expect(await refused('DELETE FROM refused_participant_messages')).toBe('42501');
        expect(
          await new RefusalLog(pool, { now: () => Date.now() + 30 * DAY_MS, after: systemClock.after }).purgeOlderThan(
            7 * DAY_MS,
          ),
        ).toBe(1);
      } finally {
        await runtime.end();
        await pool.end();
      }
    } finally {
      await db.stop();
    }
    const log = lines.join('');
    expect(log).toContain('embedded postgres started');
    const secret = JSON.parse(await readFile(path.join(rolesDir, 'ledger-secret.json'), 'utf8')) as {
      owner: string;
      runtime: string;
    };
    expect(log).not.toContain(secret.owner);
    expect(log).not.toContain(secret.runtime);
    // Another data directory has a secret of its own.
    const other = await openDatabase({ name: 'roles-other', dataDir: otherDir }, silentLogger);
    await other.stop();
    const otherSecret = JSON.parse(await readFile(path.join(otherDir, 'ledger-secret.json'), 'utf8')) as typeof secret;
    expect(otherSecret.owner).not.toBe(secret.owner);
    expect(otherSecret.runtime).not.toBe(secret.runtime);
  });
});
