import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { monotonicClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { Lease } from '../../src/failover/lease.js';
import { LeaseKeeper, type CloseReason } from '../../src/failover/lease-keeper.js';
import { parseLeaseTiming, type LeaseTiming } from '../../src/failover/lease-timing.js';
import { startMigratedDatabase, type TestDatabase } from '../support/ledger.js';
import { historyOf, runtimePool, sleep } from '../support/lease.js';
import { until } from '../support/tcp.js';
import { inFrontOf, type CuttableProxy } from '../support/transport-proxy.js';

const ROLE = 'open-site';
const DEFAULTS = parseLeaseTiming({});
const SHORT = parseLeaseTiming({ leaseMs: 600, renewDeadlineMs: 400, renewPeriodMs: 100 });

let db: TestDatabase;
let observer: Lease;
const running: Array<{ keeper: LeaseKeeper; pool: pg.Pool; proxy?: CuttableProxy }> = [];

beforeAll(async () => {
  db = await startMigratedDatabase();
  observer = new Lease(db.pool, ROLE, 'observer', DEFAULTS);
});
afterAll(async () => {
  await db?.stop();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM site_lease; DELETE FROM lease_changes');
});
afterEach(() => stopSites());

async function stopSites(): Promise<void> {
  for (const s of running.splice(0)) {
    await s.keeper.stop();
    await s.pool.end();
    await s.proxy?.close();
  }
}

/** A site whose lease keeper runs on a pool of its own, through a proxy that a test can close. */
async function startSite(site: string, timing: LeaseTiming, options: { proxied?: boolean } = {}) {
  const proxy = options.proxied ? await inFrontOf(db.url) : undefined;
  const pool = runtimePool(proxy?.url ?? db.url, 2);
  const events: Array<{ at: number; event: number | CloseReason }> = [];
  const record = (event: number | CloseReason) => events.push({ at: performance.now(), event });
  const keeper = new LeaseKeeper({
    lease: new Lease(pool, ROLE, site, timing),
    timing,
    clock: monotonicClock,
    log: silentLogger,
    listener: { onOpen: record, onClose: record },
  });
  running.push({ keeper, pool, proxy });
  keeper.start();
  const seen = () => events.map((e) => e.event);
  return { keeper, proxy, events, seen };
}

const history = () => historyOf(db.pool, ROLE);

/** Holds every lease statement off for `ms` inside one transaction; `during` runs while it holds. */
async function stallLease(ms: number, during: (expiresAtMs: number) => void = () => {}): Promise<void> {
  const client = new pg.Client(new URL(db.url).toString());
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE site_lease IN ACCESS EXCLUSIVE MODE');
    const { rows } = await client.query<{ expires_at: Date }>('SELECT expires_at FROM site_lease WHERE name = $1', [
      ROLE,
    ]);
    during(rows[0]!.expires_at.getTime());
    await client.query('SELECT pg_sleep($1)', [ms / 1000]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

describe('open-site failover between two sites', () => {
  it('opens a lone site with no holder, which then renews by the database clock', async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    await sleep(4 * SHORT.renewPeriodMs);
    const state = (await observer.current())!;
    expect(state).toMatchObject({ holder: 'site-a', epoch: 1, live: true });
    expect(state.renewedAtMs).toBeGreaterThan(state.acquiredAtMs);
    expect(a.seen()).toEqual([1]);
    expect(a.keeper.fence()).toEqual({ site: 'site-a', epoch: 1 });
    expect(await history()).toEqual([
      { old_holder: null, new_holder: 'site-a', old_epoch: null, new_epoch: 1, reason: 'start' },
    ]);
  });

  it('keeps a closed site that restarts closed while the open site renews', async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    const b = await startSite('site-b', SHORT);
    await sleep(3 * SHORT.leaseMs);
    await b.keeper.stop();
    b.keeper.start();
    await sleep(2 * SHORT.leaseMs);
    expect(b.seen()).toEqual([]);
    expect(b.keeper.fence().epoch).toBe(0);
    expect(a.seen()).toEqual([1]);
    expect(await history()).toHaveLength(1);
  });

  it('moves the open site by hand: the holder closes and releases, the other opens within a renew period', async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    const b = await startSite('site-b', SHORT);
    const movedAt = performance.now();
    await a.keeper.stop('manual');
    await until(() => b.keeper.isOpen, 5_000, 'site-b open');
    expect(b.events[0]!.at - movedAt).toBeLessThan(SHORT.renewPeriodMs + 200);
    expect(a.seen()).toEqual([1, 'stopped']);
    expect(b.seen()).toEqual([2]);
    expect(await history()).toEqual([
      { old_holder: null, new_holder: 'site-a', old_epoch: null, new_epoch: 1, reason: 'start' },
      { old_holder: 'site-a', new_holder: null, old_epoch: 1, new_epoch: 1, reason: 'manual' },
      { old_holder: 'site-a', new_holder: 'site-b', old_epoch: 1, new_epoch: 2, reason: 'manual' },
    ]);
  });

  it("moves the open site at an operator's request seen on the holder's renew: it closes, releases saying manual and holds off, the other opens", async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    const b = await startSite('site-b', SHORT);
    await sleep(2 * SHORT.renewPeriodMs);
    const askedAt = performance.now();
    expect(await observer.requestMove('alice')).toMatchObject({ holder: 'site-a', epoch: 1, by: 'alice' });
    await until(() => b.keeper.isOpen, 5_000, 'site-b open');
    // Seen within a renew period, handed over within the next of the other site's attempts.
    expect(b.events[0]!.at - askedAt).toBeLessThan(2 * SHORT.renewPeriodMs + 200);
    expect(a.events[1]!.at).toBeLessThan(b.events[0]!.at);
    expect(a.seen()).toEqual([1, 'moved']);
    expect(b.seen()).toEqual([2]);
    // The site moved away holds off, then stays closed while the other renews.
    await sleep(2 * SHORT.leaseMs);
    expect(a.seen()).toEqual([1, 'moved']);
    expect(await history()).toEqual([
      { old_holder: null, new_holder: 'site-a', old_epoch: null, new_epoch: 1, reason: 'start' },
      { old_holder: 'site-a', new_holder: null, old_epoch: 1, new_epoch: 1, reason: 'manual' },
      { old_holder: 'site-a', new_holder: 'site-b', old_epoch: 1, new_epoch: 2, reason: 'manual' },
    ]);
  });

  it('gives a lone site moved by an operator its lease back after the hold-off of a lease period', async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    await observer.requestMove('alice');
    await until(() => a.seen().length === 3, 5_000, 'site-a open again');
    expect(a.events[2]!.at - a.events[1]!.at).toBeGreaterThanOrEqual(SHORT.leaseMs);
    // The request was for the tenure that ended: the new one keeps the lease.
    await sleep(3 * SHORT.renewPeriodMs);
    expect(a.seen()).toEqual([1, 'moved', 2]);
    expect((await history()).map((h) => [h.new_holder, h.reason])).toEqual([
      ['site-a', 'start'],
      [null, 'manual'],
      ['site-a', 'manual'],
    ]);
  });

  it('opens the other site within 3 s of losing the open one, which closed before its lease expired (default timing, 5 runs)', async () => {
    const failoverMs: number[] = [];
    for (let run = 1; run <= 5; run += 1) {
      await db.pool.query('DELETE FROM site_lease; DELETE FROM lease_changes');
      const a = await startSite(`a-${run}`, DEFAULTS, { proxied: true });
      await until(() => a.keeper.isOpen, 5_000, 'site-a open');
      const b = await startSite(`b-${run}`, DEFAULTS);
      await sleep(500);
      let atClose: Promise<{ live: boolean; dbNowMs: number; expiresAtMs: number } | undefined> | undefined;
      const lostAt = performance.now();
      // As after kill -9: the site's connections are gone and no new one gets through.
      const closing = until(() => !a.keeper.isOpen, 5_000, 'site-a closed').then(() => (atClose = observer.current()));
      await a.proxy!.close();
      await closing;
      await until(() => b.keeper.isOpen, 6_000, 'site-b open');
      failoverMs.push(b.events[0]!.at - lostAt);
      expect(a.seen()).toEqual([1, 'renew-failed']);
      expect(a.events[1]!.at - lostAt).toBeLessThan(DEFAULTS.renewPeriodMs + 100);
      const state = await atClose!;
      expect(state?.live).toBe(true);
      expect(b.seen()).toEqual([2]);
      expect((await history()).at(-1)).toEqual({
        old_holder: `a-${run}`,
        new_holder: `b-${run}`,
        old_epoch: 1,
        new_epoch: 2,
        reason: 'expiry',
      });
      await stopSites();
    }
    expect(Math.max(...failoverMs), `failover ms: ${failoverMs.map(Math.round).join(', ')}`).toBeLessThan(3_000);
    expect(Math.min(...failoverMs)).toBeGreaterThan(DEFAULTS.renewDeadlineMs);
  }, 60_000);

  it('does not flap under the default timing when the database stalls for a second, three times', async () => {
    const a = await startSite('site-a', DEFAULTS);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    const b = await startSite('site-b', DEFAULTS);
    for (let i = 0; i < 3; i += 1) {
      await stallLease(1_000);
      await sleep(300);
    }
    const before = (await observer.current())!;
    await sleep(2 * DEFAULTS.renewPeriodMs);
    expect(a.seen()).toEqual([1]);
    expect(b.seen()).toEqual([]);
    expect((await observer.current())!.renewedAtMs).toBeGreaterThan(before.renewedAtMs);
    expect(await history()).toHaveLength(1);
  }, 30_000);

  it('closes a site whose renews hang at its renew deadline, before the database lets its lease expire', async () => {
    const a = await startSite('site-a', SHORT);
    await until(() => a.keeper.isOpen, 5_000, 'site-a open');
    let expiresAtMs = 0;
    let dbNowAtClose: Promise<number> | undefined;
    const watch = until(() => !a.keeper.isOpen, 5_000, 'site-a closed').then(() => {
      dbNowAtClose = db.pool.query<{ now: Date }>('SELECT now()').then((r) => r.rows[0]!.now.getTime());
    });
    await stallLease(1_000, (expiry) => (expiresAtMs = expiry));
    await watch;
    expect(a.seen().slice(0, 2)).toEqual([1, 'renew-deadline']);
    expect(await dbNowAtClose!).toBeLessThan(expiresAtMs);
    // Once the database answers again the site takes its lease back, under a new epoch (or more
    // than one: an acquire cut off by its timeout may still have committed once the lock went).
    await until(() => a.keeper.isOpen, 5_000, 'site-a open again');
    expect(a.keeper.fence().epoch).toBeGreaterThan(1);
  });
});
