import type { Clock } from '../base/clock.js';
import { TransientFault } from '../base/faults.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Payment } from '../ledger/transition.js';
import type { Logger } from '../base/log.js';
import { inboundContext, inboundEffect, inboundMachine, INBOUND_SETTLED, resumeInbound, startInbound, type InboundContext, type InboundEffect, type InboundEvent, type InboundSnapshot } from './machines/inbound.js';
import { stateOf, unhandledEffect } from './machines/step.js';
import type { IsoMessage } from '../scheme/codec.js';
import { fpidOf, paymentOf, type SchemePayment } from '../scheme/messages.js';
import { ActionCode } from '../scheme/profile.js';
import type { ReplyHandle } from '../scheme/reply.js';
import type { Fence } from '../failover/fence.js';
import { PaymentRuntime } from './runtime.js';
import { Unofferable, type Decision, type DecisionOutcome, type Participant, type ParticipantOwners, type ParticipantPort, type Told } from './participant-port.js';
import { newPayment, schemePaymentOf } from './records.js';
import { loadContext, reportUnreadable, storedContext, type ContextReader } from './stored-context.js';

export interface InboundTiming {
  /** R2: the scheme's deadline for the 9210, measured from its request. */
  tInMs: number;
  /** R6: the gateway stands in this long before `T_in` runs out. */
  standInMarginMs: number;
}

export interface InboundDeps {
  ledger: Pick<Ledger, 'commit' | 'get' | 'findByParticipantMsgId'>;
  clock: Clock;
  log: Logger;
  fence: () => Fence;
  participants: ParticipantOwners;
  port: ParticipantPort;
  /** A fresh, unguessable MQ message id for an offer (the participant link's format). */
  newOfferMessageId: () => string;
  timing: InboundTiming;
}

/** The one answer to a decision naming no payment its sender may decide: existence is not disclosed. */
const NOT_OFFERED_TO_YOU = 'no payment was offered to this participant under this correlation id';

const arrival = (fpid: string) => `arrival:${fpid}`;

const STORED: ContextReader<InboundContext> = {
  schema: inboundContext,
  states: Object.keys(inboundMachine.states),
  // A payment recorded before offer ids were kept in the context has its offer's id in the row.
  fromVersion0: (context, row) => ({ ...context, offerMessageId: context.offerMessageId ?? row.participantMsgId ?? '' }),
};

/**
 * Inbound payments, scheme to participant: 9200s and their repeats, the participant's decision or
 * the stand-in, the 9210 on the arrival connection, and reversals (R1-R6).
 */
export class InboundDesk {
  private readonly runtime: PaymentRuntime<typeof inboundMachine, InboundEffect>;
  /** Reply handles by id: the arrival's and those of repeats and reversals still owed an answer. */
  private readonly handles = new Map<string, ReplyHandle>();
  /** The scheme fields and the offer's message id of payments held here. */
  private readonly payments = new Map<string, { payment: SchemePayment; offerMessageId: string }>();
  /** Offer message id (the MQ correlation id a decision comes back with) to FPID, for payments held here. */
  private readonly offers = new Map<string, string>();
  private nextHandle = 0;

  constructor(private readonly deps: InboundDeps) {
    this.runtime = new PaymentRuntime(
      {
        machine: inboundMachine,
        effects: inboundEffect,
        direction: 'inbound',
        perform: (fpid, effect, snapshot) => this.perform(fpid, effect, snapshot),
        stored: (s) => storedContext(s.context),
        deadline: (s) => (s.value === 'recorded' || s.value === 'offered' ? s.context.standInAt : undefined),
        outcome: (s) => s.context.outcome ?? undefined,
        settled: (s) => (INBOUND_SETTLED as readonly string[]).includes(stateOf(s)) && s.context.waitingRepeats.length === 0,
        forget: (fpid) => {
          const held = this.payments.get(fpid);
          this.payments.delete(fpid);
          if (held !== undefined) this.offers.delete(held.offerMessageId);
        },
      },
      deps,
    );
  }

  get inFlight(): number {
    return this.runtime.size;
  }

  /** A payment or reversal request from the scheme, with the handle bound to its connection (R1). */
  async onRequest(request: IsoMessage, reply: ReplyHandle): Promise<void> {
    const fpid = fpidOf(request.fields);
    const cause = { mti: request.mti, stan: request.fields.get(11) ?? '', connectionId: reply.connectionId };
    if (request.mti === '9420' || request.mti === '9421') {
      // R3: recorded first, then answered 9430 on the reversal's own connection. A reversal of a
      // payment never seen here (its 9200 was lost with a crash) is recorded from its fields, unoffered.
      if (!(await this.hold(fpid))) await this.record(fpid, request, reply, cause, false);
      await this.runtime.send(fpid, { type: 'REVERSAL', handle: this.keep(reply) }, cause);
      return;
    }
    // R5: a 9201, or a 9200 whose FPID was seen, gets the original outcome.
    if (await this.hold(fpid)) {
      await this.runtime.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    await this.record(fpid, request, reply, cause);
  }

  /**
   * `from`'s pacs.002 on the payment offered under `offerMessageId` (its MQ correlation id). It
   * counts only when that payment was offered to `from` and the decision names it by its TRN;
   * anything else is refused and changes nothing. A decision after the stand-in is answered
   * whether the payment is in memory or only in the ledger [R6].
   */
  async decideOffer(from: Participant, offerMessageId: string, d: Decision, decision: { mqMessageId: string; msgId: string; trn: string }): Promise<DecisionOutcome> {
    const fpid = this.offers.get(offerMessageId) ?? (await this.deps.ledger.findByParticipantMsgId(offerMessageId))?.fpid;
    const unknown = { taken: false, answer: NOT_OFFERED_TO_YOU, reason: 'no inbound payment was offered under this correlation id' } as const;
    if (fpid === undefined || !(await this.hold(fpid))) return unknown;
    // Nothing is awaited from here to `send`, so the payment cannot leave memory in between. It
    // can just before: then it is loaded again (once; a payment just loaded has no event running).
    if (!this.runtime.has(fpid) && !(await this.hold(fpid))) return unknown;
    const snapshot = this.runtime.snapshot(fpid)!;
    if (snapshot.context.participant !== from.id) {
      return { taken: false, answer: NOT_OFFERED_TO_YOU, reason: `the payment under this correlation id was offered to participant ${snapshot.context.participant ?? 'none'}`, fpid };
    }
    if (this.payments.get(fpid)?.payment.trn !== decision.trn) {
      const why = 'OrgnlTxId is not the TRN of the payment offered under this correlation id';
      return { taken: false, answer: why, reason: why, fpid };
    }
    const event = { type: 'DECIDED' as const, accept: d.accept, code: d.accept ? ActionCode.accepted : d.code, message: decision.mqMessageId };
    // Acknowledged only once recorded: until then the transport holds the decision and tries again.
    const applied = await this.runtime.send(fpid, event, { participantMsgId: decision.msgId });
    if (applied === 'uncommitted') throw new TransientFault('the decision could not be recorded');
    if (applied === 'failed') throw new Error('recording the decision failed');
    return { taken: true };
  }

  /** Resumes payments left open by a previous run (crash recovery). */
  async recover(rows: readonly Payment[]): Promise<void> {
    for (const row of rows) {
      if (row.direction !== 'inbound') continue;
      const snapshot = this.adopt(row);
      if (snapshot === undefined) continue;
      const state = stateOf(snapshot);
      const now = this.deps.clock.now();
      // The arrival connection did not survive the restart: its reply is lost (R4).
      if (state === 'decided' || state === 'stood-in') await this.runtime.send(row.fpid, { type: 'REPLY_LOST' });
      else if (state === 'recorded') await this.runtime.send(row.fpid, now < snapshot.context.standInAt ? { type: 'OFFER' } : { type: 'DEADLINE', at: now });
    }
  }

  stop(): void {
    this.runtime.stop();
  }

  /** Records a payment first seen now; `asPayment` false for one first seen by its reversal. */
  private async record(fpid: string, request: IsoMessage, reply: ReplyHandle, cause: Record<string, string>, asPayment = true): Promise<void> {
    // Another arrival of the same FPID may have been recorded while this one awaited the ledger.
    if (this.runtime.has(fpid)) {
      if (asPayment) await this.runtime.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    const payment = paymentOf(request.fields);
    const participant = this.deps.participants.owner(payment.beneficiarySortCode)?.id ?? null;
    const now = this.deps.clock.now();
    // Random, not derived from the FPID: a decision must come from someone who was given the offer.
    const offerMessageId = this.deps.newOfferMessageId();
    const input = { fpid, arrivalConnection: reply.connectionId, participant, receivedAt: now, standInAt: now + this.deps.timing.tInMs - this.deps.timing.standInMarginMs, offerMessageId };
    this.payments.set(fpid, { payment, offerMessageId });
    this.offers.set(offerMessageId, fpid);
    if (asPayment) this.handles.set(arrival(fpid), reply);
    const { snapshot, effects } = startInbound(input);
    const record = newPayment('inbound', payment, { participantId: participant, arrivalConnection: reply.connectionId, participantMsgId: offerMessageId });
    const created = await this.runtime.create(fpid, snapshot, effects, record, 'received', cause);
    if (created === 'duplicate' && (await this.hold(fpid))) {
      // The ledger had it already (recorded elsewhere, or no longer in memory): this one is a repeat.
      this.handles.delete(arrival(fpid));
      if (asPayment) await this.runtime.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    if (created !== 'created') {
      // Not recorded, or recorded before in a row that cannot be resumed (reported by `hold`):
      // nothing is kept for it (the scheme times it out and reverses it, R2, R3).
      this.payments.delete(fpid);
      this.offers.delete(offerMessageId);
      this.handles.delete(arrival(fpid));
      return;
    }
    if (!asPayment) return;
    if (this.runtime.snapshot(fpid)?.value === 'recorded') await this.runtime.send(fpid, { type: 'OFFER' });
  }

  /** True when the payment is held here, loading it from the ledger if needed. */
  private async hold(fpid: string): Promise<boolean> {
    if (this.runtime.has(fpid)) return true;
    const row = await this.deps.ledger.get(fpid);
    if (row === undefined || row.direction !== 'inbound') return false;
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
    const snapshot = resumeInbound(row.state, context);
    this.runtime.adopt(row.fpid, snapshot);
    return this.runtime.snapshot(row.fpid)!;
  }

  private keep(reply: ReplyHandle): string {
    const id = `h${this.nextHandle++}`;
    this.handles.set(id, reply);
    return id;
  }

  private answer(handleId: string, code: ActionCode): void {
    const h = this.handles.get(handleId);
    this.handles.delete(handleId);
    if (h === undefined) return;
    const outcome = h.reply(code);
    if (outcome !== 'sent') this.deps.log.warn({ connection: h.connectionId, outcome }, 'answer to a repeat or reversal not sent');
  }

  private async perform(fpid: string, effect: InboundEffect, snapshot: InboundSnapshot): Promise<InboundEvent[]> {
    const ctx = snapshot.context;
    const told = async (): Promise<Told> => ({ participant: ctx.participant!, fpid, payment: await this.paymentOf(fpid), offerMessageId: ctx.offerMessageId });
    switch (effect.type) {
      case 'offer':
        return this.offer(fpid, told, ctx.standInAt);
      case 'reply': {
        // R1: only the arrival connection's handle can carry the 9210; none after a restart (R4).
        const h = this.handles.get(arrival(fpid));
        this.handles.delete(arrival(fpid));
        // R2: past T_in (a step held up by a ledger outage) the scheme has timed it out and will reverse it.
        const late = this.deps.clock.now() >= ctx.receivedAt + this.deps.timing.tInMs;
        const outcome = h === undefined || late ? 'lost' : h.reply(effect.params.code);
        return [{ type: outcome === 'sent' ? 'REPLY_SENT' : 'REPLY_LOST' }];
      }
      case 'replyRepeat':
        this.answer(effect.params.handle, effect.params.code);
        return [];
      case 'replyRepeats':
        for (const h of effect.params.handles) this.answer(h, effect.params.code);
        return [];
      case 'tellStandIn':
        await this.put('stand-in', async () => this.deps.port.standIn(await told()));
        return [];
      case 'answerLate':
        await this.put('late decision', async () => this.deps.port.answerLate({ ...(await told()), decision: effect.params.message }));
        return [];
      case 'notifyReversal':
        if (ctx.offered) await this.put('reversal', async () => this.deps.port.reversal(await told()));
        return [];
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
      await this.deps.port.offer({ ...(await told()), expiresAt });
      return [];
    } catch (e) {
      const why = e instanceof Unofferable ? 'cannot be offered' : 'offer could not be put';
      this.deps.log.error({ fpid, err: (e as Error).message }, `inbound payment ${why}; stood in at once`);
      return [{ type: 'OFFER_FAILED' }];
    }
  }

  /** A failed put is logged, not retried: the stand-in deadline still answers the scheme. */
  private async put(what: string, put: () => Promise<void>): Promise<void> {
    try {
      await put();
    } catch (e) {
      this.deps.log.error({ what, err: (e as Error).message }, 'could not put a message for the participant');
    }
  }
}
