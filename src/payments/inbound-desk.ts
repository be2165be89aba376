import { assert } from '../base/assert.js';
import type { Clock } from '../base/clock.js';
import { TransientFault } from '../base/faults.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Payment } from '../ledger/transition.js';
import type { Logger } from '../base/log.js';
import {
  inboundContext,
  inboundEffect,
  inboundMachine,
  INBOUND_SETTLED,
  resumeInbound,
  startInbound,
  type InboundContext,
  type InboundEffect,
  type InboundEvent,
  type InboundSnapshot,
} from './machines/inbound.js';
import { stateOf, unhandledEffect } from './machines/step.js';
import type { IsoMessage } from '../scheme/codec.js';
import { fpidOf, paymentOf, type SchemePayment } from '../scheme/messages.js';
import { ActionCode } from '../scheme/profile.js';
import type { ReplyHandle } from '../scheme/reply.js';
import type { Fence } from '../failover/fence.js';
import { CrossSitePoll } from './cross-site-poll.js';
import type { OutboxEvent } from '../ledger/transition.js';
import { OPEN_SITE, type SignalKind, type SignalSender } from '../ledger/site-signals.js';
import { IN_MEMORY_PAYMENTS_MAX, PaymentRuntime, type Applied, type Reloaded } from './runtime.js';
import { NOTICES_TOPIC, type Notice } from './participant-notices.js';
import {
  Unofferable,
  type Decision,
  type DecisionOutcome,
  type Participant,
  type ParticipantOwners,
  type ParticipantPort,
  type Told,
} from './participant-port.js';
import { newPayment, schemePaymentOf } from './records.js';
import { loadContext, reportUnreadable, type ContextReader } from './stored-context.js';
import { UNOBSERVED, type InboundAnswerResult, type PaymentObserver } from './observer.js';
import { PaymentTraces } from './traces.js';
import type { Admission, ShedReason } from './admission.js';

export interface InboundTiming {
  /** R2: the scheme's deadline for the 9210, measured from its request. */
  tInMs: number;
  /** R6: the gateway stands in this long before `T_in` runs out. */
  standInMarginMs: number;
}

export interface InboundDeps {
  ledger: Pick<Ledger, 'commit' | 'get' | 'findByParticipantMsgId' | 'statesOf'>;
  clock: Clock;
  log: Logger;
  fence: () => Fence;
  /** [P3] Whether this site is open: only the open site offers to participants. */
  isOpen: () => boolean;
  participants: ParticipantOwners;
  port: ParticipantPort;
  /** A fresh, unguessable MQ message id for an offer (the participant link's format). */
  newOfferMessageId: () => string;
  /** [P3] Signals to the other site: a payment waits for it (cross-site inbound). */
  signals: SignalSender;
  timing: InboundTiming;
  /**
   * How often payments that wait on another site are looked up in the ledger: the fallback for a
   * signal lost. Defaults to CROSS_SITE_POLL_MS (`cross-site-poll.ts`).
   */
  crossSitePollMs?: number;
  /** New inbound payments held in memory at most; defaults to IN_MEMORY_PAYMENTS_MAX. */
  inMemoryPaymentsMax?: number;
  /** Reply handles kept at most; defaults to REPLY_HANDLES_MAX. */
  replyHandlesMax?: number;
  /** Told of every step and every answer (metrics); nothing by default. */
  observer?: PaymentObserver;
  /** Whether a payment due to be offered is offered, or stood in at once; every one is offered without. */
  admission?: Pick<Admission, 'shed'>;
}

/**
 * Reply handles kept at most: each is a scheme request read and not yet answered (an arrival's,
 * a repeat's or a reversal's), so one for each payment in memory and as many again for repeats
 * and reversals waiting for their answer. At the bound a new request is not taken: it is left
 * unanswered, nothing is recorded for it, and the scheme times it out and repeats or reverses it
 * (R2-R4), exactly as when the ledger cannot record it. The profile has no action code for "too
 * busy", and answering a payment without recording it could give its FPID two outcomes (R5).
 */
export const REPLY_HANDLES_MAX = 2 * IN_MEMORY_PAYMENTS_MAX;

/** The one answer to a decision naming no payment its sender may decide: existence is not disclosed. */
const NOT_OFFERED_TO_YOU = 'no payment was offered to this participant under this correlation id';

const arrival = (fpid: string) => `arrival:${fpid}`;

/** The states in which an inbound payment waits for a participant's decision or the stand-in. */
const UNDECIDED: readonly string[] = ['recorded', 'offered'];

const STORED: ContextReader<InboundContext> = {
  schema: inboundContext,
  states: Object.keys(inboundMachine.states),
  upgrade: (context, row, from) => ({
    ...context,
    // A payment recorded before offer ids were kept in the context has its offer's id in the row.
    ...(from === 0 ? { offerMessageId: context.offerMessageId ?? row.participantMsgId ?? '' } : {}),
    // Before cross-site inbound, a payment's steps were all written by its arrival site.
    arrivalSite: context.arrivalSite ?? row.site,
  }),
};

/**
 * Inbound payments, scheme to participant: 9200s and their repeats, the participant's decision or
 * the stand-in, the 9210 on the arrival connection, and reversals (R1-R6).
 */
export class InboundDesk {
  private readonly runtime: PaymentRuntime<typeof inboundMachine, InboundEffect>;
  /** This site: the arrival site of what comes on its own connections. */
  private readonly site: string;
  /** Reply handles by id: the arrival's and those of repeats and reversals still owed an answer. */
  private readonly handles = new Map<string, ReplyHandle>();
  /** The scheme fields and the offer's message id of payments held here. */
  private readonly payments = new Map<string, { payment: SchemePayment; offerMessageId: string }>();
  /** Offer message id (the MQ correlation id a decision comes back with) to FPID, for payments held here. */
  private readonly offers = new Map<string, string>();
  /**
   * Payments of other sites this site is offering (or shedding) now. The arrival site signals a
   * payment again at each poll while it stays `recorded`; under load that is many times before the
   * first offer commits, and each would queue one more step that finds nothing to do.
   */
  private readonly offering = new Set<string>();
  private nextHandle = 0;
  private readonly poll: CrossSitePoll;
  /** The trace of each payment held here: entries paired with `payments`, ended in `forget`. */
  private readonly traces: PaymentTraces;

  constructor(private readonly deps: InboundDeps) {
    this.site = deps.fence().site;
    this.traces = new PaymentTraces('inbound', this.site);
    this.runtime = new PaymentRuntime(
      {
        machine: inboundMachine,
        effects: inboundEffect,
        direction: 'inbound',
        connection: (s) => s.context.arrivalConnection,
        context: (s) => s.context,
        // Offering and recording a decision use the participants' queues: the open site's alone.
        fenced: (event) => event === 'offer' || event === 'shed' || event === 'decided',
        // The 9210 is written (or its connection gone) before these are recorded.
        afterTheFact: (event) => event === 'reply_sent' || event === 'reply_lost',
        perform: (fpid, effect, snapshot) => this.perform(fpid, effect, snapshot),
        deadline: (s) => this.deadline(s),
        standInAt: (s) => s.context.standInAt,
        settled: (s) => this.owesNothing(s),
        forget: (fpid) => {
          this.traces.end(fpid);
          const held = this.payments.get(fpid);
          this.payments.delete(fpid);
          if (held === undefined) return;
          // Paired with the writes in record and adopt, which set both maps together.
          assert(this.offers.get(held.offerMessageId) === fpid, `offer of ${fpid} is not indexed under its message id`);
          this.offers.delete(held.offerMessageId);
        },
        written: (fpid, effect, snapshot) => this.notice(fpid, effect, snapshot),
        onWritten: (fpid) => this.deps.signals.send(OPEN_SITE, 'notices', fpid),
        reload: (fpid, held) => this.reload(fpid, held),
      },
      deps,
    );
    // [P3] The fallback for lost signals: the undecided payments held here that another site may move
    // (all of them while this site is closed; another site's always) are looked up in the ledger.
    // Those it moved are taken up; this site's still unoffered are signalled to the open site again.
    this.poll = new CrossSitePoll(
      { ledger: deps.ledger, clock: deps.clock, log: deps.log, everyMs: deps.crossSitePollMs },
      {
        watched: () => {
          const open = this.deps.isOpen();
          return this.runtime.heldStates(
            (s) => UNDECIDED.includes(stateOf(s)) && (!open || s.context.arrivalSite !== this.site),
          );
        },
        moved: (fpid, state, held) => {
          // Offered by the open site: nothing is owed here until the outcome (its signal says so).
          // The stand-in at the deadline, committed from `recorded`, learns the offer by its conflict.
          if (held === 'recorded' && state === 'offered') return;
          void this.runtime.refresh(fpid);
        },
        unmoved: (fpid, state) => {
          if (state === 'recorded' && !this.deps.isOpen()) this.deps.signals.send(OPEN_SITE, 'offer', fpid);
        },
      },
    );
  }

  get inFlight(): number {
    return this.runtime.size;
  }

  /**
   * [R6] The arrival site stands in at `T_in - margin`. Another site holding the payment (the open
   * site that offered it) stands it in only at `T_in`, when the arrival site is evidently gone: by
   * then the scheme has timed it out, but the participant must still learn it was not taken.
   */
  private deadline(s: InboundSnapshot): number | undefined {
    if (!UNDECIDED.includes(stateOf(s))) return undefined;
    return s.context.standInAt + (s.context.arrivalSite === this.site ? 0 : this.deps.timing.standInMarginMs);
  }

  /**
   * Nothing more is owed here: no repeat or reversal waits for an answer on this site's
   * connections, and the payment is final, or its outcome is known and its answer is another
   * site's (the arrival site answers on its own connection, R1).
   */
  private owesNothing(s: InboundSnapshot): boolean {
    if (s.context.waitingRepeats.some((h) => this.handles.has(h))) return false;
    const state = stateOf(s);
    if ((INBOUND_SETTLED as readonly string[]).includes(state)) return true;
    return s.context.arrivalSite !== this.site && (state === 'decided' || state === 'stood-in');
  }

  /**
   * A signal from another site (or this one's poll) that payments wait for this site: to be
   * offered (only the open site does), or their outcome known and theirs to answer here.
   */
  onSignal(kind: SignalKind, fpids: readonly string[]): void {
    if (kind === 'offer' && this.deps.isOpen()) for (const fpid of fpids) void this.offerFor(fpid);
    if (kind === 'outcome') for (const fpid of fpids) void this.runtime.refresh(fpid);
  }

  /**
   * [P3] This site has just opened: the payments it holds may have moved while another site was
   * open (offered, decided), so each is looked up again; the other sites' payments recorded and
   * not yet offered are offered now.
   */
  async opened(open: readonly Payment[]): Promise<void> {
    await Promise.all(this.runtime.held((s) => UNDECIDED.includes(stateOf(s))).map((f) => this.runtime.refresh(f)));
    const unoffered = new Set(this.runtime.held((s) => stateOf(s) === 'recorded'));
    for (const row of open) if (this.othersUnoffered(row)) unoffered.add(row.fpid);
    await Promise.all([...unoffered].map((fpid) => this.offerFor(fpid)));
  }

  /** An inbound payment recorded on another site's connection and not yet offered (its own site reports one unreadable). */
  private othersUnoffered(row: Payment): boolean {
    if (row.direction !== 'inbound' || row.state !== 'recorded') return false;
    const loaded = loadContext(row, STORED);
    return loaded.ok && loaded.context.arrivalSite !== this.site;
  }

  /** [P3] Cross-site inbound: the open site offers a payment recorded on another site's connection. */
  private async offerFor(fpid: string): Promise<void> {
    if (this.offering.has(fpid)) return;
    this.offering.add(fpid);
    try {
      if (!(await this.hold(fpid, 'recorded'))) return;
      await this.offerOrShed(fpid);
    } catch (e) {
      // The arrival site stands it in at its deadline; its next poll signals it again meanwhile.
      this.deps.log.warn({ fpid, err: (e as Error).message }, 'payment recorded by another site not offered');
    } finally {
      this.offering.delete(fpid);
    }
  }

  /**
   * The ledger's state of a payment held here, when another site moved it, with what this site
   * owes on learning it: the 9210 if it arrived here and its outcome is known (R1, R2), and the
   * outcome to the repeats waiting on this site's connections (R5).
   */
  private async reload(
    fpid: string,
    held: InboundSnapshot,
  ): Promise<Reloaded<typeof inboundMachine, InboundEffect> | undefined> {
    const row = await this.deps.ledger.get(fpid);
    if (row === undefined || row.direction !== 'inbound' || row.state === stateOf(held)) return undefined;
    const loaded = loadContext(row, STORED);
    if (!loaded.ok) {
      reportUnreadable(this.deps.log, row, loaded.issue);
      return undefined;
    }
    const snapshot = resumeInbound(row.state, loaded.context);
    const ctx = snapshot.context;
    const owed: InboundEffect[] = [];
    if (ctx.outcome !== null) {
      const mine = [...held.context.waitingRepeats, ...ctx.waitingRepeats].filter((h) => this.handles.has(h));
      if (mine.length > 0)
        owed.push({ type: 'replyRepeats', params: { handles: [...new Set(mine)], code: ctx.outcome } });
      if ((row.state === 'decided' || row.state === 'stood-in') && this.handles.has(arrival(fpid)))
        owed.push({ type: 'reply', params: { code: ctx.outcome } });
    }
    return { snapshot, owed };
  }

  /**
   * [P3] Participant notices are written to the outbox with the step that calls for them, and the
   * open site puts them: the step may be taken by a closed site (the arrival site standing in).
   */
  private notice(fpid: string, effect: InboundEffect, s: InboundSnapshot): OutboxEvent[] | undefined {
    const ctx = s.context;
    const about = { fpid, participant: ctx.participant ?? '', offerMessageId: ctx.offerMessageId };
    let notice: Notice;
    switch (effect.type) {
      case 'tellStandIn':
        notice = { ...about, notice: 'standIn' };
        break;
      case 'answerLate':
        notice = { ...about, notice: 'answerLate', decision: effect.params.message };
        break;
      case 'notifyReversal':
        // A participant that never had the payment has nothing to learn of its reversal.
        if (!ctx.offered) return [];
        notice = { ...about, notice: 'reversal' };
        break;
      default:
        return undefined;
    }
    return [{ topic: NOTICES_TOPIC, key: fpid, payload: notice }];
  }

  /** A payment or reversal request from the scheme, with the handle bound to its connection (R1). */
  async onRequest(request: IsoMessage, reply: ReplyHandle): Promise<void> {
    // [R6] Read as the frame is, before anything is awaited: the stand-in deadline runs from here.
    const arrivedAt = this.deps.clock.now();
    const fpid = fpidOf(request.fields);
    const cause = { mti: request.mti, stan: request.fields.get(11) ?? '', connectionId: reply.connectionId };
    // Paired with `take`: a handle reaches the desk unused, and is used once from there.
    assert(!reply.replied, `request ${cause.stan} on ${cause.connectionId} came with a used reply handle`);
    const handlesMax = this.deps.replyHandlesMax ?? REPLY_HANDLES_MAX;
    if (this.handles.size >= handlesMax) {
      this.deps.log.warn(
        { fpid, mti: request.mti, connection: reply.connectionId, handles: this.handles.size },
        'reply handles at their bound; request left unanswered for the scheme to repeat or reverse',
      );
      reply.leaveUnanswered();
      if (request.mti === '9200') this.answered('unrecorded');
      return;
    }
    if (request.mti === '9420' || request.mti === '9421') {
      // [R3] A repeat of a reversal not yet answered here takes the place of the one before: having
      // repeated it, the scheme waits for the answer to the newest only. So one reversal handle is
      // kept per payment, however often the scheme repeats it while the ledger is slow.
      const handle = `${this.site}/reversal:${fpid}`;
      const superseded = this.handles.get(handle);
      this.handles.set(handle, reply);
      if (superseded !== undefined) {
        superseded.leaveUnanswered();
        return;
      }
      try {
        // [R3] Recorded first, then answered 9430 on the reversal's own connection. A reversal of a
        // payment never seen here (its 9200 was lost with a crash) is recorded from its fields, unoffered.
        if (!(await this.hold(fpid))) await this.record(fpid, request, reply, cause, arrivedAt, false);
      } catch (err) {
        // Not taken (the ledger away): no handle is kept for it, and the scheme's next repeat starts afresh.
        this.take(handle)?.leaveUnanswered();
        throw err;
      }
      await this.sendKeeping(fpid, 'REVERSAL', handle, cause);
      return;
    }
    // [R5] A 9201, or a 9200 whose FPID was seen, gets the original outcome. A 9200 is looked up in
    // the ledger by its own record: the commit that finds the FPID there says so (`duplicate`).
    if (request.mti !== '9200' && (await this.hold(fpid))) {
      await this.sendKeeping(fpid, 'REPEAT', reply, cause);
      return;
    }
    await this.record(fpid, request, reply, cause, arrivedAt);
  }

  /**
   * An event carrying a reply handle (or the id of one kept already). A handle the machine did not
   * take (the event ignored, or not committed) is dropped at once, so that the handles kept never
   * outgrow the requests still owed.
   */
  private async sendKeeping(
    fpid: string,
    type: 'REPEAT' | 'REVERSAL',
    reply: ReplyHandle | string,
    cause: Record<string, string>,
  ): Promise<Applied> {
    const handle = typeof reply === 'string' ? reply : this.keep(reply);
    let applied: Applied = 'failed';
    try {
      applied = await this.runtime.send(fpid, { type, handle }, cause);
      return applied;
    } finally {
      if (applied !== 'committed') this.take(handle)?.leaveUnanswered();
    }
  }

  /**
   * `from`'s pacs.002 on the payment offered under `offerMessageId` (its MQ correlation id). It
   * counts only when that payment was offered to `from` and the decision names it by its TRN;
   * anything else is refused and changes nothing. A decision after the stand-in is answered
   * whether the payment is in memory or only in the ledger (R6).
   */
  async decideOffer(
    from: Participant,
    offerMessageId: string,
    d: Decision,
    decision: { mqMessageId: string; msgId: string; trn: string; traceparent?: string },
  ): Promise<DecisionOutcome> {
    const fpid =
      this.offers.get(offerMessageId) ?? (await this.deps.ledger.findByParticipantMsgId(offerMessageId))?.fpid;
    const unknown = {
      taken: false,
      answer: NOT_OFFERED_TO_YOU,
      reason: 'no inbound payment was offered under this correlation id',
    } as const;
    if (fpid === undefined || !(await this.hold(fpid))) return unknown;
    // Nothing is awaited from here to `send`, so the payment cannot leave memory in between. It
    // can just before: then it is loaded again (once; a payment just loaded has no event running).
    if (!this.runtime.has(fpid) && !(await this.hold(fpid))) return unknown;
    const snapshot = this.runtime.snapshot(fpid)!;
    // [P9] A decision counts only from the participant offered the payment, naming its TRN.
    if (snapshot.context.participant !== from.id) {
      return {
        taken: false,
        answer: NOT_OFFERED_TO_YOU,
        reason: `the payment under this correlation id was offered to participant ${snapshot.context.participant ?? 'none'}`,
        fpid,
      };
    }
    if (this.payments.get(fpid)?.payment.trn !== decision.trn) {
      const why = 'OrgnlTxId is not the TRN of the payment offered under this correlation id';
      return { taken: false, answer: why, reason: why, fpid };
    }
    const event = {
      type: 'DECIDED' as const,
      accept: d.accept,
      code: d.accept ? ActionCode.accepted : d.code,
      message: decision.mqMessageId,
    };
    // Acknowledged only once recorded: until then the transport holds the decision and tries again.
    // Its span is in the payment's trace, linked to the participant's (its message's traceparent).
    const applied = await this.traces.run(
      fpid,
      'decision',
      () => this.runtime.send(fpid, event, { participantMsgId: decision.msgId }),
      [decision.traceparent],
    );
    if (applied === 'uncommitted') throw new TransientFault('the decision could not be recorded');
    // [P3] Fenced: this site closed meanwhile. Not acknowledged: the broker gives it to the open site.
    if (applied === 'refused')
      throw new TransientFault('the decision was refused by the ledger: this site is not open');
    if (applied === 'failed') throw new Error('recording the decision failed');
    return { taken: true };
  }

  /**
   * Resumes the payments that arrived on this site's connections and were left open by its
   * previous run (crash recovery). Another site's are its own to resume; the open site offers
   * those still unoffered (`opened`).
   */
  async recover(rows: readonly Payment[]): Promise<void> {
    for (const row of rows) {
      if (row.direction !== 'inbound' || this.runtime.has(row.fpid)) continue;
      const loaded = loadContext(row, STORED);
      if (loaded.ok && loaded.context.arrivalSite !== this.site) continue;
      const snapshot = this.adopt(row);
      if (snapshot === undefined) continue;
      const state = stateOf(snapshot);
      const now = this.deps.clock.now();
      // The arrival connection did not survive the restart: its reply is lost (R4).
      if (state === 'decided' || state === 'stood-in') await this.runtime.send(row.fpid, { type: 'REPLY_LOST' });
      else if (state === 'recorded' && now >= snapshot.context.standInAt)
        await this.runtime.send(row.fpid, { type: 'DEADLINE', at: now });
      else if (state === 'recorded') this.offerOrSignal(row.fpid);
    }
  }

  stop(): void {
    this.poll.stop();
    this.runtime.stop();
    this.traces.endAll();
  }

  /** [P3] An unoffered payment: the open site offers it; a closed site tells the open one. */
  private offerOrSignal(fpid: string): void {
    if (this.deps.isOpen()) void this.offerOrShed(fpid);
    else this.deps.signals.send(OPEN_SITE, 'offer', fpid);
  }

  /** Records a payment first seen now; `asPayment` false for one first seen by its reversal. */
  private async record(
    fpid: string,
    request: IsoMessage,
    reply: ReplyHandle,
    cause: Record<string, string>,
    arrivedAt: number,
    asPayment = true,
    mayOffer = true,
  ): Promise<void> {
    // Another arrival of the same FPID may have been recorded while this one awaited the ledger.
    if (this.runtime.has(fpid)) {
      if (asPayment) await this.sendKeeping(fpid, 'REPEAT', reply, cause);
      return;
    }
    const payment = paymentOf(request.fields);
    // Its trace begins as it is recorded; the ledger keeps the traceparent for any site or run that takes it up.
    const traceparent = this.traces.begin(fpid);
    // [P1] The payment goes to the participant owning its beneficiary sort code (field 95).
    const participant = this.deps.participants.owner(payment.beneficiarySortCode)?.id ?? null;
    // Random, not derived from the FPID: a decision must come from someone who was given the offer.
    const offerMessageId = this.deps.newOfferMessageId();
    // [R6] The stand-in deadline: T_in - margin after arrival.
    const input = {
      fpid,
      arrivalConnection: reply.connectionId,
      arrivalSite: this.site,
      participant,
      receivedAt: arrivedAt,
      standInAt: arrivedAt + this.deps.timing.tInMs - this.deps.timing.standInMarginMs,
      offerMessageId,
    };
    this.payments.set(fpid, { payment, offerMessageId });
    this.offers.set(offerMessageId, fpid);
    if (asPayment) {
      // One arrival per FPID: a second is a repeat (above), so no arrival handle is kept for it yet.
      assert(!this.handles.has(arrival(fpid)), `a second arrival handle for ${fpid}`);
      this.handles.set(arrival(fpid), reply);
    }
    // [R6] Admission control on arrival: a payment this site cannot get decided in time is stood in
    // as it is recorded (one commit), whichever site is open. The open site checks again as it offers.
    const shed = participant === null ? undefined : this.shed(fpid, input.standInAt, 'arrival');
    // [P3] The open site offers what it records in the same commit, fenced as any offer is: one
    // commit less on the way to the participant. A closed site records, and the open site offers.
    const offerNow = asPayment && mayOffer && participant !== null && shed === undefined && this.deps.isOpen();
    const { snapshot, effects } = startInbound(input, shed !== undefined ? 'SHED' : offerNow ? 'OFFER' : undefined);
    const record = newPayment('inbound', payment, {
      participantId: participant,
      arrivalConnection: reply.connectionId,
      participantMsgId: offerMessageId,
      traceparent,
    });
    // [P3] A closed site's record tells the open site, as it commits, that the payment waits for its offer.
    const tellOpen = asPayment && stateOf(snapshot) === 'recorded' && !this.deps.isOpen();
    const created = await this.runtime.create(
      fpid,
      snapshot,
      effects,
      record,
      offerNow ? 'offer' : 'received',
      { ...cause, ...(shed === undefined ? {} : { shed }) },
      tellOpen ? { to: OPEN_SITE, kind: 'offer' } : undefined,
    );
    if (created !== 'created' && !this.runtime.has(fpid)) this.traces.end(fpid);
    if (created !== 'created') {
      // Not recorded by this arrival: what it kept beside the machine goes, unless the payment is
      // held meanwhile under the same offer (never: the offer id is random per arrival).
      this.handles.delete(arrival(fpid));
      this.offers.delete(offerMessageId);
      if (this.payments.get(fpid)?.offerMessageId === offerMessageId) this.payments.delete(fpid);
    }
    // The lease moved away before the commit: nothing was recorded, so it is recorded as a closed site does.
    if (created === 'fenced' && offerNow) return this.record(fpid, request, reply, cause, arrivedAt, asPayment, false);
    if (created === 'duplicate' && (await this.hold(fpid))) {
      // The ledger had it already (recorded elsewhere, or no longer in memory): this one is a repeat.
      if (asPayment) await this.sendKeeping(fpid, 'REPEAT', reply, cause);
      return;
    }
    if (created !== 'created') {
      // Not recorded (refused, the ledger away, memory at its bound), or recorded before in a row that
      // cannot be resumed (reported by `hold`): nothing is kept for it, and the scheme times it out and
      // reverses it (R2, R3). A reversal's handle is its caller's.
      if (asPayment) {
        reply.leaveUnanswered();
        this.answered('unrecorded');
      }
      return;
    }
    if (!asPayment) return;
    // [P3] A closed site records and answers what arrives on its own connections; the open site
    // offers it and records the decision, and this site answers once it learns the outcome. Still
    // undecided at its deadline, the payment is stood in here (R6).
    if (this.runtime.snapshot(fpid)?.value !== 'recorded') return;
    if (this.deps.isOpen()) await this.offerOrShed(fpid);
    else if (!tellOpen) this.deps.signals.send(OPEN_SITE, 'offer', fpid);
  }

  /**
   * [R6] The open site offers a recorded payment before its deadline, or stands it in at once when
   * admission control says it cannot be decided in time (`admission.ts`).
   */
  private async offerOrShed(fpid: string): Promise<void> {
    const s = this.runtime.snapshot(fpid);
    if (s?.value !== 'recorded' || this.deps.clock.now() >= s.context.standInAt) return;
    const shed = this.shed(fpid, s.context.standInAt, 'offer');
    await this.runtime.send(fpid, { type: shed === undefined ? 'OFFER' : 'SHED' }, shed === undefined ? {} : { shed });
  }

  /** Admission control's answer for a payment due at `standInAt`: undefined to go on, else why it is stood in now. */
  private shed(fpid: string, standInAt: number, at: 'arrival' | 'offer'): ShedReason | undefined {
    const reason = this.deps.admission?.shed(standInAt);
    if (reason !== undefined) this.deps.log.debug({ fpid, reason, at }, 'payment shed: stood in at once');
    return reason;
  }

  /** Inbound payments held here offered and undecided: what admission control bounds. */
  get offeredHeld(): number {
    return this.runtime.held((s) => stateOf(s) === 'offered').length;
  }

  /**
   * True when the payment is held here, loading it from the ledger if needed; with `only`, loaded
   * only in that state. A signal to offer that comes after the payment has moved on (the arrival
   * site's poll saw it `recorded` just before) must not take it into memory, where nothing would
   * ever release it.
   */
  private async hold(fpid: string, only?: string): Promise<boolean> {
    if (this.runtime.has(fpid)) return true;
    const row = await this.deps.ledger.get(fpid);
    if (row === undefined || row.direction !== 'inbound' || (only !== undefined && row.state !== only)) return false;
    // It may have been loaded by another event while this one read the ledger.
    return this.runtime.has(fpid) || this.adopt(row) !== undefined;
  }

  /**
   * The payment's scheme fields. Held beside the machine while it is in memory; an event applied
   * just as the payment left memory (a late decision racing its reply) reads them from the ledger.
   */
  private async paymentOf(fpid: string): Promise<SchemePayment> {
    const held = this.payments.get(fpid);
    if (held !== undefined) return held.payment;
    const row = await this.deps.ledger.get(fpid);
    if (row === undefined) throw new Error('the payment is no longer in the ledger');
    return schemePaymentOf(row);
  }

  /** Takes back a payment from its row; undefined (and reported) when its context does not parse. */
  private adopt(row: Payment): InboundSnapshot | undefined {
    const loaded = loadContext(row, STORED);
    if (!loaded.ok) {
      reportUnreadable(this.deps.log, row, loaded.issue);
      return undefined;
    }
    const context = loaded.context;
    this.payments.set(row.fpid, { payment: schemePaymentOf(row), offerMessageId: context.offerMessageId });
    this.offers.set(context.offerMessageId, row.fpid);
    this.traces.resume(row.fpid, row.traceparent);
    const snapshot = resumeInbound(row.state, context);
    this.runtime.adopt(row.fpid, snapshot, row);
    return this.runtime.snapshot(row.fpid)!;
  }

  private keep(reply: ReplyHandle): string {
    assert(!reply.replied, `a used reply handle (connection ${reply.connectionId}) kept for another answer`);
    // Named by site: a repeat's handle is kept in the context, which both sites read.
    const id = `${this.site}/h${this.nextHandle++}`;
    this.handles.set(id, reply);
    return id;
  }

  /** Takes a kept handle out, for its one use. */
  private take(handleId: string): ReplyHandle | undefined {
    const h = this.handles.get(handleId);
    this.handles.delete(handleId);
    // R5, R1: a request is answered once. Paired with `keep`, which keeps a handle under one id only.
    assert(h === undefined || !h.replied, `reply handle ${handleId} (connection ${h?.connectionId}) was already used`);
    return h;
  }

  /**
   * Tells the observer what became of a 9210. A closed arrival site answers what the open site
   * offered and decided: that is the cross-site path (its stand-ins too, which took the same way).
   */
  private answered(result: InboundAnswerResult, elapsedMs?: number): void {
    const path = this.deps.isOpen() ? 'same-site' : 'cross-site';
    const observer = this.deps.observer ?? UNOBSERVED;
    if (result !== 'sent' || elapsedMs === undefined) return observer.inboundAnswered({ path, result });
    observer.inboundAnswered({
      path,
      result,
      seconds: elapsedMs / 1000,
      marginSeconds: (this.deps.timing.tInMs - elapsedMs) / 1000,
    });
  }

  private answer(handleId: string, code: ActionCode): void {
    const h = this.take(handleId);
    if (h === undefined) return;
    const outcome = h.reply(code);
    if (outcome !== 'sent')
      this.deps.log.warn({ connection: h.connectionId, outcome }, 'answer to a repeat or reversal not sent');
  }

  private async perform(fpid: string, effect: InboundEffect, snapshot: InboundSnapshot): Promise<InboundEvent[]> {
    const ctx = snapshot.context;
    const told = async (): Promise<Told> => ({
      participant: ctx.participant!,
      fpid,
      payment: await this.paymentOf(fpid),
      offerMessageId: ctx.offerMessageId,
    });
    switch (effect.type) {
      case 'offer':
        return this.offer(fpid, told, ctx.standInAt);
      case 'reply': {
        if (ctx.arrivalSite !== this.site) {
          // [R1] Only the arrival site holds the connection the 9210 must go on: it is told, and answers.
          this.deps.signals.send(ctx.arrivalSite, 'outcome', fpid);
          return [];
        }
        // [R1] Only the arrival connection's handle can carry the 9210; none after a restart (R4).
        const h = this.take(arrival(fpid));
        // [R2] Past T_in (a step held up by a ledger outage) the scheme has timed it out and will reverse
        // it: no 9210 is written then.
        const now = this.deps.clock.now();
        const late = now >= ctx.receivedAt + this.deps.timing.tInMs;
        if (late) h?.leaveUnanswered();
        const span = this.traces.start(fpid, 'reply');
        const outcome = h === undefined || late ? 'lost' : h.reply(effect.params.code);
        span.setAttributes({ 'fps.action_code': effect.params.code, 'fps.reply': late ? 'late' : outcome });
        span.end();
        this.answered(late ? 'late' : outcome === 'sent' ? 'sent' : 'lost', now - (h?.receivedAt ?? ctx.receivedAt));
        return [{ type: outcome === 'sent' ? 'REPLY_SENT' : 'REPLY_LOST' }];
      }
      case 'replyRepeat':
        this.answer(effect.params.handle, effect.params.code);
        return [];
      case 'replyRepeats':
        for (const h of effect.params.handles) this.answer(h, effect.params.code);
        return [];
      case 'tellStandIn':
      case 'answerLate':
      case 'notifyReversal':
        // Written to the outbox with their step (`notice`), never performed here.
        throw new Error(`participant notice ${effect.type} reached perform`);
      case 'replyReversal':
        this.answer(effect.params.handle, ActionCode.accepted);
        return [];
      default:
        return unhandledEffect(effect);
    }
  }

  /**
   * [R6] An offer that cannot be made is stood in at once rather than at the deadline: no
   * participant can decide a payment it never got.
   */
  private async offer(fpid: string, told: () => Promise<Told>, expiresAt: number): Promise<InboundEvent[]> {
    try {
      const offer = { ...(await told()), expiresAt };
      await this.traces.run(fpid, 'offer', (traceparent) =>
        this.deps.port.offer(traceparent === undefined ? offer : { ...offer, traceparent }),
      );
      return [];
    } catch (e) {
      const why = e instanceof Unofferable ? 'cannot be offered' : 'offer could not be put';
      this.deps.log.error({ fpid, err: (e as Error).message }, `inbound payment ${why}; stood in at once`);
      return [{ type: 'OFFER_FAILED' }];
    }
  }
}
