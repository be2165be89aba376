/**
 * R7a against the gateway: a payment request the scheme answers 9091 was not taken. The scheme is
 * played by the test over real TCP (a Wire on each accepted connection, answers scripted per
 * request), the participant on the in-process MQ transport, the ledger in PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/log.js';
import { parsePacs002 } from '../../src/participant/iso20022/index.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { fpidOf } from '../../src/scheme/messages.js';
import type { ActionCode } from '../../src/scheme/profile.js';
import { Wire } from '../../src/scheme/wire.js';
import { startTestDatabase, type TestDatabase } from '../ledger/support.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../participant/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const KEY = Buffer.from(MAC_KEY, 'hex');
const Q = participantQueues('040004');
const RETRY_MS = 300;

interface Seen {
  mti: string;
  fpid: string;
  at: number;
}

let db: TestDatabase;
let gateway: Gateway;
let transport: InProcessTransport;
const servers: Server[] = [];
const reports: IncomingMessage[] = [];
/** Payment requests the scheme got, in order, and the answers it gives to the next ones (undefined: none). */
const seen: Seen[] = [];
let script: Array<ActionCode | undefined> = [];

async function dc(): Promise<string> {
  const server = createServer((socket) => {
    new Wire(socket, { id: 'CI', macKey: KEY, clock: systemClock, log: silentLogger, requestTimeoutMs: 10_000, maxInFlight: 100, heartbeatMs: 0 }, {
      onRequest: (m, reply) => {
        if (m.mti === '9804') {
          reply.reply('0000');
          return;
        }
        seen.push({ mti: m.mti, fpid: fpidOf(m.fields), at: Date.now() });
        const code = script.shift();
        if (code !== undefined) reply.reply(code);
      },
      onClose: () => undefined,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  db = await startTestDatabase();
  transport = new InProcessTransport(silentLogger);
  const config = parseGatewayConfig({
    site: 'not-taken-test',
    scheme: { dc1: [await dc()], dc2: [await dc()], macKey: MAC_KEY, connectionsPerDc: 1, requestTimeoutMs: 500 },
    timing: { tOutMs: 5000, retryMs: RETRY_MS },
    participants: [{ id: '040004', name: 'Bank', sortCodes: ['040004'] }],
    database: { url: db.url },
  });
  gateway = await Gateway.start(config, { clock: systemClock, log: silentLogger, transport });
  await transport.consume(Q.fromGateway, async (m) => (reports.push(m), 'commit'), { prefetch: 100, backoutThreshold: 3, backoutQueue: Q.backout });
  await until(() => gateway.status().connections.every((c) => c.state === 'ready'), 10_000, 'signed on');
}, 60_000);

afterAll(async () => {
  await gateway.stop();
  await transport.close();
  for (const s of servers) s.close();
  await db.stop();
});

async function instruct(msgId: string, trn: string): Promise<IncomingMessage> {
  const messageId = newMessageId();
  await transport.put({ queue: Q.toGateway, body: FIXTURE.replace('NWBK20261122093015000042', msgId).replace('TRN00000000000001A', trn), messageId });
  await until(() => reports.some((r) => r.correlationId === messageId), 8000, `the report on ${trn}`);
  return reports.find((r) => r.correlationId === messageId)!;
}

describe('gateway outbound: not taken (R7a)', () => {
  it('submits a 9200 answered 9091 again as a 9200, the same FPID, and reports its outcome', async () => {
    seen.length = 0;
    script = ['9091', '0000'];
    const report = await instruct('MSG-NT1', 'NOTTAKEN0000000001');
    expect(parsePacs002(report.body)).toMatchObject({ ok: true, status: { status: 'ACSC', originalTrn: 'NOTTAKEN0000000001' } });
    expect(seen.map((s) => s.mti)).toEqual(['9200', '9200']);
    expect(seen[1]!.fpid).toBe(seen[0]!.fpid);
    const row = await db.pool.query<{ state: string; outcome: string }>('SELECT state, outcome FROM payments WHERE fpid = $1', [seen[0]!.fpid]);
    expect(row.rows[0]).toEqual({ state: 'reported', outcome: '0000' });
  });

  it('repeats a 9201 answered 9091 as a 9201 after a pause, not at once', async () => {
    seen.length = 0;
    // The 9200 goes unanswered (T_out), its 9201 is not taken, the next 9201 is accepted.
    script = [undefined, '9091', '0000'];
    const report = await instruct('MSG-NT2', 'NOTTAKEN0000000002');
    expect(parsePacs002(report.body)).toMatchObject({ ok: true, status: { status: 'ACSC' } });
    expect(seen.map((s) => s.mti)).toEqual(['9200', '9201', '9201']);
    expect(new Set(seen.map((s) => s.fpid)).size).toBe(1);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(RETRY_MS - 20);
  });
});
