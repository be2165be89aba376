/**
 * The wire's outbox over real loopback TCP: it honours the socket's back-pressure, stays within
 * its bound when the peer stops reading, refuses requests `busy` at the bound, and resumes on
 * 'drain'. A peer that stops reading even the responses is closed when they no longer fit.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/log.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { RequestError } from '../../src/scheme/errors.js';
import { paymentFields } from '../../src/scheme/messages.js';
import { Wire } from '../../src/scheme/wire.js';
import { basePayment } from '../support/iso20022-arbitraries.js';
import { socketPair, until } from '../support/tcp.js';

const KEY = Buffer.from('5a'.repeat(32), 'hex');
/** Small enough to reach quickly, large enough for a largest frame in each half. */
const OUTBOX_BYTES_MAX = 64 * 1024;
/** Requests sent at most before the test gives up on back-pressure showing (loopback buffers hold megabytes). */
const REQUESTS_MAX = 200_000;

function wire(socket: Socket, id: string, closed: string[], outboxBytesMax = OUTBOX_BYTES_MAX): Wire {
  return new Wire(
    socket,
    {
      id,
      macKey: KEY,
      clock: systemClock,
      log: silentLogger,
      requestTimeoutMs: 60_000,
      maxInFlight: 900_000,
      heartbeatMs: 0,
      outboxBytesMax,
    },
    { onRequest: (_m, reply) => void reply.reply('0000'), onClose: (reason) => closed.push(reason) },
  );
}

const payment = (): IsoMessage => ({ mti: '9200', fields: paymentFields(basePayment) });

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

/** Sends requests in bursts into `sent`, letting the socket write between them, until `stop` holds. */
async function sendUntil(
  a: Wire,
  stop: () => boolean,
  sent: Array<Promise<unknown>>,
  observe: () => void,
): Promise<void> {
  while (!stop() && sent.length < REQUESTS_MAX) {
    for (let i = 0; i < 200 && !stop(); i++) {
      sent.push(a.request(payment()).catch((e: unknown) => e));
      observe();
    }
    await new Promise((r) => setImmediate(r));
    observe();
  }
}

describe('the wire outbox at its bound', () => {
  it('stops writing while the socket is full, refuses requests busy at the bound, and resumes on drain', async () => {
    const s = await socketPair();
    cleanup.push(s.close);
    const closedA: string[] = [];
    const a = wire(s.client, 'A', closedA);
    wire(s.server, 'B', []);
    // B stops reading: the kernel's buffers fill, then the socket's, then A's outbox.
    s.server.pause();
    const sent: Array<Promise<unknown>> = [];
    let outboxPeak = 0;
    let socketPeak = 0;
    await sendUntil(
      a,
      () => !a.hasRoom,
      sent,
      () => {
        outboxPeak = Math.max(outboxPeak, a.outboxBytes);
        socketPeak = Math.max(socketPeak, s.client.writableLength);
      },
    );
    expect(a.hasRoom, `no back-pressure after ${sent.length} requests`).toBe(false);
    // The outbox stopped at the request half of its bound, and the socket was not handed more than
    // its high-water mark and one batch beyond what it refused.
    expect(outboxPeak).toBeLessThanOrEqual(OUTBOX_BYTES_MAX / 2 + 1024);
    expect(socketPeak).toBeLessThanOrEqual(s.client.writableHighWaterMark + OUTBOX_BYTES_MAX);
    const refused = await a.request(payment()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RequestError);
    expect((refused as RequestError).code).toBe('busy');
    const stalled = a.outboxBytes;
    await new Promise((r) => setTimeout(r, 50));
    expect(a.outboxBytes).toBe(stalled);
    expect(a.open).toBe(true);

    // B reads again: 'drain' empties the outbox, every request taken is answered, new ones go.
    s.server.resume();
    await until(() => a.outboxBytes === 0 && a.hasRoom, 20_000, 'the outbox to drain');
    const answers = await Promise.all(sent);
    expect(answers.every((r) => !(r instanceof Error))).toBe(true);
    await expect(a.request(payment())).resolves.toMatchObject({ mti: '9210' });
    expect(closedA).toEqual([]);
  }, 60_000);

  it('closes a connection whose peer stops reading even its responses, once they no longer fit', async () => {
    const s = await socketPair();
    cleanup.push(s.close);
    const closedB: string[] = [];
    const a = wire(s.client, 'A', [], 4 * 1024 * 1024);
    const b = wire(s.server, 'B', closedB);
    // A stops reading: B's responses back up; A's requests still reach B, which answers each.
    s.client.pause();
    const sent: Array<Promise<unknown>> = [];
    let outboxPeak = 0;
    await sendUntil(
      a,
      () => closedB.length > 0,
      sent,
      () => (outboxPeak = Math.max(outboxPeak, b.outboxBytes)),
    );
    await until(() => closedB.length > 0, 10_000, 'B to give up on A');
    expect(closedB[0]).toMatch(/^outbox full/);
    expect(b.open).toBe(false);
    expect(outboxPeak).toBeLessThanOrEqual(OUTBOX_BYTES_MAX);
  }, 60_000);
});
