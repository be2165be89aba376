import type { Socket } from 'node:net';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../src/participant/mq/amqp-coalesce.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const queue = `FPS.T${Date.now().toString(36).toUpperCase()}.COALESCE`;
const PUBLISHES = 40;
const BODIES = Array.from({ length: PUBLISHES }, (_, i) => `m${i}`);

/** Counts the socket writes (syscalls) the connection makes from now on. */
function countWrites(model: ChannelModel): { writes: number } {
  const stream = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  const counter = { writes: 0 };
  const s = stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const key of ['_write', '_writev'] as const) {
    const original = s[key]!.bind(stream);
    s[key] = (...args: unknown[]) => {
      counter.writes++;
      return original(...args);
    };
  }
  return counter;
}

/** Publishes `bodies` in one turn of the event loop; the socket writes they took, and what the queue got. */
async function publishBurst(coalesce: boolean, bodies = BODIES): Promise<{ writes: number; received: string[] }> {
  const model = await connect(AMQP_URL, { noDelay: true });
  try {
    if (coalesce) expect(coalesceWrites(model)).toBe(true);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.purgeQueue(queue);
    const counter = countWrites(model);
    for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), { persistent: true });
    await ch.waitForConfirms();
    const writes = counter.writes;
    const received: string[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      received.push(m.content.toString());
    }
    return { writes, received };
  } finally {
    await model.close();
  }
}

afterAll(async () => {
  const model = await connect(AMQP_URL);
  await (await model.createChannel()).deleteQueue(queue);
  await model.close();
});

describe('AMQP write coalescing', () => {
  it('sends the frames queued in one turn of the event loop as one socket write, in order', async () => {
    const plain = await publishBurst(false);
    const coalesced = await publishBurst(true);
    expect(plain.received).toEqual(BODIES);
    expect(coalesced.received).toEqual(BODIES);
    // amqplib alone writes each publish by itself.
    expect(plain.writes).toBeGreaterThanOrEqual(PUBLISHES);
    expect(coalesced.writes).toBe(1);
  });

  it("delivers everything, in order, when one turn's frames pass the socket's high-water mark", async () => {
    // 300 messages of 3 KB: about 900 KB corked against a 16 KB mark, so the muxer waits for drains.
    const large = Array.from({ length: 300 }, (_, i) => `${i}:`.padEnd(3000, 'x'));
    const { writes, received } = await publishBurst(true, large);
    expect(received).toEqual(large);
    expect(writes).toBeGreaterThan(1);
  });

  it('changes nothing where amqplib is not as expected', () => {
    expect(coalesceWrites({} as ChannelModel)).toBe(false);
  });
});
