/**
 * The gateway's inbound side against a scheme played by the test over real TCP (two listeners,
 * Wire on each accepted connection) and a participant played on the in-process MQ transport.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPacs002, parsePacs008 } from '../../src/participant/iso20022/index.js';
import type { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { businessDate, fpidOf, paymentFields } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import type { TestDatabase } from '../ledger/support.js';
import { basePayment } from '../participant/fixtures/arbitraries.js';
import { withContent } from '../support/bodies.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { MAC_KEY } from '../support/scheme-sim.js';
import { until } from '../support/tcp.js';

const KEY = Buffer.from(MAC_KEY, 'hex');
const Q = participantQueues('200001');

let here: GatewayHere;
let db: TestDatabase;
let transport: InProcessTransport;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];
let offers: IncomingMessage[];
/** Answers the CI side got to bodies it wrote raw (no request waits for them). */
const strays: IsoMessage[] = [];

/** One DC of the scheme: signs on whoever connects and keeps the connection for the test to use. */
async function dc(): Promise<string> {
  const p = await schemePeer(wires, { onRequest: (_m, reply) => reply.reply('0000'), onUnmatched: (m) => strays.push(m) });
  peers.push(p);
  return p.address;
}

let serial = 0;
function inbound(mti: IsoMessage['mti'] = '9200', trn = `INB${String(serial++).padStart(15, '0')}`): IsoMessage {
  const fields = paymentFields({ ...basePayment, trn, dateSent: businessDate(Date.now()), institution: '999999', settlementDate: businessDate(Date.now()), settlementCycle: '01' });
  return { mti, fields };
}

async function decide(offer: IncomingMessage, status: 'ACSC' | 'RJCT'): Promise<void> {
  const parsed = parsePacs008(offer.body);
  if (!parsed.ok) throw new Error(parsed.reason);
  const body = buildPacs002({ msgId: `D${serial++}`, createdAt: Date.now(), originalTrn: parsed.instruction.trn, status, ...(status === 'RJCT' ? { reason: '1114' as const } : {}) });
  await transport.put({ queue: Q.toGateway, body, messageId: newMessageId(), correlationId: offer.messageId });
}

beforeAll(async () => {
  here = await gatewayHere({ site: 'inbound-test', scheme: { dc1: [await dc()], dc2: [await dc()], connectionsPerDc: 1 }, participant: { id: '200001', sortCodes: ['200000'] } });
  ({ db, transport, fromGateway: offers } = here);
}, 60_000);

afterAll(async () => {
  await here.stop();
  for (const p of peers) p.close();
});

const stateOf = async (fpid: string) => (await db.pool.query<{ state: string }>('SELECT state FROM payments WHERE fpid = $1', [fpid])).rows[0]?.state;

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

  it('answers a payment no participant owns 1100 without reaching any queue', async () => {
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
    const returned = paymentFields({ ...basePayment, type: '20', trn: 'INBRET000000000001', dateSent: businessDate(Date.now()), institution: '999999', returnReason: '00000012', returnedFpid: 'TRN0000000000000991020261121GBP200000' });
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
      const answer = await until(() => strays.some((m) => m.fields.get(11) === fields.get(11)), 3000, `the answer to field ${field}`).then(() => strays.find((m) => m.fields.get(11) === fields.get(11))!);
      expect(answer.mti).toBe(request.mti === '9420' ? '9430' : '9210');
      expect(answer.fields.get(26)).toBe('9020');
      expect(answer.fields.get(44)).toMatch(new RegExp(`^${String(field).padStart(3, '0')} `));
      for (const n of [3, 12, 31, 98].filter((n) => n !== field)) expect(answer.fields.get(n), `field ${n}`).toBe(fields.get(n));
      expect(await stateOf(fpidOf(fields))).toBeUndefined();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(offers.length).toBe(before);
  });
});
