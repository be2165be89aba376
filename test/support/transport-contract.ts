import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import type { ConsumeOptions, Disposition, IncomingMessage, MqTransport } from '../../src/participant/mq/port.js';
import { newMessageId } from '../../src/participant/mq/port.js';
import { until } from './tcp.js';

/** What the contract needs of one transport under test. */
export interface ContractTarget {
  /** A fresh, connected transport; each test closes its own. */
  connect(): Promise<MqTransport>;
  /** One test's queue and its backout queue, existing and empty. */
  queues(t: MqTransport): Promise<{ queue: string; backout: string }>;
  /** False on IBM MQ: a unit of work spans a connection, so a consumer handles one message at a time. */
  concurrentHandlers: boolean;
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const BODY = '<Document><Cdtr><Nm>Zoë Béatrice Ångström</Nm></Cdtr></Document>';

/** Long enough for a broker to have delivered anything it was going to deliver. */
const QUIET_MS = 400;

/** Consumes `queue`, recording every delivery and settling it as `decide` says. */
async function record(
  t: MqTransport,
  queue: string,
  o: ConsumeOptions,
  decide: (m: IncomingMessage, seen: IncomingMessage[]) => Disposition | Promise<Disposition> = () => 'commit',
) {
  const seen: IncomingMessage[] = [];
  const consumer = await t.consume(
    queue,
    async (m) => {
      seen.push(m);
      return decide(m, seen);
    },
    o,
  );
  return { seen, stop: () => consumer.stop() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Empties `queue` (for targets whose queues outlive a test), committing whatever is there. */
export async function drain(t: MqTransport, queue: string, backoutQueue: string): Promise<void> {
  const r = await record(t, queue, { prefetch: 1, backoutThreshold: 1_000_000, backoutQueue });
  let count = -1;
  while (count !== r.seen.length) {
    count = r.seen.length;
    await sleep(QUIET_MS);
  }
  await r.stop();
}

/** The behaviour every MqTransport must have, whatever the broker (see port.ts). */
export function transportContract(name: string, target: ContractTarget): void {
  describe(`MqTransport contract: ${name}`, () => {
    let t: MqTransport;
    let queue: string;
    let backout: string;
    let options: ConsumeOptions;

    beforeEach(async () => {
      t = await target.connect();
      ({ queue, backout } = await target.queues(t));
      options = { prefetch: 1, backoutThreshold: 3, backoutQueue: backout };
    });
    afterEach(async () => {
      await t.close();
    });

    /** Puts a marker and waits for it: once it arrives, everything put before it has had its chance. */
    async function expectOnly(q: string, expected: string[]): Promise<void> {
      const marker = newMessageId();
      await t.put({ queue: q, body: 'marker', messageId: marker });
      const r = await record(t, q, { ...options, backoutQueue: backout });
      await until(() => r.seen.some((m) => m.messageId === marker), 10_000, `marker on ${q}`);
      await r.stop();
      expect(r.seen.map((m) => m.messageId).filter((id) => id !== marker)).toEqual(expected);
    }

    it('round-trips body, message id and correlation id, first delivery counted 0', async () => {
      const messageId = newMessageId();
      const correlationId = newMessageId();
      await t.put({ queue, body: BODY, messageId, correlationId });
      const r = await record(t, queue, options);
      await until(() => r.seen.length === 1, 10_000, 'delivery');
      await r.stop();
      expect(r.seen[0]).toEqual({ queue, body: BODY, messageId, correlationId, deliveryCount: 0 });
    });

    it('round-trips a traceparent message property', async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId, traceparent: TRACEPARENT });
      await t.put({ queue, body: BODY, messageId: newMessageId() });
      const r = await record(t, queue, options);
      await until(() => r.seen.length === 2, 10_000, 'two deliveries');
      await r.stop();
      expect(r.seen.map((m) => m.traceparent)).toEqual([TRACEPARENT, undefined]);
      expect(r.seen[1]).not.toHaveProperty('traceparent');
    });

    it('rejects a put with a malformed traceparent', async () => {
      await expect(
        t.put({ queue, body: BODY, messageId: newMessageId(), traceparent: '00-not-a-trace-01' }),
      ).rejects.toThrow(/traceparent/);
    });

    it('delivers a message put without correlation id with correlationId null', async () => {
      await t.put({ queue, body: BODY, messageId: newMessageId() });
      const r = await record(t, queue, options);
      await until(() => r.seen.length === 1, 10_000, 'delivery');
      await r.stop();
      expect(r.seen[0]?.correlationId).toBeNull();
    });

    it('removes a committed message: a later consumer does not see it', async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId });
      const r = await record(t, queue, options);
      await until(() => r.seen.length === 1, 10_000, 'delivery');
      await r.stop();
      await expectOnly(queue, []);
    });

    it('redelivers after a throw or rollback, counting earlier deliveries', async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId });
      const r = await record(t, queue, options, (_m, seen) => {
        if (seen.length === 1) throw new Error('simulated failure before the effect was recorded');
        return seen.length === 2 ? 'rollback' : 'commit';
      });
      await until(() => r.seen.length === 3, 10_000, 'three deliveries');
      await r.stop();
      expect(r.seen.map((m) => [m.messageId, m.body, m.deliveryCount])).toEqual([
        [messageId, BODY, 0],
        [messageId, BODY, 1],
        [messageId, BODY, 2],
      ]);
      await expectOnly(queue, []);
    });

    it('moves a message to the backout queue at the threshold without calling the handler again (P7)', async () => {
      const messageId = newMessageId();
      const correlationId = newMessageId();
      await t.put({ queue, body: BODY, messageId, correlationId });
      const r = await record(t, queue, options, () => 'rollback');
      await until(() => r.seen.length === 3, 10_000, 'three deliveries');
      await sleep(QUIET_MS);
      await r.stop();
      expect(r.seen.map((m) => m.deliveryCount)).toEqual([0, 1, 2]);
      await expectOnly(queue, []);

      const b = await record(t, backout, { ...options, backoutQueue: backout });
      await until(() => b.seen.length === 1, 10_000, 'backout queue delivery');
      await b.stop();
      expect(b.seen[0]).toMatchObject({ body: BODY, messageId, correlationId });
    });

    it('holds a message whose handler meets a transient fault and runs it again, never counting it towards the backout threshold', async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId });
      // More transient failures than the threshold: a rollback for each would make it poison.
      const r = await record(t, queue, options, (_m, seen) => {
        if (seen.length <= options.backoutThreshold + 1) throw new TransientFault('the ledger is away');
        return 'commit';
      });
      await until(() => r.seen.length === options.backoutThreshold + 2, 15_000, 'the retries');
      await r.stop();
      expect(r.seen.map((m) => [m.messageId, m.deliveryCount])).toEqual(r.seen.map(() => [messageId, 0]));
      await expectOnly(queue, []);
      await expectOnly(backout, []);
    });

    it("moves a message the handler settles 'backout' at once", async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId });
      const r = await record(t, queue, options, () => 'backout');
      await until(() => r.seen.length === 1, 10_000, 'delivery');
      await r.stop();
      await expectOnly(queue, []);
      await expectOnly(backout, [messageId]);
    });

    it('moves a message to the backout queue with its traceparent', async () => {
      const messageId = newMessageId();
      await t.put({ queue, body: BODY, messageId, traceparent: TRACEPARENT });
      const r = await record(t, queue, options, () => 'backout');
      await until(() => r.seen.length === 1, 10_000, 'delivery');
      await r.stop();
      const b = await record(t, backout, { ...options, backoutQueue: backout });
      await until(() => b.seen.length === 1, 10_000, 'backout queue delivery');
      await b.stop();
      expect(b.seen[0]).toMatchObject({ messageId, traceparent: TRACEPARENT });
    });

    it('keeps no more handlers in flight than prefetch', async () => {
      const ids = Array.from({ length: 6 }, () => newMessageId());
      for (const messageId of ids) await t.put({ queue, body: BODY, messageId });
      let inFlight = 0;
      let most = 0;
      const r = await record(t, queue, { ...options, prefetch: 2 }, async (): Promise<Disposition> => {
        most = Math.max(most, ++inFlight);
        await sleep(100);
        inFlight--;
        return 'commit';
      });
      await until(() => r.seen.length === ids.length, 10_000, 'all deliveries');
      await r.stop();
      expect(new Set(r.seen.map((m) => m.messageId))).toEqual(new Set(ids));
      expect(most).toBe(target.concurrentHandlers ? 2 : 1);
    });

    it('does not deliver a message whose time to live has passed', async () => {
      const expired = newMessageId();
      const alive = newMessageId();
      await t.put({ queue, body: BODY, messageId: expired, expiryMs: 100 });
      await t.put({ queue, body: BODY, messageId: alive, expiryMs: 60_000 });
      await sleep(500);
      await expectOnly(queue, [alive]);
    });

    it('rejects a put to a queue that does not exist, naming it', async () => {
      const missing = `${queue}.MISSING`;
      await expect(t.put({ queue: missing, body: BODY, messageId: newMessageId() })).rejects.toThrow(missing);
    });

    it('rejects a put with a malformed message id', async () => {
      await expect(t.put({ queue, body: BODY, messageId: 'abc' })).rejects.toThrow(/messageId must be 48/);
    });

    it('rejects a put after close', async () => {
      await t.close();
      await expect(t.put({ queue, body: BODY, messageId: newMessageId() })).rejects.toThrow(/closed/);
    });
  });
}
