/**
 * The ops console on the site's Fastify server: sessions in HttpOnly SameSite=Strict cookies
 * (@fastify/session, a bounded store) with idle and absolute timeouts, CSRF on the login and on
 * every action (@fastify/csrf-protection),
 * failed logins rate-limited (@fastify/rate-limit) and audited, a bearer token per account for
 * scripts. Every action and every refusal of one is written to the ledger's audit log.
 */
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySession from '@fastify/session';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../base/log.js';
import { audit } from '../../ledger/console.js';
import type { ConsoleConfig, OperatorAccount } from './config.js';
import { CONSOLE_PREFIX, POLL_HEADER, type ConsoleContext } from './context.js';
import { registerConsoleRoutes } from './routes.js';
import { hashSecret, tokenMatches, verifySecret } from './secrets.js';
import { BoundedSessionStore } from './session-store.js';
import type { ConsoleSite } from './site.js';

declare module 'fastify' {
  interface Session {
    operator?: string;
    createdAtMs?: number;
    lastSeenAtMs?: number;
  }
  interface FastifyRequest {
    /** Who asks, once authenticated. */
    operator?: OperatorAccount;
    /** How: a session cookie (CSRF applies) or a bearer token (a script's; no cookie, no CSRF). */
    via?: 'session' | 'token';
  }
  interface FastifyContextConfig {
    /** The audit log's name for what the route does. */
    action?: string;
  }
}

export interface ConsoleDeps {
  config: ConsoleConfig;
  /** This site's name, known before the site is built (the audit rows say where). */
  siteName: string;
  log: Logger;
  /** Served over HTTPS: cookies are then `Secure`. */
  secure: boolean;
}

export interface ConsoleHandle {
  attach(site: ConsoleSite): void;
}

/** The login form's CSRF secret, signed, sent back to the login route only. */
const LOGIN_CSRF_COOKIE = 'fps_console_login';

const loginBody = z.object({ name: z.string().min(1).max(64), secret: z.string().min(1).max(1024) });

/** Registers the console under `/console` on `app` (before it listens); answers 503 until attached. */
export async function registerConsole(app: FastifyInstance, deps: ConsoleDeps): Promise<ConsoleHandle> {
  const { config, log } = deps;
  const accounts = new Map(config.operators.map((o) => [o.name, o]));
  let site: ConsoleSite | undefined;
  let csrf: FastifyInstance['csrfProtection'] | undefined;
  // A failed login against an unknown name costs the same scrypt as a known one.
  const decoy = await hashSecret(randomBytes(16).toString('hex'));

  const store = new BoundedSessionStore(config, log, (dropped, held) => {
    const s = site;
    if (s === undefined) return;
    audit(s.pool, {
      site: deps.siteName,
      operator: dropped.operator,
      address: undefined,
      action: 'session dropped',
      target: dropped.operator,
      result: 'ok',
      detail: `the console holds ${config.maxSessions} sessions at most (${held} others held): the least recently used was dropped for a new login`,
    }).catch((e: Error) => log.error({ err: e.message }, 'console audit row not written'));
  });

  const ctx: ConsoleContext = {
    config,
    siteName: deps.siteName,
    log,
    site: () => site,
    sessions: () => ({ held: store.size, max: store.max }),
    async audit(req, action, result, target, detail) {
      const s = site;
      if (s === undefined) return undefined;
      try {
        return await audit(s.pool, {
          site: deps.siteName,
          operator: req.operator?.name ?? req.session?.operator,
          address: req.ip,
          action,
          target,
          result,
          detail,
        });
      } catch (e) {
        log.error({ action, result, err: (e as Error).message }, 'console audit row not written');
        return undefined;
      }
    },
    async authenticate(req, reply) {
      if (site === undefined) return void (await reply.code(503).send({ error: 'the site is starting' }));
      const action = req.routeOptions.config.action;
      const header = req.headers.authorization;
      if (header !== undefined) {
        const token = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(header)?.[1];
        const account =
          token === undefined
            ? undefined
            : config.operators.find((o) => o.tokenHash !== undefined && tokenMatches(token, o.tokenHash));
        if (account === undefined) {
          await ctx.audit(req, action ?? 'token', 'refused', undefined, 'unknown bearer token');
          return void (await reply.code(401).send({ error: 'unknown bearer token' }));
        }
        req.operator = account;
        req.via = 'token';
        return;
      }
      const s = req.session;
      const account = s.operator === undefined ? undefined : accounts.get(s.operator);
      const now = Date.now();
      let why: string | undefined;
      if (account === undefined) why = 'not logged in';
      else if (now - (s.createdAtMs ?? 0) > config.sessionAbsoluteMs) why = 'the session has ended: log in again';
      else if (now - (s.lastSeenAtMs ?? 0) > config.sessionIdleMs) why = 'the session was idle too long: log in again';
      if (why !== undefined || account === undefined) {
        if (account !== undefined) await s.destroy();
        if (action !== undefined) await ctx.audit(req, action, 'refused', undefined, why);
        return void (await reply.code(401).send({ error: why }));
      }
      if (req.headers[POLL_HEADER] === undefined) s.lastSeenAtMs = now;
      req.operator = account;
      req.via = 'session';
    },
    async requireOperator(req, reply) {
      if (req.operator?.role === 'operator') return;
      const action = req.routeOptions.config.action ?? req.url;
      await ctx.audit(req, action, 'refused', undefined, `role ${req.operator?.role ?? 'none'} may not act`);
      await reply.code(403).send({ error: 'this needs the operator role' });
    },
    csrfIfSession(req, reply, done) {
      if (req.via === 'session') csrf!(req, reply, done);
      else done();
    },
  };

  await app.register(async (c) => {
    // Its secret signs the login form's CSRF cookie.
    await c.register(fastifyCookie, { secret: randomBytes(32).toString('hex') });
    await c.register(fastifySession, {
      // Sessions live in this process's memory: a session is this site's, as its cookie is.
      secret: randomBytes(32).toString('hex'),
      store,
      cookieName: 'fps_console',
      saveUninitialized: false,
      // Saved when changed only: a request with an unknown cookie must not add a session to the store.
      rolling: false,
      cookie: {
        path: CONSOLE_PREFIX,
        httpOnly: true,
        sameSite: 'strict',
        secure: deps.secure,
        maxAge: config.sessionAbsoluteMs,
      },
    });
    c.addHook('onClose', async () => store.close());
    await c.register(fastifyRateLimit, { global: false });

    c.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
      const status = err.statusCode ?? 500;
      if (status === 403 && err.code?.startsWith('FST_CSRF') === true) {
        await ctx.audit(
          req,
          req.routeOptions.config.action ?? req.url,
          'refused',
          undefined,
          'CSRF token missing or invalid',
        );
        return reply.code(403).send({ error: 'CSRF token missing or invalid: reload the page' });
      }
      if (status === 429) {
        await ctx.audit(req, 'login', 'refused', undefined, 'rate limited: too many attempts from this address');
        return reply.code(429).send({ error: 'too many login attempts: wait a minute' });
      }
      if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
      log.error({ url: req.url, err: err.message }, 'console request failed');
      return reply.code(500).send({ error: 'internal error' });
    });

    // The login form has no session to keep a CSRF secret in, and must not make one (the store is
    // bounded): its secret is in a signed cookie of its own (double submit), under its own CSRF plugin.
    await c.register(async (form) => {
      await form.register(fastifyCsrf, {
        sessionPlugin: '@fastify/cookie',
        cookieKey: LOGIN_CSRF_COOKIE,
        cookieOpts: {
          path: `${CONSOLE_PREFIX}/api/login`,
          httpOnly: true,
          sameSite: 'strict',
          secure: deps.secure,
          signed: true,
        },
      });
      form.get(`${CONSOLE_PREFIX}/api/login`, async (_req, reply) => ({ csrfToken: reply.generateCsrf() }));
      form.post(
        `${CONSOLE_PREFIX}/api/login`,
        {
          config: {
            action: 'login',
            rateLimit: {
              max: config.loginAttemptsPerMinute,
              timeWindow: 60_000,
            },
          },
          preHandler: (req, reply, done) => form.csrfProtection(req, reply, done),
        },
        async (req, reply) => {
          if (site === undefined) return reply.code(503).send({ error: 'the site is starting' });
          const body = loginBody.safeParse(req.body);
          if (!body.success) return reply.code(400).send({ error: 'give name and secret' });
          const account = accounts.get(body.data.name);
          const ok = await verifySecret(body.data.secret, account?.secretHash ?? decoy);
          if (!ok || account === undefined) {
            req.operator = undefined;
            await ctx.audit(
              req,
              'login',
              'refused',
              body.data.name.replace(/[^\w.@:+-]/g, '?'),
              'wrong name or secret',
            );
            return reply.code(401).send({ error: 'wrong name or secret' });
          }
          // A new session id at login: one planted before it is worth nothing.
          await req.session.regenerate();
          const now = Date.now();
          req.session.operator = account.name;
          req.session.createdAtMs = now;
          req.session.lastSeenAtMs = now;
          req.operator = account;
          await ctx.audit(req, 'login', 'ok');
          // The session's CSRF token comes from GET session (the session's own CSRF plugin).
          return whoami(account, ctx);
        },
      );
    });

    await c.register(async (signedIn) => {
      await signedIn.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
      csrf = signedIn.csrfProtection.bind(signedIn);
      signedIn.get(`${CONSOLE_PREFIX}/api/session`, { preHandler: ctx.authenticate }, async (req, reply) => ({
        ...whoami(req.operator!, ctx),
        csrfToken: req.via === 'session' ? reply.generateCsrf() : null,
      }));
      signedIn.post(
        `${CONSOLE_PREFIX}/api/logout`,
        { config: { action: 'logout' }, preHandler: [ctx.authenticate, ctx.csrfIfSession] },
        async (req) => {
          await ctx.audit(req, 'logout', 'ok');
          if (req.via === 'session') await req.session.destroy();
          return { ok: true };
        },
      );
      registerConsoleRoutes(signedIn, ctx);
    });
  });

  return {
    attach: (s) => {
      site = s;
    },
  };
}

function whoami(a: OperatorAccount, ctx: ConsoleContext) {
  return {
    operator: a.name,
    role: a.role,
    personalData: a.personalData,
    site: ctx.siteName,
    fourEyes: ctx.config.fourEyes,
    proposalTtlMs: ctx.config.proposalTtlMs,
  };
}
