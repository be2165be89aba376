import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { Lease } from '../../src/failover/lease.js';
import { parseLeaseTiming } from '../../src/failover/lease-timing.js';
import { Ledger } from '../../src/ledger/ledger.js';
import {
  create,
  FINAL_STATES,
  fpid,
  manualClock,
  move,
  startMigratedDatabase,
  type TestDatabase,
} from '../support/ledger.js';
import { historyOf, runtimePool, sleep } from '../support/lease.js';

// Short enough to wait out in a test; still valid timing.
const timing = parseLeaseTiming({ leaseMs: 300, renewDeadlineMs: 200, renewPeriodMs: 50 });
const ROLE = 'open-site';

let db: TestDatabase;
let runtime: pg.Pool;
const lease = (site: string) => new Lease(runtime, ROLE, site, timing);

beforeAll(async () => {
  db = await startMigratedDatabase();
  // The statements run as the gateway's runtime role, so the grants are tested with them.
  runtime = runtimePool(db.url, 10);
});
afterAll(async () => {
  await runtime?.end();
  await db?.stop();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM site_lease; DELETE FROM lease_changes');
});

const history = () => historyOf(db.pool, ROLE);

describe('the open-site lease', () => {
  it('opens epoch 1 on an empty table, recorded with reason start', async () => {
    const tenure = await lease('site-a').tryAcquire();
    expect(tenure).toMatchObject({ epoch: 1, reason: 'start' });
    const state = await lease('site-a').current();
    expect(state).toMatchObject({ holder: 'site-a', epoch: 1, live: true, releasedAtMs: undefined });
    // Every time is the database's: expiry is leaseMs after the acquire by its clock.
    expect(state!.expiresAtMs - state!.acquiredAtMs).toBe(timing.leaseMs);
    expect(await history()).toEqual([
      { old_holder: null, new_holder: 'site-a', old_epoch: null, new_epoch: 1, reason: 'start' },
    ]);
  });

  it('refuses a second contender while the lease lives, and lets the holder resume under a new epoch', async () => {
    await lease('site-a').tryAcquire();
    expect(await lease('site-b').tryAcquire()).toBeUndefined();
    expect(await lease('site-a').tryAcquire()).toMatchObject({ epoch: 2, reason: 'resume' });
    expect(await lease('site-b').tryAcquire()).toBeUndefined();
    expect((await history()).map((h) => h.reason)).toEqual(['start', 'resume']);
  });

  it('passes to a contender after expiry with the epoch bumped, recorded as expiry', async () => {
    await lease('site-a').tryAcquire();
    await sleep(timing.leaseMs + 50);
    expect((await lease('site-b').current())?.live).toBe(false);
    expect(await lease('site-b').tryAcquire()).toMatchObject({ epoch: 2, reason: 'expiry' });
    expect(await lease('site-a').renew(1)).toBeUndefined();
    expect((await history())[1]).toEqual({
      old_holder: 'site-a',
      new_holder: 'site-b',
      old_epoch: 1,
      new_epoch: 2,
      reason: 'expiry',
    });
  });

  it('renews only for the holder of the current epoch while the lease lives', async () => {
    const { epoch } = (await lease('site-a').tryAcquire())!;
    const before = (await lease('site-a').current())!;
    expect(await lease('site-b').renew(epoch)).toBeUndefined();
    expect(await lease('site-a').renew(epoch + 1)).toBeUndefined();
    expect(await lease('site-a').renew(epoch)).toEqual({ move: undefined });
    const after = (await lease('site-a').current())!;
    expect(after.expiresAtMs).toBeGreaterThan(before.expiresAtMs);
    expect(after.epoch).toBe(epoch);
    await sleep(timing.leaseMs + 50);
    // An expired lease is acquired anew, never renewed: the holder may have closed meanwhile.
    expect(await lease('site-a').renew(epoch)).toBeUndefined();
    expect(await history()).toHaveLength(1);
  });

  it('records a manual move: the holder releases saying why, the other acquires at once', async () => {
    const { epoch } = (await lease('site-a').tryAcquire())!;
    expect(await lease('site-b').release(epoch, 'manual')).toBe(false);
    expect(await lease('site-a').release(epoch, 'manual')).toBe(true);
    expect(await lease('site-a').release(epoch, 'manual')).toBe(false);
    expect(await lease('site-a').renew(epoch)).toBeUndefined();
    expect((await lease('site-b').current())?.live).toBe(false);
    expect(await lease('site-b').tryAcquire()).toMatchObject({ epoch: 2, reason: 'manual' });
    expect(await history()).toEqual([
      { old_holder: null, new_holder: 'site-a', old_epoch: null, new_epoch: 1, reason: 'start' },
      { old_holder: 'site-a', new_holder: null, old_epoch: 1, new_epoch: 1, reason: 'manual' },
      { old_holder: 'site-a', new_holder: 'site-b', old_epoch: 1, new_epoch: 2, reason: 'manual' },
    ]);
  });

  it('marks a move on the live lease only, returns it to the holder at its renew, names the operator on the manual release and clears it on a new holder', async () => {
    expect(await lease('ops').requestMove('alice')).toBeUndefined();
    const { epoch } = (await lease('site-a').tryAcquire())!;
    const asked = await lease('ops').requestMove('alice');
    expect(asked).toMatchObject({ role: ROLE, holder: 'site-a', epoch, by: 'alice' });
    expect((await lease('site-a').current())?.moveRequested).toEqual({ by: 'alice', atMs: asked!.atMs });
    expect(await lease('site-a').renew(epoch)).toEqual({ move: { by: 'alice', atMs: asked!.atMs } });
    // The holder taking its own lease again (a restart) still owes the move.
    const resumed = (await lease('site-a').tryAcquire())!;
    expect((await lease('site-a').renew(resumed.epoch))?.move?.by).toBe('alice');
    expect(await lease('site-a').release(resumed.epoch, 'manual')).toBe(true);
    expect((await lease('site-a').current())?.moveRequested).toBeUndefined();
    // Released: nothing live to move.
    expect(await lease('ops').requestMove('bob')).toBeUndefined();
    const b = (await lease('site-b').tryAcquire())!;
    expect(b).toMatchObject({ epoch: resumed.epoch + 1, reason: 'manual' });
    expect(await lease('site-b').renew(b.epoch)).toEqual({ move: undefined });
    const { rows } = await db.pool.query<{ reason: string; requested_by: string | null }>(
      'SELECT reason, requested_by FROM lease_changes WHERE role = $1 ORDER BY id',
      [ROLE],
    );
    expect(rows).toEqual([
      { reason: 'start', requested_by: null },
      { reason: 'resume', requested_by: null },
      { reason: 'manual', requested_by: 'alice' },
      { reason: 'manual', requested_by: null },
    ]);
    await sleep(timing.leaseMs + 50);
    expect(await lease('ops').requestMove('carol')).toBeUndefined();
  });

  it('gives exactly one of many parallel contenders the lease, empty or expired', async () => {
    const sites = Array.from({ length: 8 }, (_, i) => lease(`site-${i}`));
    for (let round = 1; round <= 3; round += 1) {
      const won = (await Promise.all(sites.map((s) => s.tryAcquire()))).filter((t) => t !== undefined);
      expect(won).toEqual([expect.objectContaining({ epoch: round, reason: round === 1 ? 'start' : 'expiry' })]);
      await sleep(timing.leaseMs + 50);
    }
    expect((await history()).map((h) => h.new_epoch)).toEqual([1, 2, 3]);
  });

  it('fences a ledger commit carrying the epoch of the holder a takeover deposed', async () => {
    const ledger = new Ledger(runtime, manualClock(), silentLogger, { finalStates: FINAL_STATES });
    try {
      const id = fpid();
      const a = (await lease('site-a').tryAcquire())!;
      expect(await ledger.commit(create(id, 0, { site: 'site-a', epoch: a.epoch }))).toEqual({ fpid: id, ok: true });
      await sleep(timing.leaseMs + 50);
      const b = (await lease('site-b').tryAcquire())!;
      const stale = move(id, 'received', 'offered', 1, { site: 'site-a', epoch: a.epoch });
      expect(await ledger.commit(stale)).toEqual({ fpid: id, ok: false, reason: 'fenced', currentState: 'received' });
      expect(await ledger.commit(move(id, 'received', 'offered', 2, { site: 'site-b', epoch: b.epoch }))).toEqual({
        fpid: id,
        ok: true,
      });
    } finally {
      await ledger.drain();
    }
  });

  it('keeps the history from the runtime role: it may add, never change nor remove', async () => {
    await lease('site-a').tryAcquire();
    const refused = (sql: string) =>
      runtime.query(sql).then(
        () => 'done',
        (e: { code?: string }) => e.code,
      );
    expect(await refused("UPDATE lease_changes SET reason = 'manual'")).toBe('42501');
    expect(await refused('DELETE FROM lease_changes')).toBe('42501');
    expect(await history()).toHaveLength(1);
  });
});
