import { createServer, type AddressInfo } from 'node:net';
import { systemClock } from '../../src/base/clock.js';
import { parseGatewayConfig, type GatewayConfig } from '../../src/daemon/config.js';
import { Gateway } from '../../src/daemon/gateway.js';
import { silentLogger, type Logger } from '../../src/base/log.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { participantQueues, type IncomingMessage, type MqTransport } from '../../src/participant/mq/index.js';
import { Wire, type WireHandler } from '../../src/scheme/wire.js';
import { startTestDatabase, type TestDatabase } from './ledger.js';
import { MAC_KEY } from './scheme-sim.js';
import { until } from './tcp.js';

/** One DC of a scheme played by a test: a Wire on every connection accepted, pushed to `wires`. */
export interface SchemePeer {
  address: string;
  close(): void;
}

export async function schemePeer(wires: Wire[], handler: Omit<WireHandler, 'onClose'>): Promise<SchemePeer> {
  const key = Buffer.from(MAC_KEY, 'hex');
  const server = createServer((socket) => {
    const id = `CI#${wires.length + 1}`;
    wires.push(
      new Wire(
        socket,
        {
          id,
          macKey: key,
          clock: systemClock,
          log: silentLogger,
          requestTimeoutMs: 10_000,
          maxInFlight: 100,
          heartbeatMs: 0,
        },
        { ...handler, onClose: () => undefined },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** The gateway in this process, once every connection to the scheme is signed on. */
export async function startSignedOn(
  config: GatewayConfig,
  transport?: MqTransport,
  log: Logger = silentLogger,
): Promise<Gateway> {
  const gateway = await Gateway.start(config, {
    clock: systemClock,
    log,
    ...(transport === undefined ? {} : { transport }),
  });
  await until(() => gateway.status().connections.every((c) => c.state === 'ready'), 10_000, 'signed on');
  return gateway;
}

/** A gateway in this process on the in-process MQ transport and a test database of its own. */
export interface GatewayHere {
  db: TestDatabase;
  gateway: Gateway;
  transport: InProcessTransport;
  /** Everything the gateway put on the participant's FROM.GATEWAY queue, in order. */
  fromGateway: IncomingMessage[];
  stop(): Promise<void>;
}

export interface GatewayHereSettings {
  site: string;
  /** Scheme link settings; the MAC key is added. */
  scheme: Record<string, unknown>;
  participant: { id: string; sortCodes: string[]; maxAmountPence?: number };
  /** Further participants on the same gateway; their queues are the test's to read. */
  others?: Array<{ id: string; sortCodes: string[] }>;
  timing?: Record<string, number>;
  /** A database prepared by the test (it then stops with the gateway); a fresh one by default. */
  db?: TestDatabase;
  /** A transport prepared by the test (queues declared before the start, as a broker's would be). */
  transport?: InProcessTransport;
  log?: Logger;
  /** The gateway's `tracing` settings (src/daemon/tracing.ts); off by default. */
  tracing?: Record<string, unknown>;
  /** Admission control's settings (src/payments/admission.ts); the defaults otherwise. */
  admission?: Record<string, number>;
}

export async function gatewayHere(s: GatewayHereSettings): Promise<GatewayHere> {
  const db = s.db ?? (await startTestDatabase());
  const transport = s.transport ?? new InProcessTransport(silentLogger);
  const config = parseGatewayConfig({
    site: s.site,
    scheme: { macKey: MAC_KEY, ...s.scheme },
    participants: [
      { name: 'Bank', ...s.participant },
      ...(s.others ?? []).map((o) => ({ name: `Bank ${o.id}`, ...o })),
    ],
    database: { url: db.url },
    // A free port: several gateways run at once in the tests.
    http: { port: 0 },
    ...(s.timing === undefined ? {} : { timing: s.timing }),
    ...(s.tracing === undefined ? {} : { tracing: s.tracing }),
    ...(s.admission === undefined ? {} : { admission: s.admission }),
  });
  const gateway = await startSignedOn(config, transport, s.log);
  const fromGateway: IncomingMessage[] = [];
  const q = participantQueues(s.participant.id);
  await transport.consume(q.fromGateway, async (m) => (fromGateway.push(m), 'commit'), {
    prefetch: 100,
    backoutThreshold: 3,
    backoutQueue: q.backout,
  });
  return {
    db,
    gateway,
    transport,
    fromGateway,
    async stop() {
      await gateway.stop();
      await transport.close();
      await db.stop();
    },
  };
}
