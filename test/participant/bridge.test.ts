/**
 * The participant bridge on the real RabbitMQ transport, with real ISO 20022 messages and the
 * refusals recorded in a real PostgreSQL ledger: what it puts, what it commits, what it refuses,
 * records and keeps.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import {
  Unofferable,
  type Decision,
  type DecisionOutcome,
  type Instructed,
} from '../../src/payments/participant-port.js';
import { ParticipantDirectory, type ParticipantConfig as Participant } from '../../src/participant/directory.js';
import { migrate } from '../../src/ledger/migrate.js';
import { RefusalLog } from '../../src/ledger/refusals.js';
import { silentLogger } from '../../src/base/log.js';
import { ParticipantBridge } from '../../src/participant/bridge.js';
import {
  buildPacs002,
  parsePacs002,
  parsePacs007,
  parsePacs008,
  validateXml,
  type Instruction,
} from '../../src/participant/iso20022/index.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { ActionCode } from '../../src/scheme/profile.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';
import { AMQP_URL, deleteQueues, randomParticipant } from '../support/bank-gateway.js';
import { until } from '../support/tcp.js';
import { basePayment } from '../support/iso20022-arbitraries.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const FPID = 'TRN00000000000001A1020261122GBP040004     ';

let db: TestDatabase;
const used: string[] = [];
let stops: Array<() => Promise<void>> = [];
beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.url, silentLogger);
}, 60_000);
afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});
afterAll(async () => {
  await deleteQueues(used);
  await db.stop();
});

const refusedFor = async (participant: string) =>
  (
    await db.pool.query<{
      mq_message_id: string;
      correlation_id: string | null;
      kind: string;
      reason: string;
      fpid: string | null;
    }>(
      'SELECT mq_message_id, correlation_id, kind, reason, fpid FROM refused_participant_messages WHERE participant_id = $1 ORDER BY id',
      [participant],
    )
  ).rows;

async function setUp(outcome: Instructed = 'recorded', decide: DecisionOutcome = { taken: true }) {
  const BANK: Participant = { id: randomParticipant(), name: 'Bank', sortCodes: ['040004'], prefetch: 8 };
  used.push(BANK.id);
  const Q = participantQueues(BANK.id);
  const transport = await AmqpTransport.connect({ url: AMQP_URL }, silentLogger);
  const bridge = new ParticipantBridge({
    transport,
    participants: new ParticipantDirectory([BANK]),
    clock: systemClock,
    log: silentLogger,
    refusals: new RefusalLog(db.pool, systemClock),
  });
  const instructed: Instruction[] = [];
  const decided: Array<{ from: string; offer: string; decision: Decision; trn: string }> = [];
  await bridge.start({
    instruct: async (_p, instruction) => {
      instructed.push(instruction);
      return outcome;
    },
    decide: async (from, offer, decision, message) => {
      decided.push({ from: from.id, offer, decision, trn: message.trn });
      return decide;
    },
  });
  const received: IncomingMessage[] = [];
  const backout: IncomingMessage[] = [];
  const take = (into: IncomingMessage[]) => async (m: IncomingMessage) => (into.push(m), 'commit' as const);
  const c1 = await transport.consume(Q.fromGateway, take(received), {
    prefetch: 10,
    backoutThreshold: 3,
    backoutQueue: Q.backout,
  });
  const c2 = await transport.consume(Q.backout, take(backout), {
    prefetch: 10,
    backoutThreshold: 3,
    backoutQueue: Q.backout,
  });
  stops.push(async () => {
    await bridge.stop();
    await c1.stop();
    await c2.stop();
    await transport.close();
  });
  const put = (body: string, correlationId?: string): Promise<string> => {
    const messageId = newMessageId();
    return transport
      .put({ queue: Q.toGateway, body, messageId, ...(correlationId === undefined ? {} : { correlationId }) })
      .then(() => messageId);
  };
  /** Delivered as a broker hands it over: AMQP lets a sender set any message_id, or none. */
  const putRaw = async (body: string) => {
    const conn = await connect(AMQP_URL);
    const ch = await conn.createConfirmChannel();
    ch.publish('', Q.toGateway, Buffer.from(body), { persistent: true, contentType: 'application/xml' });
    await ch.waitForConfirms();
    await conn.close();
  };
  return { bank: BANK.id, bridge, instructed, decided, received, backout, put, putRaw };
}

const decisionOf = (status: 'ACSC' | 'RJCT', reason?: ActionCode) =>
  buildPacs002({
    msgId: 'DEC1',
    createdAt: Date.now(),
    originalTrn: basePayment.trn,
    status,
    ...(reason === undefined ? {} : { reason }),
  });

describe('participant bridge', () => {
  it('hands a valid instruction to the lifecycle and removes it once recorded (P6)', async () => {
    const t = await setUp('recorded');
    await t.put(FIXTURE);
    await until(() => t.instructed.length === 1);
    expect(t.instructed[0]).toMatchObject({ trn: 'TRN00000000000001A', originatorSortCode: '040004' });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.backout).toHaveLength(0);
    expect(t.received).toHaveLength(0);
  });

  it('answers a message it cannot validate with RJCT 9020 naming the problem, keeps it on the backout queue and records the refusal, and instructs nothing (P7, P8)', async () => {
    const t = await setUp();
    const bad = FIXTURE.replace('<TxId>TRN00000000000001A</TxId>', '<TxId>trn-lower-case</TxId>');
    const id = await t.put(bad);
    await until(() => t.received.length === 1 && t.backout.length === 1, 2000, 'the refusal and the backout');
    expect(t.instructed).toHaveLength(0);
    const answer = t.received[0]!;
    expect(answer.correlationId).toBe(id);
    expect(validateXml('pacs.002', answer.body)).toEqual({ ok: true });
    expect(answer.body).toContain('<Prtry>9020</Prtry>');
    expect(answer.body).toMatch(/<AddtlInf>[^<]*TxId/);
    expect(t.backout[0]!.messageId).toBe(id);
    expect(t.backout[0]!.body).toBe(bad);
    // Not XML at all: still answered and kept. Both are recorded, with the reason, for audit.
    await t.put('not xml <');
    await until(() => t.received.length === 2 && t.backout.length === 2, 2000, 'the second refusal');
    const audit = await refusedFor(t.bank);
    expect(audit.map((r) => [r.mq_message_id === id, r.kind])).toEqual([
      [true, 'pacs.008'],
      [false, 'unknown'],
    ]);
    expect(audit[0]!.reason).toMatch(/TxId/);
  });

  it('answers a message without a message id at once, naming it by its GrpHdr/MsgId, and keeps it without rolling it back', async () => {
    const t = await setUp();
    const bad = FIXTURE.replace('<TxId>TRN00000000000001A</TxId>', '<TxId>trn-lower-case</TxId>');
    // Both a message that will never parse and a valid one: neither can be answered by correlation id.
    await t.putRaw(bad);
    await t.putRaw(FIXTURE);
    await until(() => t.received.length === 2 && t.backout.length === 2, 2000, 'the refusals and the backouts');
    await new Promise((r) => setTimeout(r, 100));
    // Answered once each: a rollback would have refused it again on every redelivery.
    expect(t.received).toHaveLength(2);
    expect(t.instructed).toHaveLength(0);
    for (const answer of t.received) {
      expect(answer.correlationId).toBeNull();
      expect(validateXml('pacs.002', answer.body)).toEqual({ ok: true });
      expect(answer.body).toContain('<OrgnlMsgId>NWBK20261122093015000042</OrgnlMsgId>');
      expect(answer.body).toContain('<Prtry>9020</Prtry>');
    }
    expect(new Set(t.received.map((m) => m.messageId)).size).toBe(2);
  });

  it('keeps an instruction the lifecycle refused on the backout queue', async () => {
    const t = await setUp('rejected');
    await t.put(FIXTURE);
    await until(() => t.backout.length === 1, 2000, 'the backout');
    expect(t.instructed).toHaveLength(1);
  });

  it('passes a decision on with its sender, the offer it answers and the TRN it names', async () => {
    const t = await setUp();
    const offer = newMessageId();
    for (const reason of [ActionCode.invalidAccount, ActionCode.accountClosed, ActionCode.overLimit])
      await t.put(decisionOf('RJCT', reason), offer);
    await t.put(decisionOf('ACSC'), offer);
    await until(() => t.decided.length === 4, 5000, 'four decisions');
    expect(t.decided[0]).toEqual({
      from: t.bank,
      offer,
      decision: { accept: false, code: '1100' },
      trn: basePayment.trn,
    });
    expect(t.decided.map((d) => d.decision.code)).toEqual(['1100', '1114', '1160', '0000']);
    expect(t.backout).toHaveLength(0);
    expect(await refusedFor(t.bank)).toEqual([]);
  });

  it('refuses a decision giving a reason only the scheme or the gateway may give, answering RJCT 9020, keeping and recording it (P9)', async () => {
    const t = await setUp();
    const offer = newMessageId();
    const ids: string[] = [];
    for (const reason of [
      ActionCode.macFailure,
      ActionCode.standIn,
      ActionCode.notSignedOn,
      ActionCode.netSenderCap,
      ActionCode.formatError,
    ])
      ids.push(await t.put(decisionOf('RJCT', reason), offer));
    await until(() => t.backout.length === 5 && t.received.length === 5, 5000, 'five refusals');
    expect(t.decided).toHaveLength(0);
    expect(t.received.map((m) => m.correlationId).sort()).toEqual([...ids].sort());
    for (const m of t.received) {
      expect(validateXml('pacs.002', m.body)).toEqual({ ok: true });
      expect(parsePacs002(m.body)).toMatchObject({
        ok: true,
        status: { status: 'RJCT', reason: '9020', originalTrn: basePayment.trn, originalMsgId: 'DEC1' },
      });
      expect(m.body).toMatch(
        /<AddtlInf>StsRsnInf\/Rsn\/Prtry \d{4} is not a reason a participant may give; one of 1100, 1114, 1160<\/AddtlInf>/,
      );
    }
    const audit = await refusedFor(t.bank);
    expect(audit.map((r) => r.mq_message_id).sort()).toEqual([...ids].sort());
    expect(audit.every((r) => r.kind === 'pacs.002' && r.correlation_id === offer)).toBe(true);
  });

  it('answers a decision the lifecycle refused RJCT 9020 with what the participant may know, and records the whole reason', async () => {
    const refused: DecisionOutcome = {
      taken: false,
      answer: 'no payment was offered to this participant under this correlation id',
      reason: 'offered to participant 123456',
      fpid: FPID,
    };
    const t = await setUp('recorded', refused);
    const offer = newMessageId();
    const id = await t.put(decisionOf('ACSC'), offer);
    await until(() => t.backout.length === 1 && t.received.length === 1, 5000, 'the refusal');
    const answer = t.received[0]!;
    expect(answer.correlationId).toBe(id);
    expect(parsePacs002(answer.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '9020', originalTrn: basePayment.trn },
    });
    expect(answer.body).toContain(
      '<AddtlInf>no payment was offered to this participant under this correlation id</AddtlInf>',
    );
    expect(answer.body).not.toContain('123456');
    expect(t.backout[0]!.messageId).toBe(id);
    expect(await refusedFor(t.bank)).toEqual([
      {
        mq_message_id: id,
        correlation_id: offer,
        kind: 'pacs.002',
        reason: 'offered to participant 123456',
        fpid: FPID,
      },
    ]);
    // A decision without a correlation id cannot name its payment: refused too.
    await t.put(decisionOf('ACSC'));
    await until(() => t.backout.length === 2 && t.received.length === 2, 5000, 'the second refusal');
    expect((await refusedFor(t.bank))[1]).toMatchObject({
      correlation_id: null,
      reason: 'a decision must carry the offer message id as its correlation id',
    });
  });

  it('puts the stand-in notice correlated to the offer, the answer to a late decision correlated to that decision, and a reversal with the amount (P10, P11)', async () => {
    const t = await setUp();
    const told = { participant: t.bank, fpid: FPID, payment: basePayment, offerMessageId: newMessageId() };
    const decision = newMessageId();
    await t.bridge.standIn(told);
    await t.bridge.answerLate({ ...told, decision });
    await t.bridge.reversal(told);
    await until(() => t.received.length === 3, 5000, 'three messages');
    const [notice, late, reversal] = t.received;
    expect(notice!.correlationId).toBe(told.offerMessageId);
    expect(late!.correlationId).toBe(decision);
    for (const m of [notice!, late!])
      expect(parsePacs002(m.body)).toMatchObject({
        ok: true,
        status: { status: 'RJCT', reason: '0912', originalTrn: basePayment.trn },
      });
    expect(reversal!.correlationId).toBe(told.offerMessageId);
    expect(validateXml('pacs.007', reversal!.body)).toEqual({ ok: true });
    expect(parsePacs007(reversal!.body)).toMatchObject({
      ok: true,
      reversal: { amountPence: basePayment.amountPence, originalTrn: basePayment.trn, reason: 'TMOT' },
    });
  });

  it('refuses to offer a payment whose pacs.008 cannot be built or is not valid, putting nothing (P8)', async () => {
    const t = await setUp();
    const told = { participant: t.bank, fpid: FPID, offerMessageId: newMessageId(), expiresAt: Date.now() + 60_000 };
    await expect(t.bridge.offer({ ...told, payment: { ...basePayment, amountPence: 0 } })).rejects.toThrow(Unofferable);
    // Field 15 as 8 digits passes the codec; 2026-13-40 is no xs:date.
    await expect(t.bridge.offer({ ...told, payment: { ...basePayment, settlementDate: '20261340' } })).rejects.toThrow(
      /not valid/,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(t.received).toHaveLength(0);
  });

  it('offers an inbound payment as a valid pacs.008 under its own message id, expiring at the stand-in deadline, and reports outbound ones', async () => {
    const t = await setUp();
    const fpid = FPID;
    const offerMessageId = newMessageId();
    await t.bridge.offer({
      participant: t.bank,
      fpid,
      payment: basePayment,
      offerMessageId,
      expiresAt: Date.now() + 60_000,
    });
    await until(() => t.received.length === 1);
    const offer = t.received[0]!;
    expect(offer.messageId).toBe(offerMessageId);
    expect(validateXml('pacs.008', offer.body)).toEqual({ ok: true });
    const parsed = parsePacs008(offer.body);
    expect(parsed.ok && parsed.instruction.amountPence).toBe(1250);

    const mqMessageId = newMessageId();
    await t.bridge.report({
      participant: t.bank,
      fpid,
      instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn },
      code: '1100',
    });
    await until(() => t.received.length === 2);
    const report = parsePacs002(t.received[1]!.body);
    expect(t.received[1]!.correlationId).toBe(mqMessageId);
    expect(report).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '1100', originalTrn: basePayment.trn, originalMsgId: 'INSTR1' },
    });
    // The same report put again is the same message: its id does not change.
    await t.bridge.report({
      participant: t.bank,
      fpid,
      instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn },
      code: '1100',
    });
    await until(() => t.received.length === 3);
    expect(t.received[2]!.messageId).toBe(t.received[1]!.messageId);
  });
});
