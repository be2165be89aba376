/**
 * Payment events to Kafka end to end, with the real broker of KAFKA_BROKERS (`scripts/start-kafka.sh`):
 * two gateway sites (processes) share one ledger; payments flow both ways with the broker up, then
 * with the broker killed (SIGKILL) for about ten seconds (five of traffic, then its restart) and started again, then across a kill -9 of
 * the open site. A consumer then reads both topics from the beginning and finds, for every payment,
 * every step the journal holds, in the journal's order, each event valid against the schema and
 * unique by eventId once duplicates are dropped; the outbox holds no event left to relay.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stopAfterAll } from '../support/cleanup.js';
import { paymentEventValidator } from '../support/event-schema.js';
import { consumeTopics, killBroker, requiredKafkaBrokers, startBroker } from '../support/kafka.js';
import {
  driveTraffic,
  eventually,
  everyPaymentSettled,
  gatewayConfig,
  prepareStack,
  SORT_CODE,
  startGateway,
} from '../support/stack.js';
import { openSite, sitesSignedOn } from '../support/two-sites.js';
import type pg from 'pg';
import type { PaymentEvent } from '../../src/payments/payment-event.js';

const cleanup = stopAfterAll();
const RATES = { inbound: 6, outbound: 5 };
/** Traffic while the broker is down; its restart (about 6 s) adds to the outage. */
const OUTAGE_TRAFFIC_S = 5;
const TOPICS = ['payments.inbound', 'payments.outbound'];

/** Payment events the outbox holds not yet relayed. */
async function lag(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND topic LIKE 'payments.%'",
  );
  return Number(r.rows[0]!.n);
}

/** Each payment's steps in journal order, as `event from->to`. */
async function journalSteps(pool: pg.Pool): Promise<Map<string, string[]>> {
  const r = await pool.query<{ fpid: string; event: string; from_state: string | null; to_state: string }>(
    'SELECT fpid, event, from_state, to_state FROM payment_journal ORDER BY id',
  );
  const steps = new Map<string, string[]>();
  for (const j of r.rows)
    steps.set(j.fpid, [...(steps.get(j.fpid) ?? []), `${j.event} ${j.from_state}->${j.to_state}`]);
  return steps;
}

describe('payment events to Kafka', () => {
  it('relays every step of every payment, in order per payment, through a broker outage and a failover; the outbox lag returns to zero', async () => {
    const brokers = requiredKafkaBrokers();
    const prefix = `test-${randomBytes(4).toString('hex')}.`;
    const events = { kafka: { brokers, topicPrefix: prefix } };
    const { db, sim, bank, participant, config } = await prepareStack(cleanup, {
      sim: { reversalRepeatMs: 1000 },
      bank: { latencyMs: '50-300', lateShare: 0, rejectShare: 0.1, drainMs: 5000, seed: 23 },
      gateway: { site: 'site-a', events },
    });
    const configB = await gatewayConfig(sim, {
      site: 'site-b',
      databaseUrl: db.url,
      participant: { id: participant, sortCodes: [SORT_CODE] },
      events,
    });
    const siteA = await startGateway(config);
    cleanup.push(async () => siteA.kill());
    await sitesSignedOn(sim, 1, 20_000);
    const siteB = await startGateway(configB);
    cleanup.push(() => siteB.stop());
    await sitesSignedOn(sim, 2, 20_000);
    expect((await openSite(db.pool))?.holder).toBe('site-a');

    // 1. The broker up: events flow and the lag stays near zero.
    await driveTraffic(sim, bank, 4, RATES);
    // The first events also wait for the producer's connection and the topics' creation, which
    // took over 10 s on a loaded CI machine once.
    await eventually(
      () => lag(db.pool),
      (n) => n === 0,
      20_000,
      'the outbox lag back to zero with the broker up',
    );

    // 2. The broker killed: the outbox keeps the events; then started again: they all go.
    cleanup.push(() => startBroker());
    await killBroker();
    const downAt = Date.now();
    await driveTraffic(sim, bank, OUTAGE_TRAFFIC_S, RATES);
    const lagDuringOutage = await lag(db.pool);
    expect(lagDuringOutage).toBeGreaterThan(0);
    await startBroker();
    const upAt = Date.now();
    const caughtUp = await eventually(
      () => lag(db.pool),
      (n) => n === 0,
      30_000,
      'the relay to catch up after the outage',
    );
    const catchUpMs = Date.now() - upAt;

    // 3. The open site killed: the other opens and relays what it left, and its own.
    await driveTraffic(sim, bank, 2, RATES);
    siteA.kill();
    await driveTraffic(sim, bank, 5, RATES);
    expect((await openSite(db.pool))?.holder).toBe('site-b');
    await everyPaymentSettled(sim, bank, 40_000);
    await eventually(
      () => lag(db.pool),
      (n) => n === 0,
      20_000,
      'the outbox lag back to zero after the failover',
    );
    await siteB.stop();

    // Every event the outbox held, read back from the broker.
    const written = await db.pool.query<{ event_id: string }>(
      "SELECT payload->>'eventId' AS event_id FROM outbox WHERE topic LIKE 'payments.%'",
    );
    const wanted = new Set(written.rows.map((r) => r.event_id));
    const consumed = await consumeTopics(
      brokers,
      TOPICS.map((t) => prefix + t),
      (ms) => new Set(ms.map((m) => m.eventId)).size >= wanted.size,
      30_000,
    );

    const validate = paymentEventValidator();
    const seen = new Set<string>();
    const byPayment = new Map<string, string[]>();
    let duplicates = 0;
    for (const m of consumed) {
      expect(validate(m.value), JSON.stringify(validate.errors)).toBe(true);
      const e = m.value as PaymentEvent;
      expect(m.eventId).toBe(e.eventId);
      expect(m.key).toBe(e.fpid);
      expect(m.topic).toBe(`${prefix}payments.${e.direction}`);
      if (seen.has(e.eventId)) {
        duplicates += 1;
        continue;
      }
      seen.add(e.eventId);
      byPayment.set(e.fpid, [...(byPayment.get(e.fpid) ?? []), `${e.event} ${e.state.from}->${e.state.to}`]);
    }
    const journal = await journalSteps(db.pool);
    const missing = [...wanted].filter((id) => !seen.has(id));
    console.error(
      JSON.stringify({
        payments: journal.size,
        events_written: wanted.size,
        events_consumed: consumed.length,
        duplicates,
        missing: missing.length,
        outage_ms: upAt - downAt,
        lag_during_outage: lagDuringOutage,
        catch_up_ms: catchUpMs,
        lag_after: caughtUp,
      }),
    );
    expect(missing).toEqual([]);
    expect(seen.size).toBe(wanted.size);
    expect(byPayment.size).toBe(journal.size);
    // Every payment's full sequence, in the journal's order: none missing, none out of order.
    for (const [fpid, steps] of journal) expect(byPayment.get(fpid), fpid).toEqual(steps);
    expect(await lag(db.pool)).toBe(0);
  }, 150_000);
});
