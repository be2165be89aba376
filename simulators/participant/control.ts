import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../src/log.js';
import { NotRunning, UnknownParticipant, type ParticipantBanks } from './bank.js';
import { splitEndpoint } from './options.js';

const MAX_BODY = 64 * 1024;

const outboundBody = z.object({ count: z.number().int().min(1).max(100_000), participant: z.string().regex(/^\d{6}$/).optional() }).strict();

type Route = (body: unknown) => unknown;

function routes(banks: ParticipantBanks): Record<string, Route> {
  return {
    'GET /report': () => banks.report(),
    'POST /outbound': (b) => {
      const { count, participant } = outboundBody.parse(b);
      const trns = banks.sendOutbound(count, participant);
      return { sent: trns.length, trns };
    },
    'POST /pause-decisions': () => ({ changed: banks.pauseDecisions(), paused: true }),
    'POST /resume-decisions': () => ({ changed: banks.resumeDecisions(), paused: false }),
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
  if (e instanceof UnknownParticipant) return { status: 404, error: e.message };
  if (e instanceof NotRunning) return { status: 409, error: e.message };
  return { status: 500, error: e instanceof Error ? e.message : String(e) };
}

export interface ControlServer {
  readonly address: string;
  close(): Promise<void>;
}

/** The JSON control endpoint (README "Control endpoint"). */
export async function startControl(banks: ParticipantBanks, endpoint: string, log: Logger): Promise<ControlServer> {
  const table = routes(banks);
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
