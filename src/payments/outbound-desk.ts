import type { Clock } from '../base/clock.js';
import { backoffDelay, isTransient, TransientFault } from '../base/faults.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Payment } from '../ledger/transition.js';
import type { Logger } from '../base/log.js';
import {
  outboundContext,
  outboundEffect,
  outboundMachine,
  OUTBOUND_SETTLED,
  resumeOutbound,
  startOutbound,
  type OutboundContext,
  type OutboundEffect,
  type OutboundEvent,
  type OutboundSnapshot,
} from './machines/outbound.js';
import { stateOf, unhandledEffect } from './machines/step.js';
import { RequestError } from '../scheme/errors.js';
import { businessDate, fpidOf, paymentFields, type SchemePayment } from '../scheme/messages.js';
import type { Submitted, SubmitOptions } from '../scheme/pool.js';
import { ActionCode, PAYMENT_LIMIT_PENCE, type Mti } from '../scheme/profile.js';
import type { IsoMessage } from '../scheme/codec.js';
import type { Fence } from '../failover/fence.js';
import { PaymentRuntime } from './runtime.js';
import type { Instructed, Instruction, Participant, ParticipantPort } from './participant-port.js';
import { newPayment, schemePaymentOf } from './records.js';
import { loadContext, reportUnreadable, type ContextReader } from './stored-context.js';
import type { PaymentObserver } from './observer.js';
import { failed, PaymentTraces } from './traces.js';
import { parseTraceparent } from '../base/tracing.js';

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
  /** New outbound payments held in memory at most; defaults to IN_MEMORY_PAYMENTS_MAX. */
  inMemoryPaymentsMax?: number;
  /** Instructions being recorded at once at most; defaults to INSTRUCTIONS_IN_PROGRESS_MAX. */
  instructionsInProgressMax?: number;
  /** Told of every step and every report (metrics); nothing by default. */
  observer?: PaymentObserver;
  /** Resolves when a new instruction may be taken (admission control's `intake`); at once by default. */
  intake?: () => Promise<void>;
}

/**
 * Instructions (participant TRNs) being recorded at once, at most. Each is an MQ message held by
 * its consumer, so the consumers' prefetch bounds them well below this; the bound holds should a
 * transport ever not. At the bound, and when the payments in memory are at theirs, an instruction
 * is refused with a TransientFault: its MQ message stays on the queue and is tried again later.
 */
export const INSTRUCTIONS_IN_PROGRESS_MAX = 10_000;

/** Failures that mean the request was never written to any connection. */
const NOT_WRITTEN = new Set(['no-connection', 'busy', 'suspended', 'duplicate-stan']);

/**
 * Retries in one run of what a payment owes after it may be with the scheme: 9201 repeats (R7)
 * and failed puts of its pacs.002. With a back-off from `timing.retryMs` doubling to RETRY_MAX_MS (and T_out for each unanswered repeat) the
 * bound is reached after a quarter of an hour or more; the payment then stays repeating, accepted
 * or rejected in the ledger, which is what recovery at the next start takes up again.
 */
const RETRIES_MAX = 40;
const RETRY_MAX_MS = 30_000;

const STORED: ContextReader<OutboundContext> = { schema: outboundContext, states: Object.keys(outboundMachine.states) };

type ReportTo = { msgId: string; mqMessageId: string; trn: string; endToEndRef?: string };

/**
 * Outbound payments, participant to scheme: the instruction recorded once per participant TRN, the
 * 9200 on a ready submit connection, 9201 repeats on another (R7), holding while suspended (R10),
 * and exactly one pacs.002 back.
 */
export class OutboundDesk {
  private readonly runtime: PaymentRuntime<typeof outboundMachine, OutboundEffect>;
  private readonly payments = new Map<string, SchemePayment>();
  /** False once the gateway drains: new instructions are recorded, not submitted. */
  private submitNew = true;
  /** Retries of each payment in this run (RETRIES_MAX). */
  private readonly retries = new Map<string, number>();
  /**
   * Instructions of one participant TRN, one at a time: the look-up and the record of one must not
   * interleave with another's, or the second of two put back to back goes unanswered. Holds at
   * most one entry per message in flight (the consumers' prefetch bounds them).
   */
  private readonly instructing = new Map<string, Promise<unknown>>();
  /**
   * Payments held here whose last step was refused because this site had closed (a lease lost
   * while the database was away, say): nothing moves them until this site opens again and
   * `recover` takes them up from the state the ledger holds.
   */
  private readonly fenced = new Set<string>();
  /** The trace of each payment held here: entries paired with `payments`, ended in `forget`. */
  private readonly traces: PaymentTraces;

  constructor(private readonly deps: OutboundDeps) {
    this.traces = new PaymentTraces('outbound', deps.fence().site);
    this.runtime = new PaymentRuntime(
      {
        machine: outboundMachine,
        effects: outboundEffect,
        direction: 'outbound',
        connection: (s) => s.context.lastConnection,
        context: (s) => s.context,
        // Taking an instruction from MQ and submitting it: the open site's alone, every step.
        fenced: () => true,
        // The report is put before this is recorded.
        afterTheFact: (event) => event === 'reported',
        perform: (fpid, effect, snapshot) => this.perform(fpid, effect, snapshot),
        deadline: (s) => (s.value === 'recorded' ? s.context.submitBy : undefined),
        settled: (s) => (OUTBOUND_SETTLED as readonly string[]).includes(stateOf(s)),
        forget: (fpid) => {
          this.traces.end(fpid);
          this.payments.delete(fpid);
          this.retries.delete(fpid);
          this.fenced.delete(fpid);
        },
        onFenced: (fpid) => this.fenced.add(fpid),
      },
      deps,
    );
  }

  get inFlight(): number {
    return this.runtime.size;
  }

  /**
   * A participant's validated pacs.008. Resolves once the instruction is durably recorded (or known
   * already), which is when its MQ message may be removed. `traceparent`, the participant's trace
   * context on its message, is the parent of the payment's trace.
   */
  async instruct(
    participant: Participant,
    instruction: Instruction,
    mqMessageId: string,
    traceparent?: string,
  ): Promise<Instructed> {
    const key = `${participant.id}/${instruction.trn}`;
    const max = this.deps.instructionsInProgressMax ?? INSTRUCTIONS_IN_PROGRESS_MAX;
    if (!this.instructing.has(key) && this.instructing.size >= max)
      throw new TransientFault(`${max} instructions are being recorded already`);
    const run = (this.instructing.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      // Counted among those in progress while it waits its turn (admission control).
      .then(() => this.deps.intake?.())
      .then(() => this.instructOnce(participant, instruction, mqMessageId, traceparent));
    this.instructing.set(key, run);
    try {
      return await run;
    } finally {
      if (this.instructing.get(key) === run) this.instructing.delete(key);
    }
  }

  private async instructOnce(
    participant: Participant,
    instruction: Instruction,
    mqMessageId: string,
    traceparent: string | undefined,
  ): Promise<Instructed> {
    const reportTo: ReportTo = {
      msgId: instruction.msgId,
      mqMessageId,
      trn: instruction.trn,
      ...(instruction.endToEndRef === undefined ? {} : { endToEndRef: instruction.endToEndRef }),
    };
    // [P2] An outbound payment must come from a sort code its sender owns; otherwise RJCT 1100.
    if (!participant.sortCodes.includes(instruction.originatorSortCode)) {
      await this.refuse(
        participant.id,
        reportTo,
        ActionCode.invalidAccount,
        'debtor agent sort code not owned by the sender',
        traceparent,
      );
      return 'rejected';
    }
    if (instruction.amountPence > Math.min(PAYMENT_LIMIT_PENCE, participant.maxAmountPence ?? PAYMENT_LIMIT_PENCE)) {
      await this.refuse(participant.id, reportTo, ActionCode.overLimit, 'amount over the payment limit', traceparent);
      return 'rejected';
    }
    // [R7] Idempotent on the participant's TRN: a redelivered instruction is the same payment; another
    // instruction reusing the TRN would be a second payment under one name, and is refused.
    const existing = await this.deps.ledger.findByParticipantTrn(participant.id, instruction.trn);
    if (existing !== undefined) return this.known(participant, existing, reportTo, traceparent);
    const now = this.deps.clock.now();
    const { msgId: _msgId, ...fields } = instruction;
    const payment: SchemePayment = { ...fields, institution: participant.id, dateSent: businessDate(now) };
    const fpid = fpidOf(paymentFields(payment));
    this.payments.set(fpid, payment);
    // Recorded and submitted in one commit (the journal's `instructed` goes straight to
    // `submitted`): one commit less before the 9200. While the site drains it is only recorded.
    const { snapshot, effects } = startOutbound(
      {
        fpid,
        participant: participant.id,
        instruction: reportTo,
        instructedAt: now,
        submitBy: now + this.deps.timing.tOutMs,
      },
      this.submitNew ? 'SUBMIT' : undefined,
    );
    const record = newPayment('outbound', payment, {
      participantId: participant.id,
      participantMsgId: instruction.msgId,
      traceparent: this.traces.begin(fpid, traceparent),
    });
    const created = await this.runtime.create(fpid, snapshot, effects, record, 'instructed', {
      participantMsgId: instruction.msgId,
    });
    // Not recorded by this call: its fields and trace go unless the payment is held (recorded meanwhile).
    if (created !== 'created' && !this.runtime.has(fpid)) {
      this.payments.delete(fpid);
      this.traces.end(fpid);
    }
    switch (created) {
      case 'created':
        return 'recorded';
      case 'unavailable':
        throw new TransientFault('the ledger could not record the instruction');
      case 'fenced':
        // [P3] This site closed as it read the message: held, not rolled back, so that no delivery is
        // counted towards the backout threshold; the open site (or this one, reopened) takes it.
        throw new TransientFault('the ledger refused the instruction: this site is not open');
      case 'full':
        throw new TransientFault('outbound payments in memory are at their bound');
      case 'duplicate': {
        // Recorded meanwhile under this FPID: the same instruction again, or another reusing its TRN.
        const row = await this.deps.ledger.findByParticipantTrn(participant.id, instruction.trn);
        if (row !== undefined) return this.known(participant, row, reportTo, traceparent);
        return 'failed';
      }
      default:
        return 'failed';
    }
  }

  /**
   * [P12] An instruction whose TRN the ledger knows. The same instruction again (MQ redelivery, or
   * a retry after a lost commit answer) is the same payment, with no second pacs.002, resumed here
   * if no one holds it;
   * another instruction reusing the TRN would be a second payment under one name, and is refused.
   */
  private async known(
    participant: Participant,
    row: Payment,
    reportTo: ReportTo,
    traceparent: string | undefined,
  ): Promise<Instructed> {
    if (row.participantMsgId !== reportTo.msgId) {
      const why = 'TRN already used by another instruction';
      await this.refuse(participant.id, reportTo, ActionCode.formatError, why, traceparent);
      return 'rejected';
    }
    if (!this.runtime.has(row.fpid) && !(OUTBOUND_SETTLED as readonly string[]).includes(row.state))
      await this.recover([row]);
    return 'duplicate';
  }

  /** Resumes payments left open by a previous run (crash recovery). */
  async recover(rows: readonly Payment[]): Promise<void> {
    for (const row of rows) {
      if (row.direction !== 'outbound') continue;
      // Held here already (this site was open before and is again): its events carry on as they
      // were, unless its last step was refused while this site was closed: then it starts again.
      const stalled = this.fenced.delete(row.fpid) && this.runtime.has(row.fpid);
      if (this.runtime.has(row.fpid) && !stalled) continue;
      const loaded = loadContext(row, STORED);
      if (!loaded.ok) {
        reportUnreadable(this.deps.log, row, loaded.issue);
        continue;
      }
      // A stalled one is held in its last committed state: the ledger's, since only the open site moves it.
      if (!stalled) {
        this.payments.set(row.fpid, schemePaymentOf(row));
        this.traces.resume(row.fpid, row.traceparent);
        this.runtime.adopt(row.fpid, resumeOutbound(row.state, loaded.context), row);
      }
      const s = this.runtime.snapshot(row.fpid)!;
      switch (stateOf(s)) {
        case 'recorded':
          this.trySubmit(row.fpid);
          break;
        case 'submitted':
        case 'repeating':
          // Its connection did not survive the restart: ask again with a 9201 (R7).
          await this.runtime.send(row.fpid, { type: 'NO_ANSWER', connection: s.context.lastConnection ?? '' });
          break;
        default:
          // Accepted or rejected but perhaps not yet reported.
          await this.runtime.send(row.fpid, { type: 'RETRY' });
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
    this.runtime.stop();
    this.traces.endAll();
  }

  private trySubmit(fpid: string): void {
    void this.runtime.send(fpid, { type: 'SUBMIT' });
  }

  /** R10: a 9200 that could not go is tried again until it goes or its deadline rejects it. */
  private submitLater(fpid: string): void {
    this.deps.clock.after(this.deps.timing.retryMs, () => void this.runtime.send(fpid, { type: 'SUBMIT' }));
  }

  /** Counts one more retry of `what`; false once RETRIES_MAX is reached (logged: left to the next start). */
  private mayRetry(fpid: string, what: string, err?: string): boolean {
    const attempt = (this.retries.get(fpid) ?? 0) + 1;
    this.retries.set(fpid, attempt);
    if (attempt <= RETRIES_MAX) return true;
    this.deps.log.error(
      { fpid, what, attempt, err },
      'retries exhausted in this run; the payment stays open in the ledger for the next start',
    );
    return false;
  }

  /** RETRY after a back-off that grows with the retries so far. */
  private retryLater(fpid: string): void {
    this.deps.clock.after(
      backoffDelay({ firstMs: this.deps.timing.retryMs, maxMs: RETRY_MAX_MS }, this.retries.get(fpid) ?? 1),
      () => void this.runtime.send(fpid, { type: 'RETRY' }),
    );
  }

  private async perform(fpid: string, effect: OutboundEffect, snapshot: OutboundSnapshot): Promise<OutboundEvent[]> {
    const ctx = snapshot.context;
    switch (effect.type) {
      case 'submit':
        this.send(fpid, '9200');
        return [];
      case 'repeat':
        if (this.mayRetry(fpid, 'repeat')) this.send(fpid, '9201', effect.params.avoid);
        return [];
      case 'report':
        try {
          const report = { participant: ctx.participant, fpid, instruction: ctx.instruction, code: effect.params.code };
          await this.traces.run(fpid, 'report', (traceparent) =>
            this.deps.port.report(traceparent === undefined ? report : { ...report, traceparent }),
          );
          const elapsedMs = this.deps.clock.now() - ctx.instructedAt;
          this.deps.observer?.outboundReported({
            seconds: elapsedMs / 1000,
            inTime: elapsedMs <= this.deps.timing.tOutMs,
            accepted: effect.params.code === ActionCode.accepted,
          });
          return [{ type: 'REPORTED' }];
        } catch (e) {
          const err = (e as Error).message;
          // A put the transport refuses outright (not a broker away) fails the same way every time.
          if (!isTransient(e))
            this.deps.log.error({ fpid, err }, 'the pacs.002 cannot be put; the payment stays open in the ledger');
          else if (this.mayRetry(fpid, 'report', err)) {
            this.deps.log.warn({ fpid, err }, 'could not put the pacs.002; will try again');
            this.retryLater(fpid);
          }
          return [];
        }
      default:
        return unhandledEffect(effect);
    }
  }

  /** The request goes out; its answer, or the lack of one (R7), comes back as an event. */
  private send(fpid: string, mti: Mti, avoid?: string): void {
    const payment = this.payments.get(fpid)!;
    const options: SubmitOptions = avoid === undefined || avoid === '' ? {} : { avoid };
    // The request's span, from the 9200 or 9201 written to its answer or the lack of one.
    const span = this.traces.start(fpid, 'submit');
    span.setAttribute('fps.mti', mti);
    this.deps.scheme.submit({ mti, fields: paymentFields(payment) }, options).then(
      async ({ response, connection }) => {
        const code = response.fields.get(26) as ActionCode;
        span.setAttributes({ 'fps.action_code': code, 'fps.connection': connection });
        span.end();
        await this.runtime.send(
          fpid,
          { type: 'RESPONSE', code, connection },
          { mti: response.mti, stan: response.fields.get(11) ?? '', connectionId: connection },
        );
        // [R7a] Not taken: a 9200 goes again as a 9200 (the machine is back in `recorded`), a 9201 as a 9201.
        if (code !== ActionCode.notSignedOn) return;
        if (mti === '9200') this.submitLater(fpid);
        else this.retryLater(fpid);
      },
      (e: unknown) => {
        const code = e instanceof RequestError ? e.code : 'closed';
        failed(span, e);
        span.end();
        if (NOT_WRITTEN.has(code)) {
          if (mti === '9200') void this.runtime.send(fpid, { type: 'NOT_SENT' }).then(() => this.submitLater(fpid));
          else this.retryLater(fpid);
        } else {
          void this.runtime.send(fpid, {
            type: 'NO_ANSWER',
            connection: e instanceof RequestError ? (e.connection ?? '') : '',
          });
        }
      },
    );
  }

  /** An instruction refused before it is a payment: its report carries on the participant's trace, if any. */
  private async refuse(
    participant: string,
    instruction: ReportTo,
    code: ActionCode,
    why: string,
    traceparent: string | undefined,
  ): Promise<void> {
    this.deps.log.warn({ participant, participantMsgId: instruction.msgId, code, why }, 'instruction refused');
    const valid = parseTraceparent(traceparent) === undefined ? {} : { traceparent: traceparent! };
    await this.deps.port.report({ participant, fpid: '', instruction, code, ...valid });
  }
}
