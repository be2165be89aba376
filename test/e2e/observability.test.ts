/**
 * Observability end to end: the scheme simulator, the gateway and the bank simulator, each its own
 * process at debug level, RabbitMQ and a real PostgreSQL. After some traffic both ways (with some
 * of the scheme's responses MAC-corrupted and some of the bank's decisions late) the gateway's
 * /metrics agree with what the simulators counted and the ledger holds; then every log line of
 * every process is searched for the run's account numbers, names, MAC key and passwords.
 */
import { describe, expect, it } from 'vitest';
import { PERSONAL_ATTRIBUTES, PAYMENT_ATTRIBUTES } from '../../src/domain/payment.js';
import { stopAfterAll } from '../support/cleanup.js';
import { deleteQueues } from '../support/bank-gateway.js';
import { startTestDatabase } from '../support/ledger.js';
import { scrape } from '../support/metrics.js';
import { MAC_KEY, startSchemeSim } from '../support/scheme-sim.js';
import {
  AMQP_URL,
  driveTraffic,
  eventually,
  gatewayConfig,
  runParticipantId,
  signedOn,
  SORT_CODE,
  startBank,
  startGateway,
} from '../support/stack.js';

const SECONDS = 10;
const INBOUND_PER_S = 5;
const OUTBOUND_PER_S = 3;
const DEBUG = { LOG_LEVEL: 'debug' };
const CAPTURE = { captureStderr: true };

const cleanup = stopAfterAll();

/** A value as a whole token: an account number inside a longer run of digits (a timestamp) is not it. */
const token = (value: string) =>
  new RegExp(`(?<![0-9A-Za-z])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9A-Za-z])`);

describe('observability', () => {
  it('exposes metrics that agree with the simulators and the ledger, and logs no personal data or secret at debug level', async () => {
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    const participant = runParticipantId();
    // Last of all: a broker that keeps every run's quorum queues slows down for all.
    cleanup.push(() => deleteQueues([participant]));
    const sim = await startSchemeSim(['--sort-codes', SORT_CODE, '--corrupt-mac-rate', '0.05'], DEBUG, CAPTURE);
    cleanup.push(() => sim.stop());
    const bank = await startBank(
      [
        '--participant',
        `${participant}:${SORT_CODE}`,
        '--latency-ms',
        '20-200',
        '--late-share',
        '0.1',
        '--late-ms',
        '9300',
        '--beneficiary-sort-codes',
        '300000',
        '--seed',
        '11',
      ],
      DEBUG,
      CAPTURE,
    );
    cleanup.push(() => bank.process.stop());
    const config = await gatewayConfig(sim, {
      site: 'observed',
      databaseUrl: db.url,
      participant: { id: participant, sortCodes: [SORT_CODE] },
      // A corrupted 9210 is dropped (R11): the 9201 goes after 3 s rather than T_out.
      scheme: { requestTimeoutMs: 3000 },
    });
    const gateway = await startGateway(config, DEBUG, CAPTURE);
    cleanup.push(() => gateway.stop());
    const http = String(gateway.ready.http);
    expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await signedOn(sim, 15_000);
    await eventually(
      () => fetch(`${http}/readyz`).then((r) => r.status),
      (s) => s === 200,
      5_000,
      'ready',
    );

    await driveTraffic(sim, bank, SECONDS, { inbound: INBOUND_PER_S, outbound: OUTBOUND_PER_S });
    const inbound = SECONDS * INBOUND_PER_S;
    const outbound = SECONDS * OUTBOUND_PER_S;
    await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time >= inbound && r.outbound.answered >= outbound,
      30_000,
      'the scheme to have every answer',
    );
    const bankReport = await eventually(
      () => bank.report(),
      (r) => r.reports_received >= outbound && r.inbound_decided >= inbound && r.late_answers >= r.inbound_late,
      30_000,
      'every report and an answer to every late decision',
    );
    const schemeReport = await sim.report();
    const journal = Number(
      (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM payment_journal')).rows[0]!.n,
    );
    const unpublished = Number(
      (
        await db.pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND topic = 'payments.inbound'",
        )
      ).rows[0]!.n,
    );
    const m = await scrape(http);

    // Inbound: every 9210 the scheme got in time is one the gateway counts as sent, with its latency and margin.
    expect(schemeReport.inbound).toMatchObject({ sent: inbound, answered_in_time: inbound, late: 0, unanswered: 0 });
    expect(m.sum('gateway_inbound_answers_total', { result: 'sent' })).toBe(inbound);
    expect(m.sum('gateway_inbound_answers_total')).toBe(inbound);
    expect(m.sum('gateway_inbound_reply_seconds_count', { path: 'same-site' })).toBe(inbound);
    expect(m.sum('gateway_inbound_deadline_margin_seconds_count')).toBe(inbound);
    // Every margin was positive, and the stand-ins (at T_in - 1 s) left about a second.
    expect(m.sum('gateway_inbound_deadline_margin_seconds_bucket', { le: '0' })).toBe(0);
    expect(bankReport.inbound_late).toBeGreaterThan(0);
    expect(m.sum('gateway_stand_ins_total')).toBe(bankReport.inbound_late);
    expect(m.sum('gateway_inbound_deadline_margin_seconds_bucket', { le: '2' })).toBeGreaterThanOrEqual(
      bankReport.inbound_late,
    );
    expect(m.sum('gateway_reversals_total')).toBe(schemeReport.inbound.reversed);
    expect(m.sum('gateway_reply_lost_total')).toBe(0);

    // Outbound: one report per instruction, the scheme's accepts, and the repeats the corrupted MACs caused.
    expect(m.sum('gateway_outbound_reports_total')).toBe(bankReport.reports_received);
    expect(m.sum('gateway_outbound_report_seconds_count')).toBe(outbound);
    expect(m.sum('gateway_outbound_reports_total', { outcome: 'accepted' })).toBe(schemeReport.outbound.accepted);
    expect(m.sum('gateway_scheme_refused_total', { code: 'mac' })).toBe(schemeReport.faults.corrupted_macs);
    expect(m.sum('gateway_scheme_refused_total', { code: 'format' })).toBe(0);
    expect(m.sum('gateway_repeats_total', { direction: 'outbound' })).toBe(schemeReport.outbound.repeats);

    // The link, the lease, the ledger and the process.
    expect(m.sum('gateway_scheme_connections', { state: 'ready' })).toBe(4);
    expect(m.sum('gateway_scheme_connections', { dc: 'DC1', state: 'ready' })).toBe(2);
    expect(m.sum('gateway_scheme_connection_signed_on', { direction: 'receive' })).toBe(4);
    expect(m.sum('gateway_scheme_in_flight')).toBe(0);
    expect(m.sum('gateway_lease_open')).toBe(1);
    expect(m.sum('gateway_lease_epoch')).toBeGreaterThanOrEqual(1);
    expect(m.sum('gateway_lease_changes_total', { reason: 'start' })).toBe(1);
    expect(m.sum('gateway_mq_bridging')).toBe(1);
    expect(m.sum('gateway_payment_steps_total')).toBe(journal);
    expect(m.sum('gateway_ledger_batch_transitions_sum')).toBe(journal);
    expect(m.sum('gateway_ledger_commit_seconds_count')).toBeGreaterThan(0);
    expect(m.sum('gateway_ledger_commit_seconds_count')).toBeLessThanOrEqual(journal);
    expect(m.sum('gateway_outbox_unpublished_rows', { topic: 'payments.inbound' })).toBe(unpublished);
    expect(m.sum('gateway_outbox_unpublished_rows', { topic: 'participant.notices' })).toBe(0);
    expect(m.sum('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(m.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(m.samples.every((s) => s.labels.site === 'observed')).toBe(true);

    // What the run used that must never be logged.
    const personal = PAYMENT_ATTRIBUTES.filter((a) => (PERSONAL_ATTRIBUTES as readonly string[]).includes(a.name));
    const { rows } = await db.pool.query<Record<string, string | null>>(
      `SELECT ${personal.map((a) => a.column).join(', ')} FROM payments`,
    );
    const values = new Set<string>();
    for (const row of rows) for (const v of Object.values(row)) if (v !== null && v.length >= 6) values.add(v);
    const secrets = [
      ...[...values].map((v) => ({ what: 'personal data', pattern: token(v) })),
      { what: 'MAC key', pattern: new RegExp(MAC_KEY, 'i') },
      { what: 'database password', pattern: token(decodeURIComponent(new URL(db.url).password)) },
      { what: 'MQ password', pattern: new RegExp(`:${new URL(AMQP_URL).password}@`) },
    ];
    expect(rows.length).toBe(inbound + outbound);
    // The search finds what it looks for, in a log line as pino writes it.
    const probe = [...values][0]!;
    expect(secrets.some((s) => s.pattern.test(JSON.stringify({ level: 20, account: probe })))).toBe(true);
    expect(values.size).toBeGreaterThan(inbound + outbound);
    expect(decodeURIComponent(new URL(db.url).password).length).toBeGreaterThanOrEqual(8);

    await gateway.stop();
    await bank.process.stop();
    await sim.stop();
    const logs = { gateway: gateway.output, scheme: sim.process.output, bank: bank.process.output };

    // One debug line per committed step, with what an operator needs to follow a payment.
    const steps = gateway.output
      .filter((l) => l.includes('"payment step committed"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(steps.length).toBe(journal);
    for (const s of steps)
      for (const key of ['fpid', 'direction', 'state', 'site', 'epoch', 'connection']) expect(s).toHaveProperty(key);
    expect(steps.filter((s) => s.direction === 'inbound' && s.connection === null)).toEqual([]);
    // Every process ran at debug level (the simulators write few lines even then), and none of it
    // holds what it must not.
    expect(gateway.output.filter((l) => l.includes('"level":20')).length).toBeGreaterThan(journal);
    for (const [name, lines] of Object.entries(logs)) expect(lines.length, name).toBeGreaterThan(2);
    const leaks = Object.entries(logs).flatMap(([name, lines]) =>
      lines.flatMap((line) =>
        secrets.filter((s) => s.pattern.test(line)).map((s) => `${name}: ${s.what} in ${line.slice(0, 300)}`),
      ),
    );
    expect(leaks).toEqual([]);
  }, 150_000);
});
