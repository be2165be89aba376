/**
 * The daemon's lifecycle on its default ledger, the embedded PostgreSQL (no DATABASE_URL): a SIGTERM
 * in the middle of traffic drains with the database up, and a restart after kill -9 comes up on
 * the same ledger.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { openDatabase, PROJECT_ROOT } from '../../src/ledger/database.js';
import { removeEmbedded } from '../../src/ledger/embedded.js';
import { parseMacKey } from '../../src/scheme/mac.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import {
  driveTraffic,
  eventually,
  gatewayConfig,
  signedOn,
  SORT_CODE,
  startGateway,
  startSimulators,
} from '../support/stack.js';
import { stopAfterAll } from '../support/cleanup.js';

const cleanup = stopAfterAll();

/** The gateway must start its own cluster even where the suite itself runs on DATABASE_URL. */
const EMBEDDED = { DATABASE_URL: '' };

function dataDir(name: string): string {
  const dir = path.join(PROJECT_ROOT, 'var', 'test-pg', `${name}-${randomBytes(3).toString('hex')}`);
  cleanup.push(() => removeEmbedded(dir, silentLogger));
  return dir;
}

const RATES = { inbound: 15, outbound: 8 };

/** Reads the ledger the gateway left, as the cluster's owner, with the gateway stopped. */
async function readLedger<T>(dir: string, read: (client: pg.Client) => Promise<T>): Promise<T> {
  const db = await openDatabase({ name: 'read', dataDir: dir, url: '' }, silentLogger);
  const client = new pg.Client(db.migrationUrl);
  await client.connect();
  try {
    return await read(client);
  } finally {
    await client.end();
    await db.stop();
  }
}

async function stack(site: string) {
  const { participant, sim, bank } = await startSimulators(
    cleanup,
    {},
    { latencyMs: '300-2500', lateShare: 0, drainMs: 8000, seed: 7 },
  );
  const key = parseMacKey(MAC_KEY);
  const [dc1, dc2] = await Promise.all([startRecordingProxy(sim.dc1, key), startRecordingProxy(sim.dc2, key)]);
  cleanup.push(
    () => dc1.close(),
    () => dc2.close(),
  );
  const dir = dataDir(site);
  const config = await gatewayConfig(sim, {
    site,
    participant: { id: participant, sortCodes: [SORT_CODE] },
    embedded: { dataDir: dir },
    dcs: { dc1: dc1.address, dc2: dc2.address },
  });
  const gateway = await startGateway(config, EMBEDDED);
  cleanup.push(async () => gateway.kill());
  await signedOn(sim, 30_000);
  await driveTraffic(sim, bank, 3, RATES);
  return { sim, bank, dir, config, gateway, proxies: [dc1, dc2] };
}

/** Its exit code, once it has exited; null if a signal ended it. */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('gateway process on the embedded ledger', () => {
  it('drains on SIGTERM in the middle of traffic with the database up: every request answered or recorded, 892 and 882 on every connection, exit 0', async () => {
    const { sim, bank, dir, gateway, proxies } = await stack('sigterm');
    await driveTraffic(sim, bank, 2, RATES);
    const busy = await sim.report();
    expect(
      busy.inbound.sent - busy.inbound.answered_in_time,
      'inbound requests in flight at the signal',
    ).toBeGreaterThan(0);

    gateway.process.kill('SIGTERM');
    expect(await exitOf(gateway.process)).toBe(0);

    const connections = proxies.flatMap((p) => p.connections);
    expect(connections).toHaveLength(4);
    // Both sign-offs are the last the connection carried, receive first (R8).
    for (const codes of connections)
      expect(codes.slice(-2), 'sign-off receive then submit, last on the connection').toEqual(['892', '882']);

    const scheme = await sim.report();
    const ledger = await readLedger(dir, async (c) => ({
      states: (
        await c.query<{ direction: string; state: string; n: number }>(
          'SELECT direction, state, count(*)::int AS n FROM payments GROUP BY 1, 2',
        )
      ).rows,
      // A payment whose row does not say what its last journal row says was left half-done.
      halfDone: (
        await c.query(
          `SELECT p.fpid FROM payments p JOIN LATERAL (SELECT to_state FROM payment_journal j WHERE j.fpid = p.fpid ORDER BY id DESC LIMIT 1) last ON true WHERE last.to_state <> p.state`,
        )
      ).rowCount,
      unjournalled: (
        await c.query(
          'SELECT fpid FROM payments p WHERE NOT EXISTS (SELECT 1 FROM payment_journal j WHERE j.fpid = p.fpid)',
        )
      ).rowCount,
    }));
    const inbound = ledger.states.filter((r) => r.direction === 'inbound');
    const count = (state: string) => inbound.find((r) => r.state === state)?.n ?? 0;
    // Every inbound request the gateway took is in the ledger; each was answered, or recorded reply-lost.
    expect(inbound.reduce((n, r) => n + r.n, 0)).toBe(scheme.inbound.sent);
    expect(scheme.inbound.answered_in_time + scheme.inbound.late + count('reply-lost')).toBe(scheme.inbound.sent);
    expect(count('replied') + count('reply-lost')).toBe(scheme.inbound.sent);
    expect(ledger.halfDone).toBe(0);
    expect(ledger.unjournalled).toBe(0);
    // Every outbound payment the scheme saw was answered, and none was left unrecorded.
    expect(scheme.outbound.answered).toBe(scheme.outbound.received);
    expect(scheme.wrong_connection_responses).toBe(0);
    expect(scheme.drain_violations).toBe(0);
  }, 180_000);

  it('drains on a Ctrl-C that npm passes on as well (two SIGINTs at once), and exits 0', async () => {
    const { gateway, proxies } = await stack('sigint');
    gateway.process.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 20));
    gateway.process.kill('SIGINT');
    expect(await exitOf(gateway.process)).toBe(0);
    for (const codes of proxies.flatMap((p) => p.connections)) expect(codes.slice(-2)).toEqual(['892', '882']);
  }, 120_000);

  it('comes up on the same ledger after kill -9, though its detached postmaster outlived it', async () => {
    const { sim, dir, config, gateway: first } = await stack('kill9');
    const before = await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time > 0,
      20_000,
      'answered inbound payments',
    );
    first.kill();
    await exitOf(first.process);
    // The case to survive: the postmaster lives on after node, holding the cluster's lock.
    const postmaster = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(() => process.kill(postmaster, 0), 'the orphaned postmaster still runs').not.toThrow();

    const second = await startGateway(config, EMBEDDED);
    cleanup.push(async () => second.kill());
    await signedOn(sim, 30_000);
    await second.stop();
    const recorded = await readLedger(
      dir,
      async (c) =>
        (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM payments WHERE direction = 'inbound'")).rows[0]!
          .n,
    );
    expect(recorded).toBeGreaterThanOrEqual(before.inbound.answered_in_time);
  }, 180_000);
});
