/**
 * The gateway daemon: `node dist/src/daemon/main.js --config gateway.json` (`npm run gateway`).
 * Logs are pino JSON on stdout. SIGTERM or SIGINT drains (R8), stops the embedded database if any
 * and exits 0; a second signal, a second or more later, stops at once.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../base/clock.js';
import { createLogger } from '../base/log.js';
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
process.stdout.write(`${JSON.stringify({ ready: true, site: gateway.status().site, http: gateway.httpUrl })}\n`);

/**
 * A terminal's Ctrl-C reaches every process in its foreground group, so under `npm run gateway`
 * the gateway gets it from the terminal and again from npm, which passes it on: signals this close
 * to the first are that one signal.
 */
const SAME_SIGNAL_MS = 1000;
let stoppingSince: number | undefined;
const stop = (signal: string) => {
  if (stoppingSince !== undefined) {
    if (systemClock.now() - stoppingSince < SAME_SIGNAL_MS) return;
    log.warn({ signal }, 'second signal: stopping at once');
    process.exit(1);
  }
  stoppingSince = systemClock.now();
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
