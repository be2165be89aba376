import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Payment } from '../ledger/transition.js';
import type { Logger } from '../log.js';
import { outboundMachine, OUTBOUND_SETTLED, resumeOutbound, startOutbound, type OutboundContext, type OutboundEvent, type OutboundSnapshot } from '../lifecycle/outbound.js';
import { stateOf, type Effect } from '../lifecycle/step.js';
import type { Pacs008Instruction } from '../participant/iso20022/index.js';
import { RequestError } from '../scheme/errors.js';
import { businessDate, fpidOf, paymentFields, type SchemePayment } from '../scheme/messages.js';
import type { Submitted, SubmitOptions } from '../scheme/pool.js';
import { ActionCode, PAYMENT_LIMIT_PENCE, type Mti } from '../scheme/profile.js';
import type { IsoMessage } from '../scheme/codec.js';
import type { Fence } from './fence.js';
import { Lifecycle } from './lifecycle.js';
import type { ParticipantPort } from './participant-port.js';
import type { Participant } from './participants.js';
import { newPayment, schemePaymentOf } from './records.js';

export interface OutboundTiming {
  /** R7: how long the scheme has to answer; also the longest an instruction waits to be submitted (R10). */
  tOutMs: number;
  /** Pause before trying again what could not go (no connection, suspended, MQ down). */
  retryMs: number;
}

/** The part of the scheme pool the desk needs. */
export interface SchemeSubmitter {
  submit(message: IsoMessage, options?: SubmitOptions): Promise<Submitted>;
}

export interface OutboundDeps {
  ledger: Pick<Ledger, 'commit' | 'get' | 'findByParticipantTrn'>;
  clock: Clock;
  log: Logger;
  fence: () => Fence;
  scheme: SchemeSubmitter;
  port: ParticipantPort;
  timing: OutboundTiming;
}

/** Failures that mean the request was never written to any connection. */
const NOT_WRITTEN = new Set(['no-connection', 'busy', 'suspended', 'duplicate-stan']);

export type Instructed = 'recorded' | 'duplicate' | 'rejected' | 'failed';

/**
 * Outbound payments, participant to scheme: the instruction recorded once per participant TRN, the
 * 9200 on a ready submit connection, 9201 repeats on another (R7), holding while suspended (R10),
 * and exactly one pacs.002 back.
 */
export class OutboundDesk {
  private readonly lifecycle: Lifecycle<typeof outboundMachine>;
  private readonly payments = new Map<string, SchemePayment>();
  /** False once the gateway drains: new instructions are recorded, not submitted. */
  private submitNew = true;

  constructor(private readonly deps: OutboundDeps) {
    this.lifecycle = new Lifecycle(
      {
        machine: outboundMachine,
        direction: 'outbound',
        perform: (fpid, effect, snapshot) => this.perform(fpid, effect, snapshot),
        deadline: (s) => (s.value === 'recorded' ? s.context.submitBy : undefined),
        outcome: (s) => s.context.outcome ?? undefined,
        settled: (s) => (OUTBOUND_SETTLED as readonly string[]).includes(stateOf(s)),
        forget: (fpid) => this.payments.delete(fpid),
      },
      deps,
    );
  }

  get inFlight(): number {
    return this.lifecycle.size;
  }

  /**
   * A participant's validated pacs.008. Resolves once the instruction is durably recorded (or known
   * already), which is when its MQ message may be removed.
   */
  async instruct(participant: Participant, instruction: Pacs008Instruction, mqMessageId: string): Promise<Instructed> {
    const reportTo = { msgId: instruction.msgId, mqMessageId, trn: instruction.trn, ...(instruction.endToEndRef === undefined ? {} : { endToEndRef: instruction.endToEndRef }) };
    // Participant-mq.md section 1: an outbound payment must come from a sort code its sender owns.
    if (!participant.sortCodes.includes(instruction.originatorSortCode)) {
      await this.refuse(participant.id, reportTo, ActionCode.invalidAccount, 'debtor agent sort code not owned by the sender');
      return 'rejected';
    }
    if (instruction.amountPence > Math.min(PAYMENT_LIMIT_PENCE, participant.maxAmountPence ?? PAYMENT_LIMIT_PENCE)) {
      await this.refuse(participant.id, reportTo, ActionCode.overLimit, 'amount over the payment limit');
      return 'rejected';
    }
    // Idempotent on the participant's TRN: a redelivered instruction is the same payment; another
    // instruction reusing the TRN would be a second payment under one name, and is refused.
    const existing = await this.deps.ledger.findByParticipantTrn(participant.id, instruction.trn);
    if (existing !== undefined) {
      if (existing.participantMsgId === instruction.msgId) return 'duplicate';
      await this.refuse(participant.id, reportTo, ActionCode.formatError, 'TRN already used by another instruction');
      return 'rejected';
    }
    const now = this.deps.clock.now();
    const { msgId: _msgId, ...fields } = instruction;
    const payment: SchemePayment = { ...fields, institution: participant.id, dateSent: businessDate(now) };
    const fpid = fpidOf(paymentFields(payment));
    this.payments.set(fpid, payment);
    const { snapshot, effects } = startOutbound({ fpid, participant: participant.id, instruction: reportTo, instructedAt: now, submitBy: now + this.deps.timing.tOutMs });
    const record = newPayment('outbound', payment, { participantId: participant.id, participantMsgId: instruction.msgId });
    const created = await this.lifecycle.create(fpid, snapshot, effects, record, 'instructed', { participantMsgId: instruction.msgId });
    if (created === 'created' && this.submitNew) this.trySubmit(fpid);
    return created === 'created' ? 'recorded' : created === 'duplicate' ? 'duplicate' : 'failed';
  }

  /** Resumes payments left open by a previous run (crash recovery). */
  async recover(rows: readonly Payment[]): Promise<void> {
    for (const row of rows) {
      if (row.direction !== 'outbound') continue;
      this.payments.set(row.fpid, schemePaymentOf(row));
      this.lifecycle.adopt(row.fpid, resumeOutbound(row.state, row.context as unknown as OutboundContext));
      const s = this.lifecycle.snapshot(row.fpid)!;
      switch (stateOf(s)) {
        case 'recorded':
          this.trySubmit(row.fpid);
          break;
        case 'submitted':
        case 'repeating':
          // Its connection did not survive the restart: ask again with a 9201 (R7).
          await this.lifecycle.send(row.fpid, { type: 'NO_ANSWER', connection: s.context.lastConnection ?? '' });
          break;
        default:
          // Accepted or rejected but perhaps not yet reported.
          await this.lifecycle.send(row.fpid, { type: 'RETRY' });
      }
    }
  }

  /**
   * While the gateway drains (R8) an instruction is still recorded, so that its MQ message can be
   * committed, but stays `recorded`: the next run's recovery submits it and reports the outcome.
   */
  leaveNewInstructionsForNextRun(): void {
    this.submitNew = false;
  }

  stop(): void {
    this.lifecycle.stop();
  }

  private trySubmit(fpid: string): void {
    void this.lifecycle.send(fpid, { type: 'SUBMIT' });
  }

  private later(fpid: string, event: OutboundEvent): void {
    this.deps.clock.after(this.deps.timing.retryMs, () => void this.lifecycle.send(fpid, event));
  }

  private async perform(fpid: string, effect: Effect, snapshot: OutboundSnapshot): Promise<OutboundEvent[]> {
    const ctx = snapshot.context;
    switch (effect.type) {
      case 'submit':
        this.send(fpid, '9200');
        return [];
      case 'repeat':
        this.send(fpid, '9201', (effect.params as { avoid: string }).avoid);
        return [];
      case 'report':
        try {
          await this.deps.port.report({ participant: ctx.participant, fpid, instruction: ctx.instruction, code: (effect.params as { code: ActionCode }).code });
          return [{ type: 'REPORTED' }];
        } catch (e) {
          this.deps.log.error({ fpid, err: (e as Error).message }, 'could not put the pacs.002; will try again');
          this.later(fpid, { type: 'RETRY' });
          return [];
        }
      default:
        throw new Error(`unknown outbound effect ${effect.type}`);
    }
  }

  /** R7: the request goes out; its answer, or the lack of one, comes back as an event. */
  private send(fpid: string, mti: Mti, avoid?: string): void {
    const payment = this.payments.get(fpid)!;
    const options: SubmitOptions = avoid === undefined || avoid === '' ? {} : { avoid };
    this.deps.scheme.submit({ mti, fields: paymentFields(payment) }, options).then(
      async ({ response, connection }) => {
        const code = response.fields.get(26) as ActionCode;
        await this.lifecycle.send(fpid, { type: 'RESPONSE', code, connection }, { mti: response.mti, stan: response.fields.get(11) ?? '', connectionId: connection });
        // [R7a] Not taken: a 9200 goes again as a 9200 (the machine is back in `recorded`), a 9201 as a 9201.
        if (code === ActionCode.notSignedOn) this.later(fpid, mti === '9200' ? { type: 'SUBMIT' } : { type: 'RETRY' });
      },
      (e: unknown) => {
        const code = e instanceof RequestError ? e.code : 'closed';
        if (NOT_WRITTEN.has(code)) {
          if (mti === '9200') void this.lifecycle.send(fpid, { type: 'NOT_SENT' }).then(() => this.later(fpid, { type: 'SUBMIT' }));
          else this.later(fpid, { type: 'RETRY' });
        } else {
          void this.lifecycle.send(fpid, { type: 'NO_ANSWER', connection: e instanceof RequestError ? (e.connection ?? '') : '' });
        }
      },
    );
  }

  private async refuse(participant: string, instruction: { msgId: string; mqMessageId: string; trn: string; endToEndRef?: string }, code: ActionCode, why: string): Promise<void> {
    this.deps.log.warn({ participant, participantMsgId: instruction.msgId, code, why }, 'instruction refused');
    await this.deps.port.report({ participant, fpid: '', instruction, code });
  }
}
