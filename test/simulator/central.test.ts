import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../src/scheme/codec.js';
import { computeMac } from '../../src/scheme/mac.js';
import { fpidOf } from '../../src/scheme/messages.js';
import { ActionCode, FunctionCode } from '../../src/scheme/profile.js';
import { Central } from '../../simulators/scheme/central.js';
import type { CentralSettingsInput } from '../../simulators/scheme/options.js';
import { eventually, KEY, KEY_HEX, payment, RawClient } from '../support/scheme-client.js';

const { signOnSubmit, signOnReceive, signOffSubmit, signOffReceive } = FunctionCode;

let central: Central | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await central?.stop();
  central = undefined;
});

/** A running CI with one DC1 and one DC2 listener on ephemeral ports; T_in 500 ms. */
async function startCentral(
  over: Partial<CentralSettingsInput> = {},
): Promise<{ ci: Central; dc1: string; dc2: string }> {
  const ci = new Central({
    macKey: KEY_HEX,
    dc1: ['127.0.0.1:0'],
    dc2: ['127.0.0.1:0'],
    tInMs: 500,
    reversalRepeatMs: 200,
    ...over,
  });
  central = ci;
  const addresses = await ci.start();
  return { ci, dc1: addresses[0]!.address, dc2: addresses[1]!.address };
}

async function client(address: string, ...signOn: string[]): Promise<RawClient> {
  const c = await RawClient.connect(address);
  clients.push(c);
  expect(await c.network(...signOn)).toEqual(signOn.map(() => ActionCode.accepted));
  return c;
}

describe('scheme simulator: sign-on (R8)', () => {
  it('signs on and off both ways and names sessions per DC', async () => {
    const { ci, dc1, dc2 } = await startCentral();
    const a = await client(dc1, signOnSubmit, signOnReceive);
    await client(dc2, signOnSubmit);
    expect(ci.sessions()).toMatchObject([
      { id: 'DC1#1', dc: 'DC1', open: true, submit: true, receive: true },
      { id: 'DC2#1', dc: 'DC2', open: true, submit: true, receive: false },
    ]);
    expect(await a.network(signOffSubmit, signOffReceive)).toEqual(['0000', '0000']);
    expect(ci.sessions()[0]).toMatchObject({ submit: false, receive: false });
  });

  it('sends nothing inbound on a session after its 892 and counts an 882 out of the drain order', async () => {
    const { ci, dc1, dc2 } = await startCentral({ tInMs: 2000 });
    const a = await client(dc1, signOnSubmit, signOnReceive);
    const b = await client(dc2, signOnSubmit, signOnReceive);
    ci.sendInbound(1, 'DC1#1');
    const held = await a.next('9200');
    expect(await a.network(signOffReceive)).toEqual(['0000']);
    // No new request on DC1#1: not by name, not round robin, not a repeat of another session's.
    expect(() => ci.sendInbound(1, 'DC1#1')).toThrow(/not open and signed on to receive/);
    ci.sendInbound(4);
    await eventually(() => b.requests.length === 4, 'four on DC2#1');
    b.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(a.requests).toHaveLength(0);
    // The held one is still answered in time, then the drain ends in order.
    held.reply.reply(ActionCode.accepted);
    await eventually(() => ci.report().inbound.answered_in_time === 1, 'the held payment answered');
    expect(await a.network(signOffSubmit)).toEqual(['0000']);
    expect(ci.report()).toMatchObject({
      drain_violations: 0,
      connections: { 'DC1#1': { sign_offs: ['892', '882'], drain_violations: 0 } },
    });

    // Out of order: 882 while signed on to receive, and 882 with a CI request unanswered.
    const c = await client(dc1, signOnSubmit, signOnReceive);
    ci.sendInbound(1, 'DC1#2');
    await c.next('9200');
    expect(await c.network(signOffSubmit, signOffReceive)).toEqual(['0000', '0000']);
    const d = await client(dc1, signOnSubmit, signOnReceive);
    ci.sendInbound(1, 'DC1#3');
    await d.next('9200');
    expect(await d.network(signOffReceive, signOffSubmit)).toEqual(['0000', '0000']);
    expect(ci.report()).toMatchObject({
      drain_violations: 2,
      connections: { 'DC1#2': { sign_offs: ['882', '892'], drain_violations: 1 }, 'DC1#3': { drain_violations: 1 } },
    });
  });

  it('answers a 9200 before sign-on to submit with 9091 and sends nothing inbound', async () => {
    const { ci, dc1 } = await startCentral();
    const c = await client(dc1, signOnReceive);
    const r = await c.pay(payment());
    expect(r.mti).toBe('9210');
    expect(r.fields.get(26)).toBe(ActionCode.notSignedOn);
    expect(ci.report().outbound).toMatchObject({ received: 1, refused_not_signed_on: 1, accepted: 0 });

    const submitOnly = await client(dc1, signOnSubmit);
    expect(ci.sendInbound(3)).toHaveLength(3);
    await eventually(() => c.requests.length === 3, 'three inbound on the receiving session');
    expect(submitOnly.requests).toHaveLength(0);
  });
});

describe('scheme simulator: outbound decisions (R5, R7)', () => {
  it('decides by the documented rules and sets 15 and 29 on acceptance', async () => {
    const { ci, dc1 } = await startCentral();
    const c = await client(dc1, signOnSubmit);
    const cases: Array<[Map<number, string>, string]> = [
      [payment({ beneficiaryAccount: '12345699' }), ActionCode.invalidAccount],
      [payment({ beneficiaryAccount: '12345698' }), ActionCode.accountClosed],
      [payment({ amountPence: 100_000_001 }), ActionCode.overLimit],
      [payment({ amountPence: 100_000_000 }), ActionCode.accepted],
    ];
    for (const [fields, action] of cases) {
      const r = await c.pay(fields);
      expect(r.fields.get(26)).toBe(action);
      expect(r.fields.get(31)).toBe(fields.get(31));
      expect(r.fields.has(15)).toBe(action === ActionCode.accepted);
      expect(r.fields.has(29)).toBe(action === ActionCode.accepted);
    }
    expect(ci.report().outbound).toMatchObject({ received: 4, answered: 4, accepted: 1, rejected: 3 });
  });

  it('answers a 9201 and a duplicate 9200 with the original outcome, one payment', async () => {
    const { ci, dc1, dc2 } = await startCentral();
    const a = await client(dc1, signOnSubmit);
    const b = await client(dc2, signOnSubmit);
    const rejected = payment({ beneficiaryAccount: '00000098' });
    expect((await a.pay(rejected)).fields.get(26)).toBe(ActionCode.accountClosed);
    expect((await b.pay(rejected, '9201')).fields.get(26)).toBe(ActionCode.accountClosed);
    expect((await b.pay(rejected)).fields.get(26)).toBe(ActionCode.accountClosed);
    const accepted = payment();
    const first = await a.pay(accepted);
    const again = await b.pay(accepted, '9201');
    expect(again.fields.get(26)).toBe(ActionCode.accepted);
    expect(again.fields.get(15)).toBe(first.fields.get(15));
    expect(ci.report().outbound).toMatchObject({
      received: 5,
      answered: 5,
      accepted: 1,
      rejected: 1,
      duplicates: 1,
      repeats: 2,
    });
  });

  it('records nothing for a 9200 answered 9091: the same FPID again as a 9200 is a first submission (R7a)', async () => {
    const { ci, dc1 } = await startCentral();
    const early = await client(dc1);
    const p = payment({ beneficiaryAccount: '00000098' });
    expect((await early.pay(p)).fields.get(26)).toBe(ActionCode.notSignedOn);
    const c = await client(dc1, signOnSubmit);
    ci.suspend();
    expect((await c.pay(p)).fields.get(26)).toBe(ActionCode.notSignedOn);
    ci.resume();
    // Not a duplicate of either refusal: decided now, by the rules, as one payment.
    expect((await c.pay(p)).fields.get(26)).toBe(ActionCode.accountClosed);
    expect(ci.report().outbound).toMatchObject({
      refused_not_signed_on: 1,
      refused_suspended: 1,
      duplicates: 0,
      accepted: 0,
      rejected: 1,
      answered: 1,
    });
  });

  it('delays answers by --answer-delay-ms and counts those past T_out', async () => {
    const { ci, dc1 } = await startCentral({ answerDelayMs: 150, tOutMs: 100 });
    const c = await client(dc1, signOnSubmit);
    const t0 = Date.now();
    await c.pay(payment());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(ci.report().outbound.late_answers).toBe(1);
  });

  it('corrupts the MAC of answers at --corrupt-mac-rate; the client refuses them', async () => {
    const { ci, dc1 } = await startCentral({ corruptMacRate: 1 });
    const c = await client(dc1, signOnSubmit);
    await expect(c.wire.request({ mti: '9200', fields: payment() }, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(c.refused).toMatchObject([{ code: 'mac', mti: '9210' }]);
    expect(ci.report().faults.corrupted_macs).toBe(1);
    expect(ci.report().outbound).toMatchObject({ accepted: 1, answered: 0 });
  });
});

describe('scheme simulator: bad input (R11)', () => {
  it('answers a bad MAC with 9068 and a format error with 9020 and field 44, and counts them', async () => {
    const { ci, dc1 } = await startCentral();
    const c = await client(dc1, signOnSubmit);
    const good = payment();
    const badMac = encode(
      { mti: '9200', fields: new Map(good).set(7, '1122093015').set(11, '000901') },
      Buffer.alloc(16, 7),
    );
    c.wire.writeRaw(badMac);
    const text = encode(
      { mti: '9200', fields: new Map(payment()).set(7, '1122093015').set(11, '000902') },
      KEY,
    ).toString('latin1');
    const withUsd = text.slice(0, -16).replace('GBP', 'USD');
    c.wire.writeRaw(Buffer.from(withUsd + computeMac(KEY, Buffer.from(withUsd, 'latin1')), 'latin1'));
    await eventually(() => c.strays.length === 2, 'two refusals');
    const [mac, format] = c.strays.sort((x, y) => x.fields.get(11)!.localeCompare(y.fields.get(11)!));
    expect(mac).toMatchObject({ mti: '9210' });
    expect(mac!.fields.get(26)).toBe(ActionCode.macFailure);
    expect(mac!.fields.get(11)).toBe('000901');
    expect(format!.fields.get(26)).toBe(ActionCode.formatError);
    expect(format!.fields.get(44)).toMatch(/^051 /);
    const r = ci.report();
    expect(r).toMatchObject({ mac_errors: 1, format_errors: 1 });
    expect(r.connections['DC1#1']).toMatchObject({ mac_errors: 1, format_errors: 1 });
    expect(r.outbound.received).toBe(0);
  });
});

describe('scheme simulator: inbound (R1-R4)', () => {
  it('counts an inbound payment answered in time', async () => {
    const { ci, dc1 } = await startCentral({ sortCodes: ['200000', '200001'] });
    const c = await client(dc1, signOnReceive);
    const [fpid] = ci.sendInbound(2);
    const one = await c.next('9200');
    expect(fpidOf(one.message.fields)).toBe(fpid);
    expect(['200000', '200001']).toContain(one.message.fields.get(95));
    expect(one.message.fields.has(15) && one.message.fields.has(29)).toBe(true);
    expect(one.reply.reply(ActionCode.accepted)).toBe('sent');
    (await c.next('9200')).reply.reply(ActionCode.standIn);
    await eventually(() => ci.report().inbound.answered_in_time === 2, 'two answered');
    expect(ci.report().inbound).toMatchObject({
      sent: 2,
      answered_in_time: 2,
      accepted: 1,
      rejected: 1,
      unanswered: 0,
    });
  });

  it('paces new inbound payments at a rate set while running, and sends none once it is set to 0', async () => {
    const { ci, dc1 } = await startCentral();
    await client(dc1, signOnReceive);
    ci.setInboundRate(100);
    await eventually(() => ci.report().inbound.sent >= 10, 'paced payments');
    ci.setInboundRate(0);
    const n = ci.report().inbound.sent;
    await new Promise((r) => setTimeout(r, 300));
    expect(ci.report().inbound.sent).toBe(n);
  });

  it('keeps per-payment times by TRN only with --timings, at most that many, dropping the oldest', async () => {
    const { ci, dc1 } = await startCentral({ timings: 2 });
    const c = await client(dc1, signOnSubmit, signOnReceive);
    const before = Date.now();
    const [first] = ci.sendInbound(1);
    (await c.next('9200')).reply.reply(ActionCode.standIn);
    await eventually(() => ci.report().inbound.answered_in_time === 1, 'one answered');
    const fields = payment();
    expect((await c.pay(fields)).fields.get(26)).toBe(ActionCode.accepted);
    const [inbound, outbound] = ci.timings.view().rows;
    expect(inbound).toMatchObject({ trn: first!.slice(0, 18), direction: 'inbound', outcome: ActionCode.standIn });
    expect(inbound!.request_ms).toBeGreaterThanOrEqual(before);
    expect(inbound!.answer_ms).toBeGreaterThanOrEqual(inbound!.request_ms!);
    expect(outbound).toMatchObject({ trn: fields.get(31), direction: 'outbound', outcome: ActionCode.accepted });
    expect(outbound!.answer_ms).toBeGreaterThanOrEqual(outbound!.request_ms!);
    // A third payment into a table of two drops the oldest row.
    ci.sendInbound(1);
    await c.next('9200');
    const view = ci.timings.view();
    expect(view).toMatchObject({ capacity: 2, dropped: 1 });
    expect(view.rows.map((r) => r.direction)).toEqual(['outbound', 'inbound']);
    expect(ci.timings.clear()).toBe(2);
    expect(ci.timings.view().rows).toEqual([]);
    await ci.stop();

    const { ci: off, dc1: at } = await startCentral();
    const d = await client(at, signOnReceive);
    off.sendInbound(1);
    (await d.next('9200')).reply.reply(ActionCode.accepted);
    await eventually(() => off.report().inbound.answered_in_time === 1, 'answered');
    expect(off.timings.view()).toEqual({ capacity: 0, dropped: 0, rows: [] });
  });

  it('counts and discards a response on the wrong connection (R1)', async () => {
    const { ci, dc1, dc2 } = await startCentral();
    const a = await client(dc1, signOnReceive);
    const b = await client(dc2, signOnReceive);
    ci.sendInbound(1, 'DC1#1');
    const req = await a.next('9200');
    b.answerRaw(req.message, ActionCode.accepted);
    b.answerRaw(
      { ...req.message, fields: new Map(req.message.fields).set(31, 'NOSUCHPAYMENT00001') },
      ActionCode.accepted,
    );
    await eventually(() => ci.report().unmatched_responses === 1, 'the unmatched one');
    expect(ci.report()).toMatchObject({ wrong_connection_responses: 1, inbound: { answered_in_time: 0 } });
    expect(ci.report().connections['DC2#1']).toMatchObject({ wrong_connection_responses: 1, unmatched_responses: 1 });
    req.reply.reply(ActionCode.accepted);
    await eventually(() => ci.report().inbound.answered_in_time === 1, 'the right answer');
  });

  it('times out an unanswered payment, reverses it with 9420 and 9421 repeats until 9430 (R2, R3)', async () => {
    const { ci, dc1 } = await startCentral();
    const c = await client(dc1, signOnReceive);
    const [fpid] = ci.sendInbound(1);
    const original = await c.next('9200');
    const reversal = await c.next('9420', 1500);
    expect(fpidOf(reversal.message.fields)).toBe(fpid);
    expect(reversal.message.fields.get(11)).not.toBe(original.message.fields.get(11));
    expect(original.reply.reply(ActionCode.accepted)).toBe('sent'); // too late
    const repeat = await c.next('9421', 1000);
    expect(fpidOf(repeat.message.fields)).toBe(fpid);
    repeat.reply.reply(ActionCode.accepted);
    await eventually(() => ci.report().inbound.reversed === 1, 'the reversal');
    expect(ci.report().inbound).toMatchObject({
      sent: 1,
      answered_in_time: 0,
      unanswered: 1,
      late: 1,
      reversed: 1,
      repeats_sent: 1,
    });
  });

  it('repeats as 9201 on another session when the carrying one drops, due by its own T_in (R4)', async () => {
    const { ci, dc1, dc2 } = await startCentral({ tInMs: 1000 });
    const a = await client(dc1, signOnReceive);
    const b = await client(dc2, signOnReceive);
    const [fpid] = ci.sendInbound(1, 'DC1#1');
    const original = await a.next('9200');
    await new Promise((r) => setTimeout(r, 600));
    a.close();
    const repeat = await b.next('9201');
    const repeatedAt = Date.now();
    expect(fpidOf(repeat.message.fields)).toBe(fpid);
    expect(repeat.message.fields.get(6)).toBe(original.message.fields.get(6));
    // Unanswered, it times out a full T_in after the repeat was written, not at the first deadline.
    const reversal = await b.next('9420', 2000);
    expect(Date.now() - repeatedAt).toBeGreaterThanOrEqual(950);
    reversal.reply.reply(ActionCode.accepted);
    await eventually(() => ci.report().inbound.reversed === 1, 'the reversal');
    expect(ci.report().inbound).toMatchObject({ sent: 1, repeats_sent: 1, unanswered: 1 });
  });

  it('repeats on a session that signs on to receive later, while T_in has not run out (R4)', async () => {
    const { ci, dc1, dc2 } = await startCentral({ tInMs: 1000 });
    const a = await client(dc1, signOnReceive);
    const [first, second] = [ci.sendInbound(1, 'DC1#1')[0], ci.sendInbound(1, 'DC1#1')[0]];
    await a.next('9200');
    await a.next('9200');
    a.close();
    await new Promise((r) => setTimeout(r, 300));
    // A session up again before T_in runs out gets both repeats and answers them in time.
    const b = await client(dc2, signOnReceive);
    const repeats = [await b.next('9201'), await b.next('9201')];
    expect(repeats.map((r) => fpidOf(r.message.fields)).sort()).toEqual([first, second].sort());
    await new Promise((r) => setTimeout(r, 800)); // past the first 9200's T_in, within the 9201's
    for (const r of repeats) expect(r.reply.reply(ActionCode.accepted)).toBe('sent');
    await eventually(() => ci.report().inbound.answered_in_time === 2, 'both answered');
    expect(ci.report().inbound).toMatchObject({ sent: 2, repeats_sent: 2, unanswered: 0, late: 0 });

    // None comes once T_in has run out: that payment is timed out and reversed instead.
    const [third] = ci.sendInbound(1, 'DC2#1');
    await b.next('9200');
    b.close();
    await new Promise((r) => setTimeout(r, 1100));
    const c = await client(dc1, signOnReceive);
    const reversal = await c.next('9420', 1000);
    expect(fpidOf(reversal.message.fields)).toBe(third);
    expect(c.requests.filter((r) => r.message.mti === '9201')).toHaveLength(0);
  });

  it('drops a session on request and answers the repeat when it is answered in time', async () => {
    const { ci, dc1, dc2 } = await startCentral();
    const a = await client(dc1, signOnReceive);
    const b = await client(dc2, signOnReceive);
    ci.sendInbound(1, 'DC1#1');
    await a.next('9200');
    expect(ci.drop('DC1#1')).toBe('DC1#1');
    (await b.next('9201')).reply.reply(ActionCode.accepted);
    await eventually(() => ci.report().inbound.answered_in_time === 1, 'the repeat answered');
    expect(ci.report()).toMatchObject({ faults: { dropped: 1 }, inbound: { repeats_sent: 1, unanswered: 0 } });
    expect(ci.report().connections['DC1#1']).toMatchObject({
      open: false,
      closed_reason: 'dropped by fault injection',
    });
  });
});

describe('scheme simulator: suspension (R10) and mute', () => {
  it('advises 971 SUSPENDED and ACTIVE to signed-on sessions and answers 9091 meanwhile', async () => {
    const { ci, dc1 } = await startCentral();
    const c = await client(dc1, signOnSubmit, signOnReceive);
    const idle = await client(dc1);
    expect(ci.suspend()).toBe(true);
    const down = await c.next('9824');
    expect(down.message.fields.get(24)).toBe(FunctionCode.serviceStatus);
    expect(down.message.fields.get(120)).toBe('SUSPENDED');
    down.reply.reply(ActionCode.accepted);
    expect((await c.pay(payment())).fields.get(26)).toBe(ActionCode.notSignedOn);
    expect(ci.sendInbound(1)).toEqual([]);
    const late = await client(dc1, signOnSubmit);
    expect((await late.next('9824')).message.fields.get(120)).toBe('SUSPENDED');
    expect(ci.resume()).toBe(true);
    const up = await c.next('9824');
    expect(up.message.fields.get(120)).toBe('ACTIVE');
    up.reply.reply(ActionCode.accepted);
    expect((await c.pay(payment())).fields.get(26)).toBe(ActionCode.accepted);
    expect(idle.requests).toHaveLength(0);
    await eventually(() => ci.report().connections['DC1#1']!.advices_acknowledged === 2, 'two acknowledgements');
    expect(ci.report()).toMatchObject({ faults: { suspensions: 1 }, outbound: { refused_suspended: 1, accepted: 1 } });
  });

  it('mutes a session: no reads, no writes, no own echo, no inbound', async () => {
    const { ci, dc1 } = await startCentral({ heartbeatMs: 100 });
    const c = await client(dc1, signOnSubmit, signOnReceive);
    ci.mute('DC1#1');
    await expect(c.wire.request({ mti: '9200', fields: payment() }, { timeoutMs: 400 })).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(ci.sendInbound(1)).toEqual([]);
    expect(c.requests).toHaveLength(0);
    expect(ci.sessions()[0]).toMatchObject({ open: true, muted: true });
  });
});
