/**
 * The bound on unsent outbox rows (`dropUnsent`, `outbox_drop_unsent`), on a real PostgreSQL:
 * beyond the newest `keep` or older than the age, unsent rows of the bounded topics go oldest
 * first; published rows, other topics and rows a relay holds locked stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverOutbox } from '../../src/ledger/outbox.js';
import { dropUnsent } from '../../src/ledger/outbox-drop.js';
import { manualClock, startMigratedDatabase, type TestDatabase } from '../support/ledger.js';

let db: TestDatabase;
const clock = manualClock();
const HOUR_MS = 3_600_000;

beforeAll(async () => {
  db = await startMigratedDatabase();
});
afterAll(async () => {
  await db?.stop();
});

/** Writes a row as a step would, `ageMs` before the clock's now; its id. */
async function row(topic: string, n: number, ageMs = 0, published = false): Promise<number> {
  const at = new Date(clock.now() - ageMs);
  const { rows } = await db.pool.query<{ id: string }>(
    'INSERT INTO outbox (topic, key, payload, created_at, published_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [topic, `fpid-${n}`, { n }, at, published ? at : null],
  );
  return Number(rows[0]!.id);
}

const left = async (topic: string) =>
  (
    await db.pool.query<{ n: number; sent: boolean }>(
      "SELECT (payload->>'n')::int AS n, published_at IS NOT NULL AS sent FROM outbox WHERE topic = $1 ORDER BY id",
      [topic],
    )
  ).rows;

describe('dropUnsent', () => {
  it('keeps the newest unsent rows up to the bound, across the bounded topics, and leaves the rest of the outbox', async () => {
    const [a, b, notices] = ['k.a', 'k.b', 'k.notices'];
    for (let n = 0; n < 6; n++) await row(n % 2 === 0 ? a : b, n);
    await row(a, 100, 0, true);
    for (let n = 0; n < 3; n++) await row(notices, n);

    const dropped = await dropUnsent(db.pool, clock, { topics: [a, b], keep: 3, maxAgeMs: HOUR_MS });

    // Six unsent rows over both topics, three kept: the newest (3, 4, 5); 0 and 2 of a, 1 of b went.
    expect(Object.fromEntries(dropped)).toEqual({ [a]: 2, [b]: 1 });
    expect(await left(a)).toEqual([
      { n: 4, sent: false },
      { n: 100, sent: true },
    ]);
    expect((await left(b)).map((r) => r.n)).toEqual([3, 5]);
    expect((await left(notices)).map((r) => r.n)).toEqual([0, 1, 2]);
    // At the bound nothing more goes.
    expect((await dropUnsent(db.pool, clock, { topics: [a, b], keep: 3, maxAgeMs: HOUR_MS })).size).toBe(0);
  });

  it('drops unsent rows older than the age however few, and never a published one', async () => {
    const t = 'age';
    await row(t, 0, 3 * HOUR_MS);
    await row(t, 1, 3 * HOUR_MS, true);
    await row(t, 2, HOUR_MS / 2);
    const dropped = await dropUnsent(db.pool, clock, { topics: [t], keep: 1_000, maxAgeMs: 2 * HOUR_MS });
    expect(Object.fromEntries(dropped)).toEqual({ [t]: 1 });
    expect(await left(t)).toEqual([
      { n: 1, sent: true },
      { n: 2, sent: false },
    ]);
  });

  it('leaves the rows a relay holds in a batch being sent, which it then publishes', async () => {
    const t = 'held';
    for (let n = 0; n < 4; n++) await row(t, n);
    // The relay claims the two oldest and, while it waits for its broker, the bound runs.
    let during: Map<string, number> | undefined;
    const delivered = await deliverOutbox(db.pool, { topics: [t], limit: 2 }, async (rows) => {
      during = await dropUnsent(db.pool, clock, { topics: [t], keep: 1, maxAgeMs: HOUR_MS });
      return rows.map((r) => r.id);
    });
    expect(delivered).toBe(2);
    // Of the three beyond the bound only the one not held went; the held two were sent.
    expect(Object.fromEntries(during!)).toEqual({ [t]: 1 });
    expect(await left(t)).toEqual([
      { n: 0, sent: true },
      { n: 1, sent: true },
      { n: 3, sent: false },
    ]);
  });
});
