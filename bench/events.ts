/**
 * `npm run bench:events`: the event relay's throughput to Kafka. Starts embedded Postgres (or uses
 * DATABASE_URL) on a fresh database, writes BENCH_EVENTS payment events (schema v1, four a payment)
 * to the outbox with the relay off, as a backlog after an outage would be, then starts the relay
 * against KAFKA_BROKERS and times it until the outbox lag is zero. Prints one JSON line.
 */
import pg from 'pg';
import { pino } from 'pino';
import { systemClock } from '../src/base/clock.js';
import { kafkaBrokers } from '../src/events/config.js';
import { EVENT_BATCH, PaymentEventRelay } from '../src/events/kafka-relay.js';
import { openDatabase } from '../src/ledger/database.js';
import { freshDatabase } from './fresh-database.js';
import { benchFailed } from './stops.js';
import { outboxLag } from '../src/ledger/outbox.js';
import { createPool } from '../src/ledger/pool.js';
import { paymentEvent, PAYMENT_EVENT_TOPICS } from '../src/payments/payment-event.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const DATABASE = 'events_bench';
const STEPS = ['received', 'recorded', 'offered', 'decided'] as const;

const logger = pino({ name: 'bench-events', level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
const brokers = kafkaBrokers({ kafka: { topicPrefix: '', clientId: 'bench' } });
if (brokers === undefined) {
  console.error('bench:events: set KAFKA_BROKERS (bash scripts/start-kafka.sh starts one on 127.0.0.1:9092)');
  process.exit(2);
}
const server = await openDatabase({ name: 'bench' }, logger);
let pool: pg.Pool | undefined;
try {
  const url = await freshDatabase(server.migrationUrl, DATABASE, logger);
  const benchPool = createPool({ url, max: 4 }, logger);
  pool = benchPool;

  // The backlog, written straight to the outbox in chunks: the relay reads rows, not payments.
  const now = Date.now();
  for (let first = 0; first < EVENTS; first += 5_000) {
    const keys: string[] = [];
    const payloads: string[] = [];
    for (let i = first; i < Math.min(EVENTS, first + 5_000); i++) {
      const n = Math.floor(i / STEPS.length);
      const step = i % STEPS.length;
      const fpid = `BENCH${String(n).padStart(13, '0')}01` + '20261202GBP' + '400000'.padEnd(11, ' ');
      keys.push(fpid);
      payloads.push(
        JSON.stringify(
          paymentEvent({
            fpid,
            direction: 'inbound',
            event: STEPS[step]!,
            from: step === 0 ? null : STEPS[step - 1]!,
            to: STEPS[step]!,
            outcome: null,
            atMs: now,
            site: 'bench',
            epoch: 1,
            facts: { amountPence: 1_000 + n, receivedAtMs: now },
          }),
        ),
      );
    }
    await benchPool.query(
      `INSERT INTO outbox (topic, key, payload, created_at)
       SELECT $1, k, p::jsonb, now() FROM unnest($2::text[], $3::text[]) AS t(k, p)`,
      [PAYMENT_EVENT_TOPICS.inbound, keys, payloads],
    );
  }

  const topicPrefix = `bench-${now}.`;
  const relay = new PaymentEventRelay(
    { pool: benchPool, clock: systemClock, log: logger },
    { brokers, topicPrefix, clientId: 'bench-events' },
  );
  const started = performance.now();
  relay.start();
  for (;;) {
    const lag = await outboxLag(benchPool, Object.values(PAYMENT_EVENT_TOPICS));
    if (lag.rows === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  await relay.stop();
  console.log(
    JSON.stringify({
      bench: 'events',
      events: EVENTS,
      batch: EVENT_BATCH,
      seconds: Number(seconds.toFixed(2)),
      events_per_second: Math.round(EVENTS / seconds),
      relayed: relay.status().relayed,
      brokers,
    }),
  );
} catch (err) {
  benchFailed(err);
} finally {
  await pool?.end();
  await server.stop();
}
