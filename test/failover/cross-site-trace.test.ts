/**
 * One trace across two sites (docs/architecture.md, Tracing and Cross-site inbound). The scheme's
 * 9200 arrives on the closed site, whose process begins the payment's trace and keeps its
 * traceparent in the ledger; the open site's process offers the payment over RabbitMQ under that
 * trace, as the offer's `traceparent` header the bank reads, and records the bank's decision; the
 * closed site writes the 9210. Each site is its own gateway process exporting to one OTLP
 * collector played by the test: every span of the payment, whichever site exported it, is in the
 * one trace the ledger and the bank's message name.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { parseTraceparent } from '../../src/base/tracing.js';
import { silentLogger } from '../../src/base/log.js';
import { buildPacs002, detectMessage, parsePacs008 } from '../../src/participant/iso20022/index.js';
import { AmqpTransport } from '../../src/participant/mq/amqp.js';
import { ensureParticipantQueues, newMessageId } from '../../src/participant/mq/index.js';
import { AMQP_URL, deleteQueues } from '../support/bank-gateway.js';
import { stopAfterAll } from '../support/cleanup.js';
import { startTestDatabase } from '../support/ledger.js';
import { startOtlpCollector, type ExportedSpan } from '../support/otlp-collector.js';
import { startSchemeSim } from '../support/scheme-sim.js';
import { eventually, gatewayConfig, runParticipantId, SORT_CODE, startGateway } from '../support/stack.js';
import { openSite, sitesSignedOn } from '../support/two-sites.js';

const cleanup = stopAfterAll();
const PAYMENTS = 20;

/** What the bank saw of one offer: the traceparent it came with, and the one its decision went with. */
interface Offered {
  traceparent: string | undefined;
  decidedUnder: string;
}

describe('tracing across the two sites', () => {
  it('keeps one trace for a payment that arrives on the closed site: its 9200, the ledger, the offer and decision on MQ, its 9210', async () => {
    const collector = await startOtlpCollector();
    cleanup.push(() => collector.close());
    const db = await startTestDatabase();
    cleanup.push(() => db.stop());
    const participant = runParticipantId();
    cleanup.push(() => deleteQueues([participant]));
    const sim = await startSchemeSim(['--sort-codes', SORT_CODE]);
    cleanup.push(() => sim.stop());

    // The bank: accepts every offer at once, each decision within a trace of its own.
    const bank = await AmqpTransport.connect({ url: AMQP_URL }, silentLogger);
    cleanup.push(() => bank.close());
    const q = await ensureParticipantQueues(bank, participant);
    const offers = new Map<string, Offered>();
    await bank.consume(
      q.fromGateway,
      async (m) => {
        if (detectMessage(m.body) !== 'pacs.008') return 'commit';
        const parsed = parsePacs008(m.body);
        if (!parsed.ok) throw new Error(parsed.reason);
        const decidedUnder = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
        offers.set(parsed.instruction.trn, { traceparent: m.traceparent, decidedUnder });
        await bank.put({
          queue: q.toGateway,
          body: buildPacs002({
            msgId: `D-${parsed.instruction.trn}`,
            createdAt: Date.now(),
            originalTrn: parsed.instruction.trn,
            status: 'ACSC',
          }),
          messageId: newMessageId(),
          correlationId: m.messageId,
          traceparent: decidedUnder,
        });
        return 'commit';
      },
      { prefetch: 16, backoutThreshold: 3, backoutQueue: q.backout },
    );

    const sites = [];
    for (const site of ['site-a', 'site-b']) {
      const config = await gatewayConfig(sim, {
        site,
        databaseUrl: db.url,
        participant: { id: participant, sortCodes: [SORT_CODE] },
        tracing: { otlpUrl: collector.url, exportDelayMs: 50 },
        // A trace of offers, not of shedding: a cold process on a loaded machine can pause its loop
        // past 100 ms or its ledger past 250 ms and stand the burst in (a CI run did; admission.test.ts covers that).
        admission: { loopDelayMaxMs: 5_000, commitDelayMaxMs: 5_000 },
      });
      const gateway = await startGateway(config);
      cleanup.push(() => gateway.stop());
      sites.push(gateway);
      await sitesSignedOn(sim, sites.length, 20_000);
    }
    expect((await openSite(db.pool))?.holder).toBe('site-a');

    // The scheme spreads its 9200s over both sites' connections.
    await sim.control('POST', '/inbound', { count: PAYMENTS });
    await eventually(
      () => sim.report(),
      (r) => r.inbound.answered_in_time === PAYMENTS,
      30_000,
      'every 9200 answered in time',
    );
    const { rows: crossSite } = await db.pool.query<{ fpid: string; trn: string; traceparent: string | null }>(
      `SELECT p.fpid, p.trn, p.traceparent FROM payments p
         JOIN payment_journal r ON r.fpid = p.fpid AND r.from_state IS NULL AND r.site = 'site-b'
         JOIN payment_journal o ON o.fpid = p.fpid AND o.event = 'offer' AND o.site = 'site-a'
        WHERE p.state = 'replied' AND p.outcome = '0000'`,
    );
    if (crossSite.length === 0) {
      // Which way each payment went instead, for the failure's message.
      const { rows } = await db.pool.query<{ fpid: string; state: string; outcome: string | null; steps: string }>(
        `SELECT p.fpid, p.state, p.outcome, string_agg(j.site || ':' || j.event, ' ' ORDER BY j.id) AS steps
           FROM payments p JOIN payment_journal j ON j.fpid = p.fpid GROUP BY p.fpid`,
      );
      expect.fail(`no payment recorded on site-b was offered by site-a and accepted: ${JSON.stringify(rows)}`);
    }

    const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);
    const one = (spans: ExportedSpan[], name: string) => {
      const named = spans.filter((s) => s.name === name);
      expect(named, name).toHaveLength(1);
      return named[0]!;
    };
    for (const p of crossSite) {
      // The ledger's traceparent: the trace the arrival site began; the offer the bank read carries it.
      const stored = parseTraceparent(p.traceparent ?? undefined);
      expect(stored, p.fpid).toBeDefined();
      const traceId = stored!.traceId;
      const offered = offers.get(p.trn);
      expect(parseTraceparent(offered?.traceparent)?.traceId, p.fpid).toBe(traceId);

      await eventually(
        async () => spansOf(traceId).map((s) => s.name),
        (names) => ['inbound payment', 'offer', 'decision', 'reply'].every((n) => names.includes(n)),
        10_000,
        `the spans of ${p.fpid} exported`,
      );
      const spans = spansOf(traceId);
      const root = one(spans, 'inbound payment');
      expect(root.parentSpanId).toBeUndefined();
      expect(root.resource['fps.site']).toBe('site-b');
      expect(root.attributes).toMatchObject({ 'fps.fpid': p.fpid, 'fps.site': 'site-b' });
      expect(stored!.spanId).toBe(root.spanId);
      // The open site's steps, exported by its own process, are children of the arrival site's root.
      const offer = one(spans, 'offer');
      expect(offer).toMatchObject({
        parentSpanId: root.spanId,
        spanId: parseTraceparent(offered!.traceparent)!.spanId,
      });
      expect(offer.resource['fps.site']).toBe('site-a');
      const decision = one(spans, 'decision');
      expect(decision).toMatchObject({ parentSpanId: root.spanId, resource: { 'fps.site': 'site-a' } });
      const bankTrace = parseTraceparent(offered!.decidedUnder)!;
      expect(decision.links).toEqual([{ traceId: bankTrace.traceId, spanId: bankTrace.spanId }]);
      // And the answer on the arrival connection, back on the site it arrived at.
      const reply = one(spans, 'reply');
      expect(reply).toMatchObject({
        parentSpanId: root.spanId,
        resource: { 'fps.site': 'site-b' },
        attributes: { 'fps.action_code': '0000', 'fps.reply': 'sent' },
      });
      expect(new Set(spans.map((s) => s.resource['fps.site']))).toEqual(new Set(['site-a', 'site-b']));
    }
    expect(collector.refused).toEqual([]);
    for (const g of sites.reverse()) await g.stop();
  }, 120_000);
});
