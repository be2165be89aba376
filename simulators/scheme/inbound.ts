import type { Clock } from '../../src/base/clock.js';
import type { Fields, IsoMessage } from '../../src/scheme/codec.js';
import type { RequestError } from '../../src/scheme/errors.js';
import { fpidOf } from '../../src/scheme/messages.js';
import { ActionCode } from '../../src/scheme/profile.js';
import type { TimingTable } from '../timings.js';
import type { InboundCounts } from './report.js';
import type { Session } from './session.js';

export interface InboundContext {
  readonly tInMs: number;
  readonly reversalRepeatMs: number;
  readonly clock: Clock;
  readonly counts: InboundCounts;
  /** `--timings`: the 9200's write and the 9210's read per TRN, for benchmarks. */
  readonly timings: TimingTable;
  /** A session signed on to receive: `prefer` when it still is, else the next in turn, never `except`. */
  receiver(prefer?: Session, except?: Session): Session | undefined;
  readonly stopped: () => boolean;
}

type State = 'pending' | 'reversing' | 'reversed';

/** R4: 9201s per payment at most, one per connection lost under it; then it times out. */
const MAX_REPEATS = 4;

interface InboundPayment {
  readonly fpid: string;
  /** The 9200's fields without 7 and 11, which every send sets afresh. */
  readonly fields: Fields;
  /** R2, R4: the CI's T_in for the request sent last, measured from its own write. */
  deadline: number;
  /** R4: 9201s sent for it, at most MAX_REPEATS. */
  repeats: number;
  readonly first: Session;
  state: State;
  /** The session whose request for this payment awaits an answer now, if any (R1). */
  waitingOn: Session | undefined;
  /** Every session that carried a request for it: a late answer can only come on one of these. */
  readonly carriers: Set<Session>;
  reversalsSent: number;
}

const trnOf = (p: InboundPayment): string => p.fields.get(31) ?? '';

/**
 * Inbound payments, CI to gateway: the 9200, its deadline (R2), the 9201 when the carrying
 * connection dies (R4/R5) and the reversal when the deadline passes (R3).
 */
export class InboundDesk {
  /** Payments not yet answered, and those timed out (kept so that a late 9210 is recognised). */
  private readonly payments = new Map<string, InboundPayment>();
  /** R4: payments whose reply was lost while no session could carry their 9201; a subset of `payments`. */
  private readonly awaitingReceiver = new Set<InboundPayment>();

  constructor(private readonly ctx: InboundContext) {}

  /** R2: sends a new payment on `session`; it must be answered within T_in. Returns its FPID. */
  send(session: Session, fields: Fields): string {
    const fpid = fpidOf(fields);
    const p: InboundPayment = {
      fpid,
      fields,
      deadline: 0,
      repeats: 0,
      first: session,
      state: 'pending',
      waitingOn: undefined,
      carriers: new Set(),
      reversalsSent: 0,
    };
    this.payments.set(fpid, p);
    this.ctx.counts.sent++;
    this.ctx.timings.note(trnOf(p), 'inbound', { request_ms: this.ctx.clock.now() });
    this.offer(p, session, '9200');
    return fpid;
  }

  /**
   * R1: a 9210 or 9430 that nothing waits for on `session`. On a session that carried the
   * payment it is late (or a reversal answered after its repeat left); naming a payment that
   * waits on another session it is on the wrong connection; anything else is unmatched.
   */
  onStray(session: Session, response: IsoMessage): void {
    const p =
      response.mti === '9210' || response.mti === '9430' ? this.payments.get(fpidOf(response.fields)) : undefined;
    if (p?.carriers.has(session)) {
      if (response.mti === '9210' && p.state !== 'pending') {
        this.ctx.counts.late++;
        return;
      }
      if (response.mti === '9430' && p.state === 'reversing' && response.fields.get(26) === ActionCode.accepted) {
        this.reversed(p);
        return;
      }
    } else if (p?.waitingOn !== undefined) {
      session.counts.wrong_connection_responses++;
      return;
    }
    session.counts.unmatched_responses++;
  }

  /** CI requests (payments, repeats, reversals) whose answer is awaited on `session` now. */
  awaitingOn(session: Session): number {
    let n = 0;
    for (const p of this.payments.values()) if (p.waitingOn === session) n++;
    return n;
  }

  /**
   * [R4] A session signed on to receive now: the payments whose reply died with their connection
   * while no other could carry a repeat get their 9201 on it, if their T_in has not run out.
   */
  onReceiver(session: Session): void {
    const now = this.ctx.clock.now();
    for (const p of this.awaitingReceiver) {
      this.awaitingReceiver.delete(p);
      if (p.state === 'pending' && p.waitingOn === undefined && now < p.deadline) this.repeat(p, session);
    }
  }

  private offer(p: InboundPayment, session: Session, mti: '9200' | '9201'): void {
    p.waitingOn = session;
    p.carriers.add(session);
    p.deadline = this.ctx.clock.now() + this.ctx.tInMs;
    session.counts.inbound_sent++;
    session.wire.request({ mti, fields: p.fields }, { timeoutMs: this.ctx.tInMs }).then(
      (answer) => this.onAnswer(p, session, answer),
      (e: RequestError) => this.onNoAnswer(p, session, e),
    );
  }

  private onAnswer(p: InboundPayment, session: Session, answer: IsoMessage): void {
    if (fpidOf(answer.fields) !== p.fpid) {
      // Matched by field 11 but names another payment: a stray, and this one is still unanswered.
      this.onStray(session, answer);
      if (p.waitingOn === session) p.waitingOn = undefined;
      this.waitOut(p);
      return;
    }
    if (p.state !== 'pending') return;
    this.payments.delete(p.fpid);
    this.awaitingReceiver.delete(p);
    this.ctx.counts.answered_in_time++;
    session.counts.inbound_answered++;
    this.ctx.timings.note(trnOf(p), 'inbound', { answer_ms: this.ctx.clock.now(), outcome: answer.fields.get(26) });
    if (answer.fields.get(26) === ActionCode.accepted) this.ctx.counts.accepted++;
    else this.ctx.counts.rejected++;
  }

  private onNoAnswer(p: InboundPayment, session: Session, e: RequestError): void {
    if (this.ctx.stopped() || p.state !== 'pending') return;
    p.waitingOn = undefined;
    if (e.code === 'timeout') {
      this.timeOut(p);
      return;
    }
    // [R4] The reply died with the connection: a 9201 on another session signed on to receive,
    // now or as soon as one signs on before this request's T_in runs out.
    if (p.repeats >= MAX_REPEATS) {
      this.waitOut(p);
      return;
    }
    const next = this.ctx.receiver(undefined, session);
    if (next !== undefined) {
      this.repeat(p, next);
      return;
    }
    this.awaitingReceiver.add(p);
    this.waitOut(p);
  }

  private repeat(p: InboundPayment, session: Session): void {
    p.repeats++;
    this.ctx.counts.repeats_sent++;
    this.offer(p, session, '9201');
  }

  /** Nothing is in flight for it: it times out at its deadline unless a repeat or an answer comes first. */
  private waitOut(p: InboundPayment): void {
    const deadline = p.deadline;
    this.ctx.clock.after(deadline - this.ctx.clock.now(), () => {
      // A 9201 sent meanwhile has its own T_in and its own time-out.
      if (p.deadline === deadline && p.waitingOn === undefined) this.timeOut(p);
    });
  }

  /** [R2] Unanswered within T_in of the CI's write: the payment is timed out, then reversed. */
  private timeOut(p: InboundPayment): void {
    this.awaitingReceiver.delete(p);
    if (this.ctx.stopped() || p.state !== 'pending') return;
    p.state = 'reversing';
    p.waitingOn = undefined;
    this.ctx.counts.unanswered++;
    this.ctx.timings.note(trnOf(p), 'inbound', { timed_out: true });
    this.reverse(p);
  }

  /** [R3] A 9420 on a receiving session (the first one while it is up), then a 9421 every repeat period until a 9430 0000. */
  private reverse(p: InboundPayment): void {
    if (this.ctx.stopped() || p.state !== 'reversing') return;
    const { clock, reversalRepeatMs } = this.ctx;
    const startedAt = clock.now();
    const again = (): void => {
      clock.after(startedAt + reversalRepeatMs - clock.now(), () => this.reverse(p));
    };
    const session = this.ctx.receiver(p.first);
    if (session === undefined) {
      again();
      return;
    }
    const mti = p.reversalsSent === 0 ? '9420' : '9421';
    if (mti === '9421') this.ctx.counts.repeats_sent++;
    p.reversalsSent++;
    p.waitingOn = session;
    p.carriers.add(session);
    session.counts.reversals_sent++;
    session.wire.request({ mti, fields: p.fields }, { timeoutMs: reversalRepeatMs }).then(
      (answer) => {
        if (p.waitingOn === session) p.waitingOn = undefined;
        if (fpidOf(answer.fields) !== p.fpid) {
          this.onStray(session, answer);
        } else if (answer.fields.get(26) === ActionCode.accepted) {
          this.reversed(p);
          return;
        }
        again();
      },
      () => {
        if (p.waitingOn === session) p.waitingOn = undefined;
        again();
      },
    );
  }

  private reversed(p: InboundPayment): void {
    if (p.state !== 'reversing') return;
    p.state = 'reversed';
    p.waitingOn = undefined;
    this.ctx.counts.reversed++;
    this.ctx.timings.note(trnOf(p), 'inbound', { reversed: true });
  }
}
