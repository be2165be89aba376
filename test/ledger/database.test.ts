import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { openDatabase, PROJECT_ROOT } from '../../src/ledger/database.js';
import { freePort } from './support.js';

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
      await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
      expect(await query(first.url, "SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s")).toEqual([{ f: 'on', s: 'on' }]);
    } finally {
      await first.stop();
    }
    const second = await openDatabase({ name: 'reuse', dataDir, port }, silentLogger);
    try {
      expect(await query(second.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    } finally {
      await second.stop();
    }
  });

  it('says why when the server cannot start', async () => {
    const port = await freePort();
    const running = await openDatabase({ name: 'reuse', dataDir, port }, silentLogger);
    try {
      // Same data directory twice: the second postmaster refuses the lock file.
      await expect(openDatabase({ name: 'reuse', dataDir, port: await freePort() }, silentLogger)).rejects.toThrow(/exited before accepting connections: .*postmaster\.pid/);
    } finally {
      await running.stop();
    }
  });
});
