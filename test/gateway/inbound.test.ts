/**
 * The gateway's inbound side against a scheme played by the test over real TCP (two listeners,
 * Wire on each accepted connection) and a participant played on the in-process MQ transport.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mqIdFor } from '../../src/participant/ids.js';
import { buildPacs002, detectMessage, parsePacs002, parsePacs008 } from '../../src/participant/iso20022/index.js';
import type { InProcessTransport } from '../../src/participant/mq/in-process.js';
import type { ActionCode } from '../../src/scheme/profile.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { businessDate, fpidOf } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import type { TestDatabase } from '../support/ledger.js';
import { inboundFields } from '../support/iso20022-arbitraries.js';
import { withContent } from '../support/bodies.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const KEY = Buffer.from(MAC_KEY, 'hex');
const Q = participantQueues('200001');
/** A second participant on the same gateway, owning sort code 210000. */
const QB = participantQueues('200002');
/** R6: stand-in at T_in - margin = 2.3 s after arrival. */
const T_IN_MS = 3000;
const MARGIN_MS = 700;

let here: GatewayHere;
let db: TestDatabase;
let transport: InProcessTransport;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];
/** Everything put on participant A's FROM.GATEWAY (offers and statuses alike), and on B's. */
let offers: IncomingMessage[];
let statusesA: IncomingMessage[];
const fromB: IncomingMessage[] = [];
/** Answers the CI side got to bodies it wrote raw (no request waits for them). */
const strays: IsoMessage[] = [];

/** One DC of the scheme: signs on whoever connects and keeps the connection for the test to use. */
async function dc(): Promise<string> {
  const p = await schemePeer(wires, {
    onRequest: (_m, reply) => reply.reply('0000'),
    onUnmatched: (m) => strays.push(m),
  });
  peers.push(p);
  return p.address;
}

let serial = 0;
function inbound(mti: IsoMessage['mti'] = '9200', trn = `INB${String(serial++).padStart(15, '0')}`): IsoMessage {
  const fields = inboundFields({ trn, settlementDate: businessDate(Date.now()), settlementCycle: '01' });
  return { mti, fields };
}

/** Puts a decision on `queue` answering `offer`; returns its MQ message id. */
async function decide(
  offer: IncomingMessage,
  status: 'ACSC' | 'RJCT',
  o: { queue?: string; reason?: ActionCode; trn?: string } = {},
): Promise<string> {
  const parsed = parsePacs008(offer.body);
  if (!parsed.ok) throw new Error(parsed.reason);
  const reason = o.reason ?? '1114';
  const body = buildPacs002({
    msgId: `D${serial++}`,
    createdAt: Date.now(),
    originalTrn: o.trn ?? parsed.instruction.trn,
    status,
    ...(status === 'RJCT' ? { reason } : {}),
  });
  const messageId = newMessageId();
  await transport.put({ queue: o.queue ?? Q.toGateway, body, messageId, correlationId: offer.messageId });
  return messageId;
}

const offerOf = (trn: string, to: IncomingMessage[] = offers) =>
  to.find((m) => detectMessage(m.body) === 'pacs.008' && m.body.includes(`<TxId>${trn}</TxId>`));
/** A new inbound payment for participant A sent on connection `wire`, once it has been offered. */
async function offered(wire: number) {
  const request = inbound();
  const trn = request.fields.get(31)!;
  const answer = wires[wire]!.request(request);
  await until(() => offerOf(trn) !== undefined, 5000, 'the offer');
  return { fpid: fpidOf(request.fields), answer, offer: offerOf(trn)! };
}
const answerTo = (messageId: string, to: IncomingMessage[]) =>
  to.find((m) => m.correlationId === messageId && detectMessage(m.body) === 'pacs.002');
const reasonOf = (m: IncomingMessage | undefined) => {
  const p = m === undefined ? undefined : parsePacs002(m.body);
  return p?.ok ? p.status.reason : undefined;
};
const refusedRows = async (mqMessageId: string) =>
  (
    await db.pool.query<{ participant_id: string; reason: string; fpid: string | null }>(
      'SELECT participant_id, reason, fpid FROM refused_participant_messages WHERE mq_message_id = $1',
      [mqMessageId],
    )
  ).rows;
const backout = (queue: string) =>
  new Promise<IncomingMessage[]>((resolve) => {
    const got: IncomingMessage[] = [];
    void transport
      .consume(queue, async (m) => (got.push(m), 'commit'), { prefetch: 100, backoutThreshold: 3, backoutQueue: queue })
      .then(async (c) => {
        await new Promise((r) => setTimeout(r, 100));
        await c.stop();
        resolve(got);
      });
  });

beforeAll(async () => {
  here = await gatewayHere({
    site: 'inbound-test',
    scheme: { dc1: [await dc()], dc2: [await dc()], connectionsPerDc: 1 },
    participant: { id: '200001', sortCodes: ['200000'] },
    others: [{ id: '200002', sortCodes: ['210000'] }],
    timing: { tInMs: T_IN_MS, standInMarginMs: MARGIN_MS },
  });
  ({ db, transport, fromGateway: offers } = here);
  statusesA = offers;
  await transport.consume(QB.fromGateway, async (m) => (fromB.push(m), 'commit'), {
    prefetch: 100,
    backoutThreshold: 3,
    backoutQueue: QB.backout,
  });
}, 60_000);

afterAll(async () => {
  await here.stop();
  for (const p of peers) p.close();
});

const stateOf = async (fpid: string) =>
  (await db.pool.query<{ state: string }>('SELECT state FROM payments WHERE fpid = $1', [fpid])).rows[0]?.state;

describe('gateway inbound', () => {
  it('answers a repeat and a duplicate 9200 with the original outcome, each on its own connection, offering once (R5)', async () => {
    const [a, b] = wires;
    const request = inbound();
    const fpid = fpidOf(request.fields);
    const first = a!.request(request);
    const duplicate = b!.request(request);
    await until(() => offers.length === 1, 5000, 'the offer');
    await new Promise((r) => setTimeout(r, 100));
    expect(offers).toHaveLength(1);
    await decide(offers[0]!, 'RJCT');
    const [r1, r2] = await Promise.all([first, duplicate]);
    expect(r1.fields.get(26)).toBe('1114');
    expect(r2.fields.get(26)).toBe('1114');
    // Once replied, a 9201 on either connection gets the same, without a second offer.
    const repeat = await b!.request({ mti: '9201', fields: request.fields });
    expect(repeat.fields.get(26)).toBe('1114');
    expect(offers).toHaveLength(1);
    expect(await stateOf(fpid)).toBe('replied');
  });

  it('records a reversal of a payment it never saw, answers 9430 0000 and offers nothing (R3)', async () => {
    const before = offers.length;
    const reversal = inbound('9420');
    const answer = await wires[0]!.request(reversal);
    expect(answer.mti).toBe('9430');
    expect(answer.fields.get(26)).toBe('0000');
    expect(await stateOf(fpidOf(reversal.fields))).toBe('reversed');
    await new Promise((r) => setTimeout(r, 100));
    expect(offers.length).toBe(before);
    // A 9421 repeat gets the same answer.
    expect((await wires[1]!.request({ mti: '9421', fields: reversal.fields })).fields.get(26)).toBe('0000');
  });

  it('answers a payment no participant owns 1100 without reaching any queue (P1)', async () => {
    const before = offers.length;
    const request = inbound();
    const fields = new Map(request.fields).set(95, '123456');
    const answer = await wires[1]!.request({ mti: '9200', fields });
    expect(answer.fields.get(26)).toBe('1100');
    await new Promise((r) => setTimeout(r, 100));
    expect(offers.length).toBe(before);
  });

  it('answers wrong content 9020 at once with its field 11, 31 and 98, recording and offering nothing (R11)', async () => {
    const before = offers.length;
    const returned = inboundFields({
      type: '20',
      trn: 'INBRET000000000001',
      returnReason: '00000012',
      returnedFpid: 'TRN0000000000000991020261121GBP200000',
    });
    const cases: Array<[IsoMessage, number, string]> = [
      [inbound(), 6, '0000000000ABCD'],
      [inbound(), 6, '00000000000000'],
      [inbound(), 31, 'inb00000000000000a'],
      [{ mti: '9200', fields: returned }, 127, 'TRN0000000000000991020261121USD'],
      [inbound('9420'), 3, '1X0000'],
    ];
    for (const [i, [request, field, text]] of cases.entries()) {
      const fields = new Map(request.fields).set(7, '1122093015').set(11, String(801 + i).padStart(6, '0'));
      wires[i % 2]!.writeRaw(withContent({ mti: request.mti, fields }, field, text, KEY));
      const answer = await until(
        () => strays.some((m) => m.fields.get(11) === fields.get(11)),
        3000,
        `the answer to field ${field}`,
      ).then(() => strays.find((m) => m.fields.get(11) === fields.get(11))!);
      expect(answer.mti).toBe(request.mti === '9420' ? '9430' : '9210');
      expect(answer.fields.get(26)).toBe('9020');
      expect(answer.fields.get(44)).toMatch(new RegExp(`^${String(field).padStart(3, '0')} `));
      for (const n of [3, 12, 31, 98].filter((n) => n !== field))
        expect(answer.fields.get(n), `field ${n}`).toBe(fields.get(n));
      expect(await stateOf(fpidOf(fields))).toBeUndefined();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(offers.length).toBe(before);
  });

  it('offers under a random message id kept with the payment, not one computed from the FPID', async () => {
    const { fpid, answer, offer } = await offered(0);
    expect(offer.messageId).not.toBe(mqIdFor('offer', fpid));
    const row = await db.pool.query<{ participant_msg_id: string }>(
      'SELECT participant_msg_id FROM payments WHERE fpid = $1',
      [fpid],
    );
    expect(row.rows[0]!.participant_msg_id).toBe(offer.messageId);
    // v1.1: the offer names the payment by its compact FPID and its sender (field 98).
    expect(offer.body).toContain(`<ClrSysRef>${fpid.slice(0, 28)}999999</ClrSysRef>`);
    expect(offer.body).toMatch(
      /<InstgAgt><FinInstnId><ClrSysMmbId><ClrSysId><Prtry>FPS<\/Prtry><\/ClrSysId><MmbId>999999<\/MmbId>/,
    );
    await decide(offer, 'ACSC');
    expect((await answer).fields.get(26)).toBe('0000');
  });

  it("refuses a decision from another participant's queue: answered to that participant, recorded, the payment untouched (P9)", async () => {
    const { fpid, answer, offer } = await offered(0);
    // B puts a RJCT 1100 on its own TO.GATEWAY under A's offer.
    const intruder = await decide(offer, 'RJCT', { queue: QB.toGateway, reason: '1100' });
    await until(() => answerTo(intruder, fromB) !== undefined, 5000, "B's refusal");
    const refusal = answerTo(intruder, fromB)!;
    expect(reasonOf(refusal)).toBe('9020');
    expect(refusal.body).toContain('no payment was offered to this participant under this correlation id');
    expect(await refusedRows(intruder)).toEqual([
      {
        participant_id: '200002',
        reason: 'the payment under this correlation id was offered to participant 200001',
        fpid,
      },
    ]);
    expect((await backout(QB.backout)).map((m) => m.messageId)).toEqual([intruder]);
    expect(await stateOf(fpid)).toBe('offered');
    // A's own decision still counts.
    await decide(offer, 'ACSC');
    expect((await answer).fields.get(26)).toBe('0000');
  });

  it("refuses a decision that does not name the offered payment's TRN, and one with a reason a participant may not give (P9)", async () => {
    const { fpid, answer, offer } = await offered(1);
    const wrongTrn = await decide(offer, 'RJCT', { trn: 'OTHER0000000000001' });
    const schemeCodes: string[] = [];
    for (const reason of ['9068', '0912', '9091'] as const) schemeCodes.push(await decide(offer, 'RJCT', { reason }));
    await until(
      () => [wrongTrn, ...schemeCodes].every((id) => answerTo(id, statusesA) !== undefined),
      5000,
      'four refusals',
    );
    for (const id of [wrongTrn, ...schemeCodes]) expect(reasonOf(answerTo(id, statusesA))).toBe('9020');
    expect(await refusedRows(wrongTrn)).toEqual([
      {
        participant_id: '200001',
        reason: 'OrgnlTxId is not the TRN of the payment offered under this correlation id',
        fpid,
      },
    ]);
    for (const id of schemeCodes)
      expect((await refusedRows(id))[0]!.reason).toMatch(/is not a reason a participant may give/);
    expect(await stateOf(fpid)).toBe('offered');
    // Nobody decided in time: the stand-in answers, not any refused code.
    expect((await answer).fields.get(26)).toBe('0912');
  });

  it('answers a pacs.002 for no payment RJCT 9020 correlated to it, keeps it and records it (P7)', async () => {
    const id = newMessageId();
    const body = buildPacs002({
      msgId: 'DNONE',
      createdAt: Date.now(),
      originalTrn: 'NOSUCHPAYMENT00001',
      status: 'ACSC',
    });
    await transport.put({ queue: Q.toGateway, body, messageId: id, correlationId: newMessageId() });
    await until(() => answerTo(id, statusesA) !== undefined, 5000, 'the answer');
    const a = answerTo(id, statusesA)!;
    expect(parsePacs002(a.body)).toMatchObject({
      ok: true,
      status: { status: 'RJCT', reason: '9020', originalTrn: 'NOSUCHPAYMENT00001', originalMsgId: 'DNONE' },
    });
    expect(await refusedRows(id)).toEqual([
      { participant_id: '200001', reason: 'no inbound payment was offered under this correlation id', fpid: null },
    ]);
    expect((await backout(Q.backout)).map((m) => m.messageId)).toContain(id);
  });

  it('answers at once a payment that passes the codec but cannot be offered, stood in 0912 with nothing offered (R6)', async () => {
    const request = inbound();
    const trn = request.fields.get(31)!;
    // Field 15 is 8 digits, as the codec asks; 2026-13-40 is no date, so no valid pacs.008 carries it.
    const fields = new Map(request.fields).set(15, '20261340');
    const started = Date.now();
    const answer = await wires[0]!.request({ mti: '9200', fields });
    expect(answer.fields.get(26)).toBe('0912');
    expect(Date.now() - started).toBeLessThan(T_IN_MS - MARGIN_MS - 1000);
    expect(offerOf(trn)).toBeUndefined();
    const journal = await db.pool.query<{ event: string }>(
      'SELECT event FROM payment_journal WHERE fpid = $1 ORDER BY id',
      [fpidOf(fields)],
    );
    expect(journal.rows.map((r) => r.event)).toEqual(expect.arrayContaining(['offer', 'offer_failed']));
    expect(statusesA.some((m) => m.body.includes(trn))).toBe(false);
  });

  it('answers every decision that comes after the stand-in RJCT 0912, correlated to it, whether or not the payment is still in memory (R6, P10)', async () => {
    const N = 30;
    const requests = Array.from({ length: N }, () => inbound());
    const answers = requests.map((r, i) => wires[i % 2]!.request(r));
    const decisions = new Map<string, string>();
    // Each bank decides the moment it reads the stand-in notice (racing the 9210 and the payment
    // leaving memory), or a second later (the payment only in the ledger).
    const pending = new Set(requests.map((r) => r.fields.get(31)!));
    await until(
      () => {
        for (const trn of pending) {
          const offer = offerOf(trn);
          const notice = offer && answerTo(offer.messageId, statusesA);
          if (offer === undefined || notice === undefined) continue;
          pending.delete(trn);
          const late = () => decide(offer, 'ACSC').then((id) => void decisions.set(id, trn));
          if (decisions.size % 2 === 0) void late();
          else setTimeout(() => void late(), 1000);
        }
        return pending.size === 0;
      },
      10_000,
      'every stand-in notice',
    );
    for (const a of await Promise.all(answers)) expect(a.fields.get(26)).toBe('0912');
    await until(() => decisions.size === N, 5000, 'every late decision put');
    await until(
      () => [...decisions.keys()].every((id) => answerTo(id, statusesA) !== undefined),
      5000,
      'an answer to every late decision',
    );
    for (const [id, trn] of decisions) {
      const a = answerTo(id, statusesA)!;
      expect(parsePacs002(a.body)).toMatchObject({
        ok: true,
        status: { status: 'RJCT', reason: '0912', originalTrn: trn },
      });
    }
    for (const r of requests) expect(await stateOf(fpidOf(r.fields))).toBe('replied');
  }, 30_000);

  it('records the stand-in time and the deadline of the state it waits in, and clears the deadline once answered', async () => {
    const times = async (fpid: string) =>
      (
        await db.pool.query<{ stand_in_at: Date | null; deadline_at: Date | null }>(
          'SELECT stand_in_at, deadline_at FROM payments WHERE fpid = $1',
          [fpid],
        )
      ).rows[0];
    const before = Date.now();
    const { fpid, answer, offer } = await offered(0);
    const waiting = await times(fpid);
    expect(waiting?.stand_in_at?.getTime()).toBeGreaterThanOrEqual(before + T_IN_MS - MARGIN_MS);
    expect(waiting?.deadline_at).toEqual(waiting?.stand_in_at);
    await decide(offer, 'ACSC');
    expect((await answer).fields.get(26)).toBe('0000');
    // The decision committed before the 9210 went (commit before effect), and it waits for no deadline.
    expect(await times(fpid)).toEqual({ stand_in_at: waiting?.stand_in_at, deadline_at: null });
  });
});
