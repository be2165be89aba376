import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Logger } from '../../base/log.js';
import type { AuditResult } from '../../ledger/console.js';
import type { ConsoleConfig } from './config.js';
import type { ConsoleSite } from './site.js';

/** Where the console lives on the site's HTTP server. */
export const CONSOLE_PREFIX = '/console';
/** A poll (the page's refresh) does not count as activity for the idle timeout. */
export const POLL_HEADER = 'x-console-poll';

/** What the routes share: the running site once attached, the accounts, the audit. */
export interface ConsoleContext {
  readonly config: ConsoleConfig;
  readonly siteName: string;
  readonly log: Logger;
  site(): ConsoleSite | undefined;
  /** This console's sessions: how many it holds, and its bound. */
  sessions(): { held: number; max: number };
  /**
   * Writes one audit row for `req` and resolves with its id; a failure to write is logged, never
   * thrown (undefined then).
   */
  audit(
    req: FastifyRequest,
    action: string,
    result: AuditResult,
    target?: string,
    detail?: string,
  ): Promise<number | undefined>;
  /** Authenticated, with a session or token; answers 401 (or 503 while starting) otherwise. */
  authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** The `operator` role, else 403, audited. */
  requireOperator(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** CSRF for a session; a bearer token carries no ambient authority and needs none. */
  csrfIfSession(req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
}
