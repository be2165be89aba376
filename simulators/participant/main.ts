/**
 * Command line for the participant-bank simulator (README.md). Prints one ready line and, on
 * SIGINT, SIGTERM or after --duration (and the drain that follows), one report line to stdout;
 * logs go to stderr.
 */
import { z } from 'zod';
import { systemClock } from '../../src/base/clock.js';
import { readCommandLine, stopOnSignalOrDuration, type OptionTable } from '../cli.js';
import { createLogger } from '../../src/base/log.js';
import { createTransport, type MqTransport } from '../../src/participant/mq/index.js';
import { ParticipantBanks } from './bank.js';
import { startControl, type ControlServer } from './control.js';
import { DEFAULT_AMQP_URL, cliSchema } from './options.js';
import { seededRandom } from './random.js';

/** Every option: its flag, the setting it feeds, and how its text is read. */
const OPTIONS = {
  mq: { flag: 'mq', read: 'text' },
  participants: { flag: 'participant', read: 'repeat' },
  latency: { flag: 'latency-ms', read: 'text' },
  lateShare: { flag: 'late-share', read: 'number' },
  lateMs: { flag: 'late-ms', read: 'number' },
  rejectShare: { flag: 'reject-share', read: 'number' },
  returnShare: { flag: 'return-share', read: 'number' },
  outboundRate: { flag: 'outbound-rate', read: 'number' },
  beneficiarySortCodes: { flag: 'beneficiary-sort-codes', read: 'list' },
  badAccountShare: { flag: 'bad-account-share', read: 'number' },
  drainMs: { flag: 'drain-ms', read: 'number' },
  durationSec: { flag: 'duration', read: 'number' },
  control: { flag: 'control', read: 'text' },
  seed: { flag: 'seed', read: 'number' },
  timings: { flag: 'timings', read: 'number' },
  validate: { flag: 'validate', read: 'text' },
} as const satisfies OptionTable;

const USAGE = `usage: npm run sim:participant -- --participant ID:SORTCODE[,SORTCODE...] [options]
  --mq URL|JSON (default $AMQP_URL or ${DEFAULT_AMQP_URL})   --participant may be repeated
  inbound:  --latency-ms MIN-MAX  --late-share P  --late-ms MS  --reject-share P  --return-share P
  outbound: --outbound-rate N/s  --beneficiary-sort-codes A,B  --bad-account-share P
  process:  --duration S  --drain-ms MS  --control HOST:PORT  --seed N  --timings N  --validate on|off
  see simulators/participant/README.md`;

function readOptions(argv: string[]): z.output<typeof cliSchema> {
  return readCommandLine(argv, OPTIONS, cliSchema, USAGE, 'participant simulator', { participants: [] });
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  // Not pino.destination(2): it retries a write to a closed stderr for ever, and a simulator
  // whose reader went away must still stop. Lost output (EPIPE) is ignored for the same reason.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const log = createLogger('participant-sim', undefined, process.stderr);
  const mq = options.mq ?? { kind: 'amqp' as const, url: process.env.AMQP_URL ?? DEFAULT_AMQP_URL };
  const seed = options.seed ?? Math.floor(Math.random() * 0xffffffff);

  let transport: MqTransport;
  try {
    transport = await createTransport(mq, log);
  } catch (e) {
    console.error(`participant simulator: cannot connect to MQ: ${(e as Error).message}`);
    process.exit(1);
  }
  const banks = new ParticipantBanks(options, { transport, clock: systemClock, log, random: seededRandom(seed) });
  let control: ControlServer | undefined;
  try {
    await banks.start();
    if (options.control !== undefined) control = await startControl(banks, options.control, log);
  } catch (e) {
    console.error(`participant simulator: cannot start: ${(e as Error).message}`);
    await banks.stop(0).catch(() => undefined);
    await transport.close().catch(() => undefined);
    process.exit(1);
  }
  const ready = {
    ready: true,
    participants: banks.participantIds,
    queues: Object.fromEntries(banks.participantIds.map((id) => [id, banks.queues(id)])),
    mq: transport.name,
    control: control?.address ?? null,
    seed,
  };
  log.info(ready, 'participant simulator running');
  console.log(JSON.stringify(ready));

  stopOnSignalOrDuration(options.durationSec, systemClock, async (why) => {
    log.info({ why, drainMs: options.drainMs }, 'participant simulator stopping; draining outstanding reports');
    try {
      await banks.stop();
    } catch (e) {
      log.error({ err: e }, 'error while stopping');
    }
    await control?.close();
    await transport.close().catch(() => undefined);
    process.stdout.write(JSON.stringify(banks.report()) + '\n', () => process.exit(0));
  });
}

void main();
