/**
 * The participant bridge on a real transport (in-process, same contract as RabbitMQ) with real
 * ISO 20022 messages: what it puts, what it commits, what it refuses and keeps.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { Decision } from '../../src/gateway/inbound-desk.js';
import type { Instructed } from '../../src/gateway/outbound-desk.js';
import { ParticipantDirectory, type Participant } from '../../src/gateway/participants.js';
import { silentLogger } from '../../src/log.js';
import { ParticipantBridge } from '../../src/participant/bridge.js';
import { offerMessageId } from '../../src/participant/ids.js';
import { buildPacs002, parsePacs002, parsePacs008, validateXml, type Pacs008Instruction } from '../../src/participant/iso20022/index.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { until } from '../support/tcp.js';
import { basePayment } from './fixtures/arbitraries.js';

const FIXTURE = readFileSync(new URL('./fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const BANK: Participant = { id: '040004', name: 'Bank', sortCodes: ['040004'], prefetch: 8 };
const Q = participantQueues(BANK.id);

let stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});

async function setUp(outcome: Instructed = 'recorded', known = true) {
  const transport = new InProcessTransport(silentLogger);
  const bridge = new ParticipantBridge({ transport, participants: new ParticipantDirectory([BANK]), clock: systemClock, log: silentLogger });
  const instructed: Pacs008Instruction[] = [];
  const decided: Array<{ offer: string; decision: Decision }> = [];
  await bridge.start({
    instruct: async (_p, instruction) => {
      instructed.push(instruction);
      return outcome;
    },
    decide: async (offer, decision) => {
      decided.push({ offer, decision });
      return known;
    },
  });
  const received: IncomingMessage[] = [];
  const backout: IncomingMessage[] = [];
  const take = (into: IncomingMessage[]) => async (m: IncomingMessage) => (into.push(m), 'commit' as const);
  const c1 = await transport.consume(Q.fromGateway, take(received), { prefetch: 10, backoutThreshold: 3, backoutQueue: Q.backout });
  const c2 = await transport.consume(Q.backout, take(backout), { prefetch: 10, backoutThreshold: 3, backoutQueue: Q.backout });
  stops.push(async () => {
    await bridge.stop();
    await c1.stop();
    await c2.stop();
    await transport.close();
  });
  const put = (body: string, correlationId?: string) => {
    const messageId = newMessageId();
    return transport.put({ queue: Q.toGateway, body, messageId, ...(correlationId === undefined ? {} : { correlationId }) }).then(() => messageId);
  };
  return { bridge, transport, instructed, decided, received, backout, put };
}

describe('participant bridge', () => {
  it('hands a valid instruction to the lifecycle and removes it once recorded', async () => {
    const t = await setUp('recorded');
    await t.put(FIXTURE);
    await until(() => t.instructed.length === 1);
    expect(t.instructed[0]).toMatchObject({ trn: 'TRN00000000000001A', originatorSortCode: '040004' });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.backout).toHaveLength(0);
    expect(t.received).toHaveLength(0);
  });

  it('answers a message it cannot validate with RJCT 9020 naming the problem, keeps it on the backout queue, and records nothing', async () => {
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
    // Not XML at all: still answered and kept.
    await t.put('not xml <');
    await until(() => t.received.length === 2 && t.backout.length === 2, 2000, 'the second refusal');
  });

  it('answers a message without a message id at once, naming it by its GrpHdr/MsgId, and keeps it without rolling it back', async () => {
    const t = await setUp();
    const bad = FIXTURE.replace('<TxId>TRN00000000000001A</TxId>', '<TxId>trn-lower-case</TxId>');
    // Both a message that will never parse and a valid one: neither can be answered by correlation id.
    t.transport.enqueue(Q.toGateway, { body: bad, messageId: '', correlationId: null, expiresAt: null, deliveryCount: 0 });
    t.transport.enqueue(Q.toGateway, { body: FIXTURE, messageId: '', correlationId: null, expiresAt: null, deliveryCount: 0 });
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

  it('passes a decision on under the offer it answers; one for no offer is kept', async () => {
    const known = await setUp('recorded', true);
    const offer = offerMessageId('F'.repeat(42));
    const decision = buildPacs002({ msgId: 'DEC1', createdAt: Date.now(), originalTrn: basePayment.trn, status: 'RJCT', reason: '1114' });
    await known.put(decision, offer);
    await until(() => known.decided.length === 1);
    expect(known.decided[0]).toEqual({ offer, decision: { accept: false, code: '1114' } });
    await stops.pop()!();

    const unknown = await setUp('recorded', false);
    await unknown.put(decision, offer);
    await until(() => unknown.backout.length === 1, 2000, 'the unknown decision kept');
    // A decision without a correlation id cannot name its payment: refused.
    await unknown.put(decision);
    await until(() => unknown.backout.length === 2 && unknown.received.length === 1, 2000, 'the refusal');
  });

  it('offers an inbound payment as a valid pacs.008 that expires at the stand-in deadline, and reports outbound ones', async () => {
    const t = await setUp();
    const fpid = 'TRN00000000000001A1020261122GBP040004     ';
    await t.bridge.offer({ participant: BANK.id, fpid, payment: basePayment, expiresAt: Date.now() + 60_000 });
    await until(() => t.received.length === 1);
    const offer = t.received[0]!;
    expect(offer.messageId).toBe(offerMessageId(fpid));
    expect(validateXml('pacs.008', offer.body)).toEqual({ ok: true });
    const parsed = parsePacs008(offer.body);
    expect(parsed.ok && parsed.instruction.amountPence).toBe(1250);

    const mqMessageId = newMessageId();
    await t.bridge.report({ participant: BANK.id, fpid, instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn }, code: '1100' });
    await until(() => t.received.length === 2);
    const report = parsePacs002(t.received[1]!.body);
    expect(t.received[1]!.correlationId).toBe(mqMessageId);
    expect(report).toMatchObject({ ok: true, status: { status: 'RJCT', reason: '1100', originalTrn: basePayment.trn, originalMsgId: 'INSTR1' } });
    // The same report put again is the same message: its id does not change.
    await t.bridge.report({ participant: BANK.id, fpid, instruction: { msgId: 'INSTR1', mqMessageId, trn: basePayment.trn }, code: '1100' });
    await until(() => t.received.length === 3);
    expect(t.received[2]!.messageId).toBe(t.received[1]!.messageId);
  });
});
