/**
 * The console's actions across two sites on one ledger (two gateways in this process on one
 * in-process broker, the scheme simulator its own process), called as scripts do, with bearer
 * tokens: a participant suspended on the open site stays unread by the other site once it opens,
 * until resumed (from either console); a drain or undrain asked on one site's console reaches the
 * other site's connections through a command row in the ledger (signalled, else polled), which
 * that site applies and records; a command past its expiry is not applied. site-b polls once a
 * minute only, so what it does in time it learnt by signal, or, for a suspension, on opening.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { parseGatewayConfig } from '../../src/daemon/config.js';
import type { Gateway } from '../../src/daemon/gateway.js';
import { audit } from '../../src/ledger/console.js';
import { sendCommand } from '../../src/ledger/site-commands.js';
import { hashSecret, newToken } from '../../src/ops/console/secrets.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { participantQueues, type ConsumeOptions, type Consumer, type Handler } from '../../src/participant/mq/index.js';
import { stopAfterAll } from '../support/cleanup.js';
import { startSignedOn } from '../support/gateway-here.js';
import { sleep } from '../support/lease.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { MAC_KEY, startSchemeSim } from '../support/scheme-sim.js';
import { eventually } from '../support/stack.js';
import { until } from '../support/tcp.js';

/** The broker, counting who reads each queue: consumers started in all, and reading now. */
class ObservedBroker extends InProcessTransport {
  readonly started = new Map<string, number>();
  readonly reading = new Map<string, number>();
  override async consume(queue: string, handler: Handler, options: ConsumeOptions): Promise<Consumer> {
    const c = await super.consume(queue, handler, options);
    const add = (m: Map<string, number>, n: number) => m.set(queue, (m.get(queue) ?? 0) + n);
    add(this.started, 1);
    add(this.reading, 1);
    let stopped = false;
    return {
      stop: async () => {
        if (!stopped) add(this.reading, -1);
        stopped = true;
        await c.stop();
      },
    };
  }
}

const cleanup = stopAfterAll();
const alice = newToken();
const bob = newToken();
const READ = '200001';
const SUSPENDED = '200002';
const toGateway = (p: string) => participantQueues(p).toGateway;
let db: TestDatabase;
let broker: ObservedBroker;
const sites = new Map<string, Gateway>();

beforeAll(async () => {
  db = await startTestDatabase();
  cleanup.push(() => db.stop());
  const sim = await startSchemeSim();
  cleanup.push(() => sim.stop());
  broker = new ObservedBroker(silentLogger);
  cleanup.push(() => broker.close());
  const operators = [
    { name: 'alice', role: 'operator', secretHash: await hashSecret('alice-secret-1'), tokenHash: alice.tokenHash },
    { name: 'bob', role: 'operator', secretHash: await hashSecret('bob-secret-22'), tokenHash: bob.tokenHash },
  ];
  // site-b hears of its commands and of suspensions by signal, or on opening, alone (its poll is
  // a minute); site-a polls every 250 ms.
  for (const [site, commandPollMs] of [
    ['site-a', 250],
    ['site-b', 60_000],
  ] as const) {
    const config = parseGatewayConfig({
      site,
      scheme: { dc1: [sim.dc1], dc2: [sim.dc2], macKey: MAC_KEY, backoff: { initialMs: 100, maxMs: 500 } },
      participants: [
        { id: READ, name: 'Bank A', sortCodes: ['200000'] },
        { id: SUSPENDED, name: 'Bank B', sortCodes: ['200002'] },
      ],
      database: { url: db.url },
      http: { port: 0 },
      console: { operators, commandPollMs, statusEveryMs: 200 },
    });
    const g = await startSignedOn(config, broker);
    cleanup.push(() => g.stop());
    sites.set(site, g);
  }
}, 90_000);

const site = (name: string) => sites.get(name)!;

async function call(on: string, token: string, path: string, body: object = {}) {
  const r = await fetch(`${site(on).httpUrl!}/console/api/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: r.status,
    body: (await r.json()) as {
      message: string;
      proposal?: { id: number; state: string };
      command?: { id: number; state: string };
    },
  };
}

async function overview(on: string) {
  const r = await fetch(`${site(on).httpUrl!}/console/api/overview`, {
    headers: { authorization: `Bearer ${alice.token}` },
  });
  return (await r.json()) as {
    suspensions: Array<{ participant: string; by: string; site: string }>;
    commands: Array<{ id: number; state: string; result: string | null; targetSite: string }>;
  };
}

const connection = (on: string, id: string) =>
  site(on)
    .status()
    .connections.find((c) => c.id === id)!;

async function commandRow(id: number) {
  const r = await db.pool.query<{ state: string; result: string | null; audit_id: string }>(
    'SELECT state, result, audit_id FROM site_commands WHERE id = $1',
    [id],
  );
  return r.rows[0]!;
}

async function auditRows(where: string, values: unknown[]) {
  const r = await db.pool.query<{ site: string; operator: string; action: string; result: string; detail: string }>(
    `SELECT site, operator, action, result, detail FROM audit_log WHERE ${where} ORDER BY id`,
    values,
  );
  return r.rows;
}

describe('ops console across two sites', () => {
  it('keeps a participant suspended on the open site unread by the other once it opens, until resumed from either console', async () => {
    expect(site('site-a').status().open).toBe(true);
    expect(site('site-b').status().open).toBe(false);
    expect(broker.reading.get(toGateway(SUSPENDED))).toBe(1);

    const s = await call('site-a', alice.token, 'actions/suspend', { participant: SUSPENDED });
    expect(s).toMatchObject({ status: 200 });
    expect(s.body.message).toMatch(/suspended in the ledger: site-a \(open\) no longer reads 200002/);
    expect(broker.reading.get(toGateway(SUSPENDED))).toBe(0);
    const startedBefore = broker.started.get(toGateway(SUSPENDED));

    // The move, four eyes: alice proposes on site-a, bob approves on site-b.
    const proposed = await call('site-a', alice.token, 'actions/move');
    expect((await call('site-b', bob.token, `proposals/${proposed.body.proposal!.id}/approve`)).status).toBe(200);
    await until(() => site('site-b').status().open && site('site-b').status().mq.bridging, 15_000, 'site-b open');
    await until(() => !site('site-a').status().mq.bridging, 5_000, 'site-a stopped bridging');

    // site-b reads the other participant, never the suspended one.
    await sleep(1_000);
    expect(broker.reading.get(toGateway(READ))).toBe(1);
    expect(broker.reading.get(toGateway(SUSPENDED))).toBe(0);
    expect(broker.started.get(toGateway(SUSPENDED))).toBe(startedBefore);
    expect(site('site-b').status().open).toBe(true);
    expect((await overview('site-b')).suspensions).toMatchObject([
      { participant: SUSPENDED, by: 'alice', site: 'site-a' },
    ]);

    // Resumed on the closed site's console: the open site reads it again.
    const r = await call('site-a', bob.token, 'actions/resume', { participant: SUSPENDED });
    expect(r.status).toBe(200);
    expect(r.body.message).toMatch(/resumed in the ledger: the open site reads 200002/);
    await until(() => broker.reading.get(toGateway(SUSPENDED)) === 1, 5_000, 'site-b reads 200002 again');
    expect((await overview('site-a')).suspensions).toEqual([]);
    // The suspension's row stays, resumed: the runtime role never deletes.
    const kept = await db.pool.query('SELECT participant_id, suspended_by, resumed_by FROM participant_suspensions');
    expect(kept.rows).toEqual([{ participant_id: SUSPENDED, suspended_by: 'alice', resumed_by: 'bob' }]);
    expect((await auditRows("action IN ('suspend', 'resume')", [])).map((x) => [x.operator, x.action])).toEqual([
      ['alice', 'suspend'],
      ['bob', 'resume'],
    ]);
  }, 60_000);

  it("drains and undrains the other site's connection from this site's console, through a command the other site applies (R8)", async () => {
    const sent = await call('site-a', alice.token, 'actions/drain', { site: 'site-b', connection: 'DC1-1' });
    expect(sent.status).toBe(202);
    expect(sent.body.message).toMatch(/sent to site-b as command \d+: pending until site-b applies it/);
    const id = sent.body.command!.id;
    expect(sent.body.command!.state).toBe('pending');
    await until(() => connection('site-b', 'DC1-1').state === 'closed', 10_000, "site-b's DC1-1 drained");
    expect(connection('site-a', 'DC1-1').state).toBe('ready');
    // The drain may close the connection before the row records it applied.
    const row = await eventually(
      () => commandRow(id),
      (c) => c.state !== 'pending',
      5_000,
      'drain recorded',
    );
    expect(row).toMatchObject({ state: 'applied' });
    expect(row.result).toMatch(/drained \(R8.*DC1-1/);
    // Audited on both sites: the request where it was asked, the drain where it was done.
    expect(await auditRows('id = $1', [row.audit_id])).toMatchObject([
      { site: 'site-a', operator: 'alice', action: 'request drain', result: 'ok' },
    ]);
    const applied = await auditRows("site = 'site-b' AND action = 'drain'", []);
    expect(applied).toMatchObject([{ operator: 'alice', result: 'ok' }]);
    expect(applied[0]!.detail).toMatch(new RegExp(`command ${id} from site-a's console \\(audit ${row.audit_id}\\)`));
    expect((await overview('site-a')).commands.find((c) => c.id === id)).toMatchObject({ state: 'applied' });

    const back = await call('site-a', bob.token, 'actions/undrain', { site: 'site-b', connection: 'DC1-1' });
    expect(back.status).toBe(202);
    await until(() => connection('site-b', 'DC1-1').state === 'ready', 10_000, "site-b's DC1-1 back");
    expect(
      await eventually(
        () => commandRow(back.body.command!.id),
        (c) => c.state !== 'pending',
        5_000,
        'undrain recorded',
      ),
    ).toMatchObject({ state: 'applied' });

    // One it cannot apply is recorded failed, with why.
    const again = await call('site-a', bob.token, 'actions/undrain', { site: 'site-b', connection: 'DC1-1' });
    const failed = await eventually(
      () => commandRow(again.body.command!.id),
      (c) => c.state !== 'pending',
      5_000,
      'command done',
    );
    expect(failed).toMatchObject({
      state: 'failed',
      result: 'no drained connection DC1-1 here',
    });
  }, 60_000);

  it("drains a whole DC of the other site once a second operator approves, the command signalled (site-b's poll is a minute)", async () => {
    const proposed = await call('site-a', alice.token, 'actions/drain', { site: 'site-b', dc: 'DC2' });
    expect(proposed.body.proposal?.state).toBe('proposed');
    const approved = await call('site-a', bob.token, `proposals/${proposed.body.proposal!.id}/approve`);
    expect(approved.status).toBe(202);
    expect(approved.body.message).toMatch(/sent to site-b as command/);
    await until(
      () => ['DC2-1', 'DC2-2'].every((c) => connection('site-b', c).state === 'closed'),
      10_000,
      "site-b's DC2 drained",
    );
    expect(connection('site-a', 'DC2-1').state).toBe('ready');
    expect((await call('site-a', bob.token, 'actions/undrain', { site: 'site-b', dc: 'DC2' })).status).toBe(202);
    await until(
      () =>
        site('site-b')
          .status()
          .connections.every((c) => c.state === 'ready'),
      10_000,
      'DC2 back',
    );
  }, 60_000);

  it('applies a command no signal announced (the poll), and does not apply one past its expiry', async () => {
    const command = async (ttlMs: number) =>
      sendCommand(db.pool, {
        targetSite: 'site-a',
        command: 'drain',
        arguments: { connection: 'DC2-2' },
        by: 'alice',
        on: 'site-b',
        auditId: await audit(db.pool, {
          site: 'site-b',
          operator: 'alice',
          address: undefined,
          action: 'request drain',
          result: 'ok',
        }),
        ttlMs,
      });
    const stale = await command(-1);
    const expired = await eventually(
      () => commandRow(stale.id),
      (c) => c.state !== 'pending',
      5_000,
      'expired command done',
    );
    expect(expired.state).toBe('failed');
    expect(expired.result).toMatch(/not applied: it waited past its expiry/);
    expect(connection('site-a', 'DC2-2').state).toBe('ready');

    const polled = await command(60_000);
    await until(() => connection('site-a', 'DC2-2').state === 'closed', 5_000, 'polled drain applied');
    expect(
      await eventually(
        () => commandRow(polled.id),
        (c) => c.state !== 'pending',
        5_000,
        'polled drain recorded',
      ),
    ).toMatchObject({ state: 'applied' });
    expect((await call('site-a', alice.token, 'actions/undrain', { site: 'site-a', connection: 'DC2-2' })).status).toBe(
      200,
    );
    await until(() => connection('site-a', 'DC2-2').state === 'ready', 10_000, 'DC2-2 back');
  }, 60_000);
});
