/**
 * Tracing off, the default: no SDK is loaded, nothing is exported, the ledger keeps no trace
 * context, and a traceparent a participant sends is passed on unchanged (docs/architecture.md, Tracing).
 */
import { readFileSync } from 'node:fs';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPacs002, detectMessage, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { businessDate, fpidOf } from '../../src/scheme/messages.js';
import type { Wire } from '../../src/scheme/wire.js';
import { gatewayHere, schemePeer, type GatewayHere, type SchemePeer } from '../support/gateway-here.js';
import { inboundFields } from '../support/iso20022-arbitraries.js';
import { until } from '../support/tcp.js';

/** Set by any import of the SDK or its exporter: none may happen with tracing off. */
const loaded = vi.hoisted(() => [] as string[]);
vi.mock('@opentelemetry/sdk-trace-base', () => {
  loaded.push('@opentelemetry/sdk-trace-base');
  return {};
});
vi.mock('@opentelemetry/exporter-trace-otlp-http', () => {
  loaded.push('@opentelemetry/exporter-trace-otlp-http');
  return {};
});

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
const QIN = participantQueues('200001');
const QOUT = participantQueues('040004');

let here: GatewayHere;
const peers: SchemePeer[] = [];
const wires: Wire[] = [];
const reports: IncomingMessage[] = [];

beforeAll(async () => {
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', '');
  vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '');
  for (let dc = 0; dc < 2; dc++)
    peers.push(
      await schemePeer(wires, { onRequest: (_m, reply) => reply.reply('0000'), onUnmatched: () => undefined }),
    );
  here = await gatewayHere({
    site: 'tracing-off-test',
    scheme: { dc1: [peers[0]!.address], dc2: [peers[1]!.address], connectionsPerDc: 1 },
    participant: { id: '200001', sortCodes: ['200000'] },
    others: [{ id: '040004', sortCodes: ['040004'] }],
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
  vi.unstubAllEnvs();
});

const rowTraceparent = async (fpid: string) =>
  (await here.db.pool.query<{ traceparent: string | null }>('SELECT traceparent FROM payments WHERE fpid = $1', [fpid]))
    .rows[0]?.traceparent;

describe('tracing off', () => {
  it('loads no SDK and records nothing: an inbound payment carries no trace context to the ledger or MQ', async () => {
    const fields = inboundFields({
      trn: 'UNTRACED0000000001',
      settlementDate: businessDate(Date.now()),
      settlementCycle: '01',
    });
    const answer = wires[0]!.request({ mti: '9200', fields });
    await until(() => here.fromGateway.some((m) => detectMessage(m.body) === 'pacs.008'), 5000, 'the offer');
    const offer = here.fromGateway.find((m) => detectMessage(m.body) === 'pacs.008')!;
    expect(offer).not.toHaveProperty('traceparent');
    const parsed = parsePacs008(offer.body);
    if (!parsed.ok) throw new Error(parsed.reason);
    await here.transport.put({
      queue: QIN.toGateway,
      body: buildPacs002({
        msgId: 'D-OFF-1',
        createdAt: Date.now(),
        originalTrn: parsed.instruction.trn,
        status: 'ACSC',
      }),
      messageId: newMessageId(),
      correlationId: offer.messageId,
    });
    expect((await answer).fields.get(26)).toBe('0000');
    expect(await rowTraceparent(fpidOf(fields))).toBeNull();
    expect(loaded).toEqual([]);
    // The API is its no-op: no span records anything.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it("passes a participant's traceparent through to its report unchanged", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const messageId = newMessageId();
    await here.transport.put({
      queue: QOUT.toGateway,
      body: FIXTURE.replace('NWBK20261122093015000042', 'MSG-OFF').replace('TRN00000000000001A', 'UNTRACEDOUT0000001'),
      messageId,
      traceparent,
    });
    await until(() => reports.some((r) => r.correlationId === messageId), 5000, 'the report');
    expect(reports.find((r) => r.correlationId === messageId)!.traceparent).toBe(traceparent);
    expect(loaded).toEqual([]);
  });
});
