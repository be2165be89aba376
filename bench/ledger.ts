/**
 * `npm run bench:ledger`: durable transitions per second through the group-committing ledger.
 * Starts embedded Postgres (or uses DATABASE_URL), migrates a fresh database, then runs payment
 * workers that each record a payment and move it through three more states, over and over, for a
 * fixed time. Prints one JSON line. Tunables come from the environment.
 */
import pg from 'pg';
import { pino } from 'pino';
import { systemClock } from '../src/base/clock.js';
import { openDatabase } from '../src/ledger/database.js';
import { freshDatabase } from './fresh-database.js';
import { DEFAULT_LEDGER_OPTIONS, Ledger } from '../src/ledger/ledger.js';
import { createPool } from '../src/ledger/pool.js';
import type { Transition } from '../src/ledger/transition.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const CONCURRENCY = env('BENCH_CONCURRENCY', 200);
const SECONDS = env('BENCH_SECONDS', 10);
const MAX_BATCH = env('LEDGER_MAX_BATCH', DEFAULT_LEDGER_OPTIONS.maxBatch);
const MAX_IN_FLIGHT = env('LEDGER_MAX_IN_FLIGHT', DEFAULT_LEDGER_OPTIONS.maxInFlight);
const DATABASE = 'ledger_bench';
/** The states after 'received', in order; the last is final. */
const PATH = ['offered', 'decided', 'accepted'] as const;

// Logs go to stderr: stdout carries the one JSON report line and nothing else.
const logger = pino({ name: 'bench-ledger', level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
const server = await openDatabase({ name: 'bench' }, logger);
let pool: pg.Pool | undefined;
try {
  const url = await freshDatabase(server.migrationUrl, DATABASE, logger);
  const ledgerPool = createPool({ url, max: MAX_IN_FLIGHT + 2 }, logger);
  pool = ledgerPool;

  const show = async (setting: 'fsync' | 'synchronous_commit'): Promise<string> =>
    String((await ledgerPool.query(`SHOW ${setting}`)).rows[0]?.[setting]);
  const fsync = await show('fsync');
  const synchronous_commit = await show('synchronous_commit');
  // A figure measured without durability is not the figure asked for.
  if (fsync !== 'on' || synchronous_commit !== 'on') process.exitCode = 1;

  const ledger = new Ledger(ledgerPool, systemClock, logger, {
    finalStates: ['accepted'],
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
  });
  const latencies: number[] = [];
  const at = { site: 'bench', epoch: 1 };

  const timed = async (t: Transition): Promise<void> => {
    const started = performance.now();
    const result = await ledger.commit(t);
    latencies.push(performance.now() - started);
    if (!result.ok) throw new Error(`bench transition ${t.event} for ${t.fpid} refused: ${result.reason}`);
  };

  const worker = async (w: number, until: number): Promise<void> => {
    for (let n = 0; performance.now() < until; n += 1) {
      const trn = `B${String(w).padStart(5, '0')}${String(n).padStart(12, '0')}`;
      const fpid = trn + '01' + '20251122' + 'GBP' + '400000'.padEnd(11, ' ');
      const cause = { mti: '9200', stan: String(n % 1_000_000).padStart(6, '0'), connectionId: `conn-${w % 4}` };
      await timed({
        fpid,
        from: null,
        to: 'received',
        event: 'received',
        at: systemClock.now(),
        ...at,
        cause,
        payment: {
          direction: 'inbound',
          type: '01',
          amountPence: 1_000 + n,
          trn,
          dateSent: '20251122',
          institution: '400000',
          originatorSortCode: '400000',
          originatorAccount: '12345678',
          originatorName: 'BENCH PAYER',
          beneficiarySortCode: '200000',
          beneficiaryAccount: '87654321',
          beneficiaryName: 'BENCH PAYEE',
          reference: 'BENCH',
        },
        patch: { deadlineAt: systemClock.now() + 15_000 },
      });
      let from = 'received';
      for (const to of PATH) {
        const final = to === PATH[PATH.length - 1];
        await timed({
          fpid,
          from,
          to,
          event: to,
          at: systemClock.now(),
          ...at,
          cause,
          patch: final ? { outcome: '0000', deadlineAt: null } : {},
          outbox: final ? [{ topic: 'payments.settled', key: fpid, payload: { fpid, state: to } }] : [],
        });
        from = to;
      }
    }
  };

  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w, until)));
  const elapsed = (performance.now() - started) / 1000;

  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(2));
  console.log(
    JSON.stringify({
      transitions_per_s: Math.round(latencies.length / elapsed),
      p99_commit_ms: pct(0.99),
      p50_commit_ms: pct(0.5),
      concurrency: CONCURRENCY,
      fsync,
      synchronous_commit,
      batch_max: MAX_BATCH,
      in_flight_max: MAX_IN_FLIGHT,
      transitions: latencies.length,
      seconds: Number(elapsed.toFixed(2)),
    }),
  );
} finally {
  await pool?.end();
  await server.stop();
}
