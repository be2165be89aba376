import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { backoffDelay, isTransient, TRANSIENT_BACKOFF } from '../faults.js';
import type { Decision } from '../gateway/inbound-desk.js';
import type { Instructed } from '../gateway/outbound-desk.js';
import type { Offer, ParticipantPort, Report, Told } from '../gateway/participant-port.js';
import type { Participant, ParticipantDirectory } from '../gateway/participants.js';
import type { Logger } from '../log.js';
import { ActionCode } from '../scheme/profile.js';
import { isoIdFor, mqIdFor, offerMessageId } from './ids.js';
import { buildPacs002, buildPacs007, buildPacs008, detectMessage, parsePacs002, parsePacs008, type Pacs008Instruction, type Rejection } from './iso20022/index.js';
import { consumeOptions, ensureParticipantQueues, isMessageId, type Consumer, type Disposition, type IncomingMessage, type MqTransport, type OutgoingMessage } from './mq/index.js';

/**
 * Attempts of a put without an expiry that fail with a transient fault (broker away) before the
 * caller is told: with TRANSIENT_BACKOFF about 25 s. A put with an expiry (an offer) is tried
 * until it expires instead.
 */
const PUT_ATTEMPTS_MAX = 10;

/** Why a message whose id no answer can correlate to is refused before anything is done for it. */
const UNANSWERABLE = 'the MQ message id must be 48 lower-case hex characters (a 24-byte MsgId), so that the answer can correlate to it';

/** What the bridge hands to the payment lifecycle, and what it asks of it. */
export interface BridgeHandlers {
  /** A validated pacs.008 from a participant; resolves once recorded. */
  instruct(participant: Participant, instruction: Pacs008Instruction, mqMessageId: string): Promise<Instructed>;
  /** A participant's pacs.002 on the payment offered under `offerMessageId`; false when unknown. */
  decide(offerMessageId: string, decision: Decision, message: { mqMessageId: string; msgId: string }): Promise<boolean>;
}

export interface BridgeDeps {
  transport: MqTransport;
  participants: ParticipantDirectory;
  clock: Clock;
  log: Logger;
}

/**
 * The participant link (participant-mq.md): ISO 20022 over each participant's MQ queues. Puts what
 * the lifecycle asks for on FROM.GATEWAY; reads TO.GATEWAY under transactional get, committing a
 * message only once its effect is recorded.
 */
export class ParticipantBridge implements ParticipantPort {
  private consumers: Consumer[] = [];

  constructor(private readonly deps: BridgeDeps) {}

  /** Declares every participant's queues and starts reading their TO.GATEWAY (only the open site does). */
  async start(handlers: BridgeHandlers): Promise<void> {
    for (const p of this.deps.participants.all) {
      const q = await ensureParticipantQueues(this.deps.transport, p.id);
      this.consumers.push(await this.deps.transport.consume(q.toGateway, (m) => this.onMessage(p, m, handlers), consumeOptions(q.toGateway, p.prefetch)));
    }
  }

  /** Stops reading; handlers in flight finish and settle their messages. */
  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.consumers = [];
  }

  async offer(o: Offer): Promise<void> {
    await this.put(o.participant, {
      body: buildPacs008({ msgId: isoIdFor('offer', o.fpid), createdAt: this.deps.clock.now(), payment: o.payment }),
      messageId: offerMessageId(o.fpid),
      // Participant-mq.md section 2: it expires at the stand-in deadline.
      expiryMs: Math.max(1, o.expiresAt - this.deps.clock.now()),
    });
  }

  async standIn(t: Told): Promise<void> {
    await this.rejectedForStandIn(t, 'stand-in', t.fpid, offerMessageId(t.fpid));
  }

  async answerLate(t: Told & { decision: string }): Promise<void> {
    await this.rejectedForStandIn(t, 'late', t.decision, t.decision);
  }

  /** R6: pacs.002 RJCT 0912 on an offered payment, answering `correlationId`. */
  private async rejectedForStandIn(t: Told, purpose: string, key: string, correlationId: string): Promise<void> {
    await this.put(t.participant, {
      body: buildPacs002({
        msgId: isoIdFor(purpose, key),
        createdAt: this.deps.clock.now(),
        originalMsgId: isoIdFor('offer', t.fpid),
        ...endToEnd(t.payment.endToEndRef),
        originalTrn: t.payment.trn,
        status: 'RJCT',
        reason: ActionCode.standIn,
      }),
      messageId: mqIdFor(purpose, key),
      correlationId,
    });
  }

  async reversal(t: Told): Promise<void> {
    await this.put(t.participant, {
      body: buildPacs007({
        msgId: isoIdFor('reversal', t.fpid),
        createdAt: this.deps.clock.now(),
        originalMsgId: isoIdFor('offer', t.fpid),
        ...endToEnd(t.payment.endToEndRef),
        originalTrn: t.payment.trn,
        amountPence: t.payment.amountPence,
        reason: 'TMOT',
      }),
      messageId: mqIdFor('reversal', t.fpid),
      correlationId: offerMessageId(t.fpid),
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
    for (let attempt = 1; ; attempt += 1) {
      const left = expiresAt === undefined ? undefined : expiresAt - this.deps.clock.now();
      try {
        return await this.deps.transport.put({ queue, ...m, ...(left === undefined ? {} : { expiryMs: Math.max(1, left) }) });
      } catch (e) {
        const delayMs = backoffDelay(TRANSIENT_BACKOFF, attempt);
        const more = isTransient(e) && (left === undefined ? attempt < PUT_ATTEMPTS_MAX : left > delayMs);
        if (!more) throw e;
        this.deps.log.warn({ queue, messageId: m.messageId, attempt, retryInMs: delayMs, err: (e as Error).message }, 'put failed (transient fault); trying again');
        await new Promise<void>((resolve) => this.deps.clock.after(delayMs, resolve));
      }
    }
  }

  private async onMessage(participant: Participant, m: IncomingMessage, handlers: BridgeHandlers): Promise<Disposition> {
    const kind = detectMessage(m.body);
    if (kind === 'pacs.008') {
      const parsed = parsePacs008(m.body);
      if (!parsed.ok) return this.refuse(participant, m, parsed);
      const i = parsed.instruction;
      // Nothing is submitted that could not be reported: the pacs.002 correlates to this id.
      if (!isMessageId(m.messageId)) return this.refuse(participant, m, { ok: false, reason: UNANSWERABLE, msgId: i.msgId, trn: i.trn, ...(i.endToEndRef === undefined ? {} : { endToEndId: i.endToEndRef }) });
      // A ledger or broker away makes `instruct` reject with a TransientFault: the transport holds
      // the message and tries again. Not recorded otherwise (fenced): left on the queue to come
      // again. Refused (answered RJCT already): kept on the backout queue for the participant's operators.
      const outcome = await handlers.instruct(participant, i, m.messageId);
      return outcome === 'failed' ? 'rollback' : outcome === 'rejected' ? 'backout' : 'commit';
    }
    if (kind === 'pacs.002') {
      const parsed = parsePacs002(m.body);
      if (!parsed.ok) return this.refuse(participant, m, parsed);
      // An answer to a late decision correlates to the decision's id.
      if (!isMessageId(m.messageId)) return this.refuse(participant, m, { ok: false, reason: UNANSWERABLE, msgId: parsed.status.msgId });
      if (m.correlationId === null) return this.refuse(participant, m, { ok: false, reason: 'a decision must carry the offer message id as its correlation id' });
      const s = parsed.status;
      const decision: Decision = s.status === 'ACSC' ? { accept: true, code: ActionCode.accepted } : { accept: false, code: s.reason ?? ActionCode.invalidAccount };
      if (await handlers.decide(m.correlationId, decision, { mqMessageId: m.messageId, msgId: s.msgId })) return 'commit';
      this.deps.log.warn({ participant: participant.id, messageId: m.messageId, correlationId: m.correlationId }, 'decision for no payment offered; kept on the backout queue');
      return 'backout';
    }
    return this.refuse(participant, m, { ok: false, reason: kind === 'unknown' ? 'not a pacs.008 or pacs.002 document' : `${kind} is not accepted from a participant` });
  }

  /**
   * Participant-mq.md section 2: a message that cannot be parsed or validated is answered with a
   * pacs.002 RJCT where the sender can be identified, and goes to the backout queue at once: it
   * will never parse, so redelivering it changes nothing. Nothing else changes. Without a usable
   * message id the answer has no correlation id but still names the message by its GrpHdr/MsgId.
   */
  private async refuse(participant: Participant, m: IncomingMessage, r: Rejection): Promise<Disposition> {
    this.deps.log.warn({ participant: participant.id, messageId: m.messageId, reason: r.reason }, 'refused a participant message');
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
