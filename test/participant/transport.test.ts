import { connect } from 'amqplib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger, createLogger } from '../../src/base/log.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { createTransport } from '../../src/participant/mq/factory.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, type IncomingMessage, type MqTransport } from '../../src/participant/mq/port.js';
import { participantQueues } from '../../src/participant/mq/queues.js';
import { sleep } from '../support/lease.js';
import { until } from '../support/tcp.js';
import { drain, transportContract } from '../support/transport-contract.js';
import { CuttableProxy, inFrontOf } from '../support/transport-proxy.js';

const log = process.env.LOG_LEVEL === undefined ? silentLogger : createLogger('mq-test');

// --- in-process: always ---------------------------------------------------------------------
transportContract('in-process', {
  connect: async () => new InProcessTransport(log),
  queues: async (t) => {
    const q = participantQueues('100001');
    await t.ensureQueues([q.toGateway, q.backout]);
    return { queue: q.toGateway, backout: q.backout };
  },
  concurrentHandlers: true,
});

describe('in-process transport', () => {
  it('refuses to exist in production', () => {
    vi.stubEnv('NODE_ENV', 'production');
    try {
      expect(() => new InProcessTransport(log)).toThrow(/NODE_ENV=production/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

// --- AMQP on RabbitMQ: always (CI runs scripts/start-rabbitmq.sh) ------------------------------
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Queue names unique to this run, so that runs never see each other's messages. */
const run = `T${Date.now().toString(36).toUpperCase()}`;
const created: string[] = [];
let serial = 0;

async function amqpQueues(t: MqTransport): Promise<{ queue: string; backout: string }> {
  const queue = `FPS.${run}.${++serial}.TO.GATEWAY`;
  const backout = `${queue}.BACKOUT`;
  created.push(queue, backout);
  await t.ensureQueues([queue, backout]);
  return { queue, backout };
}

afterAll(async () => {
  if (created.length === 0) return;
  const model = await connect(AMQP_URL);
  const ch = await model.createChannel();
  for (const q of created) await ch.deleteQueue(q);
  await model.close();
});

transportContract('amqp', {
  connect: () => AmqpTransport.connect({ url: AMQP_URL }, log),
  queues: amqpQueues,
  concurrentHandlers: true,
});

describe('amqp transport', () => {
  const withUrl = (port: number): string => {
    const u = new URL(AMQP_URL);
    u.port = String(port);
    return u.toString();
  };

  it('redelivers a message whose handler had not committed when the connection dropped (P6)', async () => {
    const proxy = await inFrontOf(AMQP_URL);
    const direct = await AmqpTransport.connect({ url: AMQP_URL }, log);
    const viaProxy = await AmqpTransport.connect({ url: proxy.url, reconnectMinMs: 50 }, log);
    try {
      const { queue, backout } = await amqpQueues(direct);
      const messageId = newMessageId();
      await direct.put({ queue, body: 'pacs.008', messageId });

      const seen: IncomingMessage[] = [];
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const consumer = await viaProxy.consume(
        queue,
        async (m) => {
          seen.push(m);
          if (seen.length === 1) await held; // the crash comes before the effect is recorded
          return 'commit';
        },
        { prefetch: 1, backoutThreshold: 3, backoutQueue: backout },
      );

      await until(() => seen.length === 1, 10_000, 'first delivery');
      proxy.cut();
      await until(() => seen.length === 2, 15_000, 'redelivery after reconnect');
      release(); // the stale commit must fail quietly: its channel is gone
      await consumer.stop();

      expect(seen.map((m) => m.messageId)).toEqual([messageId, messageId]);
      expect(seen[1]?.deliveryCount).toBeGreaterThanOrEqual(1);

      // Committed by the second delivery: nothing is left.
      const after: IncomingMessage[] = [];
      const marker = newMessageId();
      await direct.put({ queue, body: 'marker', messageId: marker });
      const c = await direct.consume(queue, async (m) => (after.push(m), 'commit'), {
        prefetch: 1,
        backoutThreshold: 3,
        backoutQueue: backout,
      });
      await until(() => after.some((m) => m.messageId === marker), 10_000, 'marker');
      await c.stop();
      expect(after.map((m) => m.messageId)).toEqual([marker]);
    } finally {
      await viaProxy.close();
      await direct.close();
      await proxy.close();
    }
  });

  /** Consumes `queue` on `t`, recording what it is handed (committed at once) under `seen`. */
  const reader = (t: MqTransport, queue: string, backout: string, seen: string[]) =>
    t.consume(queue, async (m) => (seen.push(m.messageId), 'commit'), {
      prefetch: 5,
      backoutThreshold: 3,
      backoutQueue: backout,
    });
  const putSome = async (t: MqTransport, queue: string, n: number): Promise<string[]> => {
    const ids = Array.from({ length: n }, () => newMessageId());
    for (const messageId of ids) await t.put({ queue, body: 'pacs.008', messageId });
    return ids;
  };

  it('lets one of two sites consuming a TO.GATEWAY queue read it; when that one stops or goes, the other takes over (P3)', async () => {
    const siteA = await AmqpTransport.connect({ url: AMQP_URL }, log);
    const siteB = await AmqpTransport.connect({ url: AMQP_URL }, log);
    const other = await AmqpTransport.connect({ url: AMQP_URL }, log);
    try {
      const { queue, backout } = await amqpQueues(siteA);
      await siteB.ensureQueues([queue, backout]); // the same declaration: nothing refused
      const a: string[] = [];
      const b: string[] = [];
      const a2: string[] = [];
      const readerA = await reader(siteA, queue, backout, a);
      await reader(siteB, queue, backout, b);
      const first = await putSome(other, queue, 10);
      await until(() => a.length === 10, 10_000, 'site A to read all ten');
      await sleep(200);
      expect([a, b]).toEqual([first, []]);
      // A stops reading (closes): B, waiting, is handed the queue.
      await readerA.stop();
      const second = await putSome(other, queue, 10);
      await until(() => b.length === 10, 10_000, 'site B to read all ten');
      expect(b).toEqual(second);
      // A reads again and waits; B's connection goes: A takes over.
      await reader(siteA, queue, backout, a2);
      const third = await putSome(other, queue, 3);
      await until(() => b.length === 13, 10_000, 'site B still the one reading');
      await siteB.close();
      const fourth = await putSome(other, queue, 3);
      // A message B committed as its connection went can come again to A (the broker had not yet
      // taken the ack): at least once, never lost. A reads nothing else, and the fourth in order.
      const takenOver = () => a2.filter((id) => !third.includes(id));
      await until(() => takenOver().length === 3, 10_000, 'site A to take over');
      expect(b.slice(10)).toEqual(third);
      expect(takenOver()).toEqual(fourth);
    } finally {
      await Promise.all([siteA.close(), siteB.close(), other.close()]);
    }
  });

  it('uses a TO.GATEWAY queue declared before single active consumer as it is, rather than failing to declare it', async () => {
    const queue = `FPS.${run}.${++serial}.TO.GATEWAY`;
    const backout = `${queue}.BACKOUT`;
    created.push(queue, backout);
    const legacy = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
    const model = await connect(AMQP_URL);
    try {
      await (await model.createChannel()).assertQueue(queue, legacy);
      const t = await AmqpTransport.connect({ url: AMQP_URL }, log);
      try {
        // RabbitMQ refuses the new arguments (PRECONDITION_FAILED); the transport goes on with the queue.
        await t.ensureQueues([queue, backout]);
        const seen: string[] = [];
        const c = await reader(t, queue, backout, seen);
        const ids = await putSome(t, queue, 3);
        await until(() => seen.length === 3, 10_000, 'the three messages');
        expect(seen).toEqual(ids);
        await c.stop();
      } finally {
        await t.close();
      }
      // Its arguments are still the old ones: declaring it with them is no error.
      await expect((await model.createChannel()).assertQueue(queue, legacy)).resolves.toMatchObject({ queue });
    } finally {
      await model.close();
    }
  });

  it('rejects a put, rather than hanging, when the broker is gone', async () => {
    const proxy = await inFrontOf(AMQP_URL);
    const t = await AmqpTransport.connect({ url: proxy.url }, log);
    try {
      const { queue } = await amqpQueues(t);
      await proxy.close();
      await expect(t.put({ queue, body: 'pacs.008', messageId: newMessageId() })).rejects.toThrow(/unreachable|closed/);
      // Once the loss is noticed, puts fail at once.
      await expect(t.put({ queue, body: 'pacs.008', messageId: newMessageId() })).rejects.toThrow(/unreachable/);
    } finally {
      await t.close();
    }
  });

  it('fails fast when the broker is unreachable at start', async () => {
    const proxy = await CuttableProxy.start(1);
    const port = proxy.port;
    await proxy.close();
    await expect(createTransport({ kind: 'amqp', url: withUrl(port) }, log)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('createTransport', () => {
  it('rejects a configuration it cannot use, saying why', async () => {
    await expect(createTransport({ kind: 'ibmmq', queueManager: 'QM1' }, log)).rejects.toThrow(
      /invalid MQ configuration: channel/,
    );
    await expect(createTransport({ kind: 'kafka' }, log)).rejects.toThrow(/invalid MQ configuration/);
  });

  it('builds the in-process transport', async () => {
    const t = await createTransport({ kind: 'in-process' }, log);
    expect([t.name, t.durable]).toEqual(['in-process', false]);
    await t.close();
  });
});

// --- IBM MQ: only where a queue manager is configured -----------------------------------------
const { MQ_QMGR, MQ_CHANNEL, MQ_CONNNAME, MQ_USER, MQ_PASSWORD, MQ_TEST_PARTICIPANT } = process.env;
if (
  MQ_QMGR !== undefined &&
  MQ_CHANNEL !== undefined &&
  MQ_CONNNAME !== undefined &&
  MQ_TEST_PARTICIPANT !== undefined
) {
  transportContract('ibmmq', {
    connect: () =>
      createTransport(
        {
          kind: 'ibmmq',
          queueManager: MQ_QMGR,
          channel: MQ_CHANNEL,
          connName: MQ_CONNNAME,
          ...(MQ_USER ? { user: MQ_USER } : {}),
          ...(MQ_PASSWORD ? { password: MQ_PASSWORD } : {}),
        },
        log,
      ),
    // The administrator defines the queues once; each test starts from them emptied.
    queues: async (t) => {
      const q = participantQueues(MQ_TEST_PARTICIPANT);
      await t.ensureQueues([q.toGateway, q.backout]);
      await drain(t, q.toGateway, q.backout);
      await drain(t, q.backout, q.backout);
      return { queue: q.toGateway, backout: q.backout };
    },
    concurrentHandlers: false,
  });
}
