import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { buildPacs008, parsePacs002, parsePacs008, validateXml } from '../../src/participant/iso20022/index.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { ActionCode } from '../../src/scheme/profile.js';
import { ParticipantBanks, type BankReport } from '../../simulators/participant/bank.js';
import { bankSettingsSchema, type BankSettingsInput } from '../../simulators/participant/options.js';
import { seededRandom } from '../../simulators/participant/random.js';
import { decideInbound } from '../../simulators/participant/rules.js';
import {
  AMQP_URL,
  FakeGateway,
  deleteQueues,
  inboundPayment,
  log,
  randomParticipant,
  waitFor,
} from '../support/bank-gateway.js';

const used: string[] = [];
const running: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of running.splice(0).reverse()) await close();
});
afterAll(() => deleteQueues(used));

/** A simulated bank (in this process, on its own AMQP connection) and a fake gateway on the same queues. */
async function setUp(
  settings: Omit<BankSettingsInput, 'participants'> = {},
  sortCodes?: string[],
): Promise<{ id: string; banks: ParticipantBanks; gw: FakeGateway; sortCode: string }> {
  const id = randomParticipant();
  used.push(id);
  const codes = sortCodes ?? [id];
  const transport = await AmqpTransport.connect({ url: AMQP_URL }, log);
  const banks = new ParticipantBanks(
    bankSettingsSchema.parse({
      participants: [`${id}:${codes.join(',')}`],
      latency: '10-30',
      lateShare: 0,
      rejectShare: 0,
      drainMs: 200,
      ...settings,
    }),
    { transport, clock: systemClock, log, random: seededRandom(42) },
  );
  await banks.start();
  const gw = await FakeGateway.start(id);
  running.push(async () => {
    await banks.stop(0);
    await transport.close();
  });
  running.push(() => gw.close());
  return { id, banks, gw, sortCode: codes[0]! };
}

const correlatedTo = (messageId: string) => (m: { correlationId: string | null }) => m.correlationId === messageId;

/** P10, P11: what the bank counts of the notices, reversals and garbage the gateway's side puts. */
async function countsNoticesAndGarbage(validate: 'on' | 'off'): Promise<void> {
  const { banks, gw, sortCode } = await setUp({ validate });
  const payment = inboundPayment(sortCode);
  const offer = await gw.offer(payment);
  await gw.next('the decision', correlatedTo(offer.messageId));

  await gw.standIn(offer, payment);
  await gw.reversal(offer, payment);
  const stranger = inboundPayment(sortCode);
  await gw.reversal({ messageId: '0'.repeat(48), msgId: 'GWUNKNOWN' }, stranger);
  await gw.putRaw('this is not XML');
  await gw.putRaw('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"><FIToFICstmrCdtTrf/></Document>');
  await waitFor('everything counted', () => {
    const r = banks.report();
    return r.stand_in_notices + r.reversed + r.unexpected_messages + r.invalid_messages === 5;
  });
  expect(banks.report()).toMatchObject({
    stand_in_notices: 1,
    reversed: 1,
    unexpected_messages: 1,
    invalid_messages: 2,
    inbound_offered: 1,
  });
}

describe('participant simulator: inbound payments (FROM.GATEWAY)', () => {
  it.each(['on', 'off'] as const)(
    'answers an offered pacs.008 with a valid pacs.002 correlated to it, and counts a second offer as a duplicate (--validate %s)',
    async (validate) => {
      const { banks, gw, sortCode } = await setUp({ validate });
      const payment = inboundPayment(sortCode);
      const offer = await gw.offer(payment);

      const answer = await gw.next('the decision', correlatedTo(offer.messageId));
      expect(validateXml('pacs.002', answer.body)).toEqual({ ok: true });
      expect(answer.messageId).toMatch(/^[0-9a-f]{48}$/);
      const status = parsePacs002(answer.body);
      expect(status).toMatchObject({
        ok: true,
        status: {
          status: 'ACSC',
          originalTrn: payment.trn,
          originalMsgId: offer.msgId,
          originalEndToEndId: 'E2E-TEST',
        },
      });

      // The same message again (a redelivery), and the same payment under a new MQ message id.
      await gw.offer(payment, { messageId: offer.messageId, msgId: offer.msgId });
      await gw.offer(payment, { msgId: offer.msgId });
      await waitFor('two duplicates', () => banks.report().duplicates_seen === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(gw.received).toHaveLength(1);
      expect(banks.report()).toMatchObject({
        inbound_offered: 1,
        inbound_decided: 1,
        inbound_accepted: 1,
        inbound_rejected: 0,
        duplicates_seen: 2,
        invalid_messages: 0,
      });
    },
  );

  it('counts a stand-in notice and a reversal matched to the offer; unknown ones are unexpected, garbage is invalid (P10, P11)', () =>
    countsNoticesAndGarbage('on'));
  it('counts them so with --validate off too', () => countsNoticesAndGarbage('off'));

  it('rejects by --reject-share, answers late by --late-share, holds decisions while paused, and rejects a sort code it does not own', async () => {
    const rejecting = await setUp({ rejectShare: 1 });
    const r = await rejecting.gw.offer(inboundPayment(rejecting.sortCode));
    const rejected = parsePacs002((await rejecting.gw.next('a reject', correlatedTo(r.messageId))).body);
    if (!rejected.ok) throw new Error(rejected.reason);
    expect(rejected.status.status).toBe('RJCT');
    expect([ActionCode.accountClosed, ActionCode.invalidAccount]).toContain(rejected.status.reason);

    const { banks, gw, sortCode } = await setUp({ lateShare: 1, lateMs: 400 });
    const started = Date.now();
    const late = await gw.offer(inboundPayment(sortCode));
    await gw.next('a late answer', correlatedTo(late.messageId));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(banks.report()).toMatchObject({ inbound_late: 1, inbound_accepted: 1 });

    const other = await setUp();
    expect(other.banks.pauseDecisions()).toBe(true);
    const held = await other.gw.offer(inboundPayment(other.sortCode));
    const misrouted = await other.gw.offer(inboundPayment('123456'));
    await waitFor('both offered', () => other.banks.report().inbound_offered === 2);
    await new Promise((r) => setTimeout(r, 150));
    expect(other.gw.received).toHaveLength(0);
    other.banks.resumeDecisions();
    await other.gw.next('the held decision', correlatedTo(held.messageId));
    const m = parsePacs002((await other.gw.next('the misrouted reject', correlatedTo(misrouted.messageId))).body);
    expect(m).toMatchObject({ ok: true, status: { status: 'RJCT', reason: ActionCode.invalidAccount } });
    expect(other.banks.report()).toMatchObject({
      inbound_decided: 2,
      inbound_accepted: 1,
      inbound_rejected: 1,
      inbound_misrouted: 1,
    });
  });

  it('returns a payment it accepted naming the original by the compact FPID from its ClrSysRef, and counts an offer without one invalid (v1.1)', async () => {
    const { banks, gw, sortCode } = await setUp({ returnShare: 1 });
    const payment = inboundPayment(sortCode);
    const offer = await gw.offer(payment);
    const clrSysRef = /<ClrSysRef>([^<]+)<\/ClrSysRef>/.exec(offer.body)![1]!;
    const ret = await gw.next('the return', (m) => m.correlationId === null);
    expect(validateXml('pacs.008', ret.body)).toEqual({ ok: true });
    expect(ret.body).toContain(`<RfrdDocInf><Nb>${clrSysRef}</Nb></RfrdDocInf>`);
    expect(ret.body).not.toContain('<ClrSysRef>');
    expect(parsePacs008(ret.body)).toMatchObject({
      ok: true,
      instruction: {
        type: '20',
        amountPence: payment.amountPence,
        originatorSortCode: sortCode,
        beneficiarySortCode: payment.originatorSortCode,
        beneficiaryAccount: payment.originatorAccount,
        returnReason: '00000001',
      },
    });
    await waitFor('the return counted', () => banks.report().returns_sent === 1);
    // A pacs.008 that does not name the payment cannot be a v1.1 offer.
    await gw.putRaw(
      buildPacs008({ msgId: 'OLD1', createdAt: Date.now(), payment: inboundPayment(sortCode), instruction: true }),
    );
    await waitFor('the invalid offer', () => banks.report().invalid_messages === 1);
    expect(banks.report()).toMatchObject({ inbound_offered: 1, instructions_sent: 1, returns_sent: 1 });
  });

  it('counts decisions still waiting at stop as undecided, never sent', async () => {
    const { banks, gw, sortCode } = await setUp({ lateShare: 1, lateMs: 60_000 });
    await gw.offer(inboundPayment(sortCode));
    await waitFor('the offer', () => banks.report().inbound_offered === 1);
    await banks.stop(50);
    expect(banks.report()).toMatchObject({ inbound_decided: 0, inbound_undecided: 1, inbound_late: 0 });
    expect(gw.received).toHaveLength(0);
  });
});

describe('participant simulator: outbound instructions (TO.GATEWAY)', () => {
  it('originates valid pacs.008s from its own sort codes and counts reports, duplicate reports and missing ones', async () => {
    const codes = [randomParticipant(), randomParticipant()];
    const { id, banks, gw } = await setUp({ beneficiarySortCodes: ['300000', '300001'] }, codes);
    const trns = banks.sendOutbound(3);
    expect(trns).toHaveLength(3);
    await waitFor('three instructions', () => gw.received.length === 3);
    const sent = gw.received.slice();
    for (const m of sent) {
      expect(validateXml('pacs.008', m.body)).toEqual({ ok: true });
      expect(m.messageId).toMatch(/^[0-9a-f]{48}$/);
      expect(m.correlationId).toBeNull();
      const p = parsePacs008(m.body);
      if (!p.ok) throw new Error(p.reason);
      expect(p.instruction.trn).toMatch(/^[A-Z0-9]{18}$/);
      expect(trns).toContain(p.instruction.trn);
      expect(['300000', '300001']).toContain(p.instruction.beneficiarySortCode);
      expect(codes).toContain(p.instruction.originatorSortCode);
    }
    const msgIds = new Set(
      sent.map((m) => (parsePacs008(m.body) as { ok: true; instruction: { msgId: string } }).instruction.msgId),
    );
    expect(msgIds.size).toBe(3);

    await gw.report(sent[0]!, ActionCode.accepted);
    await gw.report(sent[1]!, ActionCode.invalidAccount);
    await gw.report(sent[1]!, ActionCode.invalidAccount);
    await waitFor('three reports', () => banks.report().reports_received + banks.report().duplicate_reports === 3);
    await banks.stop(100);
    const third = parsePacs008(sent[2]!.body);
    const report: BankReport = banks.report();
    expect(report).toMatchObject({
      participants: [id],
      instructions_sent: 3,
      reports_received: 2,
      reports_accepted: 1,
      reports_rejected: 1,
      duplicate_reports: 1,
      missing_reports: 1,
      missing: [third.ok ? third.instruction.trn : ''],
      by_reason: { '1100': 1 },
      unexpected_messages: 0,
      invalid_messages: 0,
    });
  });

  it('keeps the times of offers, decisions, instructions and reports by TRN only with --timings', async () => {
    const { banks, gw, sortCode } = await setUp({ timings: 10 });
    const before = Date.now();
    const payment = inboundPayment(sortCode);
    const offer = await gw.offer(payment);
    await gw.next('the decision', correlatedTo(offer.messageId));
    const [trn] = banks.sendOutbound(1);
    const instruction = await gw.next('the instruction', (m) => m.correlationId === null);
    await gw.report(instruction, ActionCode.invalidAccount);
    await waitFor('its report', () => banks.report().reports_received === 1);
    const [inbound, outbound] = banks.timings.view().rows;
    expect(inbound).toMatchObject({ trn: payment.trn, direction: 'inbound', outcome: 'ACSC' });
    expect(inbound!.request_ms).toBeGreaterThanOrEqual(before);
    // The decision latency is 10-30 ms (setUp).
    expect(inbound!.answer_ms! - inbound!.request_ms!).toBeGreaterThanOrEqual(10);
    expect(outbound).toMatchObject({ trn, direction: 'outbound', outcome: `RJCT ${ActionCode.invalidAccount}` });
    expect(outbound!.answer_ms).toBeGreaterThanOrEqual(outbound!.request_ms!);
    expect(banks.timings.clear()).toBe(2);

    const { banks: off } = await setUp();
    off.sendOutbound(1);
    expect(off.timings.view()).toEqual({ capacity: 0, dropped: 0, rows: [] });
  });

  it('debits only sort codes the participant owns and paces --outbound-rate (P2)', async () => {
    const codes = [randomParticipant(), randomParticipant()];
    const { banks, gw } = await setUp({ outboundRate: 40, badAccountShare: 0.5 }, codes);
    await new Promise((r) => setTimeout(r, 1_000));
    await banks.stop(0);
    const n = banks.report().instructions_sent;
    expect(n).toBeGreaterThanOrEqual(30);
    expect(n).toBeLessThanOrEqual(45);
    await waitFor('all instructions read', () => gw.received.length === n);
    const debtors = new Set<string>();
    let bad = 0;
    for (const m of gw.received) {
      const p = parsePacs008(m.body);
      if (!p.ok) throw new Error(p.reason);
      debtors.add(p.instruction.originatorSortCode);
      expect(p.instruction.beneficiarySortCode).toBe('300000');
      if (p.instruction.beneficiaryAccount.endsWith('99')) bad++;
      else expect(p.instruction.beneficiaryAccount).not.toMatch(/98$/);
    }
    expect([...debtors].every((c) => codes.includes(c))).toBe(true);
    expect(bad).toBeGreaterThan(0);
    expect(bad).toBeLessThan(n);
    expect(banks.report().missing_reports).toBe(n);
  });
});

describe('participant simulator: pacing set while running', () => {
  it('paces instructions at the rate set, and sends none once it is set to 0', async () => {
    const { banks, gw } = await setUp();
    banks.setOutboundRate(100);
    await waitFor('paced instructions', () => banks.report().instructions_sent >= 10);
    banks.setOutboundRate(0);
    // Puts already made may still be confirmed; after that the count holds.
    await new Promise((r) => setTimeout(r, 100));
    const n = banks.report().instructions_sent;
    await new Promise((r) => setTimeout(r, 300));
    expect(banks.report().instructions_sent).toBe(n);
    await waitFor('all instructions read', () => gw.received.length === n);
  });
});

describe('participant simulator: decision rules', () => {
  const rules = { latency: { minMs: 50, maxMs: 500 }, lateShare: 0.05, lateMs: 12_000, rejectShare: 0.1 };

  it('draws late, reject and accept in the configured shares, reproducibly from a seed', () => {
    const run = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 1_000 }, () => decideInbound(rules, true, r));
    };
    const random = seededRandom(7);
    const ds = Array.from({ length: 10_000 }, () => decideInbound(rules, true, random));
    const late = ds.filter((d) => d.late).length;
    const rejected = ds.filter((d) => d.status === 'RJCT').length;
    expect(late).toBeGreaterThan(400);
    expect(late).toBeLessThan(600);
    expect(rejected).toBeGreaterThan(850);
    expect(rejected).toBeLessThan(1150);
    expect(
      ds.every((d) => (d.late ? d.delayMs === 12_000 && d.status === 'ACSC' : d.delayMs >= 50 && d.delayMs <= 500)),
    ).toBe(true);
    expect(ds.filter((d) => d.status === 'RJCT').every((d) => d.reason === '1114' || d.reason === '1100')).toBe(true);
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('rejects 1100 a payment for a sort code the participant does not own (P1)', () => {
    expect(decideInbound({ ...rules, lateShare: 1 }, false, seededRandom(1))).toMatchObject({
      status: 'RJCT',
      reason: '1100',
      misrouted: true,
      late: false,
    });
  });
});
