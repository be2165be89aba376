import type { Clock, Timer } from '../../src/base/clock.js';
import type { Logger } from '../../src/base/log.js';
import {
  buildPacs002,
  buildPacs008,
  detectMessage,
  parsePacs002,
  parsePacs007,
  parsePacs008,
  type Instruction as Pacs008Instruction,
  type ParseOptions,
} from '../../src/participant/iso20022/index.js';
import {
  DEFAULT_BACKOUT_THRESHOLD,
  ensureParticipantQueues,
  newMessageId,
  type Consumer,
  type Disposition,
  type IncomingMessage,
  type MqTransport,
  type ParticipantQueues,
} from '../../src/participant/mq/index.js';
import { businessDate } from '../../src/scheme/messages.js';
import { ActionCode, PaymentType } from '../../src/scheme/profile.js';
import { TimingTable } from '../timings.js';
import type { BankSettings, ParticipantSpec } from './options.js';
import { decideInbound, type InboundDecision } from './rules.js';

export interface BankDeps {
  transport: MqTransport;
  clock: Clock;
  log: Logger;
  /** Uniform in [0, 1): every random choice the banks make. */
  random: () => number;
}

/** The report line (README "Report"). */
export interface BankReport {
  participants: string[];
  instructions_sent: number;
  /** Of `instructions_sent`, returns of inbound payments this bank accepted (`--return-share`). */
  returns_sent: number;
  reports_received: number;
  reports_accepted: number;
  reports_rejected: number;
  missing_reports: number;
  duplicate_reports: number;
  /** The same report message delivered again (MQ is at least once): not a second report. */
  redelivered_reports: number;
  /** RJCT 0912 answers to decisions of ours that came after the gateway's stand-in. */
  late_answers: number;
  inbound_offered: number;
  inbound_decided: number;
  inbound_accepted: number;
  inbound_rejected: number;
  inbound_late: number;
  inbound_undecided: number;
  inbound_misrouted: number;
  duplicates_seen: number;
  reversed: number;
  stand_in_notices: number;
  invalid_messages: number;
  unexpected_messages: number;
  put_failures: number;
  by_reason: Record<string, number>;
  missing: string[];
}

/** Consumer prefetch on FROM.GATEWAY: handlers only count and schedule, so many may be in flight. */
const PREFETCH = 64;
/** Largest outbound amount generated: GBP 5,000.00. */
const MAX_AMOUNT_PENCE = 500_000;
/** Outbound pacing: how often the rate is topped up, and the most sent in one top-up. */
const MAX_TICK_MS = 100;
const MIN_TICK_MS = 5;
const MAX_BURST = 1_000;
const HEX_ID = /^[0-9a-f]{48}$/;
/** Field 126 of the returns this bank originates: the profile gives return reasons no meaning. */
const RETURN_REASON = '00000001';

interface Bank {
  spec: ParticipantSpec;
  queues: ParticipantQueues;
  consumer?: Consumer;
  /** Outbound pacing: when it started and how many it has generated since. */
  paceFrom: number;
  paced: number;
  paceTimer?: Timer;
}

/** An outbound pacs.008 this bank put on TO.GATEWAY, keyed by its MQ message id. */
interface Instruction {
  participant: string;
  trn: string;
  msgId: string;
  /** The put was confirmed by the broker. */
  sent: boolean;
  reports: number;
  /** MQ message ids of the reports seen: the same id again is the same message redelivered. */
  reportIds: Set<string>;
}

/** An inbound pacs.008 offered to this bank, keyed by its MQ message id. */
interface Offer {
  participant: string;
  messageId: string;
  instruction: Pacs008Instruction;
  decision: InboundDecision;
  state: 'waiting' | 'held' | 'decided' | 'abandoned';
  timer?: Timer;
  standIn: boolean;
  reversed: boolean;
}

/**
 * One or more simulated participant banks on the MQ link (participant-mq.md): they decide the
 * inbound payments the gateway offers on FROM.GATEWAY and originate outbound ones on TO.GATEWAY,
 * counting everything the gateway sends back.
 */
export class ParticipantBanks {
  private readonly banks: Bank[];
  private readonly byId = new Map<string, Bank>();
  private readonly instructions = new Map<string, Instruction>();
  private readonly offers = new Map<string, Offer>();
  /** Our decisions by MQ message id: what a gateway's answer to a late one correlates to. */
  private readonly decisions = new Map<string, Offer>();
  /** `TRN|GrpHdr/MsgId` of every payment offered: the same payment under a new MQ message id. */
  private readonly offerKeys = new Set<string>();
  private readonly offersByTrn = new Map<string, Offer[]>();
  private readonly held: Offer[] = [];
  private readonly puts = new Set<Promise<void>>();
  private readonly run: string;
  private serial = 0;
  private roundRobin = 0;
  /** Instructions a second per participant: `--outbound-rate`, then what `setOutboundRate` set. */
  private outboundRate = 0;
  private paused = false;
  private generating = false;
  private stopped = false;
  private readonly n = {
    instructionsSent: 0,
    returnsSent: 0,
    reportsReceived: 0,
    reportsAccepted: 0,
    reportsRejected: 0,
    duplicateReports: 0,
    redeliveredReports: 0,
    lateAnswers: 0,
    inboundOffered: 0,
    inboundDecided: 0,
    inboundAccepted: 0,
    inboundRejected: 0,
    inboundLate: 0,
    inboundMisrouted: 0,
    duplicatesSeen: 0,
    reversed: 0,
    standInNotices: 0,
    invalid: 0,
    unexpected: 0,
    putFailures: 0,
  };
  private readonly byReason: Record<string, number> = {};
  /** `--timings N`: per-payment times for benchmarks, N payments at most; off at 0. */
  readonly timings: TimingTable;
  /** `--validate off` trusts the gateway's XML (no XSD check): benchmarks only. */
  private readonly reading: ParseOptions;

  constructor(
    private readonly settings: BankSettings,
    private readonly deps: BankDeps,
  ) {
    this.banks = settings.participants.map((spec) => ({
      spec,
      queues: { toGateway: '', fromGateway: '', backout: '' },
      paceFrom: 0,
      paced: 0,
    }));
    for (const b of this.banks) this.byId.set(b.spec.id, b);
    this.timings = new TimingTable(settings.timings);
    this.reading = { trusted: settings.validate === 'off' };
    // Keeps TRNs unique across runs as well as within one (the gateway and scheme dedup on them).
    this.run = deps.clock.now().toString(36).toUpperCase().slice(-5).padStart(5, '0');
  }

  get participantIds(): string[] {
    return this.banks.map((b) => b.spec.id);
  }

  queues(participant: string): ParticipantQueues {
    return this.bank(participant).queues;
  }

  /** Declares (or checks) every participant's three queues, reads their FROM.GATEWAY and starts the outbound pace. */
  async start(): Promise<void> {
    for (const b of this.banks) {
      b.queues = await ensureParticipantQueues(this.deps.transport, b.spec.id);
      // Every message is committed after it is counted, so the backout threshold is only reached by a
      // message redelivered after a crash of this process; it then goes to the participant's own
      // backout queue (consumeOptions would name FROM.GATEWAY.BACKOUT, which the link does not have).
      b.consumer = await this.deps.transport.consume(b.queues.fromGateway, (m) => this.onMessage(b, m), {
        prefetch: PREFETCH,
        backoutThreshold: DEFAULT_BACKOUT_THRESHOLD,
        backoutQueue: b.queues.backout,
      });
    }
    this.generating = true;
    this.setOutboundRate(this.settings.outboundRate);
  }

  /**
   * Paces new outbound instructions at `perSecond` per participant from now on, as `--outbound-rate`
   * does (0 stops it): a benchmark sets each phase's rate once rather than asking for every burst.
   */
  setOutboundRate(perSecond: number): void {
    if (!this.generating) throw new NotRunning('the simulator is not running (stopping or not started)');
    this.outboundRate = perSecond;
    const now = this.deps.clock.now();
    for (const b of this.banks) {
      b.paceTimer?.cancel();
      b.paceTimer = undefined;
      b.paceFrom = now;
      b.paced = 0;
      if (perSecond > 0) this.pace(b);
    }
  }

  /**
   * Stops originating, waits up to `drainMs` for outstanding reports (and for decisions due in that
   * time), gives up on the decisions still waiting, and stops reading. The transport stays open.
   */
  async stop(drainMs = this.settings.drainMs): Promise<void> {
    if (this.stopped) return;
    this.generating = false;
    for (const b of this.banks) b.paceTimer?.cancel();
    await Promise.allSettled([...this.puts]);
    const until = this.deps.clock.now() + drainMs;
    while (this.deps.clock.now() < until && (this.missingTrns().length > 0 || this.waitingDecisions() > 0)) {
      await new Promise<void>((resolve) => this.deps.clock.after(Math.min(20, until - this.deps.clock.now()), resolve));
    }
    this.stopped = true;
    for (const o of this.offers.values()) {
      if (o.state === 'waiting' || o.state === 'held') {
        o.timer?.cancel();
        o.state = 'abandoned';
      }
    }
    this.held.length = 0;
    await Promise.all(this.banks.map((b) => b.consumer?.stop() ?? Promise.resolve()));
    await Promise.allSettled([...this.puts]);
  }

  /** Decisions that fall due while paused are held, then put at once on resume (README "Control endpoint"). */
  pauseDecisions(): boolean {
    const changed = !this.paused;
    this.paused = true;
    return changed;
  }

  resumeDecisions(): boolean {
    const changed = this.paused;
    this.paused = false;
    for (const o of this.held.splice(0)) this.sendDecision(o);
    return changed;
  }

  get decisionsPaused(): boolean {
    return this.paused;
  }

  /** Originates `count` instructions now, all from `participant` or round robin; returns their TRNs. */
  sendOutbound(count: number, participant?: string): string[] {
    if (!this.generating) throw new NotRunning('the simulator is not running (stopping or not started)');
    const banks = participant === undefined ? this.banks : [this.bank(participant)];
    const trns: string[] = [];
    for (let i = 0; i < count; i++) trns.push(this.originate(banks[this.roundRobin++ % banks.length]!));
    return trns;
  }

  report(): BankReport {
    const missing = this.missingTrns();
    return {
      participants: this.participantIds,
      instructions_sent: this.n.instructionsSent,
      returns_sent: this.n.returnsSent,
      reports_received: this.n.reportsReceived,
      reports_accepted: this.n.reportsAccepted,
      reports_rejected: this.n.reportsRejected,
      missing_reports: missing.length,
      duplicate_reports: this.n.duplicateReports,
      redelivered_reports: this.n.redeliveredReports,
      late_answers: this.n.lateAnswers,
      inbound_offered: this.n.inboundOffered,
      inbound_decided: this.n.inboundDecided,
      inbound_accepted: this.n.inboundAccepted,
      inbound_rejected: this.n.inboundRejected,
      inbound_late: this.n.inboundLate,
      inbound_undecided: [...this.offers.values()].filter((o) => o.state !== 'decided').length,
      inbound_misrouted: this.n.inboundMisrouted,
      duplicates_seen: this.n.duplicatesSeen,
      reversed: this.n.reversed,
      stand_in_notices: this.n.standInNotices,
      invalid_messages: this.n.invalid,
      unexpected_messages: this.n.unexpected,
      put_failures: this.n.putFailures,
      by_reason: { ...this.byReason },
      missing: missing.slice(0, 20),
    };
  }

  // --- outbound ---------------------------------------------------------------------------------

  /** Tops the participant's instructions up to the rate times the time since the rate was set. */
  private pace(b: Bank): void {
    if (!this.generating) return;
    const rate = this.outboundRate;
    const due = Math.floor(((this.deps.clock.now() - b.paceFrom) * rate) / 1000) - b.paced;
    const burst = Math.min(due, MAX_BURST);
    for (let i = 0; i < burst; i++) this.originate(b);
    // After a stall (event loop blocked, broker slow) the backlog is dropped rather than burst out.
    b.paced += due;
    const tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, 1000 / rate));
    b.paceTimer = this.deps.clock.after(tick, () => this.pace(b));
  }

  /** A new SIP, or with `returning` the return of an inbound payment this bank accepted. */
  private originate(b: Bank, returning?: Pacs008Instruction): string {
    const { random, clock } = this.deps;
    const serial = ++this.serial;
    const trn = `S${this.run}${b.spec.id}${serial.toString(36).toUpperCase().padStart(6, '0')}`;
    const msgId = `M${trn}`;
    const messageId = newMessageId();
    const now = clock.now();
    const parties =
      returning === undefined
        ? {
            type: PaymentType.sip,
            amountPence: 1 + Math.floor(random() * MAX_AMOUNT_PENCE),
            // [P2] A bank debits only sort codes it owns.
            originatorSortCode: pick(b.spec.sortCodes, random),
            originatorAccount: digits(8, random),
            beneficiarySortCode: pick(this.settings.beneficiarySortCodes, random),
            beneficiaryAccount: beneficiaryAccount(this.settings.badAccountShare, random),
          }
        : {
            // The money goes back: the original's beneficiary pays its originator.
            type: PaymentType.return,
            amountPence: returning.amountPence,
            originatorSortCode: returning.beneficiarySortCode,
            originatorAccount: returning.beneficiaryAccount,
            beneficiarySortCode: returning.originatorSortCode,
            beneficiaryAccount: returning.originatorAccount,
            returnReason: RETURN_REASON,
            // Participant-mq.md v1.1: the original is named by the FPID its offer carried in ClrSysRef.
            returnedFpid: returning.fpid,
          };
    const body = buildPacs008({
      msgId,
      createdAt: now,
      instruction: true,
      payment: {
        ...parties,
        trn,
        // Neither is written to the pacs.008: the gateway sets them (participant-mq.md section 3).
        dateSent: businessDate(now),
        institution: b.spec.id,
        endToEndRef: `E2E${trn}`,
        originatorName: `SIM BANK ${b.spec.id}`,
        beneficiaryName: 'SIM BENEFICIARY',
        reference: `SIM ${serial}`.slice(0, 18),
      },
    });
    const instruction: Instruction = {
      participant: b.spec.id,
      trn,
      msgId,
      sent: false,
      reports: 0,
      reportIds: new Set(),
    };
    // Known before the put: the report may be read before the publisher confirm arrives.
    this.instructions.set(messageId, instruction);
    this.timings.note(trn, 'outbound', { request_ms: now });
    this.track(
      this.deps.transport.put({ queue: b.queues.toGateway, body, messageId }).then(
        () => {
          instruction.sent = true;
          this.n.instructionsSent++;
          if (returning !== undefined) this.n.returnsSent++;
        },
        (err: unknown) => {
          this.instructions.delete(messageId);
          this.n.putFailures++;
          this.deps.log.warn({ participant: b.spec.id, trn, messageId, err }, 'could not put an outbound instruction');
        },
      ),
    );
    return trn;
  }

  private missingTrns(): string[] {
    const out: string[] = [];
    for (const i of this.instructions.values()) if (i.sent && i.reports === 0) out.push(i.trn);
    return out;
  }

  // --- what comes from the gateway --------------------------------------------------------------

  /** Counts, then commits: a message is never rolled back, whatever it holds. */
  private async onMessage(b: Bank, m: IncomingMessage): Promise<Disposition> {
    try {
      this.handle(b, m);
    } catch (err) {
      this.n.invalid++;
      this.deps.log.warn(
        { participant: b.spec.id, messageId: m.messageId, err },
        'could not handle a message; counted invalid',
      );
    }
    return 'commit';
  }

  private handle(b: Bank, m: IncomingMessage): void {
    const kind = detectMessage(m.body, this.reading);
    if (kind === 'pacs.008') return this.onOffer(b, m);
    if (kind === 'pacs.002') return this.onStatus(b, m);
    if (kind === 'pacs.007') return this.onReversal(b, m);
    this.invalid(b, m, 'not a pacs.008, pacs.002 or pacs.007 document');
  }

  private onOffer(b: Bank, m: IncomingMessage): void {
    const parsed = parsePacs008(m.body, this.reading);
    if (!parsed.ok) return this.invalid(b, m, parsed.reason);
    if (!HEX_ID.test(m.messageId)) return this.invalid(b, m, 'an offer without a 48-hex message id cannot be answered');
    const p = parsed.instruction;
    // Profile v1.1: the offer names the payment (ClrSysRef) and its sender (InstgAgt).
    if (p.fpid === undefined || p.instructingAgent === undefined)
      return this.invalid(b, m, 'an offer must carry PmtId/ClrSysRef and InstgAgt (profile v1.1)');
    const key = `${p.trn}|${p.msgId}`;
    if (this.offers.has(m.messageId) || this.offerKeys.has(key)) {
      this.n.duplicatesSeen++;
      this.deps.log.warn(
        { participant: b.spec.id, messageId: m.messageId, trn: p.trn, deliveryCount: m.deliveryCount },
        'payment offered twice; not answered again',
      );
      return;
    }
    this.n.inboundOffered++;
    this.timings.note(p.trn, 'inbound', { request_ms: this.deps.clock.now() });
    // [P1] An offer for a sort code this bank does not own was misrouted: it is rejected 1100.
    const decision = decideInbound(this.settings, b.spec.sortCodes.includes(p.beneficiarySortCode), this.deps.random);
    const offer: Offer = {
      participant: b.spec.id,
      messageId: m.messageId,
      instruction: p,
      decision,
      state: 'waiting',
      standIn: false,
      reversed: false,
    };
    this.offers.set(m.messageId, offer);
    this.offerKeys.add(key);
    const sameTrn = this.offersByTrn.get(p.trn);
    if (sameTrn === undefined) this.offersByTrn.set(p.trn, [offer]);
    else sameTrn.push(offer);
    if (decision.misrouted) {
      this.n.inboundMisrouted++;
      this.deps.log.warn(
        { participant: b.spec.id, trn: p.trn, messageId: m.messageId },
        'offered a payment for a sort code this participant does not own; rejecting it 1100',
      );
    }
    offer.timer = this.deps.clock.after(decision.delayMs, () => this.due(offer));
  }

  private due(o: Offer): void {
    if (o.state !== 'waiting') return;
    if (this.paused) {
      o.state = 'held';
      this.held.push(o);
      return;
    }
    this.sendDecision(o);
  }

  private sendDecision(o: Offer): void {
    if (this.stopped) return;
    o.state = 'decided';
    const d = o.decision;
    const p = o.instruction;
    this.n.inboundDecided++;
    if (d.status === 'ACSC') this.n.inboundAccepted++;
    else this.n.inboundRejected++;
    if (d.late) this.n.inboundLate++;
    // Only a payment accepted in time is the bank's to return; no draw unless returns are asked for,
    // so that a seed gives the same decisions with or without this option's default.
    if (
      d.status === 'ACSC' &&
      !d.late &&
      this.settings.returnShare > 0 &&
      this.deps.random() < this.settings.returnShare
    )
      this.originate(this.bank(o.participant), p);
    const messageId = newMessageId();
    this.decisions.set(messageId, o);
    this.timings.note(p.trn, 'inbound', {
      answer_ms: this.deps.clock.now(),
      outcome: d.reason === undefined ? d.status : `${d.status} ${d.reason}`,
    });
    const body = buildPacs002({
      msgId: `D${this.run}${(++this.serial).toString(36).toUpperCase().padStart(9, '0')}`,
      createdAt: this.deps.clock.now(),
      originalMsgId: p.msgId,
      ...(p.endToEndRef === undefined ? {} : { originalEndToEndId: p.endToEndRef }),
      originalTrn: p.trn,
      status: d.status,
      ...(d.reason === undefined ? {} : { reason: d.reason }),
    });
    this.track(
      this.deps.transport
        .put({ queue: this.bank(o.participant).queues.toGateway, body, messageId, correlationId: o.messageId })
        .catch((err: unknown) => {
          this.n.putFailures++;
          this.deps.log.warn({ participant: o.participant, trn: p.trn, messageId, err }, 'could not put a decision');
        }),
    );
  }

  private onStatus(b: Bank, m: IncomingMessage): void {
    const parsed = parsePacs002(m.body, this.reading);
    if (!parsed.ok) return this.invalid(b, m, parsed.reason);
    const s = parsed.status;
    const instruction = m.correlationId === null ? undefined : this.instructions.get(m.correlationId);
    if (instruction !== undefined && instruction.participant === b.spec.id) {
      if (s.originalTrn !== instruction.trn)
        return this.unexpected(
          b,
          m,
          `a report correlated to instruction ${instruction.trn} names TRN ${s.originalTrn}`,
        );
      // MQ delivers at least once: the same message id again is the one report, not a second one.
      if (instruction.reportIds.has(m.messageId)) {
        this.n.redeliveredReports++;
        return;
      }
      instruction.reportIds.add(m.messageId);
      instruction.reports++;
      if (instruction.reports > 1) {
        this.n.duplicateReports++;
        this.deps.log.warn(
          { participant: b.spec.id, trn: instruction.trn, messageId: m.messageId },
          'a second report for one instruction',
        );
        return;
      }
      this.n.reportsReceived++;
      this.timings.note(instruction.trn, 'outbound', {
        answer_ms: this.deps.clock.now(),
        outcome: s.reason === undefined ? s.status : `${s.status} ${s.reason}`,
      });
      if (s.status === 'ACSC') this.n.reportsAccepted++;
      else {
        this.n.reportsRejected++;
        const reason = s.reason ?? 'none';
        this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
      }
      return;
    }
    // [P10] RJCT 0912 counts only correlated to a late decision, or to the offer as its stand-in notice.
    const decided = m.correlationId === null ? undefined : this.decisions.get(m.correlationId);
    if (
      decided !== undefined &&
      s.status === 'RJCT' &&
      s.reason === ActionCode.standIn &&
      s.originalTrn === decided.instruction.trn
    ) {
      this.n.lateAnswers++;
      return;
    }
    const offer = m.correlationId === null ? undefined : this.offers.get(m.correlationId);
    if (
      offer !== undefined &&
      offer.participant === b.spec.id &&
      s.status === 'RJCT' &&
      s.reason === ActionCode.standIn &&
      s.originalTrn === offer.instruction.trn
    ) {
      if (offer.standIn) return this.unexpected(b, m, `a second stand-in notice for ${offer.instruction.trn}`);
      offer.standIn = true;
      this.n.standInNotices++;
      return;
    }
    this.unexpected(
      b,
      m,
      'a pacs.002 that answers no instruction of this participant and is no stand-in notice for a payment offered to it',
    );
  }

  private onReversal(b: Bank, m: IncomingMessage): void {
    const parsed = parsePacs007(m.body, this.reading);
    if (!parsed.ok) return this.invalid(b, m, parsed.reason);
    const r = parsed.reversal;
    const byCorrelation = m.correlationId === null ? undefined : this.offers.get(m.correlationId);
    const candidates = (this.offersByTrn.get(r.originalTrn) ?? []).filter((o) => o.participant === b.spec.id);
    const offer =
      byCorrelation !== undefined &&
      byCorrelation.participant === b.spec.id &&
      byCorrelation.instruction.trn === r.originalTrn
        ? byCorrelation
        : (candidates.find((o) => o.instruction.msgId === r.originalMsgId) ?? candidates[0]);
    if (offer === undefined)
      return this.unexpected(b, m, `a reversal of TRN ${r.originalTrn}, never offered to this participant`);
    if (offer.reversed) return this.unexpected(b, m, `a second reversal of ${r.originalTrn}`);
    offer.reversed = true;
    this.n.reversed++;
  }

  private invalid(b: Bank, m: IncomingMessage, reason: string): void {
    this.n.invalid++;
    this.deps.log.warn(
      { participant: b.spec.id, messageId: m.messageId, correlationId: m.correlationId, reason },
      'invalid message from the gateway',
    );
  }

  private unexpected(b: Bank, m: IncomingMessage, reason: string): void {
    this.n.unexpected++;
    this.deps.log.warn(
      { participant: b.spec.id, messageId: m.messageId, correlationId: m.correlationId, reason },
      'unexpected message from the gateway',
    );
  }

  // --- helpers ----------------------------------------------------------------------------------

  private waitingDecisions(): number {
    if (this.paused) return 0;
    let n = 0;
    for (const o of this.offers.values()) if (o.state === 'waiting') n++;
    return n;
  }

  private track(p: Promise<void>): void {
    this.puts.add(p);
    void p.finally(() => this.puts.delete(p));
  }

  private bank(id: string): Bank {
    const b = this.byId.get(id);
    if (b === undefined)
      throw new UnknownParticipant(`no participant ${id}; simulated: ${this.participantIds.join(', ')}`);
    return b;
  }
}

export class NotRunning extends Error {}
export class UnknownParticipant extends Error {}

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

function digits(n: number, random: () => number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(random() * 10);
  return s;
}

/**
 * 8 digits; with probability `badShare` ending in 99 (the scheme simulator answers those 1100),
 * otherwise ending 00..97 so that no other scheme rule (98: 1114) applies by chance.
 */
function beneficiaryAccount(badShare: number, random: () => number): string {
  const bad = random() < badShare;
  return digits(6, random) + (bad ? '99' : String(Math.floor(random() * 98)).padStart(2, '0'));
}
