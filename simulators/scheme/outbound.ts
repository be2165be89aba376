import type { Clock } from '../../src/base/clock.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { fpidOf, paymentOf, responseTo } from '../../src/scheme/messages.js';
import { ActionCode } from '../../src/scheme/profile.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';
import type { TimingTable } from '../timings.js';
import type { FaultCounts, OutboundCounts } from './report.js';
import { decide, type Decision } from './rules.js';
import type { Session } from './session.js';

export interface OutboundContext {
  readonly tOutMs: number;
  readonly answerDelayMs: number;
  readonly corruptMacRate: number;
  readonly macKey: Buffer;
  readonly clock: Clock;
  readonly random: () => number;
  readonly counts: OutboundCounts;
  readonly faults: FaultCounts;
  /** `--timings`: the payment's first read and its answer's write per TRN, for benchmarks. */
  readonly timings: TimingTable;
  readonly suspended: () => boolean;
}

/** Outbound payments, gateway to CI: sign-on and suspension checks, the decision, and dedup by FPID. */
export class OutboundDesk {
  /** R5: every FPID decided in this run, with the outcome a repeat or duplicate gets again. */
  private readonly decided = new Map<string, Decision>();

  constructor(private readonly ctx: OutboundContext) {}

  onPayment(session: Session, request: IsoMessage, reply: ReplyHandle): void {
    const c = this.ctx.counts;
    c.received++;
    session.counts.outbound_received++;
    // [R7a] A 9091 takes nothing: no decision is kept for the FPID and no payment is counted, so
    // the same FPID may come again as a 9200.
    // [R8] Nothing is taken before sign-on to submit.
    if (!session.submit) {
      c.refused_not_signed_on++;
      reply.reply(ActionCode.notSignedOn);
      return;
    }
    // [R10] Nothing is taken while the service is suspended, repeats included.
    if (this.ctx.suspended()) {
      c.refused_suspended++;
      reply.reply(ActionCode.notSignedOn);
      return;
    }
    if (request.mti === '9201') c.repeats++;
    this.ctx.timings.note(request.fields.get(31) ?? '', 'outbound', { request_ms: this.ctx.clock.now() });
    const fpid = fpidOf(request.fields);
    let decision = this.decided.get(fpid);
    if (decision !== undefined) {
      // [R7] A 9201 or a duplicate 9200 gets the original outcome again, never a second payment (R5).
      if (request.mti === '9200') c.duplicates++;
    } else {
      decision = decide(paymentOf(request.fields), this.ctx.clock.now());
      this.decided.set(fpid, decision);
      if (decision.action === ActionCode.accepted) c.accepted++;
      else c.rejected++;
    }
    const answer = decision;
    if (this.ctx.answerDelayMs > 0)
      this.ctx.clock.after(this.ctx.answerDelayMs, () => this.answer(session, reply, answer));
    else this.answer(session, reply, answer);
  }

  /** [R1] The answer goes on the request's own connection (the reply handle allows no other). */
  private answer(session: Session, reply: ReplyHandle, d: Decision): void {
    const { clock, counts } = this.ctx;
    // R4: the connection went while the answer was delayed; nothing can carry it now.
    if (!session.wire.open) return;
    // R7: T_out is the CI's own promise; an answer delay can break it on purpose.
    if (clock.now() - reply.receivedAt > this.ctx.tOutMs) counts.late_answers++;
    if (this.ctx.corruptMacRate > 0 && this.ctx.random() < this.ctx.corruptMacRate) {
      // The handle stays unused: the peer never gets a valid answer to this request.
      this.ctx.faults.corrupted_macs++;
      session.writeCorrupted(
        responseTo(reply.request.mti, reply.request.fields, d.action, clock.now(), d.extra),
        this.ctx.macKey,
      );
      return;
    }
    if (reply.reply(d.action, d.extra) === 'sent') {
      counts.answered++;
      session.counts.outbound_answered++;
      this.ctx.timings.note(reply.request.fields.get(31) ?? '', 'outbound', {
        answer_ms: clock.now(),
        outcome: d.action,
      });
    }
  }
}
