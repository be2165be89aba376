import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../src/log.js';
import { SessionUnavailable, type Central } from './central.js';
import { splitEndpoint } from './options.js';

const MAX_BODY = 64 * 1024;

const inboundBody = z.object({ count: z.number().int().min(1).max(100_000), session: z.string().optional() });
const dropBody = z.object({ session: z.string().optional() });
const muteBody = z.object({ session: z.string() });

type Route = (body: unknown) => unknown;

function routes(central: Central): Record<string, Route> {
  return {
    'GET /report': () => central.report(),
    'GET /sessions': () => central.sessions(),
    'POST /inbound': (b) => {
      const { count, session } = inboundBody.parse(b);
      const fpids = central.sendInbound(count, session);
      return { sent: fpids.length, fpids };
    },
    'POST /drop': (b) => ({ dropped: central.drop(dropBody.parse(b).session) ?? null }),
    'POST /mute': (b) => {
      const { session } = muteBody.parse(b);
      central.mute(session);
      return { muted: session };
    },
    'POST /suspend': () => ({ changed: central.suspend() }),
    'POST /resume': () => ({ changed: central.resume() }),
  };
}

class BadRequest extends Error {}

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

function statusOf(e: unknown): { status: number; error: string } {
  if (e instanceof z.ZodError) return { status: 400, error: z.prettifyError(e) };
  if (e instanceof BadRequest) return { status: 400, error: e.message };
  if (e instanceof SessionUnavailable) return { status: 409, error: e.message };
  return { status: 500, error: e instanceof Error ? e.message : String(e) };
}

export interface ControlServer {
  readonly address: string;
  close(): Promise<void>;
}

/** The JSON control endpoint (README "Control endpoint"): what tests use for deterministic scenarios. */
export async function startControl(central: Central, endpoint: string, log: Logger): Promise<ControlServer> {
  const table = routes(central);
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
        const { status, error } = statusOf(e);
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
