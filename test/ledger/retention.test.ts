import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { DAY_MS, Ledger } from '../../src/ledger/ledger.js';
import { purgeOlderThan } from '../../src/ledger/retention.js';
import {
  create,
  FINAL_STATES,
  fpid,
  manualClock,
  move,
  startMigratedDatabase,
  type TestDatabase,
} from '../support/ledger.js';

let db: TestDatabase;
const clock = manualClock();

beforeAll(async () => {
  db = await startMigratedDatabase();
});
afterAll(async () => {
  await db?.stop();
});

describe('purgeOlderThan', () => {
  it('removes finished payments older than the window with their journal, and published outbox rows', async () => {
    const ledger = new Ledger(db.pool, clock, silentLogger, { finalStates: FINAL_STATES });
    const start = clock.now();
    const [oldDone, oldOpen, recentDone] = [fpid(), fpid(), fpid()];
    const event = (key: string) => [{ topic: 'payments', key, payload: {} }];
    await ledger.commit(create(oldDone, start, { outbox: event(oldDone) }));
    await ledger.commit(move(oldDone, 'received', 'accepted', start + 1));
    await ledger.commit(create(oldOpen, start, { outbox: event(oldOpen) }));
    await ledger.commit(create(recentDone, start + 6 * DAY_MS));
    await ledger.commit(move(recentDone, 'received', 'rejected', start + 6 * DAY_MS));
    await db.pool.query('UPDATE outbox SET published_at = $1 WHERE key = $2', [new Date(start + 1000), oldDone]);

    clock.set(start + 8 * DAY_MS);
    const purged = await purgeOlderThan(db.pool, clock, 7 * DAY_MS, { finalStates: FINAL_STATES });

    expect(purged).toEqual({ payments: 1, journal: 2, outbox: 1 });
    expect(await ledger.get(oldDone)).toBeUndefined();
    expect(await ledger.journal(oldDone)).toEqual([]);
    expect((await ledger.get(oldOpen))?.state).toBe('received');
    expect(await ledger.journal(recentDone)).toHaveLength(2);
    // An unpublished event stays for the relay however old it is.
    expect((await db.pool.query('SELECT key FROM outbox')).rows).toEqual([{ key: oldOpen }]);
    // Once purged, the FPID is outside the duplicate window and may be recorded again.
    expect(await ledger.commit(create(oldDone, clock.now()))).toEqual({ fpid: oldDone, ok: true });
  });
});
