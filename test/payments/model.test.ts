/**
 * Model-based test of the payment lifecycle: random interleavings of scheme messages, participant
 * answers, connection loss, repeats and clock jumps, with the invariants checked after every step.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  startInbound,
  type InboundEffect,
  type InboundEvent,
  type InboundSnapshot,
  inboundEffect,
  inboundMachine,
} from '../../src/payments/machines/inbound.js';
import {
  startOutbound,
  type OutboundEffect,
  type OutboundEvent,
  type OutboundSnapshot,
  outboundEffect,
  outboundMachine,
} from '../../src/payments/machines/outbound.js';
import { step, stateOf } from '../../src/payments/machines/step.js';
import type { ActionCode } from '../../src/scheme/profile.js';

const T_IN = 10_000;
const MARGIN = 1_000;
const T_OUT = 15_000;
const CONNECTIONS = ['DC1-1', 'DC2-1'];

interface Handle {
  connection: string;
  replies: ActionCode[];
}

/** The world the machines act on: connections, reply handles, the participant's queue. */
class World {
  now = 0;
  open = new Set(CONNECTIONS);
  handles = new Map<string, Handle>();
  inbound = new Map<string, InboundSnapshot>();
  outbound = new Map<string, OutboundSnapshot>();
  offers = new Map<string, number>();
  codesByFpid = new Map<string, ActionCode[]>();
  standInTold = new Map<string, number>();
  /** Answers to late decisions, by decision message. */
  lateAnswers = new Map<string, number>();
  private nextDecision = 0;

  decision(): string {
    return `d${this.nextDecision++}`;
  }
  reports = new Map<string, ActionCode[]>();
  /** Requests with the scheme awaiting an answer, by FPID: the connection carrying each. */
  atScheme = new Map<string, string>();
  /** Reports whose put failed, waiting for the runtime to try again. */
  reportPending = new Set<string>();
  mqUp = true;
  /** Offers fail (their pacs.008 does not build, or cannot be put). */
  offersFail = false;
  /** Payments whose offer failed, with the time it did. */
  failedOffers = new Map<string, number>();
  /** Payments admission control shed on arrival. */
  shedOnArrival = new Set<string>();
  private nextHandle = 0;

  handle(connection: string): string {
    const id = `h${this.nextHandle++}`;
    this.handles.set(id, { connection, replies: [] });
    return id;
  }

  /** Writes a reply through a handle: lost when its connection closed (R4). */
  private reply(fpid: string, handleId: string, code: ActionCode): boolean {
    const h = this.handles.get(handleId)!;
    if (!this.open.has(h.connection)) return false;
    h.replies.push(code);
    this.codesByFpid.set(fpid, [...(this.codesByFpid.get(fpid) ?? []), code]);
    return true;
  }

  inboundEvent(fpid: string, event: InboundEvent): void {
    const before = this.inbound.get(fpid)!;
    const s = step(inboundMachine, inboundEffect, before, event);
    this.inbound.set(fpid, s.snapshot);
    this.runInbound(fpid, s.effects);
    // R6: a decision after the stand-in changes nothing and is answered RJCT 0912, once.
    if (event.type === 'DECIDED' && before.context.decidedBy === 'stand-in') {
      expect(s.snapshot.context.outcome).toBe('0912');
      expect(this.lateAnswers.get(event.message)).toBe(1);
    }
  }

  runInbound(fpid: string, effects: InboundEffect[]): void {
    const feedback: InboundEvent[] = [];
    for (const e of effects) {
      if (e.type === 'offer') this.offers.set(fpid, (this.offers.get(fpid) ?? 0) + 1);
      if (e.type === 'offer' && this.offersFail) {
        this.failedOffers.set(fpid, this.now);
        feedback.push({ type: 'OFFER_FAILED' });
      }
      if (e.type === 'reply')
        feedback.push({ type: this.reply(fpid, `arrival:${fpid}`, e.params.code) ? 'REPLY_SENT' : 'REPLY_LOST' });
      if (e.type === 'replyRepeat') this.reply(fpid, e.params.handle, e.params.code);
      if (e.type === 'replyRepeats') for (const h of e.params.handles) this.reply(fpid, h, e.params.code);
      if (e.type === 'tellStandIn') this.standInTold.set(fpid, (this.standInTold.get(fpid) ?? 0) + 1);
      if (e.type === 'answerLate')
        this.lateAnswers.set(e.params.message, (this.lateAnswers.get(e.params.message) ?? 0) + 1);
    }
    for (const ev of feedback) this.inboundEvent(fpid, ev);
  }

  outboundEvent(fpid: string, event: OutboundEvent): void {
    const s = step(outboundMachine, outboundEffect, this.outbound.get(fpid)!, event);
    this.outbound.set(fpid, s.snapshot);
    this.runOutbound(fpid, s.effects);
  }

  runOutbound(fpid: string, effects: OutboundEffect[]): void {
    const feedback: OutboundEvent[] = [];
    for (const e of effects) {
      if (e.type === 'submit' || e.type === 'repeat') {
        const avoid = e.type === 'repeat' ? e.params.avoid : undefined;
        const conn = [...this.open].find((c) => c !== avoid);
        if (conn === undefined) feedback.push({ type: 'NOT_SENT' });
        else this.atScheme.set(fpid, conn);
      }
      if (e.type === 'report') {
        if (this.mqUp) {
          this.reports.set(fpid, [...(this.reports.get(fpid) ?? []), e.params.code]);
          this.reportPending.delete(fpid);
          feedback.push({ type: 'REPORTED' });
        } else {
          this.reportPending.add(fpid);
        }
      }
    }
    for (const ev of feedback) this.outboundEvent(fpid, ev);
  }

  checkInvariants(): void {
    for (const h of this.handles.values()) expect(h.replies.length).toBeLessThanOrEqual(1);
    for (const [fpid, codes] of this.codesByFpid) {
      // Every reply for one FPID carries the one outcome: never an accept after a stand-in reject.
      expect(new Set(codes).size, fpid).toBe(1);
    }
    for (const n of this.offers.values()) expect(n).toBeLessThanOrEqual(1);
    for (const n of this.standInTold.values()) expect(n).toBeLessThanOrEqual(1);
    for (const n of this.lateAnswers.values()) expect(n).toBeLessThanOrEqual(1);
    for (const r of this.reports.values()) expect(r.length).toBeLessThanOrEqual(1);
    // R6: a payment whose offer failed is stood in at once (unless reversed first), and its
    // participant, which never got it, gets no stand-in notice.
    for (const fpid of this.failedOffers.keys()) {
      const s = this.inbound.get(fpid)!;
      if (stateOf(s) !== 'reversed') expect(s.context.outcome, fpid).toBe('0912');
      expect(this.standInTold.get(fpid), fpid).toBeUndefined();
    }
  }
}

type Command = fc.Command<object, World>;
const ids = ['A', 'B', 'C'];

class InboundArrives implements Command {
  constructor(
    readonly id: string,
    readonly conn: string,
    readonly routed: boolean,
    /**
     * What it takes as it is recorded: `OFFER` on the open site, which offers what it records;
     * `SHED` when admission control stands it in on arrival; nothing on a closed site.
     */
    readonly then: 'OFFER' | 'SHED' | undefined,
  ) {}
  check = () => true;
  run(_: object, w: World): void {
    if (!w.open.has(this.conn)) return;
    const fpid = `in-${this.id}`;
    if (w.inbound.has(fpid)) {
      // R5: a 9200 with an FPID already seen is a repeat.
      w.inboundEvent(fpid, { type: 'REPEAT', handle: w.handle(this.conn) });
    } else {
      w.handles.set(`arrival:${fpid}`, { connection: this.conn, replies: [] });
      const { snapshot, effects } = startInbound(
        {
          fpid,
          arrivalConnection: this.conn,
          arrivalSite: 'site-a',
          participant: this.routed ? 'P1' : null,
          receivedAt: w.now,
          standInAt: w.now + T_IN - MARGIN,
          offerMessageId: `offer-${fpid}`,
        },
        this.then,
      );
      if (this.then === 'SHED' && this.routed) w.shedOnArrival.add(fpid);
      w.inbound.set(fpid, snapshot);
      w.runInbound(fpid, effects);
    }
    w.checkInvariants();
  }
  toString = () => `InboundArrives(${this.id}, ${this.conn}, routed=${this.routed}, then=${this.then})`;
}

class InboundEventCmd implements Command {
  constructor(
    readonly id: string,
    readonly make: (w: World) => InboundEvent | undefined,
    readonly label: string,
  ) {}
  check = () => true;
  run(_: object, w: World): void {
    const fpid = `in-${this.id}`;
    if (!w.inbound.has(fpid)) return;
    const ev = this.make(w);
    if (ev !== undefined) w.inboundEvent(fpid, ev);
    w.checkInvariants();
  }
  toString = () => `${this.label}(${this.id})`;
}

class OutboundInstructed implements Command {
  constructor(readonly id: string) {}
  check = () => true;
  run(_: object, w: World): void {
    const fpid = `out-${this.id}`;
    // The participant's TRN makes a redelivered instruction the same payment.
    if (w.outbound.has(fpid)) return;
    const instruction = { msgId: `msg-${this.id}`, mqMessageId: 'ab'.repeat(24), trn: `TRN${this.id}` };
    const { snapshot, effects } = startOutbound({
      fpid,
      participant: 'P1',
      instruction,
      instructedAt: w.now,
      submitBy: w.now + T_OUT,
    });
    w.outbound.set(fpid, snapshot);
    w.runOutbound(fpid, effects);
    w.checkInvariants();
  }
  toString = () => `OutboundInstructed(${this.id})`;
}

/** The scheme answers a request it holds, on the connection that carried it (R7). */
class SchemeAnswers implements Command {
  constructor(
    readonly id: string,
    readonly code: ActionCode,
  ) {}
  check = () => true;
  run(_: object, w: World): void {
    const fpid = `out-${this.id}`;
    const conn = w.atScheme.get(fpid);
    if (conn === undefined || !w.open.has(conn)) return;
    w.atScheme.delete(fpid);
    w.outboundEvent(fpid, { type: 'RESPONSE', code: this.code, connection: conn });
    w.checkInvariants();
  }
  toString = () => `SchemeAnswers(${this.id}, ${this.code})`;
}

/** `T_out` passes, or the connection died, with the request in flight. */
class NoAnswer implements Command {
  constructor(readonly id: string) {}
  check = () => true;
  run(_: object, w: World): void {
    const fpid = `out-${this.id}`;
    const conn = w.atScheme.get(fpid);
    if (conn === undefined) return;
    w.atScheme.delete(fpid);
    w.outboundEvent(fpid, { type: 'NO_ANSWER', connection: conn });
    w.checkInvariants();
  }
  toString = () => `NoAnswer(${this.id})`;
}

/** The runtime retries what did not go: a submission, a repeat or a report. */
class RuntimeRetries implements Command {
  constructor(readonly id: string) {}
  check = () => true;
  run(_: object, w: World): void {
    const fpid = `out-${this.id}`;
    const s = w.outbound.get(fpid);
    if (s === undefined || w.atScheme.has(fpid)) return;
    const state = stateOf(s);
    if (state === 'recorded') w.outboundEvent(fpid, { type: 'SUBMIT' });
    else if (state === 'repeating' || w.reportPending.has(fpid)) w.outboundEvent(fpid, { type: 'RETRY' });
    w.checkInvariants();
  }
  toString = () => `RuntimeRetries(${this.id})`;
}

class Mq implements Command {
  constructor(readonly up: boolean) {}
  check = () => true;
  run(_: object, w: World): void {
    w.mqUp = this.up;
  }
  toString = () => `Mq(${this.up ? 'up' : 'down'})`;
}

class OffersFail implements Command {
  constructor(readonly fail: boolean) {}
  check = () => true;
  run(_: object, w: World): void {
    w.offersFail = this.fail;
  }
  toString = () => `OffersFail(${this.fail})`;
}

class ClockJump implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  run(_: object, w: World): void {
    w.now += this.ms;
    for (const fpid of w.inbound.keys()) w.inboundEvent(fpid, { type: 'DEADLINE', at: w.now });
    for (const fpid of w.outbound.keys()) w.outboundEvent(fpid, { type: 'DEADLINE', at: w.now });
    w.checkInvariants();
  }
  toString = () => `ClockJump(${this.ms})`;
}

class ConnectionLost implements Command {
  constructor(readonly conn: string) {}
  check = () => true;
  run(_: object, w: World): void {
    w.open.delete(this.conn);
    w.checkInvariants();
  }
  toString = () => `ConnectionLost(${this.conn})`;
}

class ConnectionBack implements Command {
  constructor(readonly conn: string) {}
  check = () => true;
  run(_: object, w: World): void {
    w.open.add(this.conn);
  }
  toString = () => `ConnectionBack(${this.conn})`;
}

const id = fc.constantFrom(...ids);
const conn = fc.constantFrom(...CONNECTIONS);
const code = fc.constantFrom<ActionCode>('0000', '1100', '1114', '1160', '9091');

const commands = [
  fc
    .tuple(id, conn, fc.boolean(), fc.constantFrom('OFFER' as const, 'SHED' as const, undefined))
    .map(([i, c, r, then]) => new InboundArrives(i, c, r, then)),
  id.map((i) => new InboundEventCmd(i, () => ({ type: 'OFFER' }), 'Offer')),
  id.map((i) => new InboundEventCmd(i, () => ({ type: 'SHED' }), 'Shed')),
  fc
    .tuple(id, fc.boolean(), fc.constantFrom<ActionCode>('1100', '1114'))
    .map(
      ([i, accept, c]) =>
        new InboundEventCmd(
          i,
          (w) => ({ type: 'DECIDED', accept, code: c, message: w.decision() }),
          `Decide(${accept})`,
        ),
    ),
  fc
    .tuple(id, conn)
    .map(
      ([i, c]) =>
        new InboundEventCmd(
          i,
          (w) => (w.open.has(c) ? { type: 'REPEAT', handle: w.handle(c) } : undefined),
          `Repeat(${c})`,
        ),
    ),
  fc
    .tuple(id, conn)
    .map(
      ([i, c]) =>
        new InboundEventCmd(
          i,
          (w) => (w.open.has(c) ? { type: 'REVERSAL', handle: w.handle(c) } : undefined),
          `Reversal(${c})`,
        ),
    ),
  id.map((i) => new OutboundInstructed(i)),
  fc.tuple(id, code).map(([i, c]) => new SchemeAnswers(i, c)),
  id.map((i) => new NoAnswer(i)),
  id.map((i) => new RuntimeRetries(i)),
  fc.boolean().map((up) => new Mq(up)),
  fc.boolean().map((fail) => new OffersFail(fail)),
  fc.integer({ min: 1, max: 12_000 }).map((ms) => new ClockJump(ms)),
  conn.map((c) => new ConnectionLost(c)),
  conn.map((c) => new ConnectionBack(c)),
];

/** Lets every outbound payment finish: connections and MQ come back, the scheme answers, the runtime retries. */
function settleOutbound(w: World): void {
  w.mqUp = true;
  for (const c of CONNECTIONS) w.open.add(c);
  for (let round = 0; round < 6; round++) {
    for (const fpid of w.outbound.keys()) {
      const conn = w.atScheme.get(fpid);
      if (conn !== undefined) {
        w.atScheme.delete(fpid);
        w.outboundEvent(fpid, { type: 'RESPONSE', code: '0000', connection: conn });
      } else if (stateOf(w.outbound.get(fpid)!) !== 'reported') {
        new RuntimeRetries(fpid.slice(4)).run({}, w);
      }
    }
  }
}

describe('payment lifecycle, model-based', () => {
  it('keeps the invariants under any interleaving', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
        const w = new World();
        fc.modelRun(() => ({ model: {}, real: w }), cmds);
        settleOutbound(w);
        w.checkInvariants();
        // Every outbound instruction ends with exactly one report.
        for (const fpid of w.outbound.keys()) {
          expect(stateOf(w.outbound.get(fpid)!)).toBe('reported');
          expect(w.reports.get(fpid)).toHaveLength(1);
        }
        // [R6] A payment shed on arrival is answered 0912 and never reaches the participant.
        for (const fpid of w.shedOnArrival) {
          expect(w.offers.get(fpid), fpid).toBeUndefined();
          expect(w.standInTold.get(fpid), fpid).toBeUndefined();
          expect(w.inbound.get(fpid)!.context.outcome, fpid).toBe('0912');
        }
        // Every inbound payment that reached its stand-in deadline has an outcome, or was reversed.
        for (const [fpid, s] of w.inbound) {
          if (w.now >= s.context.standInAt && stateOf(s) !== 'reversed') expect(s.context.outcome, fpid).not.toBeNull();
        }
      }),
      { numRuns: 4000 },
    );
  });
});
