import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../../src/ledger/database.js';
import { launchScript, launchSimulator, type LaunchOptions, type RunningSimulator } from '../../simulators/launch.js';
import type { BankReport } from '../../simulators/participant/bank.js';
import type pg from 'pg';
import { AMQP_URL, deleteQueues } from './bank-gateway.js';
import type { Cleanup } from './cleanup.js';
import { startTestDatabase, type TestDatabase } from './ledger.js';
import { controlClient, MAC_KEY, startSchemeSim, type Control, type SchemeSim } from './scheme-sim.js';

export { AMQP_URL } from './bank-gateway.js';

/** A participant id no other run uses, so that queues left on the broker never mix runs. */
export function runParticipantId(): string {
  return String(400000 + (randomBytes(3).readUIntBE(0, 3) % 500000));
}

export interface Bank {
  process: RunningSimulator<BankReport>;
  control: Control;
  report(): Promise<BankReport>;
}

/** `env` over LOG_LEVEL=warn; `options.captureStderr` keeps its logs in `process.output` (log scans). */
export async function startBank(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<Bank> {
  const running = await launchSimulator<BankReport>(
    'participant',
    ['--mq', AMQP_URL, '--control', '127.0.0.1:0', ...args],
    { LOG_LEVEL: 'warn', ...env },
    options,
  );
  const control = controlClient(String(running.ready.control));
  return { process: running, control, report: () => control<BankReport>('GET', '/report') };
}

export interface GatewaySettings {
  site: string;
  participant: { id: string; sortCodes: string[] };
  /** An operator's server; without it the gateway starts its embedded cluster as `embedded` says. */
  databaseUrl?: string;
  embedded?: { dataDir: string; port?: number };
  /** Scheme addresses in front of the simulator's own (a recording proxy). */
  dcs?: { dc1: string; dc2: string };
  /** The broker the gateway uses; AMQP_URL unless given (a proxy in front of it, say). */
  mqUrl?: string;
  /** The ops console's config section (src/ops/console/config.ts); none unless given. */
  console?: Record<string, unknown>;
  timing?: Record<string, number>;
  /** Scheme link settings over the defaults below, e.g. `drainTimeoutMs`. */
  scheme?: Record<string, unknown>;
  /** The gateway's `events` settings (Kafka brokers, topic prefix); without them KAFKA_BROKERS decides. */
  events?: Record<string, unknown>;
  /** The gateway's `tracing` settings (an OTLP collector's URL); off unless given. */
  tracing?: Record<string, unknown>;
  /** Admission control's settings (src/payments/admission.ts); the defaults otherwise. */
  admission?: Record<string, number>;
}

/** Writes a gateway config for this run and returns its path. */
export async function gatewayConfig(sim: SchemeSim, s: GatewaySettings): Promise<string> {
  const dir = path.join(PROJECT_ROOT, 'var', 'test-runs', `${s.site}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'gateway.json');
  const config = {
    site: s.site,
    scheme: {
      dc1: [s.dcs?.dc1 ?? sim.dc1],
      dc2: [s.dcs?.dc2 ?? sim.dc2],
      macKey: MAC_KEY,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...s.scheme,
    },
    participants: [{ id: s.participant.id, name: 'Test Bank', sortCodes: s.participant.sortCodes }],
    mq: { kind: 'amqp', url: s.mqUrl ?? AMQP_URL },
    database: s.databaseUrl === undefined ? (s.embedded ?? {}) : { url: s.databaseUrl },
    // A free port: several gateways run at once in the tests; the ready line says which.
    http: { port: 0 },
    ...(s.timing === undefined ? {} : { timing: s.timing }),
    ...(s.events === undefined ? {} : { events: s.events }),
    ...(s.tracing === undefined ? {} : { tracing: s.tracing }),
    ...(s.admission === undefined ? {} : { admission: s.admission }),
    ...(s.console === undefined ? {} : { console: s.console }),
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** The gateway daemon as its own process. */
export function startGateway(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<RunningSimulator<Record<string, unknown>>> {
  return launchScript('src/daemon/main', ['--config', configFile], { LOG_LEVEL: 'warn', ...env }, options);
}

export async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The sort code the stack's participant owns at the scheme simulator. */
export const SORT_CODE = '200000';

export type RunningGateway = RunningSimulator<Record<string, unknown>>;

export interface Simulators {
  participant: string;
  sim: SchemeSim;
  bank: Bank;
}

/** A simulator's command-line options by their names in camel case: `{ tIn: 3000 }` for `--t-in 3000`. */
export type SimulatorOptions = Record<string, string | number>;

function flags(options: SimulatorOptions): string[] {
  return Object.entries(options).flatMap(([name, value]) => [
    `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(value),
  ]);
}

/**
 * The scheme simulator (`--sort-codes 200000` and `simOptions`) and the bank simulator for a participant
 * of this run only (`--participant <id>:200000` and `bankOptions`), both stopped after the file's tests.
 */
export async function startSimulators(
  cleanup: Cleanup,
  simOptions: SimulatorOptions,
  bankOptions: SimulatorOptions,
): Promise<Simulators> {
  const participant = runParticipantId();
  // Last of all, the run's queues go: a broker that keeps every run's quorum queues slows down for all.
  cleanup.push(() => deleteQueues([participant]));
  const sim = await startSchemeSim(['--sort-codes', SORT_CODE, ...flags(simOptions)]);
  cleanup.push(() => sim.stop());
  const bank = await startBank(['--participant', `${participant}:${SORT_CODE}`, ...flags(bankOptions)]);
  cleanup.push(() => bank.process.stop());
  return { participant, sim, bank };
}

/** Waits until the gateway holds all four scheme connections open, signed on both ways. */
export async function signedOn(sim: SchemeSim, timeoutMs: number): Promise<void> {
  await eventually(
    () => sim.sessions(),
    (s) => s.filter((v) => v.open && v.submit && v.receive).length === 4,
    timeoutMs,
    'the gateway signed on at both DCs',
  );
}

/** Starts the gateway daemon on `configFile`, stopped after the file's tests, and waits for its sign-on. */
export async function startSignedOnGateway(
  cleanup: Cleanup,
  sim: SchemeSim,
  configFile: string,
  signOnTimeoutMs: number,
): Promise<RunningGateway> {
  const gateway = await startGateway(configFile);
  cleanup.push(() => gateway.stop());
  await signedOn(sim, signOnTimeoutMs);
  return gateway;
}

export interface StackSettings {
  /** Scheme simulator options besides `--sort-codes 200000`. */
  sim: SimulatorOptions;
  /** Bank simulator options besides `--participant <id>:200000`. */
  bank: SimulatorOptions;
  /** The gateway's config, but for its participant; its ledger is the stack's database unless `databaseUrl` says. */
  gateway: Omit<GatewaySettings, 'participant'>;
  /** A database already started (with a proxy in front of it, say); else one of the stack's own. */
  db?: TestDatabase;
}

export interface StackParts extends Simulators {
  db: TestDatabase;
  /** The gateway config written for this run. */
  config: string;
}

/**
 * A test database, the scheme and bank simulators and a gateway config for them, everything stopped
 * after the file's tests; the gateway is left to the test (see `startStack`).
 */
export async function prepareStack(cleanup: Cleanup, s: StackSettings): Promise<StackParts> {
  const db = s.db ?? (await startTestDatabase());
  if (s.db === undefined) cleanup.push(() => db.stop());
  const sims = await startSimulators(cleanup, s.sim, s.bank);
  const config = await gatewayConfig(sims.sim, {
    databaseUrl: db.url,
    ...s.gateway,
    participant: { id: sims.participant, sortCodes: [SORT_CODE] },
  });
  return { db, ...sims, config };
}

export interface Stack extends StackParts {
  gateway: RunningGateway;
}

/** The whole stack, its gateway signed on within `signOnTimeoutMs`; everything stopped after the file's tests. */
export async function startStack(cleanup: Cleanup, s: StackSettings, signOnTimeoutMs: number): Promise<Stack> {
  const parts = await prepareStack(cleanup, s);
  const gateway = await startSignedOnGateway(cleanup, parts.sim, parts.config, signOnTimeoutMs);
  return { ...parts, gateway };
}

/** Waits until the scheme has every inbound payment answered or reversed and the bank a report for every instruction. */
export async function everyPaymentSettled(sim: SchemeSim, bank: Bank, timeoutMs: number): Promise<void> {
  await eventually(
    () => sim.report(),
    (r) => r.inbound.answered_in_time + r.inbound.late + r.inbound.reversed >= r.inbound.sent,
    timeoutMs,
    'the scheme to have every inbound payment answered or reversed',
  );
  await eventually(
    () => bank.report(),
    (r) => r.reports_received >= r.instructions_sent,
    timeoutMs,
    'a report for every instruction',
  );
}

export interface Rates {
  /** Payments the scheme sends the gateway a second. */
  inbound: number;
  /** Instructions the bank puts to the gateway a second. */
  outbound: number;
}

/**
 * Traffic both ways for `seconds` seconds: each second the scheme sends `perSecond.inbound` payments
 * and the bank `perSecond.outbound` instructions; `at(t)` runs first in second t (a fault planned for it).
 */
export async function driveTraffic(
  sim: SchemeSim,
  bank: Bank,
  seconds: number,
  perSecond: Rates,
  at: (t: number) => void = () => {},
): Promise<void> {
  for (let t = 0; t < seconds; t++) {
    at(t);
    await Promise.all([
      sim.control('POST', '/inbound', { count: perSecond.inbound }),
      bank.control('POST', '/outbound', { count: perSecond.outbound }),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The scheme's inbound report when each of the `sent` payments was answered within T_in. */
export function answeredInTime(sent: number) {
  return { sent, answered_in_time: sent, late: 0, unanswered: 0, reversed: 0 };
}

/** Stops the gateway, then the bank and the scheme simulators, and returns their final reports. */
export async function stopStack(stack: { gateway: RunningGateway; sim: SchemeSim; bank: Bank }) {
  await stack.gateway.stop();
  const bankReport = await stack.bank.process.stop();
  const schemeReport = await stack.sim.stop();
  return { bankReport, schemeReport };
}

export interface LedgerCounts {
  /** One row a direction and state. */
  rows: Array<{ direction: string; state: string; n: string }>;
  /** How many payments stand in `state` in `direction`. */
  count(direction: string, state: string): number;
  /** How many payments there are in `direction`. */
  total(direction: string): number;
}

/** The ledger's payments counted by direction and state. */
export async function ledgerCounts(pool: pg.Pool): Promise<LedgerCounts> {
  const { rows } = await pool.query<{ direction: string; state: string; n: string }>(
    'SELECT direction, state, count(*) AS n FROM payments GROUP BY 1, 2',
  );
  return {
    rows,
    count: (d, s) => Number(rows.find((r) => r.direction === d && r.state === s)?.n ?? 0),
    total: (d) => rows.filter((r) => r.direction === d).reduce((n, r) => n + Number(r.n), 0),
  };
}

/** The FPIDs offered to the participant more than once. */
export async function offeredTwice(pool: pg.Pool): Promise<number | null> {
  const r = await pool.query(
    "SELECT fpid FROM payment_journal WHERE event = 'offer' GROUP BY fpid HAVING count(*) > 1",
  );
  return r.rowCount;
}
