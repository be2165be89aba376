/**
 * The bounds of the payment desks and the runtime's invariants, with small bounds passed as
 * options and a ledger in memory: what happens at each bound, and that a broken invariant throws.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/base/assert.js';
import { TransientFault } from '../../src/base/faults.js';
import { silentLogger } from '../../src/base/log.js';
import { fixedFence } from '../../src/failover/fence.js';
import type { CommitResult, Transition } from '../../src/ledger/transition.js';
import { InboundDesk } from '../../src/payments/inbound-desk.js';
import { OutboundDesk } from '../../src/payments/outbound-desk.js';
import type { Participant, ParticipantPort } from '../../src/payments/participant-port.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { businessDate, fpidOf, paymentFields } from '../../src/scheme/messages.js';
import { RequestError } from '../../src/scheme/errors.js';
import { ReplyHandle, type ReplyChannel } from '../../src/scheme/reply.js';
import { basePayment } from '../support/iso20022-arbitraries.js';
import { ManualClock } from '../support/manual-clock.js';

const PARTICIPANT: Participant = {
  id: '200001',
  sortCodes: [basePayment.beneficiarySortCode, basePayment.originatorSortCode],
};

/** A ledger that takes every commit, or answers as `answer` says; it holds nothing to read back. */
function memoryLedger(answer: (t: Transition) => CommitResult = (t) => ({ fpid: t.fpid, ok: true })) {
  const commits: Transition[] = [];
  return {
    commits,
    commit: async (t: Transition) => (commits.push(t), answer(t)),
    get: async () => undefined,
    findByParticipantMsgId: async () => undefined,
    findByParticipantTrn: async () => undefined,
    statesOf: async () => new Map<string, string>(),
  };
}

/** A participant link that takes every put and keeps what was reported. */
function quietPort(): ParticipantPort & { reports: unknown[] } {
  const reports: unknown[] = [];
  return {
    reports,
    offer: async () => undefined,
    standIn: async () => undefined,
    answerLate: async () => undefined,
    reversal: async () => undefined,
    report: async (r) => void reports.push(r),
  };
}

/** A connection that records what it writes. */
function channel(): ReplyChannel & { written: string[]; settled: number } {
  const c = {
    id: 'DC1-1#1',
    open: true,
    written: [] as string[],
    settled: 0,
    respond: (_r: IsoMessage, action: string) => (c.written.push(action), true),
  };
  return c;
}

let serial = 0;
function request(mti: IsoMessage['mti'] = '9200'): IsoMessage {
  const trn = `LIM${String(serial++).padStart(15, '0')}`;
  return {
    mti,
    fields: paymentFields({ ...basePayment, trn, dateSent: businessDate(Date.now()), institution: '999999' }).set(
      11,
      '000001',
    ),
  };
}

function inboundDesk(
  limits: { inMemoryPaymentsMax?: number; replyHandlesMax?: number },
  ledger = memoryLedger(),
  port: ParticipantPort = quietPort(),
) {
  const clock = new ManualClock();
  const desk = new InboundDesk({
    ledger,
    clock,
    log: silentLogger,
    fence: fixedFence('test'),
    isOpen: () => true,
    participants: { owner: () => PARTICIPANT },
    port,
    newOfferMessageId: () => `offer-${serial++}`,
    signals: { send: () => undefined },
    timing: { tInMs: 10_000, standInMarginMs: 1000 },
    ...limits,
  });
  const c = channel();
  const arrive = async (m = request()) => {
    const handle = new ReplyHandle(c, m, clock.now(), () => c.settled++);
    await desk.onRequest(m, handle);
    return handle;
  };
  return { desk, ledger, channel: c, arrive };
}

describe('inbound payments in memory at their bound', () => {
  it('leaves a new payment unrecorded and unanswered for the scheme to reverse, and takes one again once there is room', async () => {
    const { desk, ledger, channel: c, arrive } = inboundDesk({ inMemoryPaymentsMax: 2 });
    await arrive();
    await arrive();
    expect(desk.inFlight).toBe(2);
    const commitsBefore = ledger.commits.length;
    const third = await arrive();
    // Refused before the ledger: nothing recorded, nothing written, the handle given up (a drain does not wait for it).
    expect(ledger.commits.length).toBe(commitsBefore);
    expect(c.written).toEqual([]);
    expect(third.replied).toBe(true);
    expect(desk.inFlight).toBe(2);
  });

  it('leaves a reversal of a payment never seen unanswered, for the scheme to repeat', async () => {
    const { desk, channel: c, arrive } = inboundDesk({ inMemoryPaymentsMax: 1 });
    await arrive();
    const reversal = await arrive(request('9420'));
    expect(reversal.replied).toBe(true);
    expect(c.written).toEqual([]);
    expect(desk.inFlight).toBe(1);
  });
});

describe('reply handles at their bound', () => {
  it('leaves a request over the bound unanswered, without recording anything', async () => {
    const { desk, ledger, channel: c, arrive } = inboundDesk({ replyHandlesMax: 2 });
    await arrive();
    await arrive();
    const commitsBefore = ledger.commits.length;
    const third = await arrive();
    expect(ledger.commits.length).toBe(commitsBefore);
    expect(third.replied).toBe(true);
    expect(c.written).toEqual([]);
    expect(desk.inFlight).toBe(2);
  });

  it('answers a repeat of a payment still pending once, and keeps no handle for it after', async () => {
    const { desk, channel: c, arrive } = inboundDesk({ replyHandlesMax: 2 });
    const original = request();
    await arrive(original);
    // A 9201 while the decision is pending waits (R5): one handle more, at the bound now.
    await arrive({ mti: '9201', fields: original.fields });
    const overTheBound = await arrive();
    expect(overTheBound.replied).toBe(true);
    expect(desk.inFlight).toBe(1);
    expect(c.written).toEqual([]);
  });
});

describe('a reply handle is used once', () => {
  it('writes one answer; a second use writes nothing and says so', () => {
    const c = channel();
    const handle = new ReplyHandle(c, request(), 0, () => c.settled++);
    expect(handle.reply('0000')).toBe('sent');
    expect(handle.reply('0912')).toBe('already-replied');
    expect(c.written).toEqual(['0000']);
    expect(c.settled).toBe(1);
  });

  it('writes nothing once given up, and settles once', () => {
    const c = channel();
    const handle = new ReplyHandle(c, request(), 0, () => c.settled++);
    handle.leaveUnanswered();
    handle.leaveUnanswered();
    expect(handle.reply('0000')).toBe('already-replied');
    expect(c.written).toEqual([]);
    expect(c.settled).toBe(1);
  });

  it('is refused by the desk with an assertion when it comes already used, and nothing is recorded', async () => {
    const { desk, ledger } = inboundDesk({});
    const c = channel();
    const m = request();
    const handle = new ReplyHandle(c, m, 0, () => c.settled++);
    handle.reply('0000');
    await expect(desk.onRequest(m, handle)).rejects.toBeInstanceOf(AssertionError);
    expect(ledger.commits).toHaveLength(0);
    expect(c.written).toEqual(['0000']);
  });
});

describe('durable before effect', () => {
  it('performs no effect of a step whose commit was answered for another payment', async () => {
    const ledger = memoryLedger((t) => ({ fpid: `${t.fpid}-other`, ok: true }));
    let offered = 0;
    const { desk, channel: c, arrive } = inboundDesk({}, ledger, { ...quietPort(), offer: async () => void offered++ });
    const m = request();
    await arrive(m);
    expect(offered).toBe(0);
    expect(c.written).toEqual([]);
    expect(desk.inFlight).toBe(0);
    expect(fpidOf(m.fields)).toBe(ledger.commits[0]!.fpid);
  });
});

describe('outbound instructions at their bounds', () => {
  /** A scheme whose first request finds no connection and whose later ones are never answered. */
  const firstNotSent =
    (submitted: string[]) =>
    (m: IsoMessage): Promise<never> => {
      submitted.push(m.mti);
      return submitted.length === 1
        ? Promise.reject(new RequestError('no-connection', 'no connection signed on'))
        : new Promise<never>(() => undefined);
    };
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };

  function outboundDesk(
    limits: { inMemoryPaymentsMax?: number; instructionsInProgressMax?: number },
    ledger = memoryLedger(),
  ) {
    const clock = new ManualClock();
    // The scheme never answers: payments stay submitted, in memory.
    const scheme = { submit: () => new Promise<never>(() => undefined) };
    return new OutboundDesk({
      ledger,
      clock,
      log: silentLogger,
      fence: fixedFence('test'),
      scheme,
      port: quietPort(),
      timing: { tOutMs: 15_000, retryMs: 250 },
      ...limits,
    });
  }
  const instruction = () => {
    const { dateSent: _d, institution: _i, ...fields } = basePayment;
    return { ...fields, trn: `OUT${String(serial++).padStart(15, '0')}`, msgId: `M${serial}` };
  };

  it('takes up again, when the site reopens, a payment whose step was refused because the site had closed (P3)', async () => {
    // The first 9200 finds no connection; its second submit is refused as fenced (the lease lost
    // meanwhile); every other step commits.
    let fenceNext = true;
    const ledger = memoryLedger((t) => {
      if (t.event === 'submit' && fenceNext) {
        fenceNext = false;
        return { fpid: t.fpid, ok: false, reason: 'fenced', currentState: 'recorded' };
      }
      return { fpid: t.fpid, ok: true };
    });
    const submitted: string[] = [];
    const clock = new ManualClock();
    const desk = new OutboundDesk({
      ledger,
      clock,
      log: silentLogger,
      fence: fixedFence('test'),
      scheme: { submit: firstNotSent(submitted) },
      port: quietPort(),
      timing: { tOutMs: 15_000, retryMs: 250 },
    });
    await desk.instruct(PARTICIPANT, instruction(), 'mq-1');
    await settle();
    clock.advance(250);
    await settle();
    expect(submitted).toEqual(['9200']);
    const recorded = ledger.commits[0]!;
    // Reopened: recovery reads the payment open in the ledger, still held here, and submits it.
    await desk.recover([
      {
        ...recorded.payment!,
        fpid: recorded.fpid,
        state: 'recorded',
        site: 'test',
        context: recorded.patch!.context!,
        createdAt: 0,
        updatedAt: 0,
        version: 1,
      },
    ]);
    await settle();
    expect(submitted).toEqual(['9200', '9200']);
    expect(ledger.commits.filter((t) => t.event === 'submit').length).toBe(2);
  });

  it('commits a step that waited out the database across its own close and reopen under the epoch it holds now (P3)', async () => {
    // The first 9200 finds no connection; the submit after it meets the database away; meanwhile
    // the site loses its lease and takes it again.
    const epochs: number[] = [];
    let failNext = true;
    const ledger = memoryLedger();
    const flaky = {
      ...ledger,
      commit: async (t: Transition) => {
        if (t.event !== 'submit') return ledger.commit(t);
        epochs.push(t.epoch);
        if (failNext) {
          failNext = false;
          throw new TransientFault('database away');
        }
        return t.epoch === 6 ? ledger.commit(t) : { fpid: t.fpid, ok: false as const, reason: 'fenced' as const };
      },
    };
    let fence = { site: 'test', epoch: 5 };
    const clock = new ManualClock();
    const submitted: string[] = [];
    const desk = new OutboundDesk({
      ledger: flaky,
      clock,
      log: silentLogger,
      fence: () => fence,
      scheme: { submit: firstNotSent(submitted) },
      port: quietPort(),
      timing: { tOutMs: 15_000, retryMs: 250 },
    });
    await desk.instruct(PARTICIPANT, instruction(), 'mq-1');
    await settle();
    clock.advance(250);
    await settle();
    fence = { site: 'test', epoch: 6 };
    clock.advance(1_000);
    await settle();
    expect(epochs).toEqual([5, 6]);
    expect(submitted).toEqual(['9200', '9200']);
  });

  it('refuses an instruction with a transient fault while the payments in memory are at their bound: its MQ message stays queued', async () => {
    const desk = outboundDesk({ inMemoryPaymentsMax: 1 });
    await expect(desk.instruct(PARTICIPANT, instruction(), 'mq-1')).resolves.toBe('recorded');
    await expect(desk.instruct(PARTICIPANT, instruction(), 'mq-2')).rejects.toBeInstanceOf(TransientFault);
    expect(desk.inFlight).toBe(1);
  });

  it('refuses an instruction with a transient fault while the instructions being recorded are at their bound', async () => {
    let release = () => undefined as void;
    const held = new Promise<void>((r) => (release = r));
    const ledger = memoryLedger();
    const slow = { ...ledger, findByParticipantTrn: async () => (await held, undefined) };
    const desk = outboundDesk({ instructionsInProgressMax: 1 }, slow);
    const first = desk.instruct(PARTICIPANT, instruction(), 'mq-1');
    await expect(desk.instruct(PARTICIPANT, instruction(), 'mq-2')).rejects.toBeInstanceOf(TransientFault);
    release();
    await expect(first).resolves.toBe('recorded');
    await expect(desk.instruct(PARTICIPANT, instruction(), 'mq-3')).resolves.toBe('recorded');
  });
});

describe('a pacs.002 the broker keeps refusing', () => {
  it('is put again a bounded number of times in a run, then left in the ledger for the next start', async () => {
    const clock = new ManualClock();
    const ledger = memoryLedger();
    let puts = 0;
    const port = {
      ...quietPort(),
      report: async () => {
        puts += 1;
        throw new TransientFault('broker unreachable');
      },
    };
    const accepted = { response: { mti: '9210' as const, fields: new Map([[26, '0000']]) }, connection: 'DC1-1#1' };
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const desk = new OutboundDesk({
      ledger,
      clock,
      log,
      fence: fixedFence('test'),
      scheme: { submit: async () => accepted },
      port,
      timing: { tOutMs: 15_000, retryMs: 250 },
    });
    const { dateSent: _d, institution: _i, ...fields } = basePayment;
    await expect(
      desk.instruct(PARTICIPANT, { ...fields, trn: 'OUTREPORTBOUND0001', msgId: 'MRB' }, 'mq-1'),
    ).resolves.toBe('recorded');
    const hours = async (n: number) => {
      for (let s = 0; s < n * 3600; s += 5) {
        clock.advance(5000);
        await new Promise((r) => setImmediate(r));
      }
    };
    await hours(1);
    // The first put and RETRIES_MAX (40) more, backing off from 250 ms to 30 s: then it stops.
    expect(puts).toBe(41);
    await hours(1);
    expect(puts).toBe(41);
    expect(errors.filter((l) => l.includes('retries exhausted in this run'))).toHaveLength(1);
    // Nothing pretends it was reported: the last state the ledger holds is still accepted.
    expect(ledger.commits.map((t) => t.to)).not.toContain('reported');
    expect(ledger.commits.at(-1)!.to).toBe('accepted');
  });
});
