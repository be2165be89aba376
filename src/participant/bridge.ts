import { createHash } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { retryTransient } from '../base/faults.js';
import {
  Unofferable,
  type Decision,
  type DecisionOutcome,
  type Instructed,
  type Offer,
  type ParticipantPort,
  type Report,
  type Told,
} from '../payments/participant-port.js';
import type { ParticipantConfig, ParticipantDirectory } from './directory.js';
import type { RefusalAudit } from '../ledger/refusals.js';
import type { Logger } from '../base/log.js';
import { ActionCode } from '../scheme/profile.js';
import { isoIdFor, mqIdFor } from './ids.js';
import {
  buildPacs002,
  buildPacs007,
  buildPacs008,
  detectMessage,
  parsePacs002,
  parsePacs008,
  validateXml,
  type Instruction,
  type Rejection,
} from './iso20022/index.js';
import {
  consumeOptions,
  ensureParticipantQueues,
  isMessageId,
  type Consumer,
  type Disposition,
  type IncomingMessage,
  type MqTransport,
  type OutgoingMessage,
} from './mq/index.js';

/**
 * Attempts of a put without an expiry that fail with a transient fault (broker away) before the
 * caller is told: with TRANSIENT_BACKOFF about 25 s. A put with an expiry (an offer) is tried
 * until it expires instead.
 */
const PUT_ATTEMPTS_MAX = 10;

/** Why a message whose id no answer can correlate to is refused before anything is done for it. */
const UNANSWERABLE =
  'the MQ message id must be 48 lower-case hex characters (a 24-byte MsgId), so that the answer can correlate to it';

/** What the bridge hands to the payment lifecycle, and what it asks of it. */
export interface BridgeHandlers {
  /**
   * A validated pacs.008 from a participant; resolves once recorded. `traceparent` is its message's
   * property of that name, unchecked (the participant's trace, if it sent one).
   */
  instruct(
    participant: ParticipantConfig,
    instruction: Instruction,
    mqMessageId: string,
    traceparent?: string,
  ): Promise<Instructed>;
  /**
   * `from`'s pacs.002 naming the payment offered under `offerMessageId` (its correlation id) and the
   * TRN `trn` (its OrgnlTxId); resolves once its effect is recorded, or with why it was refused.
   */
  decide(
    from: ParticipantConfig,
    offerMessageId: string,
    decision: Decision,
    message: { mqMessageId: string; msgId: string; trn: string; traceparent?: string },
  ): Promise<DecisionOutcome>;
}

export interface BridgeDeps {
  transport: MqTransport;
  participants: ParticipantDirectory;
  clock: Clock;
  log: Logger;
  /** Where every refused message is recorded before it is answered and backed out. */
  refusals: RefusalAudit;
}

/**
 * The reject reasons a participant may give for an inbound payment: the beneficiary's account is
 * not valid (1100) or closed (1114), or the amount is over a limit (1160). The other action codes
 * are the scheme's or the gateway's own (0912 stand-in, 9020 format, 9068 MAC, 9091 sign-on,
 * 1161 net sender cap, "CI only"): a participant giving one would speak for them.
 */
const PARTICIPANT_REJECT_REASONS: ReadonlySet<string> = new Set([
  ActionCode.invalidAccount,
  ActionCode.accountClosed,
  ActionCode.overLimit,
]);

/**
 * The participant link (participant-mq.md): ISO 20022 over each participant's MQ queues. Puts what
 * the lifecycle asks for on FROM.GATEWAY; reads TO.GATEWAY under transactional get, committing a
 * message only once its effect is recorded.
 */
export class ParticipantBridge implements ParticipantPort {
  /** One consumer per participant read now, by participant id. */
  private readonly consumers = new Map<string, Consumer>();
  /** Set between `start` and `stop`: the handlers the consumers hand messages to. */
  private handlers: BridgeHandlers | undefined;
  /** Participants an operator suspended: their TO.GATEWAY is not read until resumed. */
  private readonly suspendedIds = new Set<string>();
  /** Starts and stops of single consumers, one at a time. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: BridgeDeps) {}

  /** Reading the participants' queues (started, not stopped), but for those suspended. */
  get bridging(): boolean {
    return this.handlers !== undefined;
  }

  /** Participants whose queue is not read while bridging, by an operator's choice. */
  get suspended(): string[] {
    return [...this.suspendedIds];
  }

  /** Declares every participant's queues and starts reading their TO.GATEWAY (only the open site does). */
  async start(handlers: BridgeHandlers): Promise<void> {
    this.handlers = handlers;
    for (const p of this.deps.participants.all) {
      if (!this.suspendedIds.has(p.id)) await this.read(p, handlers);
    }
  }

  private async read(p: ParticipantConfig, handlers: BridgeHandlers): Promise<void> {
    const q = await ensureParticipantQueues(this.deps.transport, p.id);
    this.consumers.set(
      p.id,
      await this.deps.transport.consume(
        q.toGateway,
        (m) => this.onMessage(p, m, handlers),
        consumeOptions(q.toGateway, p.prefetch),
      ),
    );
  }

  /** Stops reading; handlers in flight finish and settle their messages. */
  async stop(): Promise<void> {
    this.handlers = undefined;
    await this.changes;
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
  }

  /**
   * Stops reading one participant's TO.GATEWAY (its handlers in flight finish) until `resume`, now
   * and whenever this site opens. False when it was suspended already.
   */
  suspend(participantId: string): Promise<boolean> {
    const done = this.changes.then(async () => {
      if (this.suspendedIds.has(participantId)) return false;
      this.suspendedIds.add(participantId);
      const c = this.consumers.get(participantId);
      this.consumers.delete(participantId);
      await c?.stop();
      this.deps.log.warn({ participant: participantId }, 'participant suspended: its TO.GATEWAY is not read');
      return true;
    });
    this.changes = done.catch(() => undefined);
    return done;
  }

  /** Reads a suspended participant's TO.GATEWAY again (at once if bridging). False when it was not suspended. */
  resume(participantId: string): Promise<boolean> {
    const done = this.changes.then(async () => {
      if (!this.suspendedIds.delete(participantId)) return false;
      const p = this.deps.participants.all.find((x) => x.id === participantId);
      if (this.handlers !== undefined && p !== undefined && !this.consumers.has(p.id))
        await this.read(p, this.handlers);
      this.deps.log.warn({ participant: participantId }, 'participant resumed: its TO.GATEWAY is read');
      return true;
    });
    this.changes = done.catch(() => undefined);
    return done;
  }

  async offer(o: Offer): Promise<void> {
    await this.put(o.participant, {
      body: this.offerBody(o),
      messageId: o.offerMessageId,
      // [P5] The offer expires at the stand-in deadline (R6).
      expiryMs: Math.max(1, o.expiresAt - this.deps.clock.now()),
      ...(o.traceparent === undefined ? {} : { traceparent: o.traceparent }),
    });
  }

  /** The offer's pacs.008, built and checked against its XSD before anything is put. */
  private offerBody(o: Offer): string {
    let body: string;
    try {
      body = buildPacs008({
        msgId: isoIdFor('offer', o.offerMessageId),
        createdAt: this.deps.clock.now(),
        payment: o.payment,
      });
    } catch (e) {
      throw new Unofferable(`its pacs.008 cannot be built: ${(e as Error).message}`);
    }
    // [P8] Nothing is offered that is not valid against the pacs.008 XSD.
    const valid = validateXml('pacs.008', body);
    if (!valid.ok) throw new Unofferable(`its pacs.008 is not valid: ${valid.errors.join('; ')}`);
    return body;
  }

  async standIn(t: Told): Promise<void> {
    // [P10] The stand-in notice answers the offer.
    await this.rejectedForStandIn(t, 'stand-in', t.offerMessageId, t.offerMessageId);
  }

  async answerLate(t: Told & { decision: string }): Promise<void> {
    // [P10] The answer to a late decision answers that decision.
    await this.rejectedForStandIn(t, 'late', t.decision, t.decision);
  }

  /** pacs.002 RJCT 0912 on an offered payment, answering `correlationId` (R6). */
  private async rejectedForStandIn(t: Told, purpose: string, key: string, correlationId: string): Promise<void> {
    await this.put(t.participant, {
      body: buildPacs002({
        msgId: isoIdFor(purpose, key),
        createdAt: this.deps.clock.now(),
        originalMsgId: isoIdFor('offer', t.offerMessageId),
        ...endToEnd(t.payment.endToEndRef),
        originalTrn: t.payment.trn,
        status: 'RJCT',
        reason: ActionCode.standIn,
      }),
      messageId: mqIdFor(purpose, key),
      correlationId,
    });
  }

  /** [P11] pacs.007 for a payment the scheme reversed: its TRN, end-to-end id and amount, TMOT. */
  async reversal(t: Told): Promise<void> {
    await this.put(t.participant, {
      body: buildPacs007({
        msgId: isoIdFor('reversal', t.fpid),
        createdAt: this.deps.clock.now(),
        originalMsgId: isoIdFor('offer', t.offerMessageId),
        ...endToEnd(t.payment.endToEndRef),
        originalTrn: t.payment.trn,
        amountPence: t.payment.amountPence,
        reason: 'TMOT',
      }),
      messageId: mqIdFor('reversal', t.fpid),
      correlationId: t.offerMessageId,
    });
  }

  async report(r: Report): Promise<void> {
    const i = r.instruction;
    await this.put(r.participant, {
      body: buildPacs002({
        msgId: isoIdFor('report', i.mqMessageId),
        createdAt: this.deps.clock.now(),
        originalMsgId: i.msgId,
        ...endToEnd(i.endToEndRef),
        originalTrn: i.trn,
        status: r.code === ActionCode.accepted ? 'ACSC' : 'RJCT',
        ...(r.code === ActionCode.accepted ? {} : { reason: r.code }),
      }),
      messageId: mqIdFor('report', i.mqMessageId),
      correlationId: i.mqMessageId,
      ...(r.traceparent === undefined ? {} : { traceparent: r.traceparent }),
    });
  }

  /**
   * Puts on the participant's FROM.GATEWAY, trying again through transient faults (the broker
   * reconnecting): until the message would expire, else PUT_ATTEMPTS_MAX times. Then, or for any
   * other fault, the caller is told.
   */
  private async put(participant: string, m: Omit<OutgoingMessage, 'queue'>): Promise<void> {
    const queue = this.deps.participants.queues(participant).fromGateway;
    const expiresAt = m.expiryMs === undefined ? undefined : this.deps.clock.now() + m.expiryMs;
    /** Time to live left at the latest attempt. */
    let left: number | undefined;
    const put = (): Promise<void> => {
      left = expiresAt === undefined ? undefined : expiresAt - this.deps.clock.now();
      return this.deps.transport.put({ queue, ...m, ...(left === undefined ? {} : { expiryMs: Math.max(1, left) }) });
    };
    await retryTransient(this.deps.clock, put, (attempt, delayMs, err) => {
      if (left === undefined ? attempt >= PUT_ATTEMPTS_MAX : left <= delayMs) return undefined;
      this.deps.log.warn(
        { queue, messageId: m.messageId, attempt, retryInMs: delayMs, err: err.message },
        'put failed (transient fault); trying again',
      );
      return delayMs;
    });
  }

  private async onMessage(
    participant: ParticipantConfig,
    m: IncomingMessage,
    handlers: BridgeHandlers,
  ): Promise<Disposition> {
    const kind = detectMessage(m.body);
    if (kind === 'pacs.008') {
      const parsed = parsePacs008(m.body);
      if (!parsed.ok) return this.refuse(participant, m, parsed);
      const i = parsed.instruction;
      // Nothing is submitted that could not be reported: the pacs.002 correlates to this id.
      if (!isMessageId(m.messageId))
        return this.refuse(participant, m, {
          ok: false,
          reason: UNANSWERABLE,
          msgId: i.msgId,
          trn: i.trn,
          ...(i.endToEndRef === undefined ? {} : { endToEndId: i.endToEndRef }),
        });
      // [P6] Committed only once `instruct` has recorded it durably. A ledger or broker away makes
      // `instruct` reject with a TransientFault: the transport holds
      // the message and tries again. Not recorded otherwise (fenced): left on the queue to come
      // again. Refused (answered RJCT already): kept on the backout queue for the participant's operators.
      const outcome = await handlers.instruct(participant, i, m.messageId, m.traceparent);
      return outcome === 'failed' ? 'rollback' : outcome === 'rejected' ? 'backout' : 'commit';
    }
    if (kind === 'pacs.002') return this.onDecision(participant, m, handlers);
    return this.refuse(participant, m, {
      ok: false,
      reason: kind === 'unknown' ? 'not a pacs.008 or pacs.002 document' : `${kind} is not accepted from a participant`,
    });
  }

  /** A participant's pacs.002 on an inbound payment: taken only when it may decide it, refused otherwise. */
  private async onDecision(
    participant: ParticipantConfig,
    m: IncomingMessage,
    handlers: BridgeHandlers,
  ): Promise<Disposition> {
    const parsed = parsePacs002(m.body);
    if (!parsed.ok) return this.refuse(participant, m, parsed);
    const s = parsed.status;
    const ids = {
      ok: false as const,
      msgId: s.msgId,
      trn: s.originalTrn,
      ...(s.originalEndToEndId === undefined ? {} : { endToEndId: s.originalEndToEndId }),
    };
    // An answer to a late decision correlates to the decision's id.
    if (!isMessageId(m.messageId)) return this.refuse(participant, m, { ...ids, reason: UNANSWERABLE });
    if (m.correlationId === null)
      return this.refuse(participant, m, {
        ...ids,
        reason: 'a decision must carry the offer message id as its correlation id',
      });
    // [P9] A participant rejects only with a reason it may give: 1100, 1114 or 1160.
    if (s.status === 'RJCT' && !PARTICIPANT_REJECT_REASONS.has(s.reason!)) {
      const reason = `StsRsnInf/Rsn/Prtry ${s.reason} is not a reason a participant may give; one of ${[...PARTICIPANT_REJECT_REASONS].join(', ')}`;
      return this.refuse(participant, m, { ...ids, reason });
    }
    const decision: Decision =
      s.status === 'ACSC' ? { accept: true, code: ActionCode.accepted } : { accept: false, code: s.reason! };
    const outcome = await handlers.decide(participant, m.correlationId, decision, {
      mqMessageId: m.messageId,
      msgId: s.msgId,
      trn: s.originalTrn,
      ...(m.traceparent === undefined ? {} : { traceparent: m.traceparent }),
    });
    if (outcome.taken) return 'commit';
    // The participant is told only `answer`: whether a payment exists that was offered to someone else is not its business.
    return this.refuse(participant, m, { ...ids, reason: outcome.answer }, outcome);
  }

  /**
   * [P7] A message that cannot be parsed or validated is recorded, answered
   * with a pacs.002 RJCT 9020 naming the problem where the sender can be identified (the owner of
   * the queue it came on), and goes to the backout queue at once: it will never parse, so
   * redelivering it changes nothing. Nothing else changes. Without a usable message id the answer
   * has no correlation id but still names the message by its GrpHdr/MsgId. `audit` replaces what
   * is recorded when the participant is told less than operators are.
   */
  private async refuse(
    participant: ParticipantConfig,
    m: IncomingMessage,
    r: Rejection,
    audit?: { reason: string; fpid?: string },
  ): Promise<Disposition> {
    const reason = audit?.reason ?? r.reason;
    this.deps.log.warn(
      { participant: participant.id, messageId: m.messageId, correlationId: m.correlationId, reason },
      'refused a participant message',
    );
    await this.deps.refusals.record({
      participantId: participant.id,
      mqMessageId: m.messageId,
      correlationId: m.correlationId,
      kind: detectMessage(m.body),
      reason,
      ...(audit?.fpid === undefined ? {} : { fpid: audit.fpid }),
    });
    const answerable = isMessageId(m.messageId);
    // The refusal's own ids derive from the message, so that refusing it again puts the same answer.
    const key = answerable ? m.messageId : `body:${createHash('sha256').update(m.body).digest('hex')}`;
    await this.put(participant.id, {
      body: buildPacs002({
        msgId: isoIdFor('refusal', key),
        createdAt: this.deps.clock.now(),
        ...(r.msgId === undefined ? {} : { originalMsgId: r.msgId }),
        ...endToEnd(r.endToEndId),
        ...(r.trn === undefined ? {} : { originalTrn: r.trn }),
        status: 'RJCT',
        reason: ActionCode.formatError,
        detail: r.reason,
      }),
      messageId: mqIdFor('refusal', key),
      ...(answerable ? { correlationId: m.messageId } : {}),
    });
    return 'backout';
  }
}

function endToEnd(ref: string | undefined): { originalEndToEndId?: string } {
  return ref === undefined ? {} : { originalEndToEndId: ref };
}
