/**
 * Outbox delivery (`deliverOutbox`): rows are claimed in id order and marked published only when
 * delivered; with an exclusive lock one claimer at a time takes them, so a second claimer cannot
 * deliver a key's later row while the first still holds its earlier one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { deliverOutbox, outboxLag, type OutboxRow } from '../../src/ledger/outbox.js';
import { createPool } from '../../src/ledger/pool.js';
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
const LOCK = 4242;

beforeAll(async () => {
  db = await startMigratedDatabase();
});
afterAll(async () => {
  await db?.stop();
});

/** One payment with `steps` events on `topic`, in step order. */
async function payment(topic: string, steps: number): Promise<string> {
  const ledger = new Ledger(db.pool, clock, silentLogger, { finalStates: FINAL_STATES });
  const id = fpid();
  const event = (n: number) => [{ topic, key: id, payload: { n } }];
  await ledger.commit(create(id, clock.now(), { outbox: event(0) }));
  let state = 'received';
  for (let n = 1; n < steps; n++) {
    await ledger.commit(move(id, state, `s${n}`, clock.now(), { outbox: event(n) }));
    state = `s${n}`;
  }
  return id;
}

const ids = (rows: readonly OutboxRow[]) => rows.map((r) => r.id);

describe('deliverOutbox', () => {
  it('claims in id order and marks published only what was delivered', async () => {
    const topic = 't.order';
    await payment(topic, 3);
    const seen: number[] = [];
    // The first two delivered, the third not: it is claimed again next time.
    await deliverOutbox(db.pool, { topics: [topic], limit: 10 }, async (rows) => {
      seen.push(...rows.map((r) => (r.payload as { n: number }).n));
      return ids(rows).slice(0, 2);
    });
    expect(seen).toEqual([0, 1, 2]);
    expect((await outboxLag(db.pool, [topic])).rows).toBe(1);
    await expect(
      deliverOutbox(db.pool, { topics: [topic], limit: 10 }, () => Promise.reject(new Error('broker away'))),
    ).rejects.toThrow('broker away');
    expect((await outboxLag(db.pool, [topic])).rows).toBe(1);
    expect(await deliverOutbox(db.pool, { topics: [topic], limit: 10 }, async (rows) => ids(rows))).toBe(1);
    expect(await outboxLag(db.pool, [topic])).toEqual({ rows: 0, oldestMs: 0 });
  });

  it('fails the batch, leaving its rows unpublished, when the server ends the claiming connection while the broker is awaited', async () => {
    const topic = 't.cut';
    await payment(topic, 2);
    const url = new URL(db.url);
    url.searchParams.set('application_name', 'outbox-cut');
    const pool = createPool({ url: url.toString(), max: 2 }, silentLogger);
    try {
      const delivery = deliverOutbox(pool, { topics: [topic], limit: 10 }, async (rows) => {
        // The connection holding the claim ends (a restart, a cut) while no query is active on it.
        await db.pool.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outbox-cut'",
        );
        await new Promise((r) => setTimeout(r, 200));
        return ids(rows);
      });
      await expect(delivery).rejects.toThrow(/connection/);
      expect((await outboxLag(db.pool, [topic])).rows).toBe(2);
      // The pool goes on with a new connection.
      expect(await deliverOutbox(pool, { topics: [topic], limit: 10 }, async (rows) => ids(rows))).toBe(2);
    } finally {
      await pool.end();
    }
  });

  it('with an exclusive lock, a second claimer takes nothing while the first holds a batch', async () => {
    const topic = 't.exclusive';
    await payment(topic, 4);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let firstHas: number[] = [];
    let claimed: () => void = () => {};
    const firstClaimed = new Promise<void>((r) => (claimed = r));
    // The first claims two rows and holds them, as a relay waiting for the broker does.
    const first = deliverOutbox(db.pool, { topics: [topic], limit: 2, exclusiveLock: LOCK }, async (rows) => {
      firstHas = rows.map((r) => (r.payload as { n: number }).n);
      claimed();
      await held;
      return ids(rows);
    });
    await firstClaimed;
    expect(firstHas).toEqual([0, 1]);
    // Row locks alone would hand the second claimer the payment's later events first.
    let unlocked: number[] = [];
    await deliverOutbox(db.pool, { topics: [topic], limit: 10 }, async (rows) => {
      unlocked = rows.map((r) => (r.payload as { n: number }).n);
      return [];
    });
    expect(unlocked).toEqual([2, 3]);
    // Under the lock the second claims nothing.
    let second = 0;
    expect(
      await deliverOutbox(db.pool, { topics: [topic], limit: 10, exclusiveLock: LOCK }, async (rows) => {
        second += rows.length;
        return ids(rows);
      }),
    ).toBe(0);
    expect(second).toBe(0);
    release();
    expect(await first).toBe(2);
    // Once the first is done, the rest in order.
    let rest: number[] = [];
    await deliverOutbox(db.pool, { topics: [topic], limit: 10, exclusiveLock: LOCK }, async (rows) => {
      rest = rows.map((r) => (r.payload as { n: number }).n);
      return ids(rows);
    });
    expect(rest).toEqual([2, 3]);
  });
});
