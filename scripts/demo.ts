/**
 * npm start: the whole gateway on this machine. The scheme simulator runs as its own process; the
 * gateway's two sites (sharing one embedded PostgreSQL) and the bank simulator run here. With AMQP_URL set the
 * participant link is RabbitMQ and the bank simulator its own process too; otherwise both share an
 * in-process MQ broker (not durable, for the demo only). Ctrl-C stops everything in order. Each run
 * starts on an empty ledger unless `--keep-ledger` is given.
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/base/clock.js';
import { createPool } from '../src/ledger/pool.js';
import { outboxLag } from '../src/ledger/outbox.js';
import { eventsConfigSchema, kafkaBrokers } from '../src/events/config.js';
import { PAYMENT_EVENT_TOPICS } from '../src/payments/payment-event.js';
import { OPEN_SITE_LEASE } from '../src/ledger/ledger.js';
import { Lease } from '../src/failover/lease.js';
import { parseLeaseTiming } from '../src/failover/lease-timing.js';
import { openSiteNow, siteHere, siteProcess, type DemoSite, type SiteSettings } from './demo-sites.js';
import { openDatabase, PROJECT_ROOT } from '../src/ledger/database.js';
import { removeEmbedded } from '../src/ledger/embedded.js';
import { createLogger } from '../src/base/log.js';
import { InProcessTransport } from '../src/participant/mq/in-process.js';
import { launchSimulator } from '../simulators/launch.js';
import { ParticipantBanks } from '../simulators/participant/bank.js';
import { bankSettingsSchema } from '../simulators/participant/options.js';
import { seededRandom } from '../simulators/participant/random.js';
import type { Report } from '../simulators/scheme/report.js';
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../src/ops/console/secrets.js';

const values = (() => {
  try {
    return parseArgs({ options: { duration: { type: 'string' }, 'keep-ledger': { type: 'boolean', default: false } } })
      .values;
  } catch (e) {
    console.error(`demo: ${(e as Error).message}\nusage: npm start [-- --keep-ledger] [--duration SECONDS]`);
    process.exit(2);
  }
})();
const MAC_KEY = '6465'.repeat(16);
const BANK = { id: '200001', sortCodes: ['200000', '200001'] };
// Empty counts as unset, as for DATABASE_URL.
const amqpUrl = process.env.AMQP_URL || undefined;
const log = createLogger('demo', process.env.LOG_LEVEL ?? 'warn');
const LEDGER_DIR = path.join(PROJECT_ROOT, 'var', 'pg', 'demo');
const SITES = ['site-a', 'site-b'] as const;
const COMMANDS =
  'status, move (the open role to the other site), stop SITE (in order: the other site opens), kill SITE (SIGKILL, with AMQP_URL), start SITE; SITE is site-a or site-b';

// A fresh bank simulator knows nothing of a previous run's open payments, so by default the run
// starts on an empty ledger rather than resume them.
if (!values['keep-ledger']) {
  await removeEmbedded(LEDGER_DIR, log).catch((e: Error) => {
    console.error(`demo: ${e.message}`);
    process.exit(1);
  });
}

const scheme = await launchSimulator<Report>(
  'scheme',
  [
    '--dc1',
    '127.0.0.1:0',
    '--dc2',
    '127.0.0.1:0',
    '--control',
    '127.0.0.1:0',
    '--mac-key',
    MAC_KEY,
    '--inbound-rate',
    '5',
    '--sort-codes',
    BANK.sortCodes.join(','),
  ],
  { LOG_LEVEL: 'warn' },
);
// Both sites share one ledger, as they would one replicated cluster: the launcher starts it and
// both reach it by URL (migrations as its owner, the sites as the runtime role).
const db = await openDatabase({ name: 'demo', dataDir: LEDGER_DIR, url: '' }, log);
const ledgerPool = createPool({ url: db.migrationUrl, max: 1 }, log);
// The in-process broker cannot span processes: without a real one both sites run in this process.
const transport = amqpUrl === undefined ? new InProcessTransport(log) : undefined;
// The ops console, with four eyes off (the demo only) and two logins made for this run.
const logins = { demo: randomBytes(9).toString('base64url'), viewer: randomBytes(9).toString('base64url') };
const consoleConfig = {
  demo: true,
  fourEyes: false,
  operators: [
    { name: 'demo', role: 'operator', secretHash: await hashSecret(logins.demo), personalData: true },
    { name: 'viewer', role: 'viewer', secretHash: await hashSecret(logins.viewer) },
  ],
};
const settings: SiteSettings = {
  scheme: { dc1: String(scheme.ready.dc1), dc2: String(scheme.ready.dc2), macKey: MAC_KEY },
  participant: { id: BANK.id, name: 'Demo Bank', sortCodes: BANK.sortCodes },
  mq: amqpUrl === undefined ? { kind: 'in-process' } : { kind: 'amqp', url: amqpUrl },
  database: { url: db.url, migrationUrl: db.migrationUrl },
  console: consoleConfig,
  // /metrics, /healthz, /readyz: one port a site, on loopback.
  httpPorts: { 'site-a': 9464, 'site-b': 9465 },
};
const startSite = (site: string) =>
  transport === undefined ? siteProcess(site, settings) : siteHere(site, settings, log, transport);
/** The two sites by name; a site stopped or killed is absent until started again. */
const sites = new Map<string, DemoSite>();
/** Sites an operator asked to stop, until they have. */
const stopping = new Set<string>();
// The first site up opens; the second stays closed while the first renews the lease.
for (const site of SITES) sites.set(site, await startSite(site));

const bankArgs = [
  '--participant',
  `${BANK.id}:${BANK.sortCodes.join(',')}`,
  '--outbound-rate',
  '2',
  '--latency-ms',
  '50-800',
  '--late-share',
  '0.03',
  '--late-ms',
  '9500',
];
const bankProcess =
  amqpUrl === undefined
    ? undefined
    : await launchSimulator('participant', ['--mq', amqpUrl, '--control', '127.0.0.1:0', ...bankArgs], {
        LOG_LEVEL: 'warn',
      });
const banks =
  transport === undefined
    ? undefined
    : new ParticipantBanks(
        bankSettingsSchema.parse({
          participants: [`${BANK.id}:${BANK.sortCodes.join(',')}`],
          outboundRate: 2,
          latency: '50-800',
          lateShare: 0.03,
          lateMs: 9500,
        }),
        {
          transport,
          clock: systemClock,
          log,
          random: seededRandom(Date.now() >>> 0),
        },
      );
await banks?.start();

console.log(`FPS gateway demo running (Ctrl-C to stop).
  scheme simulator   DC1 ${String(scheme.ready.dc1)}, DC2 ${String(scheme.ready.dc2)}; its report: curl http://${String(scheme.ready.control)}/report
  gateway            two sites, ${SITES.join(' and ')}, ${transport === undefined ? 'each its own process' : 'both in this process (the in-process broker cannot span processes)'}, each with 2 connections to each DC; one is open and bridges MQ
  ledger             embedded PostgreSQL under var/pg/demo, shared by both sites (${values['keep-ledger'] ? 'kept from the last run' : 'new: --keep-ledger keeps it'})
  participant link   ${amqpUrl === undefined ? 'in-process MQ broker (not durable: demo only)' : `RabbitMQ at ${amqpUrl}`}
  bank simulator     participant ${BANK.id}, sort codes ${BANK.sortCodes.join(', ')}${bankProcess === undefined ? ' (in this process)' : `; its report: curl http://${String(bankProcess.ready.control)}/report`}
  ops console        ${SITES.map((site) => `${site} ${sites.get(site)?.http ?? '?'}/console`).join(', ')}
                     log in as demo / ${logins.demo} (operator; four eyes off: the demo only) or viewer / ${logins.viewer}
  metrics, probes    ${SITES.map((site) => `${site} ${sites.get(site)?.http ?? '?'}`).join(', ')}: /metrics (Prometheus), /healthz, /readyz
  payment events     ${kafkaBrokers(eventsConfigSchema.parse(undefined)) === undefined ? 'kept in the outbox: KAFKA_BROKERS=127.0.0.1:9092 npm start relays them to Kafka (bash scripts/start-kafka.sh)' : `relayed to Kafka at ${process.env.KAFKA_BROKERS ?? ''} by the open site, topics payments.inbound and payments.outbound`}
  logs               LOG_LEVEL=info npm start for the gateway's pino JSON logs
  commands           type one and Enter: ${COMMANDS}`);

const schemeControl = `http://${String(scheme.ready.control)}`;
/** Payment events relayed to Kafka so far (by either site) and those the outbox still holds, from the ledger. */
async function eventsPart(): Promise<string> {
  const { rows } = await ledgerPool.query<{ n: string }>(
    "SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL AND topic LIKE 'payments.%'",
  );
  const lag = await outboxLag(ledgerPool, Object.values(PAYMENT_EVENT_TOPICS));
  return kafkaBrokers(eventsConfigSchema.parse(undefined)) === undefined
    ? `events relay off (KAFKA_BROKERS unset): ${lag.rows} kept in the outbox`
    : `events relayed ${rows[0]?.n ?? 0}, outbox lag ${lag.rows} (oldest ${lag.oldestMs} ms)`;
}
/** One line: which site is open (from the ledger's lease), each site's state, what the scheme saw. */
async function statusLine(): Promise<string> {
  const r = (await (await fetch(`${schemeControl}/report`)).json()) as Report;
  const open = await openSiteNow(ledgerPool);
  const parts = SITES.map((site) => {
    if (stopping.has(site)) return `${site} stopping`;
    const s = sites.get(site);
    if (s === undefined) return `${site} stopped`;
    return `${site} ${open?.holder === site ? `OPEN (epoch ${open.epoch})` : 'closed'} ${s.describe()}`;
  });
  return (
    `${parts.join(' | ')} | scheme saw inbound ${r.inbound.sent} sent, ${r.inbound.answered_in_time} answered in time ` +
    `(${r.inbound.accepted} accepted), ${r.inbound.reversed} reversed; outbound ${r.outbound.received} received, ` +
    `${r.outbound.accepted} accepted | wrong-connection answers ${r.wrong_connection_responses} | ${await eventsPart()}`
  );
}
const ticker = setInterval(() => {
  statusLine().then(
    (line) => console.log(line),
    (e: Error) => log.warn({ err: e.message }, 'status line failed'),
  );
}, 5000);

/** What an operator types, one command a line; the demo's console (the ops console is the real one). */
async function command(line: string): Promise<string> {
  const [verb, site] = line.trim().split(/\s+/);
  if (verb === undefined || verb === '') return '';
  if (verb === 'status') return statusLine();
  if (verb === 'move' && site === undefined) {
    // What `npm run failover:move` and the ops console do: mark the lease; its holder steps down.
    const asked = await new Lease(ledgerPool, OPEN_SITE_LEASE, 'demo', parseLeaseTiming(undefined)).requestMove(
      'demo-operator',
    );
    return asked === undefined
      ? 'no site holds the open-site lease now: nothing to move'
      : `asked ${asked.holder} (epoch ${asked.epoch}) to hand the open site over: it stops bridging, releases the lease, and the other site opens`;
  }
  if (!['stop', 'start', 'kill'].includes(verb) || !SITES.includes(site as (typeof SITES)[number]))
    return `unknown command "${line.trim()}"; commands: ${COMMANDS}`;
  const running = sites.get(site!);
  if (verb === 'start') {
    if (running !== undefined) return `${site} is already running`;
    sites.set(site!, await startSite(site!));
    return `${site} started; it stays closed while the other site holds the lease`;
  }
  if (running === undefined) return `${site} is not running`;
  if (verb === 'kill') {
    if (running.kill === undefined)
      return 'kill needs each site in its own process: run the demo with AMQP_URL set (RabbitMQ)';
    running.kill();
    sites.delete(site!);
    return `${site} killed (SIGKILL); the other site opens when its lease expires, in about 2 s`;
  }
  console.log(`${site} stopping: it drains its connections (R8) and releases the lease if it holds it`);
  stopping.add(site!);
  await running.stop();
  stopping.delete(site!);
  sites.delete(site!);
  return `${site} stopped`;
}
let commands: Promise<void> = Promise.resolve();
const input = createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  commands = commands
    .then(() => command(line))
    .then(
      (said) => {
        if (said !== '') console.log(said);
      },
      (e: Error) => console.log(`command failed: ${e.message}`),
    );
});

let exiting = false;
async function stop(): Promise<void> {
  clearInterval(ticker);
  console.log(
    'stopping: the scheme suspends new traffic, then the bank simulator, both gateway sites (drain and sign-off), the ledger and the scheme simulator',
  );
  // 971 SUSPENDED: no new inbound payments, and the gateway holds new outbound ones (R10).
  await fetch(`${schemeControl}/suspend`, { method: 'POST' });
  const bankReport = banks === undefined ? await bankProcess?.stop() : (await banks.stop(), banks.report());
  input.close();
  await commands;
  // The closed site first, so that the open one does not hand its lease to a site that is stopping.
  const open = (await openSiteNow(ledgerPool))?.holder;
  const running = [...sites.values()].sort((x, y) => Number(x.name === open) - Number(y.name === open));
  for (const site of running) await site.stop();
  await transport?.close();
  await ledgerPool.end();
  await db.stop();
  const schemeReport = await scheme.stop();
  console.log(JSON.stringify({ scheme: schemeReport, bank: bankReport }));
}
// Once, however many signals come: a terminal's Ctrl-C reaches npm and tsx too, and both pass it on.
const once = () => {
  if (exiting) return;
  exiting = true;
  stop().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(`demo: stop failed: ${e.message}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', once);
process.on('SIGTERM', once);
if (values.duration !== undefined) setTimeout(once, Number(values.duration) * 1000);
