/**
 * Tracing on: a gateway exporting to an OTLP/HTTP collector played by the test. One inbound and
 * one outbound payment each make one trace, from the scheme request (or the instruction) to the
 * answer, whose context the ledger keeps and the MQ messages carry (docs/architecture.md, Tracing).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTraceparent } from '../../src/base/tracing.js';
import { buildPacs002, detectMessage, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { businessDate, fpidOf } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { inboundFields } from '../support/iso20022-arbitraries.js';
import { startOtlpCollector, type ExportedSpan, type OtlpCollector } from '../support/otlp-collector.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const QIN = participantQueues('200001');
const QOUT = participantQueues('040004');
/** The only attributes a span may have: identifiers and codes, never an account number or a name. */
const ATTRIBUTE_KEYS = [
  'fps.fpid',
  'fps.direction',
  'fps.site',
  'fps.action_code',
  'fps.reply',
  'fps.mti',
  'fps.connection',
];

let collector: OtlpCollector;
let here: GatewayHere;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];
const reports: IncomingMessage[] = [];

beforeAll(async () => {
  collector = await startOtlpCollector();
  for (let dc = 0; dc < 2; dc++)
    peers.push(
      await schemePeer(wires, { onRequest: (_m, reply) => reply.reply('0000'), onUnmatched: () => undefined }),
    );
  here = await gatewayHere({
    site: 'tracing-test',
    scheme: { dc1: [peers[0]!.address], dc2: [peers[1]!.address], connectionsPerDc: 1 },
    participant: { id: '200001', sortCodes: ['200000'] },
    others: [{ id: '040004', sortCodes: ['040004'] }],
    tracing: { otlpUrl: collector.url, exportDelayMs: 50 },
  });
  await here.transport.consume(QOUT.fromGateway, async (m) => (reports.push(m), 'commit'), {
    prefetch: 100,
    backoutThreshold: 3,
    backoutQueue: QOUT.backout,
  });
}, 60_000);

afterAll(async () => {
  await here?.stop();
  for (const p of peers) p.close();
  await collector?.close();
});

const rowTraceparent = async (fpid: string) =>
  (await here.db.pool.query<{ traceparent: string | null }>('SELECT traceparent FROM payments WHERE fpid = $1', [fpid]))
    .rows[0]?.traceparent;
const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);
const named = (spans: ExportedSpan[], name: string) => spans.filter((s) => s.name === name);
const bankTrace = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

describe('tracing on', () => {
  it('traces an inbound payment from its 9200 through the ledger and the offer on MQ to the 9210, linking the decision', async () => {
    const request = {
      mti: '9200' as const,
      fields: inboundFields({
        trn: 'TRACEIN00000000001',
        settlementDate: businessDate(Date.now()),
        settlementCycle: '01',
      }),
    };
    const fpid = fpidOf(request.fields);
    const answer = wires[0]!.request(request);
    await until(() => here.fromGateway.some((m) => detectMessage(m.body) === 'pacs.008'), 5000, 'the offer');
    const offer = here.fromGateway.find((m) => detectMessage(m.body) === 'pacs.008')!;
    const offered = parseTraceparent(offer.traceparent);
    expect(offered).toBeDefined();
    const parsed = parsePacs008(offer.body);
    if (!parsed.ok) throw new Error(parsed.reason);
    // The bank answers within its own trace, as its MQ message's traceparent property.
    const bank = bankTrace('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
    await here.transport.put({
      queue: QIN.toGateway,
      body: buildPacs002({
        msgId: 'D-TRACE-1',
        createdAt: Date.now(),
        originalTrn: parsed.instruction.trn,
        status: 'ACSC',
      }),
      messageId: newMessageId(),
      correlationId: offer.messageId,
      traceparent: bank,
    });
    expect((await answer).fields.get(26)).toBe('0000');

    const traceId = offered!.traceId;
    await until(() => named(spansOf(traceId), 'inbound payment').length === 1, 5000, 'the root span exported');
    const spans = spansOf(traceId);
    const [root] = named(spans, 'inbound payment');
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.attributes).toMatchObject({
      'fps.fpid': fpid,
      'fps.direction': 'inbound',
      'fps.site': 'tracing-test',
    });
    expect(root!.resource['service.name']).toBe('fps-gateway');
    // The ledger keeps the root's context; the offer on MQ carried the offer span's.
    expect(await rowTraceparent(fpid)).toBe(`00-${traceId}-${root!.spanId}-01`);
    const [offerSpan] = named(spans, 'offer');
    expect(offerSpan!.spanId).toBe(offered!.spanId);
    for (const name of ['offer', 'decision', 'reply']) {
      expect(named(spans, name), name).toHaveLength(1);
      expect(named(spans, name)[0]!.parentSpanId, name).toBe(root!.spanId);
    }
    expect(named(spans, 'decision')[0]!.links).toEqual([
      { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' },
    ]);
    expect(named(spans, 'reply')[0]!.attributes).toMatchObject({ 'fps.action_code': '0000', 'fps.reply': 'sent' });
    for (const s of spans) for (const key of Object.keys(s.attributes)) expect(ATTRIBUTE_KEYS).toContain(key);
  });

  it("traces an outbound payment under the participant's traceparent, through submit to the report, which carries it", async () => {
    const participantTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const messageId = newMessageId();
    await here.transport.put({
      queue: QOUT.toGateway,
      body: FIXTURE.replace('NWBK20261122093015000042', 'MSG-TRACE').replace(
        'TRN00000000000001A',
        'TRACEOUT0000000001',
      ),
      messageId,
      traceparent: bankTrace(participantTrace, '00f067aa0ba902b7'),
    });
    await until(() => reports.some((r) => r.correlationId === messageId), 5000, 'the report');
    const report = reports.find((r) => r.correlationId === messageId)!;
    const reported = parseTraceparent(report.traceparent);
    expect(reported?.traceId).toBe(participantTrace);

    await until(
      () => named(spansOf(participantTrace), 'outbound payment').length === 1,
      5000,
      'the root span exported',
    );
    const spans = spansOf(participantTrace);
    const [root] = named(spans, 'outbound payment');
    expect(root!.parentSpanId).toBe('00f067aa0ba902b7');
    const fpid = root!.attributes['fps.fpid']!;
    expect(root!.attributes).toMatchObject({ 'fps.direction': 'outbound', 'fps.site': 'tracing-test' });
    expect(await rowTraceparent(fpid)).toBe(`00-${participantTrace}-${root!.spanId}-01`);
    expect(named(spans, 'submit')).toHaveLength(1);
    expect(named(spans, 'submit')[0]).toMatchObject({
      parentSpanId: root!.spanId,
      attributes: { 'fps.mti': '9200', 'fps.action_code': '0000' },
    });
    const [reportSpan] = named(spans, 'report');
    expect(reportSpan).toMatchObject({ parentSpanId: root!.spanId, spanId: reported!.spanId });
    for (const s of spans) for (const key of Object.keys(s.attributes)) expect(ATTRIBUTE_KEYS).toContain(key);
    expect(collector.refused).toEqual([]);
  });

  it('begins a new trace for an instruction that came without a traceparent', async () => {
    const messageId = newMessageId();
    await here.transport.put({
      queue: QOUT.toGateway,
      body: FIXTURE.replace('NWBK20261122093015000042', 'MSG-TRACE-2').replace(
        'TRN00000000000001A',
        'TRACEOUT0000000002',
      ),
      messageId,
    });
    await until(() => reports.some((r) => r.correlationId === messageId), 5000, 'the report');
    const reported = parseTraceparent(reports.find((r) => r.correlationId === messageId)!.traceparent);
    expect(reported).toBeDefined();
    await until(
      () => named(spansOf(reported!.traceId), 'outbound payment').length === 1,
      5000,
      'the root span exported',
    );
    const spans = spansOf(reported!.traceId);
    expect(named(spans, 'outbound payment')[0]!.parentSpanId).toBeUndefined();
    expect(spans.map((s) => s.name).sort()).toEqual(['outbound payment', 'report', 'submit']);
  });
});
