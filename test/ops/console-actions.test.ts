/**
 * The console's actions on a real site (the gateway in this process, the scheme simulator its own
 * process), called as a script does, with bearer tokens: drain and undrain one connection (R8) and
 * a whole DC (four eyes: proposed by one operator, approved by another), suspend and resume a
 * participant's queue.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';
import type { Gateway } from '../../src/daemon/gateway.js';
import { hashSecret, newToken } from '../../src/ops/console/secrets.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { stopAfterAll } from '../support/cleanup.js';
import { startSignedOn } from '../support/gateway-here.js';
import { startTestDatabase } from '../support/ledger.js';
import { MAC_KEY, startSchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const cleanup = stopAfterAll();
const alice = newToken();
const bob = newToken();
let gateway: Gateway;

beforeAll(async () => {
  const db = await startTestDatabase();
  cleanup.push(() => db.stop());
  const sim = await startSchemeSim();
  cleanup.push(() => sim.stop());
  const transport = new InProcessTransport(silentLogger);
  cleanup.push(() => transport.close());
  const config = parseGatewayConfig({
    site: 'site-a',
    scheme: { dc1: [sim.dc1], dc2: [sim.dc2], macKey: MAC_KEY, backoff: { initialMs: 100, maxMs: 500 } },
    participants: [{ id: '200001', name: 'Bank', sortCodes: ['200000'] }],
    database: { url: db.url },
    http: { port: 0 },
    console: {
      operators: [
        { name: 'alice', role: 'operator', secretHash: await hashSecret('alice-secret-1'), tokenHash: alice.tokenHash },
        { name: 'bob', role: 'operator', secretHash: await hashSecret('bob-secret-22'), tokenHash: bob.tokenHash },
      ],
    },
  });
  gateway = await startSignedOn(config, transport);
  cleanup.push(() => gateway.stop());
}, 60_000);

async function call(token: string, path: string, body: object = {}) {
  const r = await fetch(`${gateway.httpUrl!}/console/api/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as { message: string; proposal?: { id: number; state: string } } };
}

const connection = (id: string) => gateway.status().connections.find((c) => c.id === id)!;

describe('ops console actions on a site', () => {
  it('drains one connection in the R8 order and brings it back as a new session (R8)', async () => {
    const before = connection('DC1-1').session;
    const r = await call(alice.token, 'actions/drain', { site: 'site-a', connection: 'DC1-1' });
    expect(r.status).toBe(200);
    await until(() => connection('DC1-1').state === 'closed', 10_000, 'DC1-1 drained');
    // The others carry on; the drained one does not come back by itself.
    await new Promise((res) => setTimeout(res, 700));
    expect(connection('DC1-1').state).toBe('closed');
    expect(
      gateway
        .status()
        .connections.filter((c) => c.state === 'ready')
        .map((c) => c.id),
    ).toEqual(['DC1-2', 'DC2-1', 'DC2-2']);
    expect((await call(alice.token, 'actions/undrain', { site: 'site-a', connection: 'DC1-1' })).status).toBe(200);
    await until(() => connection('DC1-1').state === 'ready', 10_000, 'DC1-1 back');
    expect(connection('DC1-1').session).not.toBe(before);
  });

  it('drains a whole DC only once a second operator approves, then undrains it', async () => {
    const proposed = await call(alice.token, 'actions/drain', { site: 'site-a', dc: 'DC2' });
    expect(proposed.status).toBe(200);
    expect(proposed.body.proposal?.state).toBe('proposed');
    await new Promise((res) => setTimeout(res, 300));
    expect(connection('DC2-1').state).toBe('ready');
    const approved = await call(bob.token, `proposals/${proposed.body.proposal!.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.message).toMatch(/DC2-1, DC2-2/);
    await until(() => ['DC2-1', 'DC2-2'].every((id) => connection(id).state === 'closed'), 10_000, 'DC2 drained');
    expect(connection('DC1-1').state).toBe('ready');
    expect((await call(bob.token, 'actions/undrain', { site: 'site-a', dc: 'DC2' })).status).toBe(200);
    await until(() => gateway.status().connections.every((c) => c.state === 'ready'), 10_000, 'DC2 back');
  });

  it("suspends and resumes reading one participant's queue", async () => {
    const s = await call(alice.token, 'actions/suspend', { participant: '200001' });
    expect(s.status).toBe(200);
    expect(s.body.message).toMatch(/no longer reads 200001/);
    expect((await call(alice.token, 'actions/suspend', { participant: '200001' })).body.message).toMatch(/already/);
    expect((await call(alice.token, 'actions/resume', { participant: '200001' })).status).toBe(200);
    expect((await call(alice.token, 'actions/suspend', { participant: '999999' })).status).toBe(409);
  });
});
