import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import { decode, encode, type DecodeError, type IsoMessage } from '../../src/scheme/codec.js';
import { frame } from '../../src/scheme/framing.js';
import { networkRequest, paymentFields, transmissionTime } from '../../src/scheme/messages.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';
import { Wire, type WireOptions } from '../../src/scheme/wire.js';
import { basePayment } from '../support/iso20022-arbitraries.js';
import { socketPair, until } from '../support/tcp.js';
import { remac } from '../support/bodies.js';

const KEY = Buffer.from('5a'.repeat(32), 'hex');
const opts = (id: string, heartbeatMs = 0): WireOptions => ({
  id,
  macKey: KEY,
  clock: systemClock,
  log: silentLogger,
  requestTimeoutMs: 2000,
  maxInFlight: 100,
  heartbeatMs,
});

interface Peer {
  wire: Wire;
  requests: Array<{ message: IsoMessage; reply: ReplyHandle }>;
  refused: DecodeError[];
  unmatched: IsoMessage[];
  closed: string[];
}

function peer(socket: import('node:net').Socket, id: string, heartbeatMs = 0, autoAnswer = true): Peer {
  const p: Peer = { requests: [], refused: [], unmatched: [], closed: [] } as unknown as Peer;
  p.wire = new Wire(socket, opts(id, heartbeatMs), {
    onRequest: (message, reply) => {
      p.requests.push({ message, reply });
      if (autoAnswer) reply.reply('0000');
    },
    onRefused: (e) => p.refused.push(e),
    onUnmatched: (m) => p.unmatched.push(m),
    onClose: (r) => p.closed.push(r),
  });
  return p;
}

const payment = () => paymentFields(basePayment);

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

async function pair(heartbeatA = 0, heartbeatB = 0, autoAnswerB = true) {
  const s = await socketPair();
  cleanup.push(s.close);
  return { a: peer(s.client, 'A', heartbeatA), b: peer(s.server, 'B', heartbeatB, autoAnswerB), raw: s };
}

describe('wire over real TCP', () => {
  it('matches each response to its request by field 11 and echoes 3, 12, 31, 98', async () => {
    const { a } = await pair();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => a.wire.request({ mti: '9200', fields: payment() })),
    );
    const stans = new Set(responses.map((r) => r.fields.get(11)));
    expect(stans.size).toBe(50);
    for (const r of responses) {
      expect(r.mti).toBe('9210');
      expect(r.fields.get(26)).toBe('0000');
      for (const f of [3, 6, 12, 31, 51, 98]) expect(r.fields.get(f)).toBe(payment().get(f));
    }
  });

  it('answers a bad body with 9020 naming the field, and a bad MAC with 9068 (R11)', async () => {
    const { b, raw } = await pair();
    const got: IsoMessage[] = [];
    let data = Buffer.alloc(0);
    raw.client.removeAllListeners('data');
    raw.client.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const r = decode(data.subarray(2, 2 + data.readUInt16BE(0)), KEY);
        if (r.ok) got.push(r.message);
        data = data.subarray(2 + data.readUInt16BE(0));
      }
    });
    const good = encode(
      { mti: '9200', fields: payment().set(7, transmissionTime(Date.now())).set(11, '000007') },
      KEY,
    ).toString('latin1');
    // Field 35 (beneficiary account) holds a letter, under a valid MAC (with the old MAC it is a 9068).
    raw.client.write(frame(remac(good.replace('12345678', '1234567X'), KEY)));
    const otherKey = Buffer.from('11'.repeat(32), 'hex');
    raw.client.write(
      frame(
        encode({ mti: '9200', fields: payment().set(7, transmissionTime(Date.now())).set(11, '000008') }, otherKey),
      ),
    );
    await until(() => got.length === 2, 2000, 'two answers');
    expect(got[0]!.mti).toBe('9210');
    expect(got[0]!.fields.get(26)).toBe('9020');
    expect(got[0]!.fields.get(44)).toMatch(/^035 /);
    expect(got[0]!.fields.get(11)).toBe('000007');
    expect(got[1]!.fields.get(26)).toBe('9068');
    expect(got[1]!.fields.get(11)).toBe('000008');
    expect(b.refused.map((e) => e.code)).toEqual(['format', 'mac']);
    // Neither reached the application.
    expect(b.requests).toHaveLength(0);
  });

  it('closes the connection on a frame that breaks section 2, with the reason (R11)', async () => {
    for (const bad of [Buffer.from([0, 0]), Buffer.from([0x20, 0x01]), Buffer.from([0, 3, 0x39, 0x32, 0x0a])]) {
      const { b, raw } = await pair();
      raw.client.write(bad);
      await until(() => b.closed.length === 1, 2000, 'close');
      expect(b.closed[0]).toMatch(/^framing error/);
      expect(b.wire.open).toBe(false);
    }
  });

  it('sends an echo after H idle and keeps a live link; a silent peer is closed within 2H (R9)', async () => {
    const H = 300;
    const { a, b } = await pair(H, 0);
    await new Promise((r) => setTimeout(r, 3 * H));
    expect(a.wire.open).toBe(true);
    expect(b.closed).toHaveLength(0);
    // B stops reading: A's next echo goes unanswered.
    const silentSince = Date.now();
    (b.wire as unknown as { socket: import('node:net').Socket }).socket.pause();
    await until(() => a.closed.length === 1, 4 * H, 'A to give up on B');
    // 2H from the last message received, plus room for a busy event loop.
    expect(Date.now() - silentSince).toBeLessThanOrEqual(2 * H + 200);
    expect(a.closed[0]).toMatch(/no echo response/);
  });

  it('tells every waiter at once when the connection dies', async () => {
    const { a, b } = await pair(0, 0, false);
    const waiting = Array.from({ length: 5 }, () => a.wire.request({ mti: '9200', fields: payment() }));
    await until(() => b.requests.length === 5);
    b.wire.close('test', false);
    for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'closed' });
  });

  it('binds a reply to its arrival connection and reports it lost once that closes (R1, R4)', async () => {
    const first = await pair(0, 0, false);
    const second = await pair(0, 0, false);
    const onFirst = first.a.wire.request({ mti: '9200', fields: payment() }).catch((e: Error) => e);
    void second.a.wire.request(networkRequest('831', Date.now())).catch(() => undefined);
    await until(() => first.b.requests.length === 1);
    const handle = first.b.requests[0]!.reply;
    expect(handle.connectionId).toBe('B');
    first.b.wire.close('gone', false);
    expect(handle.reply('0000')).toBe('lost');
    expect(handle.reply('0000')).toBe('already-replied');
    await expect(onFirst).resolves.toMatchObject({ code: 'closed' });
    // Nothing reached the other connection.
    await new Promise((r) => setTimeout(r, 50));
    expect(second.a.unmatched).toHaveLength(0);
  });
});
