/**
 * Command line for the scheme simulator (README.md). Prints one ready line and, on SIGINT,
 * SIGTERM or after --duration, one report line to stdout; logs go to stderr.
 */
import { z } from 'zod';
import { systemClock } from '../../src/base/clock.js';
import { readCommandLine, stopOnSignalOrDuration, type OptionTable } from '../cli.js';
import { createLogger } from '../../src/base/log.js';
import { Central } from './central.js';
import { startControl, type ControlServer } from './control.js';
import { endpointSchema } from '../../src/base/config.js';
import { centralSettingsSchema } from './options.js';

/** Every option: its flag, the setting it feeds, and how its text is read. */
const OPTIONS = {
  dc1: { flag: 'dc1', read: 'list' },
  dc2: { flag: 'dc2', read: 'list' },
  macKey: { flag: 'mac-key', read: 'text' },
  tInMs: { flag: 't-in', read: 'number' },
  tOutMs: { flag: 't-out', read: 'number' },
  heartbeatMs: { flag: 'heartbeat', read: 'number' },
  reversalRepeatMs: { flag: 'reversal-repeat-ms', read: 'number' },
  inboundRate: { flag: 'inbound-rate', read: 'number' },
  sortCodes: { flag: 'sort-codes', read: 'list' },
  answerDelayMs: { flag: 'answer-delay-ms', read: 'number' },
  corruptMacRate: { flag: 'corrupt-mac-rate', read: 'number' },
  dropEverySec: { flag: 'drop-every', read: 'number' },
  suspendEverySec: { flag: 'suspend-every', read: 'number' },
  suspendForSec: { flag: 'suspend-for', read: 'number' },
  control: { flag: 'control', read: 'text' },
  timings: { flag: 'timings', read: 'number' },
  durationSec: { flag: 'duration', read: 'number' },
} as const satisfies OptionTable;

const cliSchema = centralSettingsSchema.and(
  z.object({ control: endpointSchema.optional(), durationSec: z.number().positive().optional() }),
);

const USAGE = `usage: npm run sim:scheme -- --dc1 HOST:PORT --dc2 HOST:PORT --mac-key HEX [options]
  times in milliseconds: --t-in --t-out --heartbeat --reversal-repeat-ms --answer-delay-ms
  periods in seconds:    --duration --drop-every --suspend-every --suspend-for
  --inbound-rate N/s  --sort-codes A,B  --corrupt-mac-rate P  --control HOST:PORT  --timings N
  see simulators/scheme/README.md`;

function readOptions(argv: string[]): z.output<typeof cliSchema> {
  return readCommandLine(argv, OPTIONS, cliSchema, USAGE, 'scheme simulator');
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  // Not pino.destination(2): it retries a write to a closed stderr for ever, and a simulator
  // whose reader went away must still stop. Lost output (EPIPE) is ignored for the same reason.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const log = createLogger('scheme-sim', undefined, process.stderr);
  const central = new Central(options, { log });
  let control: ControlServer | undefined;
  try {
    await central.start();
    if (options.control !== undefined) control = await startControl(central, options.control, log);
  } catch (e) {
    console.error(`scheme simulator: cannot listen: ${(e as Error).message}`);
    await central.stop();
    process.exit(1);
  }
  const joined = (dc: string): string | null =>
    central
      .addresses()
      .filter((a) => a.dc === dc)
      .map((a) => a.address)
      .join(',') || null;
  const ready = { ready: true, dc1: joined('DC1'), dc2: joined('DC2'), control: control?.address ?? null };
  log.info(ready, 'scheme simulator listening');
  console.log(JSON.stringify(ready));

  stopOnSignalOrDuration(options.durationSec, systemClock, async (why) => {
    log.info({ why }, 'scheme simulator stopping');
    await central.stop();
    await control?.close();
    process.stdout.write(JSON.stringify(central.report()) + '\n', () => process.exit(0));
  });
}

void main();
