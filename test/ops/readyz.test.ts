/**
 * /healthz and /readyz on a gateway in this process, its two scheme DCs played here so that the
 * test can take them away and bring them back on the same ports; and the readiness rule itself.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { readiness, type Readiness } from '../../src/ops/readiness.js';
import type { SiteStatus } from '../../src/ops/site.js';
import type { ConnectionStatus } from '../../src/scheme/connection.js';
import { ActionCode } from '../../src/scheme/profile.js';
import { Wire } from '../../src/scheme/wire.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';
import { Gateway } from '../../src/daemon/gateway.js';
import { gatewayHere, type GatewayHere } from '../support/gateway-here.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import { eventually } from '../support/stack.js';

/** One DC that signs everything on; `down` closes it and every session, `up` listens again on its port. */
class PlayedDc {
  private server: Server | undefined;
  private readonly wires = new Set<Wire>();
  port = 0;

  async up(): Promise<void> {
    const server = createServer((socket) => {
      const wire: Wire = new Wire(
        socket,
        {
          id: `dc#${this.wires.size + 1}`,
          macKey: Buffer.from(MAC_KEY, 'hex'),
          clock: systemClock,
          log: silentLogger,
          requestTimeoutMs: 5_000,
          maxInFlight: 10,
          heartbeatMs: 0,
        },
        { onRequest: (_m, reply) => void reply.reply(ActionCode.accepted), onClose: () => this.wires.delete(wire) },
      );
      this.wires.add(wire);
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const closed = new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
    for (const w of this.wires) w.close('taken down by the test', false);
    await closed;
    this.server = undefined;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
}

const ready = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as Readiness };
};

describe('/healthz and /readyz', () => {
  const dcs = [new PlayedDc(), new PlayedDc()] as const;
  let here: GatewayHere | undefined;
  afterAll(async () => {
    await here?.stop();
    for (const dc of dcs) await dc.down();
  });

  it('are ready when signed on, stay ready with one DC unreachable, turn not ready with the scheme unreachable, and ready again once it is back', async () => {
    for (const dc of dcs) await dc.up();
    here = await gatewayHere({
      site: 'probed',
      scheme: {
        dc1: [dcs[0].address],
        dc2: [dcs[1].address],
        connectionsPerDc: 1,
        backoff: { initialMs: 50, maxMs: 200 },
      },
      participant: { id: '040004', sortCodes: ['040004'] },
    });
    const url = here.gateway.httpUrl!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const signedOn = await eventually(
      () => ready(url),
      (r) => r.status === 200,
      5_000,
      'ready',
    );
    expect(signedOn.body).toMatchObject({
      ready: true,
      reasons: [],
      site: 'probed',
      open: true,
      checks: {
        database: { ok: true },
        scheme: { DC1: { reachable: true, signedOn: 1 }, DC2: { reachable: true, signedOn: 1 } },
        mq: { required: true, bridging: true },
      },
    });

    // One DC gone: the other carries the traffic, and the site stays in service.
    await dcs[1].down();
    const oneDc = await eventually(
      () => ready(url),
      (r) => !r.body.checks.scheme.DC2.reachable,
      5_000,
      'DC2 unreachable',
    );
    expect(oneDc.status).toBe(200);

    // The whole scheme gone: not ready, and the body says why.
    await dcs[0].down();
    const none = await eventually(
      () => ready(url),
      (r) => r.status === 503,
      5_000,
      'not ready',
    );
    expect(none.body.ready).toBe(false);
    expect(none.body.reasons).toContain('no scheme connection is signed on at either DC');
    expect(none.body.checks.scheme.DC1).toMatchObject({ reachable: false, signedOn: 0 });
    // Alive all along: a liveness probe must not restart a site whose scheme is away.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    for (const dc of dcs) await dc.up();
    const back = await eventually(
      () => ready(url),
      (r) => r.status === 200,
      10_000,
      'ready again',
    );
    expect(back.body.checks.scheme).toMatchObject({ DC1: { signedOn: 1 }, DC2: { signedOn: 1 } });
  }, 60_000);
});

describe('the HTTP port', () => {
  it('taken, fails the start before anything else starts (no database is opened)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const config = parseGatewayConfig({
      site: 'port-taken',
      scheme: { dc1: ['127.0.0.1:1'], dc2: ['127.0.0.1:1'], macKey: MAC_KEY },
      participants: [{ id: '040004', name: 'Bank', sortCodes: ['040004'] }],
      // Nothing listens here: a start that went on would fail on the database instead.
      database: { url: 'postgres://nobody@127.0.0.1:1/none' },
      http: { port },
    });
    try {
      await expect(Gateway.start(config, { clock: systemClock, log: silentLogger })).rejects.toThrow(
        `the ops HTTP server cannot listen on 127.0.0.1:${port}`,
      );
    } finally {
      taken.close();
    }
  });

  it('defaults to loopback, port 9464', () => {
    const config = parseGatewayConfig({
      scheme: { dc1: ['127.0.0.1:1'], dc2: ['127.0.0.1:1'], macKey: MAC_KEY },
      participants: [{ id: '040004', name: 'Bank', sortCodes: ['040004'] }],
    });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 9464 });
  });
});

describe('the readiness rule', () => {
  const connection = (dc: 'DC1' | 'DC2', state: ConnectionStatus['state'], signed: boolean): ConnectionStatus => ({
    id: `${dc}-1`,
    dc,
    session: state === 'connecting' || state === 'closed' ? null : `${dc}-1#1`,
    remote: '127.0.0.1:1',
    local: null,
    state,
    submit: signed,
    receive: signed,
    inFlight: 0,
    unanswered: 0,
    since: 0,
    reconnects: 0,
    lastError: null,
  });
  const site = (connections: ConnectionStatus[], open: boolean, bridging: boolean): SiteStatus => ({
    site: 's',
    open,
    epoch: open ? 3 : 0,
    suspended: false,
    connections,
    inFlight: { inbound: 0, outbound: 0 },
    mq: { transport: 'amqp', durable: true, bridging },
  });
  const db = { ok: true };

  it('holds a site back while a DC it reaches has no connection signed on', () => {
    const r = readiness(
      site([connection('DC1', 'ready', true), connection('DC2', 'signing-on', false)], false, false),
      db,
      false,
    );
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['DC2 is reachable but no connection to it is signed on']);
  });

  it('wants the open site, and only the open site, to read the participants’ queues', () => {
    const link = [connection('DC1', 'ready', true), connection('DC2', 'ready', true)];
    expect(readiness(site(link, false, false), db, false).ready).toBe(true);
    expect(readiness(site(link, true, false), db, false).reasons).toEqual([
      "this site is open but does not read the participants' queues",
    ]);
  });

  it('is not ready without its database, or while stopping', () => {
    const link = [connection('DC1', 'ready', true), connection('DC2', 'closed', false)];
    expect(readiness(site(link, true, true), { ok: false, error: 'refused' }, false).reasons).toEqual([
      'the database is not reachable: refused',
    ]);
    expect(readiness(site(link, true, true), db, true).reasons).toEqual([
      'the site is stopping (draining the scheme link)',
    ]);
  });
});
