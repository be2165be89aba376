/**
 * npm start: the whole gateway on this machine. The scheme simulator runs as its own process; the
 * gateway (one site, embedded PostgreSQL) and the bank simulator run here. With AMQP_URL set the
 * participant link is RabbitMQ and the bank simulator its own process too; otherwise both share an
 * in-process MQ broker (not durable, for the demo only). Ctrl-C stops everything in order. Each run
 * starts on an empty ledger unless `--keep-ledger` is given.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/base/clock.js';
import { parseGatewayConfig } from '../src/daemon/config.js';
import { Gateway } from '../src/daemon/gateway.js';
import { PROJECT_ROOT } from '../src/ledger/database.js';
import { removeEmbedded } from '../src/ledger/embedded.js';
import { createLogger } from '../src/base/log.js';
import { InProcessTransport } from '../src/participant/mq/in-process.js';
import { launchSimulator } from '../simulators/launch.js';
import { ParticipantBanks } from '../simulators/participant/bank.js';
import { bankSettingsSchema } from '../simulators/participant/options.js';
import { seededRandom } from '../simulators/participant/random.js';
import type { Report } from '../simulators/scheme/report.js';

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
const config = parseGatewayConfig({
  site: 'demo',
  scheme: { dc1: [scheme.ready.dc1], dc2: [scheme.ready.dc2], macKey: MAC_KEY },
  participants: [{ id: BANK.id, name: 'Demo Bank', sortCodes: BANK.sortCodes }],
  mq: amqpUrl === undefined ? { kind: 'in-process' } : { kind: 'amqp', url: amqpUrl },
  database: { dataDir: LEDGER_DIR },
});
const transport = amqpUrl === undefined ? new InProcessTransport(log) : undefined;
const gateway = await Gateway.start(config, {
  clock: systemClock,
  log,
  ...(transport === undefined ? {} : { transport }),
});

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
  gateway            site "demo", ledger in embedded PostgreSQL under var/pg/demo (${values['keep-ledger'] ? 'kept from the last run' : 'new: --keep-ledger keeps it'}), 2 connections to each DC
  participant link   ${amqpUrl === undefined ? 'in-process MQ broker (not durable: demo only)' : `RabbitMQ at ${amqpUrl}`}
  bank simulator     participant ${BANK.id}, sort codes ${BANK.sortCodes.join(', ')}${bankProcess === undefined ? ' (in this process)' : `; its report: curl http://${String(bankProcess.ready.control)}/report`}
  payment events     ${gateway.status().events.on ? `relayed to Kafka (KAFKA_BROKERS=${process.env.KAFKA_BROKERS ?? ''}), topics payments.inbound and payments.outbound` : 'kept in the outbox: KAFKA_BROKERS=127.0.0.1:9092 npm start relays them (scripts/start-kafka.sh)'}
  logs               LOG_LEVEL=info npm start for the gateway's pino JSON logs`);

const schemeControl = `http://${String(scheme.ready.control)}`;
const ticker = setInterval(() => {
  void (async () => {
    const s = gateway.status();
    const r = (await (await fetch(`${schemeControl}/report`)).json()) as Report;
    const ready = s.connections.filter((c) => c.state === 'ready').length;
    const lag = await gateway.eventsLag();
    const events = s.events.on
      ? `events relayed to Kafka ${s.events.relayed}, outbox lag ${lag.rows} (oldest ${lag.oldestMs} ms)`
      : `events relay off (KAFKA_BROKERS unset), ${lag.rows} kept in the outbox`;
    console.log(
      `connections ready ${ready}/${s.connections.length} | in flight: inbound ${s.inFlight.inbound}, outbound ${s.inFlight.outbound} | ` +
        `scheme saw inbound ${r.inbound.sent} sent, ${r.inbound.answered_in_time} answered in time (${r.inbound.accepted} accepted), ${r.inbound.reversed} reversed; ` +
        `outbound ${r.outbound.received} received, ${r.outbound.accepted} accepted | wrong-connection answers ${r.wrong_connection_responses} | ${events}`,
    );
  })().catch((e: Error) => log.warn({ err: e.message }, 'status line failed'));
}, 5000);

let stopping = false;
async function stop(): Promise<void> {
  clearInterval(ticker);
  console.log(
    'stopping: the scheme suspends new traffic, then the bank simulator, the gateway (drain and sign-off) and the scheme simulator',
  );
  // 971 SUSPENDED: no new inbound payments, and the gateway holds new outbound ones (R10).
  await fetch(`${schemeControl}/suspend`, { method: 'POST' });
  const bankReport = banks === undefined ? await bankProcess?.stop() : (await banks.stop(), banks.report());
  await gateway.stop();
  const schemeReport = await scheme.stop();
  console.log(JSON.stringify({ scheme: schemeReport, bank: bankReport }));
}
// Once, however many signals come: a terminal's Ctrl-C reaches npm and tsx too, and both pass it on.
const once = () => {
  if (stopping) return;
  stopping = true;
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
