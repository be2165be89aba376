/**
 * The site's HTTP server (Fastify): `/metrics` for Prometheus, `/healthz` and `/readyz` for a load
 * balancer or Kubernetes, and the ops console (`src/ops/console`, registered through `register`,
 * authenticated). Loopback unless told otherwise: the probes and metrics are not authenticated.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Logger } from '../base/log.js';
import { pingDatabase } from '../ledger/observed.js';
import type { GatewayMetrics } from './metrics.js';
import { readiness } from './readiness.js';
import type { SiteStatus } from './site.js';
import type { HttpConfig } from './config.js';

/** A readiness probe waits this long at most for the database. */
export const READY_DB_TIMEOUT_MS = 1_000;

export interface OpsServerDeps {
  metrics: GatewayMetrics;
  log: Logger;
  /** More routes on the same server before it listens (the ops console, `src/ops/console`). */
  register?: (app: FastifyInstance) => Promise<void>;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
}

/** The running site the probes read; attached once it is built (until then `/readyz` says starting). */
export interface ProbedSite {
  status(): SiteStatus;
  pool: pg.Pool;
}

export interface OpsServer {
  /** `http://host:port`, with the port bound (a port of 0 in the config picks a free one). */
  readonly url: string;
  attach(site: ProbedSite): void;
  /** From now on `/readyz` says not ready: the site drains. */
  stopping(): void;
  close(): Promise<void>;
}

async function database(pool: pg.Pool): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pingDatabase(pool),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_DB_TIMEOUT_MS} ms`)), READY_DB_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function startOpsServer(config: HttpConfig, deps: OpsServerDeps): Promise<OpsServer> {
  const started = performance.now();
  let stopping = false;
  let site: ProbedSite | undefined;
  // Scrapes and probes come every few seconds: requests are not logged, errors are.
  const app = (
    deps.tls === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https: deps.tls })
  ) as FastifyInstance;
  app.setErrorHandler((err: Error, _req, reply) => {
    deps.log.error({ err: err.message }, 'ops HTTP request failed');
    void reply.code(500).send({ error: 'internal error' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.metrics();
    return reply.type(deps.metrics.contentType).send(body);
  });
  app.get('/healthz', async () => ({
    alive: true,
    site: site?.status().site ?? null,
    uptimeSeconds: Math.round((performance.now() - started) / 1000),
  }));
  app.get('/readyz', async (_req, reply) => {
    if (site === undefined) return reply.code(503).send({ ready: false, reasons: ['the site is starting'] });
    const r = readiness(site.status(), await database(site.pool), stopping);
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  await deps.register?.(app);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    await app.close();
    throw new Error(`the ops HTTP server cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `${deps.tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    attach: (s) => {
      site = s;
    },
    stopping: () => {
      stopping = true;
    },
    close: () => app.close(),
  };
}
