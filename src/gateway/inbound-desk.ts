import type { Clock } from '../clock.js';
import { TransientFault } from '../faults.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Payment } from '../ledger/transition.js';
import type { Logger } from '../log.js';
import { inboundMachine, INBOUND_SETTLED, resumeInbound, startInbound, type InboundContext, type InboundEvent, type InboundSnapshot } from '../lifecycle/inbound.js';
import { stateOf, type Effect } from '../lifecycle/step.js';
import type { IsoMessage } from '../scheme/codec.js';
import { fpidOf, paymentOf, type SchemePayment } from '../scheme/messages.js';
import { ActionCode } from '../scheme/profile.js';
import type { ReplyHandle } from '../scheme/reply.js';
import { offerMessageId } from '../participant/ids.js';
import type { Fence } from './fence.js';
import { Lifecycle } from './lifecycle.js';
import type { ParticipantPort } from './participant-port.js';
import type { ParticipantDirectory } from './participants.js';
import { newPayment, schemePaymentOf } from './records.js';

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
  participants: ParticipantDirectory;
  port: ParticipantPort;
  timing: InboundTiming;
}

/** A participant's answer to an offered payment (its pacs.002). */
export interface Decision {
  accept: boolean;
  /** The reject reason, an action code; ignored on accept. */
  code: ActionCode;
}

const arrival = (fpid: string) => `arrival:${fpid}`;

/**
 * Inbound payments, scheme to participant: 9200s and their repeats, the participant's decision or
 * the stand-in, the 9210 on the arrival connection, and reversals (R1-R6).
 */
export class InboundDesk {
  private readonly lifecycle: Lifecycle<typeof inboundMachine>;
  /** Reply handles by id: the arrival's and those of repeats and reversals still owed an answer. */
  private readonly handles = new Map<string, ReplyHandle>();
  private readonly payments = new Map<string, SchemePayment>();
  /** Offer message id (the MQ correlation id a decision comes back with) to FPID, for payments held here. */
  private readonly offers = new Map<string, string>();
  private nextHandle = 0;

  constructor(private readonly deps: InboundDeps) {
    this.lifecycle = new Lifecycle(
      {
        machine: inboundMachine,
        direction: 'inbound',
        perform: (fpid, effect, snapshot) => this.perform(fpid, effect, snapshot),
        deadline: (s) => (s.value === 'recorded' || s.value === 'offered' ? s.context.standInAt : undefined),
        outcome: (s) => s.context.outcome ?? undefined,
        settled: (s) => (INBOUND_SETTLED as readonly string[]).includes(stateOf(s)) && s.context.waitingRepeats.length === 0,
        forget: (fpid) => {
          this.payments.delete(fpid);
          this.offers.delete(offerMessageId(fpid));
        },
      },
      deps,
    );
  }

  get inFlight(): number {
    return this.lifecycle.size;
  }

  /** A payment or reversal request from the scheme, with the handle bound to its connection (R1). */
  async onRequest(request: IsoMessage, reply: ReplyHandle): Promise<void> {
    const fpid = fpidOf(request.fields);
    const cause = { mti: request.mti, stan: request.fields.get(11) ?? '', connectionId: reply.connectionId };
    if (request.mti === '9420' || request.mti === '9421') {
      // R3: recorded first, then answered 9430 on the reversal's own connection. A reversal of a
      // payment never seen here (its 9200 was lost with a crash) is recorded from its fields, unoffered.
      if (!(await this.hold(fpid))) await this.record(fpid, request, reply, cause, false);
      await this.lifecycle.send(fpid, { type: 'REVERSAL', handle: this.keep(reply) }, cause);
      return;
    }
    // R5: a 9201, or a 9200 whose FPID was seen, gets the original outcome.
    if (await this.hold(fpid)) {
      await this.lifecycle.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    await this.record(fpid, request, reply, cause);
  }

  /**
   * The participant's pacs.002 on the payment offered under `offerMessageId` (its MQ correlation id).
   * False when no payment was offered under that id.
   */
  async decideOffer(offerMessageId: string, d: Decision, decision: { mqMessageId: string; msgId: string }): Promise<boolean> {
    const fpid = this.offers.get(offerMessageId) ?? (await this.deps.ledger.findByParticipantMsgId(offerMessageId))?.fpid;
    if (fpid === undefined || !(await this.hold(fpid))) return false;
    const event = { type: 'DECIDED' as const, accept: d.accept, code: d.accept ? ActionCode.accepted : d.code, message: decision.mqMessageId };
    // Acknowledged only once recorded: until then the transport holds the decision and tries again.
    const applied = await this.lifecycle.send(fpid, event, { participantMsgId: decision.msgId });
    if (applied === 'uncommitted') throw new TransientFault('the decision could not be recorded');
    if (applied === 'failed') throw new Error('recording the decision failed');
    return true;
  }

  /** Resumes payments left open by a previous run (crash recovery). */
  async recover(rows: readonly Payment[]): Promise<void> {
    for (const row of rows) {
      if (row.direction !== 'inbound') continue;
      const snapshot = this.adopt(row);
      const state = stateOf(snapshot);
      const now = this.deps.clock.now();
      // The arrival connection did not survive the restart: its reply is lost (R4).
      if (state === 'decided' || state === 'stood-in') await this.lifecycle.send(row.fpid, { type: 'REPLY_LOST' });
      else if (state === 'recorded') await this.lifecycle.send(row.fpid, now < snapshot.context.standInAt ? { type: 'OFFER' } : { type: 'DEADLINE', at: now });
    }
  }

  stop(): void {
    this.lifecycle.stop();
  }

  /** Records a payment first seen now; `asPayment` false for one first seen by its reversal. */
  private async record(fpid: string, request: IsoMessage, reply: ReplyHandle, cause: Record<string, string>, asPayment = true): Promise<void> {
    // Another arrival of the same FPID may have been recorded while this one awaited the ledger.
    if (this.lifecycle.has(fpid)) {
      if (asPayment) await this.lifecycle.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    const payment = paymentOf(request.fields);
    const participant = this.deps.participants.owner(payment.beneficiarySortCode)?.id ?? null;
    const now = this.deps.clock.now();
    const input = { fpid, arrivalConnection: reply.connectionId, participant, receivedAt: now, standInAt: now + this.deps.timing.tInMs - this.deps.timing.standInMarginMs };
    this.payments.set(fpid, payment);
    this.offers.set(offerMessageId(fpid), fpid);
    if (asPayment) this.handles.set(arrival(fpid), reply);
    const { snapshot, effects } = startInbound(input);
    const record = newPayment('inbound', payment, { participantId: participant, arrivalConnection: reply.connectionId, participantMsgId: offerMessageId(fpid) });
    const created = await this.lifecycle.create(fpid, snapshot, effects, record, 'received', cause);
    if (created === 'duplicate' && (await this.hold(fpid))) {
      // The ledger had it already (recorded elsewhere, or no longer in memory): this one is a repeat.
      this.handles.delete(arrival(fpid));
      if (asPayment) await this.lifecycle.send(fpid, { type: 'REPEAT', handle: this.keep(reply) }, cause);
      return;
    }
    if (created === 'refused' || created === 'unavailable') {
      // Not recorded: nothing is kept for it (the scheme times it out and reverses it, R2, R3).
      this.payments.delete(fpid);
      this.offers.delete(offerMessageId(fpid));
      this.handles.delete(arrival(fpid));
      return;
    }
    if (created !== 'created' || !asPayment) return;
    if (this.lifecycle.snapshot(fpid)?.value === 'recorded') await this.lifecycle.send(fpid, { type: 'OFFER' });
  }

  /** True when the payment is held here, loading it from the ledger if needed. */
  private async hold(fpid: string): Promise<boolean> {
    if (this.lifecycle.has(fpid)) return true;
    const row = await this.deps.ledger.get(fpid);
    if (row === undefined || row.direction !== 'inbound') return false;
    this.adopt(row);
    return true;
  }

  private adopt(row: Payment): InboundSnapshot {
    this.payments.set(row.fpid, schemePaymentOf(row));
    this.offers.set(offerMessageId(row.fpid), row.fpid);
    const snapshot = resumeInbound(row.state, row.context as unknown as InboundContext);
    this.lifecycle.adopt(row.fpid, snapshot);
    return this.lifecycle.snapshot(row.fpid)!;
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

  private async perform(fpid: string, effect: Effect, snapshot: InboundSnapshot): Promise<InboundEvent[]> {
    const ctx = snapshot.context;
    const p = effect.params ?? {};
    const told = () => ({ participant: ctx.participant!, fpid, payment: this.payments.get(fpid)! });
    switch (effect.type) {
      case 'offer':
        await this.put('offer', () => this.deps.port.offer({ ...told(), expiresAt: ctx.standInAt }));
        return [];
      case 'reply': {
        // R1: only the arrival connection's handle can carry the 9210; none after a restart (R4).
        const h = this.handles.get(arrival(fpid));
        this.handles.delete(arrival(fpid));
        // R2: past T_in (a step held up by a ledger outage) the scheme has timed it out and will reverse it.
        const late = this.deps.clock.now() >= ctx.receivedAt + this.deps.timing.tInMs;
        const outcome = h === undefined || late ? 'lost' : h.reply(p.code as ActionCode);
        return [{ type: outcome === 'sent' ? 'REPLY_SENT' : 'REPLY_LOST' }];
      }
      case 'replyRepeat':
        this.answer(p.handle as string, p.code as ActionCode);
        return [];
      case 'replyRepeats':
        for (const h of p.handles as string[]) this.answer(h, p.code as ActionCode);
        return [];
      case 'tellStandIn':
        await this.put('stand-in', () => this.deps.port.standIn(told()));
        return [];
      case 'answerLate':
        await this.put('late decision', () => this.deps.port.answerLate({ ...told(), decision: p.message as string }));
        return [];
      case 'notifyReversal':
        if (ctx.offered) await this.put('reversal', () => this.deps.port.reversal(told()));
        return [];
      case 'replyReversal':
        this.answer(p.handle as string, ActionCode.accepted);
        return [];
      default:
        throw new Error(`unknown inbound effect ${effect.type}`);
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
