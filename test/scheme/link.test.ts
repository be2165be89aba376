/**
 * The gateway's scheme link against the scheme simulator, a separate process, over real TCP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { parseSchemeLinkConfig } from '../../src/scheme/config.js';
import type { ConnectionStatus } from '../../src/scheme/connection.js';
import { RequestError } from '../../src/scheme/errors.js';
import { businessDate, paymentFields } from '../../src/scheme/messages.js';
import { SchemePool } from '../../src/scheme/pool.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';
import { MAC_KEY, startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

let stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});

async function sim(args: string[] = []): Promise<SchemeSim> {
  const s = await startSchemeSim(args);
  stops.push(() => s.stop().catch(() => undefined));
  return s;
}

interface Inbound {
  request: IsoMessage;
  reply: ReplyHandle;
}

function pool(dc1: string, dc2: string, settings: Record<string, unknown> = {}, onInbound?: (i: Inbound) => void) {
  const config = parseSchemeLinkConfig({
    dc1: [dc1],
    dc2: [dc2],
    macKey: MAC_KEY,
    backoff: { initialMs: 50, maxMs: 200 },
    ...settings,
  });
  const p = new SchemePool(
    config,
    { clock: systemClock, log: silentLogger },
    {
      onRequest: (request, reply) => (onInbound ? onInbound({ request, reply }) : reply.reply('0000')),
    },
  );
  p.start();
  stops.push(() => p.stop());
  return p;
}

const allReady = (p: SchemePool) => p.status().every((c) => c.state === 'ready');
const byId = (p: SchemePool, id: string): ConnectionStatus => p.status().find((c) => c.id === id)!;

/** The simulator's name for one of our connections, matched by our local address. */
async function sessionOf(s: SchemeSim, p: SchemePool, id: string): Promise<string> {
  const local = byId(p, id).local;
  const found = (await s.sessions()).find((v) => v.open && v.remote === local);
  if (found === undefined) throw new Error(`no simulator session for ${id} at ${local}`);
  return found.id;
}

let trn = 0;
const payment = (account = '12345678'): IsoMessage => ({
  mti: '9200',
  fields: paymentFields({
    type: '10',
    amountPence: 1250,
    trn: 'LINKTEST' + String(trn++).padStart(10, '0'),
    dateSent: businessDate(Date.now()),
    originatorSortCode: '040004',
    originatorAccount: '87654321',
    beneficiarySortCode: '200000',
    beneficiaryAccount: account,
    institution: '040004',
  }),
});

describe('scheme link against the simulator', () => {
  it('signs on to submit and receive on every connection of both DCs (R8)', async () => {
    const s = await sim();
    const p = pool(s.dc1, s.dc2);
    await until(() => allReady(p), 5000, 'all connections ready');
    expect(
      p
        .status()
        .map((c) => c.id)
        .sort(),
    ).toEqual(['DC1-1', 'DC1-2', 'DC2-1', 'DC2-2']);
    for (const c of p.status()) expect(c).toMatchObject({ submit: true, receive: true, reconnects: 0 });
    const sessions = (await s.sessions()).filter((v) => v.open);
    expect(sessions).toHaveLength(4);
    expect(sessions.every((v) => v.submit && v.receive)).toBe(true);
    expect(sessions.filter((v) => v.dc === 'DC1')).toHaveLength(2);
    // Outbound payments are decided by the simulator's rules and answered on their connection.
    const ok = await p.submit(payment());
    expect(ok.response.fields.get(26)).toBe('0000');
    const bad = await p.submit(payment('12345699'));
    expect(bad.response.fields.get(26)).toBe('1100');
  });

  it('keeps an idle link alive with echoes, and detects a silent peer within 2H, then reconnects (R9)', async () => {
    const H = 300;
    const s = await sim(['--heartbeat', String(H)]);
    const p = pool(s.dc1, s.dc2, { heartbeatMs: H, connectionsPerDc: 1 });
    await until(() => allReady(p), 5000, 'ready');
    await new Promise((r) => setTimeout(r, 5 * H));
    expect(p.status().every((c) => c.state === 'ready' && c.reconnects === 0)).toBe(true);
    expect((await s.sessions()).filter((v) => v.open)).toHaveLength(2);
    // The last echo, as the ops console shows it: within the last 2H on each idle connection.
    expect(p.status().every((c) => c.lastEcho !== null && Date.now() - c.lastEcho! <= 2 * H + 200)).toBe(true);

    await s.control('POST', '/mute', { session: await sessionOf(s, p, 'DC1-1') });
    const mutedAt = Date.now();
    await until(() => byId(p, 'DC1-1').state !== 'ready', 4 * H, 'DC1-1 to notice the silent peer');
    // 2H from the last message received, plus room for a busy event loop.
    expect(Date.now() - mutedAt).toBeLessThanOrEqual(2 * H + 200);
    expect(byId(p, 'DC1-1').lastError).toMatch(/no echo response/);
    expect(byId(p, 'DC2-1').state).toBe('ready');
    await until(() => byId(p, 'DC1-1').state === 'ready', 5000, 'DC1-1 back');
    expect(byId(p, 'DC1-1').reconnects).toBe(1);
  });

  it('re-establishes and signs on again a connection the simulator drops', async () => {
    const s = await sim();
    const p = pool(s.dc1, s.dc2);
    await until(() => allReady(p), 5000, 'ready');
    const dropped = await sessionOf(s, p, 'DC2-2');
    await s.control('POST', '/drop', { session: dropped });
    await until(() => byId(p, 'DC2-2').reconnects === 1 && byId(p, 'DC2-2').state === 'ready', 5000, 'DC2-2 back');
    const again = await sessionOf(s, p, 'DC2-2');
    expect(again).not.toBe(dropped);
    expect((await s.sessions()).find((v) => v.id === again)).toMatchObject({ submit: true, receive: true });
    expect((await p.submit(payment())).response.fields.get(26)).toBe('0000');
  });

  it('drains: every request in flight is answered before sign-off and close (R8)', async () => {
    const s = await sim(['--answer-delay-ms', '300']);
    const p = pool(s.dc1, s.dc2);
    await until(() => allReady(p), 5000, 'ready');
    const inFlight = Array.from({ length: 20 }, () => p.submit(payment()));
    await until(() => p.status().reduce((n, c) => n + c.inFlight, 0) === 20, 2000, 'all sent');
    await p.drain();
    const answers = await Promise.all(inFlight);
    expect(answers.every((a) => a.response.fields.get(26) === '0000')).toBe(true);
    expect(p.status().every((c) => c.state === 'closed')).toBe(true);
    const report = await s.report();
    expect(report.outbound.answered).toBe(20);
    // Signed off both ways before closing.
    expect((await s.sessions()).every((v) => !v.submit && !v.receive)).toBe(true);
    await expect(p.submit(payment())).rejects.toMatchObject({ code: 'no-connection' });
  });

  it('drains in the R8 order: 892, the held inbound answered, outstanding responses awaited, then 882', async () => {
    const s = await sim(['--answer-delay-ms', '300', '--t-in', '5000']);
    const held: Inbound[] = [];
    const p = pool(s.dc1, s.dc2, {}, (i) => held.push(i));
    await until(() => allReady(p), 5000, 'ready');
    for (const c of p.status()) await s.control('POST', '/inbound', { count: 1, session: await sessionOf(s, p, c.id) });
    await until(() => held.length === 4, 2000, 'one inbound held on each connection');
    const outbound = Array.from({ length: 8 }, () => p.submit(payment()));
    const drained = p.drain();
    // Receive is signed off first; submit stays on while the held requests are answered.
    const signedOffReceive = async () =>
      (await s.sessions()).every((v) => !v.receive && v.submit && v.sign_offs.join() === '892');
    const end = Date.now() + 3000;
    while (!(await signedOffReceive())) {
      if (Date.now() > end) throw new Error(`receive never signed off alone: ${JSON.stringify(await s.sessions())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The scheme sends nothing new on a connection after its 892.
    expect(await s.control<{ sent: number }>('POST', '/inbound', { count: 4 })).toMatchObject({ sent: 0 });
    for (const i of held) expect(i.reply.reply('0000')).toBe('sent');
    await drained;
    expect((await Promise.all(outbound)).every((a) => a.response.fields.get(26) === '0000')).toBe(true);
    expect(p.status().every((c) => c.state === 'closed')).toBe(true);
    const report = await s.report();
    expect(report).toMatchObject({
      drain_violations: 0,
      inbound: { sent: 4, answered_in_time: 4 },
      outbound: { answered: 8 },
    });
    for (const v of await s.sessions()) expect(v.sign_offs, v.id).toEqual(['892', '882']);
  });

  it('answers an inbound 9200 on its arrival connection; a reply after that closed is lost (R1, R4)', async () => {
    const s = await sim();
    const held: Inbound[] = [];
    const p = pool(s.dc1, s.dc2, {}, (i) => {
      if (held.length < 1) held.push(i);
      else expect(i.reply.reply('0000')).toBe('sent');
    });
    await until(() => allReady(p), 5000, 'ready');
    const target = await sessionOf(s, p, 'DC1-2');
    await s.control('POST', '/inbound', { count: 1, session: target });
    await until(() => held.length === 1, 2000, 'the held payment');
    expect(held[0]!.reply.connectionId).toBe('DC1-2#1');
    await s.control('POST', '/inbound', { count: 10 });
    await waitFor(s, (r) => r.inbound.answered_in_time === 10);
    await s.control('POST', '/drop', { session: target });
    await until(() => byId(p, 'DC1-2').state !== 'ready', 2000, 'DC1-2 closed');
    expect(held[0]!.reply.reply('0000')).toBe('lost');
    // The scheme repeats the unanswered payment (9201) on another connection, where it is answered.
    const report = await waitFor(s, (r) => r.inbound.answered_in_time === 11);
    expect(report.inbound.repeats_sent).toBe(1);
    expect(report.wrong_connection_responses).toBe(0);
    expect(report.unmatched_responses).toBe(0);
  });

  it('keeps submitting through DC2 when DC1 goes away', async () => {
    const a = await sim();
    const b = await sim();
    const p = pool(a.dc1, b.dc2);
    await until(() => allReady(p), 5000, 'ready');
    a.process.kill();
    await until(
      () =>
        p
          .status()
          .filter((c) => c.dc === 'DC1')
          .every((c) => c.state !== 'ready'),
      3000,
      'DC1 down',
    );
    const results = await Promise.all(Array.from({ length: 10 }, () => p.submit(payment())));
    expect(new Set(results.map((r) => r.connection))).toEqual(new Set(['DC2-1#1', 'DC2-2#1']));
    expect(results.every((r) => r.response.fields.get(26) === '0000')).toBe(true);
    expect((await b.report()).outbound.received).toBe(10);
  });

  it('caps requests in flight per connection (back-pressure)', async () => {
    const s = await sim(['--answer-delay-ms', '300']);
    const p = pool(s.dc1, s.dc2, { connectionsPerDc: 1, maxInFlight: 2 });
    await until(() => allReady(p), 5000, 'ready');
    const four = Array.from({ length: 4 }, () => p.submit(payment()));
    const fifth = p.submit(payment());
    await expect(fifth).rejects.toBeInstanceOf(RequestError);
    await expect(fifth).rejects.toMatchObject({ code: 'no-connection' });
    expect(p.status().map((c) => c.inFlight)).toEqual([2, 2]);
    expect((await Promise.all(four)).length).toBe(4);
  });
});

async function waitFor(s: SchemeSim, ok: (r: Awaited<ReturnType<SchemeSim['report']>>) => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await s.report();
    if (ok(r)) return r;
    if (Date.now() > end) throw new Error(`simulator report never matched: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
