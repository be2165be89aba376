/**
 * The console's API on a real ledger (the runtime role) with a stand-in site: logins, sessions,
 * roles, CSRF, bearer tokens, the rate limit, four eyes, masking, and the audit row of every
 * action and refusal.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { Lease } from '../../src/failover/lease.js';
import { parseLeaseTiming } from '../../src/failover/lease-timing.js';
import { OPEN_SITE_LEASE } from '../../src/ledger/ledger.js';
import { consoleConfigSchema, type ConsoleConfig } from '../../src/ops/console/config.js';
import { registerConsole } from '../../src/ops/console/plugin.js';
import { hashSecret, hashToken, verifySecret } from '../../src/ops/console/secrets.js';
import type { ConsoleSite } from '../../src/ops/console/site.js';
import { stopAfterAll } from '../support/cleanup.js';
import { runtimePool } from '../support/lease.js';
import { create, fpid, move, newPayment, startMigratedDatabase, type TestDatabase } from '../support/ledger.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { systemClock } from '../../src/base/clock.js';

const cleanup = stopAfterAll();
const SECRET = { alice: 'alice-secret-1', bob: 'bob-secret-22', vera: 'vera-secret-333' };
const TOKEN = 'bobs-script-token-0123456789abcdef';

let db: TestDatabase;
let pool: ReturnType<typeof runtimePool>;
const drains: string[] = [];

async function config(over: Record<string, unknown> = {}): Promise<ConsoleConfig> {
  return consoleConfigSchema.parse({
    operators: [
      { name: 'alice', role: 'operator', secretHash: await hashSecret(SECRET.alice) },
      {
        name: 'bob',
        role: 'operator',
        secretHash: await hashSecret(SECRET.bob),
        tokenHash: hashToken(TOKEN),
        personalData: true,
      },
      { name: 'vera', role: 'viewer', secretHash: await hashSecret(SECRET.vera) },
    ],
    ...over,
  });
}

function site(): ConsoleSite {
  return {
    site: 'site-a',
    pool,
    leaseRole: OPEN_SITE_LEASE,
    tInMs: 5000,
    status: () => ({
      site: 'site-a',
      open: true,
      epoch: 1,
      suspended: false,
      connections: [],
      inFlight: { inbound: 0, outbound: 0 },
      mq: { transport: 'in-process', durable: false, bridging: true },
    }),
    drained: () => [],
    participants: () => ['200001'],
    suspended: () => [],
    requestMove: (by) =>
      new Lease(
        pool,
        OPEN_SITE_LEASE,
        'console',
        parseLeaseTiming({ leaseMs: 60_000, renewDeadlineMs: 30_000, renewPeriodMs: 1000 }),
      ).requestMove(by),
    drain: async (t) => {
      drains.push(JSON.stringify(t));
      return { ok: true, connections: ['DC1-1'] };
    },
    undrain: () => ({ ok: true, connections: ['DC1-1'] }),
    applySuspended: async () => undefined,
    signal: () => undefined,
  };
}

async function app(c: ConsoleConfig): Promise<FastifyInstance> {
  const a = Fastify({ logger: false });
  const handle = await registerConsole(a, { config: c, siteName: 'site-a', log: silentLogger, secure: false });
  handle.attach(site());
  await a.ready();
  cleanup.push(() => a.close());
  return a;
}

interface Session {
  cookie: string;
  csrf: string;
}

const cookiesOf = (r: { headers: Record<string, unknown> }) => {
  const set = r.headers['set-cookie'] as string | string[];
  return (Array.isArray(set) ? set : [set]).map((c) => c.split(';')[0]).join('; ');
};

/** The login form's CSRF token and the signed cookie that holds its secret. */
async function loginForm(a: FastifyInstance): Promise<Session> {
  const r = await a.inject({ method: 'GET', url: '/console/api/login' });
  expect(r.statusCode).toBe(200);
  return { cookie: cookiesOf(r), csrf: (r.json() as { csrfToken: string }).csrfToken };
}

const postLogin = async (a: FastifyInstance, payload: object, form?: Session) =>
  a.inject({
    method: 'POST',
    url: '/console/api/login',
    payload,
    headers: form === undefined ? {} : { cookie: form.cookie, 'x-csrf-token': form.csrf },
  });

async function login(a: FastifyInstance, name: keyof typeof SECRET): Promise<Session> {
  const r = await postLogin(a, { name, secret: SECRET[name] }, await loginForm(a));
  expect(r.statusCode).toBe(200);
  const cookie = cookiesOf(r);
  const s = await a.inject({ method: 'GET', url: '/console/api/session', headers: { cookie } });
  expect(s.statusCode).toBe(200);
  return { cookie, csrf: (s.json() as { csrfToken: string }).csrfToken };
}

const post = (a: FastifyInstance, url: string, s: Partial<Session> & { token?: string }, payload: object = {}) =>
  a.inject({
    method: 'POST',
    url,
    payload,
    headers: {
      ...(s.cookie === undefined ? {} : { cookie: s.cookie }),
      ...(s.csrf === undefined ? {} : { 'x-csrf-token': s.csrf }),
      ...(s.token === undefined ? {} : { authorization: `Bearer ${s.token}` }),
    },
  });

/** The same console over real HTTP on loopback: cookies as a browser sends them back. */
async function overHttp(a: FastifyInstance) {
  const base = await a.listen({ host: '127.0.0.1', port: 0 });
  const cookies = (r: Response) =>
    r.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  return {
    async login(name: keyof typeof SECRET): Promise<string> {
      const form = await fetch(`${base}/console/api/login`);
      const token = ((await form.json()) as { csrfToken: string }).csrfToken;
      const r = await fetch(`${base}/console/api/login`, {
        method: 'POST',
        headers: { cookie: cookies(form), 'x-csrf-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ name, secret: SECRET[name] }),
      });
      expect(r.status).toBe(200);
      return cookies(r);
    },
    get: (path: string, headers: Record<string, string>) => fetch(`${base}/console/api/${path}`, { headers }),
  };
}

async function lastAudit(n = 1) {
  const r = await db.pool.query<{
    operator: string | null;
    action: string;
    result: string;
    detail: string | null;
    address: string | null;
  }>('SELECT operator, action, result, detail, address FROM audit_log ORDER BY id DESC LIMIT $1', [n]);
  return r.rows;
}

beforeAll(async () => {
  db = await startMigratedDatabase();
  cleanup.push(() => db.stop());
  pool = runtimePool(db.url, 4);
  cleanup.push(() => pool.end());
  // site-a holds the open-site lease, for the move.
  await new Lease(
    db.pool,
    OPEN_SITE_LEASE,
    'site-a',
    parseLeaseTiming({ leaseMs: 60_000, renewDeadlineMs: 30_000, renewPeriodMs: 1000 }),
  ).tryAcquire();
}, 60_000);

describe('ops console API', () => {
  it('hashes secrets with salted scrypt and checks them', async () => {
    const h = await hashSecret('correct horse battery');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(h).not.toBe(await hashSecret('correct horse battery'));
    expect(await verifySecret('correct horse battery', h)).toBe(true);
    expect(await verifySecret('wrong horse battery', h)).toBe(false);
  });

  it('refuses a config with no operator outside the demo, and four eyes off outside it', () => {
    expect(() => consoleConfigSchema.parse({})).toThrow(/at least one operator/);
    expect(() => consoleConfigSchema.parse({ demo: true, fourEyes: false })).not.toThrow();
    expect(() =>
      consoleConfigSchema.parse({
        fourEyes: false,
        operators: [{ name: 'a', role: 'viewer', secretHash: 'scrypt$1$1$1$a$b' }],
      }),
    ).toThrow(/demo only/);
  });

  it('refuses every action without a session, without CSRF, with the viewer role, and audits each refusal', async () => {
    const a = await app(await config());
    const none = await post(a, '/console/api/actions/move', {});
    expect(none.statusCode).toBe(401);
    expect((await lastAudit())[0]).toMatchObject({ action: 'move', result: 'refused', detail: 'not logged in' });

    const alice = await login(a, 'alice');
    const noCsrf = await post(a, '/console/api/actions/move', { cookie: alice.cookie });
    expect(noCsrf.statusCode).toBe(403);
    expect((await lastAudit())[0]).toMatchObject({
      operator: 'alice',
      action: 'move',
      result: 'refused',
      detail: 'CSRF token missing or invalid',
    });
    const badCsrf = await post(
      a,
      '/console/api/actions/drain',
      { cookie: alice.cookie, csrf: 'forged' },
      { site: 'site-a', connection: 'DC1-1' },
    );
    expect(badCsrf.statusCode).toBe(403);

    const vera = await login(a, 'vera');
    const viewer = await post(a, '/console/api/actions/suspend', vera, { participant: '200001' });
    expect(viewer.statusCode).toBe(403);
    expect((await lastAudit())[0]).toMatchObject({
      operator: 'vera',
      action: 'suspend',
      result: 'refused',
      detail: 'role viewer may not act',
    });
    // Reading is a viewer's to do.
    const read = await a.inject({ method: 'GET', url: '/console/api/overview', headers: { cookie: vera.cookie } });
    expect(read.statusCode).toBe(200);
    expect(drains).toEqual([]);

    const ok = await post(a, '/console/api/actions/drain', alice, { site: 'site-a', connection: 'DC1-1' });
    expect(ok.statusCode).toBe(200);
    expect((await lastAudit())[0]).toMatchObject({
      operator: 'alice',
      action: 'drain',
      result: 'ok',
      address: '127.0.0.1',
    });
    // Another site's connection is that site's to drain.
    const elsewhere = await post(a, '/console/api/actions/drain', alice, { site: 'site-b', connection: 'DC1-1' });
    expect(elsewhere.statusCode).toBe(409);
    expect((elsewhere.json() as { message: string }).message).toMatch(/no site site-b has reported to the ledger/);

    const out = await post(a, '/console/api/logout', alice);
    expect(out.statusCode).toBe(200);
    expect((await post(a, '/console/api/actions/move', alice)).statusCode).toBe(401);
  });

  it("refuses a login without the login form's CSRF token, or with a forged one, and audits it", async () => {
    const a = await app(await config());
    const none = await postLogin(a, { name: 'alice', secret: SECRET.alice });
    expect(none.statusCode).toBe(403);
    expect((await lastAudit())[0]).toMatchObject({
      operator: null,
      action: 'login',
      result: 'refused',
      detail: 'CSRF token missing or invalid',
    });
    const form = await loginForm(a);
    const forged = await postLogin(a, { name: 'alice', secret: SECRET.alice }, { ...form, csrf: 'forged' });
    expect(forged.statusCode).toBe(403);
    // Another browser's token does not go with this browser's cookie.
    const other = await loginForm(a);
    expect(
      (await postLogin(a, { name: 'alice', secret: SECRET.alice }, { ...form, csrf: other.csrf })).statusCode,
    ).toBe(403);
    expect((await lastAudit(2)).every((r) => r.action === 'login' && r.result === 'refused')).toBe(true);
    // Neither made a session: nothing refused holds a place in the bounded store.
    expect(none.headers['set-cookie']).toBeUndefined();
    expect((await postLogin(a, { name: 'alice', secret: SECRET.alice }, form)).statusCode).toBe(200);
  });

  it('takes a bearer token for scripts, without CSRF, and refuses an unknown one', async () => {
    const a = await app(await config());
    const r = await post(a, '/console/api/actions/undrain', { token: TOKEN }, { site: 'site-a', connection: 'DC1-1' });
    expect(r.statusCode).toBe(200);
    expect((await lastAudit())[0]).toMatchObject({ operator: 'bob', action: 'undrain', result: 'ok' });
    const bad = await post(
      a,
      '/console/api/actions/undrain',
      { token: 'x'.repeat(32) },
      { site: 'site-a', connection: 'DC1-1' },
    );
    expect(bad.statusCode).toBe(401);
    expect((await lastAudit())[0]).toMatchObject({
      action: 'undrain',
      result: 'refused',
      detail: 'unknown bearer token',
    });
  });

  it('rate-limits failed logins from one address and audits every one', async () => {
    const a = await app(await config({ loginAttemptsPerMinute: 3 }));
    const codes: number[] = [];
    const form = await loginForm(a);
    for (let i = 0; i < 5; i++) codes.push((await postLogin(a, { name: 'alice', secret: 'guess' }, form)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const rows = await lastAudit(5);
    expect(rows.map((r) => r.detail)).toEqual([
      'rate limited: too many attempts from this address',
      'rate limited: too many attempts from this address',
      'wrong name or secret',
      'wrong name or secret',
      'wrong name or secret',
    ]);
    expect(rows.every((r) => r.action === 'login' && r.result === 'refused')).toBe(true);
  });

  it('ends a session idle too long', async () => {
    const a = await app(await config({ sessionIdleMs: 1000 }));
    const alice = await login(a, 'alice');
    await new Promise((r) => setTimeout(r, 1200));
    const r = await a.inject({ method: 'GET', url: '/console/api/session', headers: { cookie: alice.cookie } });
    expect(r.statusCode).toBe(401);
    expect((r.json() as { error: string }).error).toMatch(/idle/);
  });

  it('ends a session at its absolute timeout, active or not', async () => {
    const a = await app(await config({ sessionIdleMs: 1000, sessionAbsoluteMs: 1500 }));
    const alice = await login(a, 'alice');
    const get = () => a.inject({ method: 'GET', url: '/console/api/session', headers: { cookie: alice.cookie } });
    await new Promise((r) => setTimeout(r, 800));
    expect((await get()).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 800));
    const r = await get();
    expect(r.statusCode).toBe(401);
    expect((r.json() as { error: string }).error).toMatch(/ended/);
  });

  it('holds maxSessions sessions at most: a new login drops the least recently used one, audited', async () => {
    const a = await app(await config({ maxSessions: 2 }));
    const http = await overHttp(a);
    const alice = await http.login('alice');
    const bob = await http.login('bob');
    // alice is used after bob logged in: bob is now the least recently used.
    expect((await http.get('session', { cookie: alice })).status).toBe(200);
    const vera = await http.login('vera');
    const whoami = async (cookie: string) => {
      const r = await http.get('session', { cookie });
      return r.status === 200 ? ((await r.json()) as { operator: string }).operator : r.status;
    };
    expect(await whoami(bob)).toBe(401);
    expect(await whoami(alice)).toBe('alice');
    expect(await whoami(vera)).toBe('vera');
    const dropped = await db.pool.query<{ operator: string; result: string; detail: string; site: string }>(
      "SELECT operator, result, detail, site FROM audit_log WHERE action = 'session dropped' ORDER BY id DESC LIMIT 1",
    );
    expect(dropped.rows[0]).toMatchObject({ operator: 'bob', result: 'ok', site: 'site-a' });
    expect(dropped.rows[0]!.detail).toMatch(/2 sessions at most.*least recently used/);
    const overview = (await (await http.get('overview', { cookie: vera, 'x-console-poll': '1' })).json()) as {
      sessions: { held: number; max: number };
    };
    expect(overview.sessions).toEqual({ held: 2, max: 2 });
  });

  it('removes timed-out sessions from the store, and a cookie of none adds none', async () => {
    const a = await app(await config({ sessionIdleMs: 1000, maxSessions: 10 }));
    const http = await overHttp(a);
    await http.login('alice');
    await http.login('vera');
    const held = async () =>
      (
        (await (await http.get('overview', { authorization: `Bearer ${TOKEN}` })).json()) as {
          sessions: { held: number };
        }
      ).sessions.held;
    expect(await held()).toBe(2);
    // Timed out after 1 s, removed by the sweep within a further sweep period (1 s here).
    await new Promise((r) => setTimeout(r, 3200));
    expect(await held()).toBe(0);
    // A request with a cookie the store does not know (or a forged one) makes no session.
    const stale = await http.get('session', { cookie: 'fps_console=forged.value' });
    expect(stale.status).toBe(401);
    // At most the stale cookie cleared; no new session id handed out.
    expect(stale.headers.getSetCookie().every((c) => c.startsWith('fps_console=;'))).toBe(true);
    expect(await held()).toBe(0);
  });

  it('needs a second, different operator to approve a move: the proposer cannot, another can; the lease is marked', async () => {
    const a = await app(await config());
    const alice = await login(a, 'alice');
    const bob = await login(a, 'bob');
    const proposed = await post(a, '/console/api/actions/move', alice);
    expect(proposed.statusCode).toBe(200);
    const id = (proposed.json() as { proposal: { id: number } }).proposal.id;
    const self = await post(a, `/console/api/proposals/${id}/approve`, alice);
    expect(self.statusCode).toBe(409);
    expect((await lastAudit())[0]).toMatchObject({ operator: 'alice', action: 'approve', result: 'refused' });
    const approved = await post(a, `/console/api/proposals/${id}/approve`, bob);
    expect(approved.statusCode).toBe(200);
    expect((approved.json() as { proposal: { state: string } }).proposal.state).toBe('done');
    const lease = await db.pool.query<{ move_requested_by: string }>('SELECT move_requested_by FROM site_lease');
    expect(lease.rows[0]!.move_requested_by).toBe('alice+bob');
    const again = await post(a, `/console/api/proposals/${id}/approve`, bob);
    expect(again.statusCode).toBe(409);
    // Either may cancel an open proposal.
    const p2 = (await post(a, '/console/api/actions/drain', alice, { site: 'site-a', dc: 'DC2' })).json() as {
      proposal: { id: number };
    };
    expect((await post(a, `/console/api/proposals/${p2.proposal.id}/cancel`, bob)).statusCode).toBe(200);
    expect((await post(a, `/console/api/proposals/${p2.proposal.id}/approve`, bob)).statusCode).toBe(409);
  });

  it('with four eyes off (the demo only) asks for the move at once, audited', async () => {
    const a = await app(await config({ demo: true, fourEyes: false }));
    const alice = await login(a, 'alice');
    const r = await post(a, '/console/api/actions/move', alice);
    expect(r.statusCode).toBe(200);
    expect((r.json() as { message: string }).message).toMatch(/asked site-a \(epoch \d+\) to hand over/);
    expect((await lastAudit())[0]).toMatchObject({ operator: 'alice', action: 'move', result: 'ok' });
  });

  it('masks account numbers and names to their last 4 unless the account may see personal data', async () => {
    const ledger = new Ledger(pool, systemClock, silentLogger, { finalStates: ['replied'] });
    const id = fpid();
    await ledger.commit(
      create(id, Date.now(), {
        payment: newPayment({ originatorName: 'Jane Originator', beneficiaryName: 'John Beneficiary' }),
      }),
    );
    await ledger.drain();
    const a = await app(await config());
    const vera = await login(a, 'vera');
    const masked = (
      await a.inject({
        method: 'GET',
        url: `/console/api/payments?fpid=${encodeURIComponent(id)}`,
        headers: { cookie: vera.cookie },
      })
    ).json() as {
      payments: Array<Record<string, string>>;
    };
    expect(masked.payments[0]).toMatchObject({
      originatorAccount: '••••5678',
      beneficiaryAccount: '••••4321',
      originatorName: '•••••••••••ator',
    });
    const bob = await login(a, 'bob');
    const full = (
      await a.inject({
        method: 'GET',
        url: `/console/api/payments/${encodeURIComponent(id)}`,
        headers: { cookie: bob.cookie },
      })
    ).json() as {
      payment: Record<string, string>;
      steps: unknown[];
    };
    expect(full.payment).toMatchObject({ originatorAccount: '12345678', beneficiaryName: 'John Beneficiary' });
    expect(full.steps.length).toBeGreaterThan(0);
  });

  it('charts the inbound deadline margin: T_in less the time from arrival to the 9210', async () => {
    const ledger = new Ledger(pool, systemClock, silentLogger, { finalStates: ['replied'] });
    const id = fpid();
    const at = Date.now() - 2000;
    await ledger.commit(create(id, at));
    await ledger.commit(move(id, 'received', 'replied', at + 1200, { event: 'reply_sent' }));
    await ledger.drain();
    const a = await app(await config());
    const vera = await login(a, 'vera');
    const o = (
      await a.inject({ method: 'GET', url: '/console/api/overview', headers: { cookie: vera.cookie } })
    ).json() as {
      traffic: { marginMsMin: Array<number | null>; inbound: number[] };
    };
    // T_in is 5000 here: 3800 ms to spare.
    expect(o.traffic.marginMsMin.filter((m) => m !== null)).toContain(3800);
    expect(o.traffic.inbound.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(1);
  });

  it('keeps the audit log append-only for the runtime role', async () => {
    await expect(pool.query("UPDATE audit_log SET result = 'ok'")).rejects.toThrow();
    await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow();
  });
});
