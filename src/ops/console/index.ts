/**
 * The ops console as the daemon starts it: its routes on the site's HTTP server (HTTPS when the
 * config names a certificate), then, once the site is built, the site it acts on, this site's
 * status row in the ledger, and the runner that applies the other site's commands and the
 * participant suspensions.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../base/log.js';
import type { ConsoleConfig } from './config.js';
import { registerConsole, type ConsoleHandle } from './plugin.js';
import { SiteCommandRunner } from './site-commands.js';
import type { ConsoleSite } from './site.js';
import { startStatusWriter } from './status-writer.js';

export interface PreparedConsole {
  /** For `startOpsServer`: the console's routes, and TLS when configured. */
  server: { register: (app: FastifyInstance) => Promise<void>; tls?: { cert: Buffer; key: Buffer } };
  /** The site is built: serve it, write its status row every `statusEveryMs`, take its commands. */
  attach(site: ConsoleSite): void;
  /** A `commands` signal came: look for this site's commands and the suspensions now. */
  signalled(): void;
  /** Stops the status row and the commands (before the ledger closes). */
  stop(): Promise<void>;
}

export async function prepareConsole(
  config: ConsoleConfig,
  deps: { siteName: string; log: Logger },
): Promise<PreparedConsole> {
  const log = deps.log.child({ component: 'console' });
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (config.tls !== undefined) {
    try {
      tls = { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) };
    } catch (e) {
      throw new Error(`the console's TLS certificate or key cannot be read: ${(e as Error).message}`, { cause: e });
    }
  }
  let handle: ConsoleHandle | undefined;
  let stopWriter: (() => Promise<void>) | undefined;
  let commands: SiteCommandRunner | undefined;
  return {
    server: {
      register: async (app) => {
        handle = await registerConsole(app, { config, siteName: deps.siteName, log, secure: tls !== undefined });
      },
      ...(tls === undefined ? {} : { tls }),
    },
    attach(site) {
      handle?.attach(site);
      stopWriter = startStatusWriter(site, config.statusEveryMs, log);
      commands = new SiteCommandRunner(site, config.commandPollMs, log);
      commands.start();
    },
    signalled() {
      commands?.wake();
    },
    async stop() {
      await commands?.stop();
      await stopWriter?.();
    },
  };
}

export { consoleConfigSchema } from './config.js';
export type { ConsoleSite } from './site.js';
