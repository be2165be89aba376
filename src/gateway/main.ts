/**
 * The gateway daemon: `tsx src/gateway/main.ts --config gateway.json`. Logs are pino JSON on stdout.
 * SIGTERM or SIGINT drains (R8) and stops; a second signal stops at once.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { createLogger } from '../log.js';
import { loadGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';

const log = createLogger('gateway');
const { values } = parseArgs({ options: { config: { type: 'string', default: process.env.GATEWAY_CONFIG } } });
if (values.config === undefined) {
  console.error('usage: gateway --config <file.json> (or GATEWAY_CONFIG)');
  process.exit(2);
}

let gateway: Gateway;
try {
  gateway = await Gateway.start(await loadGatewayConfig(values.config), { clock: systemClock, log });
} catch (e) {
  log.fatal({ err: (e as Error).message }, 'gateway did not start');
  process.exit(1);
}

// One line for scripts and tests that start the gateway as a process, apart from the logs.
process.stdout.write(`${JSON.stringify({ ready: true, site: gateway.status().site })}\n`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'stopping: draining the scheme link and the participants’ queues');
  gateway.stop().then(
    () => {
      process.stdout.write(`${JSON.stringify({ stopped: true, site: gateway.status().site })}\n`);
      process.exit(0);
    },
    (e: Error) => {
      log.error({ err: e.message }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
