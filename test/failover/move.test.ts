/** `npm run failover:move`: an operator's request to move the open site, as the command does it. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { monotonicClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { Lease } from '../../src/failover/lease.js';
import { LeaseKeeper } from '../../src/failover/lease-keeper.js';
import { parseLeaseTiming } from '../../src/failover/lease-timing.js';
import { runMove } from '../../src/failover/move.js';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { startMigratedDatabase, type TestDatabase } from '../support/ledger.js';
import { historyOf, runtimePool } from '../support/lease.js';
import { until } from '../support/tcp.js';

const timing = parseLeaseTiming({ leaseMs: 600, renewDeadlineMs: 400, renewPeriodMs: 100 });
let db: TestDatabase;
let runtime: pg.Pool;
const keepers: LeaseKeeper[] = [];

beforeAll(async () => {
  db = await startMigratedDatabase();
  runtime = runtimePool(db.url, 4);
});
afterAll(async () => {
  for (const k of keepers) await k.stop();
  await runtime?.end();
  await db?.stop();
});
beforeEach(async () => {
  for (const k of keepers.splice(0)) await k.stop();
  await db.pool.query('DELETE FROM site_lease; DELETE FROM lease_changes');
});

function site(name: string): LeaseKeeper {
  const keeper = new LeaseKeeper({
    lease: new Lease(runtime, 'open-site', name, timing),
    timing,
    clock: monotonicClock,
    log: silentLogger,
    listener: { onOpen: () => {}, onClose: () => {} },
  });
  keepers.push(keeper);
  keeper.start();
  return keeper;
}

async function move(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runMove(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.map((l) => JSON.parse(l) as Record<string, unknown>), err: err.join('\n') };
}

describe('failover:move', () => {
  it('refuses bad arguments with exit 2, saying what is wrong, and asks nothing of the database', async () => {
    const url = ['--database-url', db.url];
    expect(await move(url)).toMatchObject({ code: 2, out: [], err: expect.stringMatching(/--by NAME is required/) });
    expect(await move(['--by', 'a b', ...url])).toMatchObject({ code: 2, err: expect.stringMatching(/--by must be/) });
    expect(await move(['--by', 'alice'])).toMatchObject({ code: 2, err: expect.stringMatching(/DATABASE_URL/) });
    expect(await move(['--by', 'alice', '--wait-ms', '1.5', ...url])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--wait-ms must be/),
    });
    expect(await move(['--by', 'alice', '--force', ...url])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/Unknown option '--force'[\s\S]*usage: npm run failover:move/),
    });
    expect(await historyOf(db.pool, 'open-site')).toEqual([]);
  });

  it('says so with exit 1 when no site holds the lease', async () => {
    expect(await move(['--by', 'alice'], { DATABASE_URL: db.url })).toEqual({
      code: 1,
      out: [{ role: 'open-site', requested: false, reason: 'no site holds the lease' }],
      err: '',
    });
  });

  it('asks the holder to step down and, waiting, prints the site that took over', async () => {
    const a = site('site-a');
    await until(() => a.isOpen, 5_000, 'site-a open');
    const b = site('site-b');
    const r = await move(['--by', 'alice', '--database-url', db.url, '--wait-ms', '5000']);
    expect(r).toMatchObject({
      code: 0,
      out: [
        {
          role: 'open-site',
          requested: true,
          by: 'alice',
          from: { holder: 'site-a', epoch: 1 },
          to: { holder: 'site-b', epoch: 2 },
        },
      ],
    });
    expect(Date.parse(String(r.out[0]!.at))).not.toBeNaN();
    expect(b.isOpen).toBe(true);
    expect((await historyOf(db.pool, 'open-site')).map((h) => h.reason)).toEqual(['start', 'manual', 'manual']);
  });

  it('runs as the command, printing one JSON line', async () => {
    const a = site('site-a');
    await until(() => a.isOpen, 5_000, 'site-a open');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/failover/move-cli.ts', '--by', 'ops@bank'],
      { cwd: PROJECT_ROOT, env: { ...process.env, DATABASE_URL: db.url } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ requested: true, by: 'ops@bank', from: { holder: 'site-a', epoch: 1 } });
    // Alone, site-a takes its lease back after the hold-off.
    await until(() => a.fence().epoch === 2, 5_000, 'site-a open again');
  });
});
