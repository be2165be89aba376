/**
 * Cross-site inbound at the desks (P3, R1, R5, R6): two inbound desks, one per site, on one real
 * ledger, with signals between them through a bus the test can make lose messages. Site A is
 * closed and receives the scheme's requests; site B is open, offers and takes the decisions. And
 * the scheme's reversal repeats while the ledger is slow (R3), on the same desks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { TransientFault } from '../../src/base/faults.js';
import { silentLogger } from '../../src/base/log.js';
import { fixedFence } from '../../src/failover/fence.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { OPEN_SITE, type SignalKind } from '../../src/ledger/site-signals.js';
import { INBOUND_SETTLED } from '../../src/payments/machines/inbound.js';
import { InboundDesk, type InboundDeps } from '../../src/payments/inbound-desk.js';
import type { Offer, Participant, ParticipantPort } from '../../src/payments/participant-port.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { businessDate, fpidOf, paymentFields } from '../../src/scheme/messages.js';
import { ActionCode } from '../../src/scheme/profile.js';
import { ReplyHandle, type ReplyChannel } from '../../src/scheme/reply.js';
import { basePayment } from '../support/iso20022-arbitraries.js';
import { startMigratedDatabase, type TestDatabase } from '../support/ledger.js';
import { eventually } from '../support/stack.js';
import { until } from '../support/tcp.js';

const PARTICIPANT: Participant = { id: '200001', sortCodes: [basePayment.beneficiarySortCode] };
const TIMING = { tInMs: 3_000, standInMarginMs: 1_000 };

/** Signals between the desks; `lose(kind, n)` drops the next n of a kind, as a listener reconnecting would. */
function signalBus() {
  const desks = new Map<string, { desk: InboundDesk; open: boolean }>();
  const losing = new Map<SignalKind, number>();
  return {
    desks,
    lose: (kind: SignalKind, n: number) => losing.set(kind, n),
    sender: {
      send: (to: string, kind: SignalKind, fpid: string) => {
        const left = losing.get(kind) ?? 0;
        if (left > 0) return void losing.set(kind, left - 1);
        setImmediate(() => {
          for (const [site, d] of desks) if (site === to || (to === OPEN_SITE && d.open)) d.desk.onSignal(kind, [fpid]);
        });
      },
    },
  };
}

/** A scheme connection of one site that records what is written on it. */
function connection(id: string): ReplyChannel & { written: string[] } {
  const c = {
    id,
    open: true,
    written: [] as string[],
    respond: (_r: IsoMessage, action: string) => (c.written.push(action), true),
  };
  return c;
}

let serial = 0;
function payment(mti: IsoMessage['mti'], trn = `XS${String(serial++).padStart(16, '0')}`): IsoMessage {
  return {
    mti,
    fields: paymentFields({ ...basePayment, trn, dateSent: businessDate(Date.now()), institution: '999999' }).set(
      11,
      String(serial).padStart(6, '0'),
    ),
  };
}

let db: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  db = await startMigratedDatabase();
  ledger = new Ledger(db.pool, systemClock, silentLogger, { finalStates: [...INBOUND_SETTLED] });
}, 60_000);
afterAll(async () => db?.stop());

/** A participant port that keeps the offers put through it and takes every other message. */
function offersKept(offers: Offer[]): ParticipantPort {
  return {
    offer: async (o) => void offers.push(o),
    standIn: async () => undefined,
    answerLate: async () => undefined,
    reversal: async () => undefined,
    report: async () => undefined,
  };
}

/** One site's inbound desk on the test's ledger, open or closed, with `deps` in place of the defaults. */
function inboundDesk(site: string, open: boolean, deps: Partial<InboundDeps> = {}): InboundDesk {
  return new InboundDesk({
    ledger,
    clock: systemClock,
    log: silentLogger,
    fence: fixedFence(site),
    isOpen: () => open,
    participants: { owner: () => PARTICIPANT },
    port: offersKept([]),
    newOfferMessageId: () => `offer-${site}-${serial++}`.padEnd(48, '0'),
    signals: { send: () => undefined },
    timing: TIMING,
    crossSitePollMs: 50,
    ...deps,
  });
}

function twoSites() {
  const bus = signalBus();
  const offers: Offer[] = [];
  const port = offersKept(offers);
  const desk = (site: string, open: boolean) => {
    const d = inboundDesk(site, open, { port, signals: bus.sender });
    bus.desks.set(site, { desk: d, open });
    return d;
  };
  const a = desk('site-a', false);
  const b = desk('site-b', true);
  const channels = { a: connection('DC1-1'), b: connection('DC1-1') };
  const arrive = async (site: 'a' | 'b', m: IsoMessage) =>
    (site === 'a' ? a : b).onRequest(m, new ReplyHandle(channels[site], m, Date.now(), () => undefined));
  const offerOf = async (fpid: string) => {
    await until(() => offers.some((o) => o.fpid === fpid), 5_000, `the offer of ${fpid}`);
    return offers.find((o) => o.fpid === fpid)!;
  };
  const decide = async (o: Offer, accept: boolean) =>
    b.decideOffer(
      PARTICIPANT,
      o.offerMessageId,
      { accept, code: accept ? ActionCode.accepted : ActionCode.invalidAccount },
      { mqMessageId: `decision-${serial++}`, msgId: `MSG${serial}`, trn: o.payment.trn },
    );
  const stop = () => {
    a.stop();
    b.stop();
  };
  return { bus, a, b, channels, arrive, offerOf, decide, stop };
}

/** The participant notices written to the outbox for a payment, in order. */
const noticesOf = async (fpid: string) =>
  (
    await db.pool.query<{ notice: string }>(
      "SELECT payload->>'notice' AS notice FROM outbox WHERE topic = 'participant.notices' AND key = $1 ORDER BY id",
      [fpid],
    )
  ).rows.map((r) => r.notice);

const journal = async (fpid: string) => (await ledger.journal(fpid)).map((j) => `${j.event}@${j.site}`);

describe('cross-site inbound at the desks (P3)', () => {
  it('has the open site offer what the closed one recorded and the arrival site answer the decision, through lost signals (P3, R1)', async () => {
    const s = twoSites();
    try {
      // The first offer signal and the first outcome signal are lost: the closed site's poll makes both good.
      s.bus.lose('offer', 1);
      s.bus.lose('outcome', 1);
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('a', m);
      const offer = await s.offerOf(fpid);
      expect(await s.decide(offer, false)).toEqual({ taken: true });
      await until(() => s.channels.a.written.length > 0, 5_000, 'the 9210 on the arrival connection');
      expect(s.channels.a.written).toEqual([ActionCode.invalidAccount]);
      expect(s.channels.b.written).toEqual([]);
      await eventually(
        () => ledger.get(fpid),
        (row) => row?.state === 'replied',
        5_000,
        'replied',
      );
      expect(await journal(fpid)).toEqual(['received@site-a', 'offer@site-b', 'decided@site-b', 'reply_sent@site-a']);
    } finally {
      s.stop();
    }
  });

  it('records and offers in one commit what arrives on the open site; a record the fence refuses, the lease having moved, is recorded as a closed site records it (P3, R6)', async () => {
    const s = twoSites();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('b', m);
      await s.decide(await s.offerOf(fpid), true);
      await until(() => s.channels.b.written.length > 0, 5_000, 'the 9210 on the arrival connection');
      await eventually(
        () => ledger.get(fpid),
        (row) => row?.state === 'replied',
        5_000,
        'replied',
      );
      expect(await journal(fpid)).toEqual(['offer@site-b', 'decided@site-b', 'reply_sent@site-b']);
    } finally {
      s.stop();
    }
    // A site that still believes itself open at epoch 2 while the lease is at epoch 3.
    const leaseName = `moved-${serial++}`;
    await db.pool.query(
      "INSERT INTO site_lease (name, holder, epoch, expires_at) VALUES ($1, 'site-a', 3, now() + interval '1 hour')",
      [leaseName],
    );
    const fencedLedger = new Ledger(db.pool, systemClock, silentLogger, {
      finalStates: [...INBOUND_SETTLED],
      leaseName,
    });
    const offered: Offer[] = [];
    const desk = inboundDesk('site-b', true, {
      ledger: fencedLedger,
      fence: fixedFence('site-b', 2),
      port: offersKept(offered),
    });
    try {
      const channel = connection('DC2-1');
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await desk.onRequest(m, new ReplyHandle(channel, m, Date.now(), () => undefined));
      expect((await ledger.get(fpid))?.state).toBe('recorded');
      // Nothing goes to a queue from a site the lease has left; the payment is answered in time, stood in.
      await until(() => channel.written.length > 0, TIMING.tInMs, 'the 9210 within T_in');
      expect(channel.written).toEqual([ActionCode.standIn]);
      expect(offered).toEqual([]);
      expect((await journal(fpid))[0]).toBe('received@site-b');
    } finally {
      desk.stop();
    }
  });

  it('answers a repeat that arrived on the open site and the arrival on the closed one, each on its own connection, once (P3, R5)', async () => {
    const s = twoSites();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('a', m);
      const offer = await s.offerOf(fpid);
      await s.arrive('b', { ...m, mti: '9201' });
      await s.decide(offer, true);
      await until(() => s.channels.a.written.length + s.channels.b.written.length === 2, 5_000, 'both answers');
      expect(s.channels.a.written).toEqual([ActionCode.accepted]);
      expect(s.channels.b.written).toEqual([ActionCode.accepted]);
      await new Promise((r) => setTimeout(r, 200));
      expect(s.channels.a.written.length + s.channels.b.written.length).toBe(2);
    } finally {
      s.stop();
    }
  });

  it('records on the closed site a reversal of a payment the open site offered, answers 9430 there and leaves the pacs.007 to the open site (P3, R3)', async () => {
    const s = twoSites();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('a', m);
      await s.offerOf(fpid);
      await eventually(
        () => ledger.get(fpid),
        (row) => row?.state === 'offered',
        5_000,
        'offered',
      );
      const reversal = { ...m, mti: '9420' as const };
      const handle = new ReplyHandle(s.channels.a, reversal, Date.now(), () => undefined);
      await s.a.onRequest(reversal, handle);
      expect(handle.replied).toBe(true);
      expect(s.channels.a.written).toEqual([ActionCode.accepted]);
      expect((await ledger.get(fpid))?.state).toBe('reversed');
      expect(await noticesOf(fpid)).toEqual(['reversal']);
    } finally {
      s.stop();
    }
  });

  it('gives one outcome when the arrival site stands in as the open site records a decision: the decision is late, answered 0912 (P3, R6)', async () => {
    const s = twoSites();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('a', m);
      const offer = await s.offerOf(fpid);
      // The arrival site stands in at T_in - margin; the open site still holds the payment as offered.
      await until(() => s.channels.a.written.length > 0, 5_000, 'the stand-in');
      expect(s.channels.a.written).toEqual([ActionCode.standIn]);
      expect(await s.decide(offer, true)).toEqual({ taken: true });
      const row = await ledger.get(fpid);
      expect(row).toMatchObject({ state: 'replied', outcome: ActionCode.standIn });
      // The notices the open site will put: the stand-in (written by the closed site) and the late answer.
      expect(await noticesOf(fpid)).toEqual(['standIn', 'answerLate']);
      expect(s.channels.b.written).toEqual([]);
    } finally {
      s.stop();
    }
  });

  it('makes one offer of a payment signalled again while its offer is being recorded, and takes into memory none signalled after it moved on (P3)', async () => {
    const bus = signalBus();
    const offers: Offer[] = [];
    let reads = 0;
    const counted = new Proxy(ledger, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'get') reads += 1;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const a = inboundDesk('site-a', false, { port: offersKept(offers), signals: bus.sender });
    // Site B opens once the ledger has stopped taking writes, so that its first offer waits.
    let bOpen = false;
    const b = inboundDesk('site-b', true, {
      port: offersKept(offers),
      signals: bus.sender,
      ledger: counted,
      isOpen: () => bOpen,
    });
    bus.desks.set('site-a', { desk: a, open: false });
    const openSite = { desk: b, open: false };
    bus.desks.set('site-b', openSite);
    const lock = await db.pool.connect();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      const arrival = connection('DC1-1');
      // The ledger takes reads but no writes for a while: the open site's offer waits to commit, and
      // the arrival site's poll (every 50 ms) signals the payment again and again meanwhile.
      await a.onRequest(m, new ReplyHandle(arrival, m, Date.now(), () => undefined));
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE payments IN EXCLUSIVE MODE');
      bOpen = true;
      openSite.open = true;
      await until(() => b.inFlight === 1, 5_000, 'the open site holding the payment');
      for (let i = 0; i < 5; i += 1) b.onSignal('offer', [fpid]);
      await new Promise((r) => setTimeout(r, 300));
      await lock.query('COMMIT');
      await until(() => offers.some((o) => o.fpid === fpid), 5_000, 'the offer');
      const offer = offers.find((o) => o.fpid === fpid)!;
      expect(
        await b.decideOffer(
          PARTICIPANT,
          offer.offerMessageId,
          { accept: true, code: ActionCode.accepted },
          { mqMessageId: `decision-${serial++}`, msgId: `MSG${serial}`, trn: offer.payment.trn },
        ),
      ).toEqual({ taken: true });
      await until(() => arrival.written.length > 0, 5_000, 'the 9210');
      await until(() => b.inFlight === 0, 5_000, 'the open site letting the payment go');
      expect(offers.filter((o) => o.fpid === fpid)).toHaveLength(1);
      // One read to take the payment up; none for the signals that came while its offer was on its way.
      expect(reads).toBe(1);
      // A signal sent before the payment moved on, arriving after: nothing to offer, nothing held.
      b.onSignal('offer', [fpid]);
      await until(() => reads === 2, 5_000, 'the late signal looked up');
      await new Promise((r) => setTimeout(r, 100));
      expect(b.inFlight).toBe(0);
      expect(await journal(fpid)).toEqual(['received@site-a', 'offer@site-b', 'decided@site-b', 'reply_sent@site-a']);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
      a.stop();
      b.stop();
    }
  });
});

describe('reversal repeats at the desks (R3)', () => {
  it('keeps one reversal handle per payment while the ledger is slow: the newest repeat is answered, those it superseded are not (R3)', async () => {
    const s = twoSites();
    const lock = await db.pool.connect();
    try {
      const m = payment('9200');
      const fpid = fpidOf(m.fields);
      await s.arrive('b', m);
      await s.offerOf(fpid);
      // The ledger stops taking commits; the scheme, hearing nothing, repeats its reversal.
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
      const channels = ['DC1-1', 'DC1-2', 'DC2-1', 'DC2-2', 'DC1-1#2'].map(connection);
      const requests = channels.map((c, i) => {
        const r: IsoMessage = { ...m, mti: i === 0 ? '9420' : '9421' };
        const done = s.b.onRequest(r, new ReplyHandle(c, r, Date.now(), () => undefined));
        return done;
      });
      await new Promise((r) => setTimeout(r, 200));
      await lock.query('ROLLBACK');
      await Promise.all(requests);
      await until(() => channels.at(-1)!.written.length > 0, 5_000, 'the 9430 to the newest repeat');
      expect(channels.map((c) => c.written)).toEqual([[], [], [], [], [ActionCode.accepted]]);
      expect((await journal(fpid)).filter((e) => e.startsWith('reversal'))).toEqual(['reversal@site-b']);
      // A repeat after the answer is answered again, once recorded.
      const again = connection('DC2-1#2');
      const r: IsoMessage = { ...m, mti: '9421' };
      await s.b.onRequest(r, new ReplyHandle(again, r, Date.now(), () => undefined));
      await until(() => again.written.length > 0, 5_000, 'the 9430 to a later repeat');
      expect(again.written).toEqual([ActionCode.accepted]);
    } finally {
      lock.release();
      s.stop();
    }
  });

  it('keeps no reversal handle for a reversal the ledger could not take: the next repeat is recorded and answered (R3)', async () => {
    let away = true;
    const flaky = new Proxy(ledger, {
      get(target, prop) {
        if (prop === 'get' && away) return async () => Promise.reject(new TransientFault('the ledger is away'));
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const desk = inboundDesk('site-b', true, { ledger: flaky });
    try {
      // A reversal of a payment this site never saw, while the ledger is away.
      const m = payment('9420');
      const fpid = fpidOf(m.fields);
      const first = connection('DC1-1');
      await expect(desk.onRequest(m, new ReplyHandle(first, m, Date.now(), () => undefined))).rejects.toThrow(/away/);
      away = false;
      const repeat: IsoMessage = { ...m, mti: '9421' };
      const next = connection('DC1-2');
      await desk.onRequest(repeat, new ReplyHandle(next, repeat, Date.now(), () => undefined));
      await until(() => next.written.length > 0, 5_000, 'the 9430 to the repeat');
      expect([first.written, next.written]).toEqual([[], [ActionCode.accepted]]);
      expect((await ledger.get(fpid))?.state).toBe('reversed');
    } finally {
      desk.stop();
    }
  });
});
