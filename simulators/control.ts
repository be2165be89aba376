import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../src/base/log.js';
import { splitEndpoint } from '../src/base/config.js';

const MAX_BODY = 64 * 1024;

/** One route of a simulator's control endpoint: the parsed JSON body in, a JSON answer out. */
export type Route = (body: unknown) => unknown;

const rateBody = z.object({ perSecond: z.number().min(0).max(100_000) }).strict();

/** `POST /rate` of either simulator: `{"perSecond": R}` hands R to `setRate` and is echoed back. */
export function rateRoute(setRate: (perSecond: number) => void): Route {
  return (body) => {
    const { perSecond } = rateBody.parse(body);
    setRate(perSecond);
    return { perSecond };
  };
}

class BadRequest extends Error {}

export interface ControlServer {
  readonly address: string;
  close(): Promise<void>;
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new BadRequest(`body over ${MAX_BODY} bytes`));
      else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new BadRequest('body is not JSON'));
      }
    });
  });
}

/** Says which errors of the simulator are the caller's (4xx) rather than its own failure (500). */
export type ErrorStatus = (e: unknown) => number | undefined;

function statusOf(e: unknown, callers: ErrorStatus): { status: number; error: string } {
  if (e instanceof z.ZodError) return { status: 400, error: z.prettifyError(e) };
  if (e instanceof BadRequest) return { status: 400, error: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { status: callers(e) ?? 500, error: message };
}

/**
 * A simulator's JSON control endpoint, `METHOD /path` to route: what tests and demos use for
 * deterministic scenarios. 400 for a bad body, 404 for an unknown route.
 */
export async function startControlServer(
  table: Record<string, Route>,
  endpoint: string,
  log: Logger,
  callers: ErrorStatus,
): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
    };
    const route = table[`${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`];
    if (route === undefined) {
      send(404, { error: `no route ${req.method} ${req.url}`, routes: Object.keys(table) });
      return;
    }
    readJson(req)
      .then((body) => send(200, route(body)))
      .catch((e: unknown) => {
        const { status, error } = statusOf(e, callers);
        if (status === 500) log.error({ err: e }, 'control request failed');
        send(status, { error });
      });
  });
  const at = splitEndpoint(endpoint);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
