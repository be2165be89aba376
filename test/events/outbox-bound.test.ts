/**
 * The outbox bound (`UnsentEventsBound`, `events.outbox`) on a real PostgreSQL, through the
 * runtime role a gateway connects as: with no relay the oldest payment events beyond the bound go
 * every minute, counted in `gateway_outbox_events_dropped_total` and warned of; the participant
 * notices the outbox holds stay, whatever their number.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/base/log.js';
import { eventsConfigSchema } from '../../src/events/config.js';
import { UnsentEventsBound } from '../../src/events/outbox-bound.js';
import { createPool } from '../../src/ledger/pool.js';
import { GatewayMetrics } from '../../src/ops/metrics.js';
import { PAYMENT_EVENT_TOPICS } from '../../src/payments/payment-event.js';
import { startMigratedDatabase, type TestDatabase } from '../support/ledger.js';
import { ManualClock } from '../support/manual-clock.js';
import { parseMetrics } from '../support/metrics.js';
import { until } from '../support/tcp.js';
import type pg from 'pg';

const NOTICES = 'participant.notices';
let db: TestDatabase;
let runtime: pg.Pool;

beforeAll(async () => {
  db = await startMigratedDatabase();
  runtime = createPool({ url: db.runtimeUrl, max: 2 }, createLogger('test', 'silent'));
});
afterAll(async () => {
  await runtime?.end();
  await db?.stop();
});

/** `n` unsent rows of `topic`, written `ageMs` before `now`. */
async function unsent(topic: string, n: number, now: number, ageMs = 0): Promise<void> {
  await db.pool.query(
    `INSERT INTO outbox (topic, key, payload, created_at)
     SELECT $1, 'fpid-' || i, jsonb_build_object('i', i), $3 FROM generate_series(1, $2) i`,
    [topic, n, new Date(now - ageMs)],
  );
}

const counts = async () =>
  Object.fromEntries(
    (
      await db.pool.query<{ topic: string; n: string }>(
        'SELECT topic, count(*) AS n FROM outbox WHERE published_at IS NULL GROUP BY topic',
      )
    ).rows.map((r) => [r.topic, Number(r.n)]),
  );

describe('the outbox bound on unsent payment events', () => {
  it('drops the oldest beyond the bound every minute, counts and warns; notices stay', async () => {
    const clock = new ManualClock();
    const lines: Array<{ level: number; msg: string; dropped?: Record<string, number> }> = [];
    const sink = new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString())), done()) });
    const metrics = new GatewayMetrics('site-a');
    const settings = eventsConfigSchema.parse({ outbox: { maxUnsentEvents: 5, maxUnsentAgeHours: 1 } }).outbox;
    const bound = new UnsentEventsBound(
      { pool: runtime, clock, log: createLogger('test', 'info', sink), onDropped: metrics.outboxEventsDropped },
      settings,
    );
    await unsent(PAYMENT_EVENT_TOPICS.inbound, 4, clock.now());
    await unsent(PAYMENT_EVENT_TOPICS.outbound, 4, clock.now());
    await unsent(NOTICES, 20, clock.now(), 5 * 3_600_000);
    bound.start();

    // Nothing before the minute is up; then the three oldest go, all inbound (written first).
    clock.advance(59_000);
    expect(await counts()).toEqual({
      [PAYMENT_EVENT_TOPICS.inbound]: 4,
      [PAYMENT_EVENT_TOPICS.outbound]: 4,
      [NOTICES]: 20,
    });
    clock.advance(1_000);
    await until(() => lines.some((l) => l.level === 40), 5_000, 'the warning');
    expect(await counts()).toEqual({
      [PAYMENT_EVENT_TOPICS.inbound]: 1,
      [PAYMENT_EVENT_TOPICS.outbound]: 4,
      [NOTICES]: 20,
    });
    const warning = lines.find((l) => l.level === 40)!;
    expect(warning).toMatchObject({ dropped: { [PAYMENT_EVENT_TOPICS.inbound]: 3 }, maxUnsentEvents: 5 });
    expect(warning.msg).toMatch(/dropped/);

    // Stopped, it runs no more; an hour on, one run drops what is left, past the age, however few.
    await bound.stop();
    clock.advance(3_600_000);
    expect(await counts()).toEqual({
      [PAYMENT_EVENT_TOPICS.inbound]: 1,
      [PAYMENT_EVENT_TOPICS.outbound]: 4,
      [NOTICES]: 20,
    });
    expect(Object.fromEntries(await bound.apply())).toEqual({
      [PAYMENT_EVENT_TOPICS.inbound]: 1,
      [PAYMENT_EVENT_TOPICS.outbound]: 4,
    });
    expect(await counts()).toEqual({ [NOTICES]: 20 });
    // The bound's function is the only way the runtime role removes a row.
    await expect(runtime.query('DELETE FROM outbox')).rejects.toThrow(/permission denied/);

    const scraped = parseMetrics(await metrics.metrics());
    expect(
      scraped.sum('gateway_outbox_events_dropped_total', { topic: PAYMENT_EVENT_TOPICS.inbound, site: 'site-a' }),
    ).toBe(4);
    expect(scraped.sum('gateway_outbox_events_dropped_total', { topic: PAYMENT_EVENT_TOPICS.outbound })).toBe(4);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
