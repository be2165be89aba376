/**
 * The site's Prometheus metrics (prom-client), in one place. The layers below know only their
 * observer ports (`PaymentObserver`, the ledger's `onBatch`, the scheme's `onRefused`, the
 * bridge's `RefusalAudit`, the outbox bound's `EventsDropped`); each call costs one counter increment or histogram observation.
 * Everything else (connections, lease, memory, outbox lag, lease changes) is read when scraped.
 */
import type pg from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { Logger } from '../base/log.js';
import type { BatchWritten } from '../ledger/ledger.js';
import { leaseChanges, outboxLag, type OutboxLag } from '../ledger/observed.js';
import type { RefusalAudit } from '../ledger/refusals.js';
import type { CommittedStep, InboundAnswer, OutboundReport, PaymentObserver } from '../payments/observer.js';
import { PAYMENT_EVENT_TOPICS } from '../payments/payment-event.js';
import type { ConnectionState, Dc } from '../scheme/connection.js';
import type { SiteStatus } from './site.js';

/** A scrape waits this long at most for the database's figures; without them it goes on. */
export const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

const DCS: readonly Dc[] = ['DC1', 'DC2'];
const STATES: readonly ConnectionState[] = ['connecting', 'signing-on', 'ready', 'draining', 'closed'];

/**
 * Buckets in seconds. Inbound: T_in is 10 s and the stand-in is due at 9 s by default, so 9 and 10
 * are bounds; 1 s is the latency objective (deploy/prometheus). Outbound: T_out is 15 s; 2 s is
 * the latency objective.
 */
const INBOUND_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 9, 10];
const MARGIN_BUCKETS = [0, 0.5, 1, 2, 5, 8, 9, 9.5, 9.75, 10];
const OUTBOUND_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

export interface MetricsSources {
  status(): SiteStatus;
  pool: pg.Pool;
  /** The lease whose changes are failovers (`open-site`). */
  leaseRole: string;
  log: Logger;
}

/** Resolves with `work`'s value, or undefined after `ms` or on failure (logged). */
async function bounded<T>(work: Promise<T>, ms: number, log: Logger, what: string): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    const r = await Promise.race([work, timeout]);
    if (r === undefined) log.warn({ what, timeoutMs: ms }, 'metrics query timed out; scraped without it');
    return r;
  } catch (e) {
    log.warn({ what, err: (e as Error).message }, 'metrics query failed; scraped without it');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;

  private readonly steps: Counter<'direction' | 'to'>;
  private readonly standIns: Counter;
  private readonly reversals: Counter;
  private readonly replyLost: Counter;
  private readonly repeats: Counter<'direction'>;
  private readonly answers: Counter<'path' | 'result'>;
  private readonly inboundSeconds: Histogram<'path'>;
  private readonly margin: Histogram<'path'>;
  private readonly reports: Counter<'result' | 'outcome'>;
  private readonly outboundSeconds: Histogram;
  private readonly commitSeconds: Histogram;
  private readonly batchSize: Histogram;
  private readonly batchesFailed: Counter;
  private readonly schemeRefused: Counter<'code'>;
  private readonly offersShed: Counter<'reason'>;
  private readonly participantRefused: Counter<'kind'>;
  private readonly eventsDropped: Counter<'topic'>;

  constructor(site: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ site });
    // RSS, heap, event-loop lag (nodejs_eventloop_lag_*), GC, handles: prom-client's defaults.
    collectDefaultMetrics({ register: this.registry });

    this.steps = new Counter({
      name: 'gateway_payment_steps_total',
      help: 'Payment steps committed to the ledger, by direction and the state they reached',
      labelNames: ['direction', 'to'],
      registers,
    });
    this.standIns = new Counter({
      name: 'gateway_stand_ins_total',
      help: 'Inbound payments stood in (R6: answered 0912 by the gateway)',
      registers,
    });
    this.reversals = new Counter({
      name: 'gateway_reversals_total',
      help: 'Inbound payments reversed by the scheme (9420/9421, R3)',
      registers,
    });
    this.replyLost = new Counter({
      name: 'gateway_reply_lost_total',
      help: 'Inbound 9210s lost with their arrival connection or past T_in (R4)',
      registers,
    });
    this.repeats = new Counter({
      name: 'gateway_repeats_total',
      help: 'Repeats: 9201s and known 9200s received (inbound, R5), 9201s sent (outbound, R7)',
      labelNames: ['direction'],
      registers,
    });
    this.answers = new Counter({
      name: 'gateway_inbound_answers_total',
      help: 'What became of each inbound 9200: sent (within T_in), late, lost, unrecorded (left unanswered)',
      labelNames: ['path', 'result'],
      registers,
    });
    this.inboundSeconds = new Histogram({
      name: 'gateway_inbound_reply_seconds',
      help: 'From the 9200 read to its 9210 written on the arrival connection',
      labelNames: ['path'],
      buckets: INBOUND_BUCKETS,
      registers,
    });
    this.margin = new Histogram({
      name: 'gateway_inbound_deadline_margin_seconds',
      help: 'T_in minus the time taken, at each 9210 written: how close to the scheme deadline',
      labelNames: ['path'],
      buckets: MARGIN_BUCKETS,
      registers,
    });
    this.reports = new Counter({
      name: 'gateway_outbound_reports_total',
      help: 'Outbound pacs.002 reports put, by whether within T_out of the instruction and outcome',
      labelNames: ['result', 'outcome'],
      registers,
    });
    this.outboundSeconds = new Histogram({
      name: 'gateway_outbound_report_seconds',
      help: 'From the instruction recorded to its pacs.002 put',
      buckets: OUTBOUND_BUCKETS,
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'gateway_ledger_commit_seconds',
      help: 'One group-commit statement, from sending it to its result',
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'gateway_ledger_batch_transitions',
      help: 'Transitions in one group-commit batch',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.batchesFailed = new Counter({
      name: 'gateway_ledger_batches_failed_total',
      help: 'Group-commit batches that failed (the steps are retried)',
      registers,
    });
    this.offersShed = new Counter({
      name: 'gateway_admission_shed_total',
      help: 'Inbound payments stood in at once rather than offered (admission control), by reason: window, offered, loop, ledger',
      labelNames: ['reason'],
      registers,
    });
    this.schemeRefused = new Counter({
      name: 'gateway_scheme_refused_total',
      help: 'Scheme messages refused by the wire (R11): code mac (answered 9068) or format (9020)',
      labelNames: ['code'],
      registers,
    });
    this.participantRefused = new Counter({
      name: 'gateway_participant_refused_total',
      help: 'Participant MQ messages refused, answered RJCT 9020 and moved to the backout queue',
      labelNames: ['kind'],
      registers,
    });
    this.eventsDropped = new Counter({
      name: 'gateway_outbox_events_dropped_total',
      help: 'Unsent payment events this site dropped from the outbox at its bound (events.outbox), by topic',
      labelNames: ['topic'],
      registers,
    });
    for (const code of ['mac', 'format']) this.schemeRefused.inc({ code }, 0);
    for (const topic of Object.values(PAYMENT_EVENT_TOPICS)) this.eventsDropped.inc({ topic }, 0);
    this.scraped();
  }

  /** What scrape-time gauges read; set once the site is built. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  readonly payments: PaymentObserver = {
    stepCommitted: (s: CommittedStep) => {
      this.steps.inc({ direction: s.direction, to: s.to });
      if (s.shed !== undefined) this.offersShed.inc({ reason: s.shed });
      if (s.direction === 'inbound') {
        if (s.to === 'stood-in' && s.from !== 'stood-in') this.standIns.inc();
        else if (s.to === 'reversed' && s.from !== 'reversed') this.reversals.inc();
        else if (s.to === 'reply-lost' && s.from !== 'reply-lost') this.replyLost.inc();
        else if (s.event === 'repeat') this.repeats.inc({ direction: 'inbound' });
      } else if (s.to === 'repeating') this.repeats.inc({ direction: 'outbound' });
    },
    inboundAnswered: (a: InboundAnswer) => {
      this.answers.inc({ path: a.path, result: a.result });
      if (a.seconds !== undefined) this.inboundSeconds.observe({ path: a.path }, a.seconds);
      if (a.marginSeconds !== undefined) this.margin.observe({ path: a.path }, a.marginSeconds);
    },
    outboundReported: (r: OutboundReport) => {
      this.reports.inc({ result: r.inTime ? 'in_time' : 'late', outcome: r.accepted ? 'accepted' : 'rejected' });
      this.outboundSeconds.observe(r.seconds);
    },
  };

  readonly ledgerBatch = (b: BatchWritten): void => {
    if (!b.ok) {
      this.batchesFailed.inc();
      return;
    }
    this.commitSeconds.observe(b.seconds);
    this.batchSize.observe(b.transitions);
  };

  readonly schemeRefusal = (code: 'mac' | 'format'): void => {
    this.schemeRefused.inc({ code });
  };

  /** The outbox bound dropped unsent payment events (src/events/outbox-bound.ts). */
  readonly outboxEventsDropped = (topic: string, n: number): void => {
    this.eventsDropped.inc({ topic }, n);
  };

  /** The bridge's refusal audit, counting each refusal once it is recorded. */
  countRefusals(audit: RefusalAudit): RefusalAudit {
    return {
      record: async (r) => {
        await audit.record(r);
        this.participantRefused.inc({ kind: r.kind });
      },
    };
  }

  /** Gauges read from the site's status and the database when Prometheus scrapes. */
  private scraped(): void {
    const registers = [this.registry];
    const status = () => this.sources?.status();
    /** A gauge set from the site's status at each scrape: one value, or one a set of labels; none before the site reports. */
    const fromStatus = (
      name: string,
      help: string,
      labelNames: string[],
      read: (s: SiteStatus) => number | [LabelValues<string>, number][],
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          const s = status();
          if (s === undefined) return;
          const r = read(s);
          if (typeof r === 'number') this.set(r);
          else for (const [labels, value] of r) this.set(labels, value);
        },
      });
    fromStatus('gateway_scheme_connections', 'Scheme connections of this site by DC and state', ['dc', 'state'], (s) =>
      DCS.flatMap((dc) =>
        STATES.map((state): [LabelValues<string>, number] => [
          { dc, state },
          s.connections.filter((c) => c.dc === dc && c.state === state).length,
        ]),
      ),
    );
    fromStatus(
      'gateway_scheme_connection_signed_on',
      'Whether a connection is signed on (R8), per direction: submit (881) and receive (891)',
      ['connection', 'dc', 'direction'],
      (s) =>
        s.connections.flatMap((c): [LabelValues<string>, number][] => [
          [{ connection: c.id, dc: c.dc, direction: 'submit' }, c.submit ? 1 : 0],
          [{ connection: c.id, dc: c.dc, direction: 'receive' }, c.receive ? 1 : 0],
        ]),
    );
    fromStatus(
      'gateway_scheme_in_flight',
      'Requests this site sent on a connection and awaits the response of',
      ['connection', 'dc'],
      (s) => s.connections.map((c) => [{ connection: c.id, dc: c.dc }, c.inFlight]),
    );
    fromStatus(
      'gateway_scheme_unanswered',
      'Requests the scheme sent on a connection not yet answered',
      ['connection', 'dc'],
      (s) => s.connections.map((c) => [{ connection: c.id, dc: c.dc }, c.unanswered]),
    );
    fromStatus(
      'gateway_scheme_reconnects',
      'Reconnections of a connection since the site started',
      ['connection', 'dc'],
      (s) => s.connections.map((c) => [{ connection: c.id, dc: c.dc }, c.reconnects]),
    );
    fromStatus('gateway_scheme_suspended', 'The scheme said 971 SUSPENDED (R10): nothing is submitted', [], (s) =>
      s.suspended ? 1 : 0,
    );
    fromStatus(
      'gateway_payments_in_memory',
      'Payments held in memory (not yet settled), by direction',
      ['direction'],
      (s) => [
        [{ direction: 'inbound' }, s.inFlight.inbound],
        [{ direction: 'outbound' }, s.inFlight.outbound],
      ],
    );
    fromStatus(
      'gateway_admission_load',
      'What admission control last sampled: offered (inbound offered, undecided), loop_delay_ms (event-loop p99), commit_delay_ms (oldest commit waiting)',
      ['signal'],
      ({ admission: a }) =>
        a === undefined
          ? []
          : [
              [{ signal: 'offered' }, a.offered],
              [{ signal: 'loop_delay_ms' }, a.loopDelayMs],
              [{ signal: 'commit_delay_ms' }, a.commitDelayMs],
            ],
    );
    fromStatus('gateway_lease_open', 'This site holds the open-site lease (1) or not (0)', [], (s) => (s.open ? 1 : 0));
    fromStatus(
      'gateway_lease_epoch',
      'The epoch this site writes under while open; 0 while closed',
      [],
      (s) => s.epoch,
    );
    fromStatus('gateway_mq_bridging', "The bridge reads the participants' queues (the open site only)", [], (s) =>
      s.mq.bridging ? 1 : 0,
    );
    const sources = () => this.sources;
    const lag = () => this.outboxLagOfThisScrape();
    new Gauge({
      name: 'gateway_outbox_unpublished_rows',
      help: 'Outbox rows not yet published, by topic, among the oldest 10000 (OUTBOX_LAG_ROWS_MAX)',
      labelNames: ['topic'],
      registers,
      async collect() {
        const rows = await lag();
        if (rows === undefined) return;
        this.reset();
        for (const l of rows) this.set({ topic: l.topic }, l.rows);
      },
    });
    new Gauge({
      name: 'gateway_outbox_oldest_unpublished_seconds',
      help: 'Age of the oldest outbox row not yet published, by topic',
      labelNames: ['topic'],
      registers,
      async collect() {
        const rows = await lag();
        if (rows === undefined) return;
        this.reset();
        for (const l of rows) this.set({ topic: l.topic }, l.oldestSeconds);
      },
    });
    new Counter({
      name: 'gateway_lease_changes_total',
      help: 'Changes of holder of the open-site lease as the ledger records them (lease_changes), by reason',
      labelNames: ['reason'],
      registers,
      async collect() {
        const src = sources();
        if (src === undefined) return;
        const changes = await bounded(
          leaseChanges(src.pool, src.leaseRole),
          SCRAPE_QUERY_TIMEOUT_MS,
          src.log,
          'lease changes',
        );
        if (changes === undefined) return;
        this.reset();
        for (const [reason, n] of changes) this.inc({ reason }, n);
      },
    });
  }

  private lagQuery: { at: number; rows: Promise<OutboxLag[] | undefined> } | undefined;

  /** One outbox query serves both of its gauges in a scrape (prom-client collects them together). */
  private outboxLagOfThisScrape(): Promise<OutboxLag[] | undefined> {
    const src = this.sources;
    if (src === undefined) return Promise.resolve(undefined);
    const now = performance.now();
    if (this.lagQuery === undefined || now - this.lagQuery.at > SCRAPE_QUERY_TIMEOUT_MS)
      this.lagQuery = { at: now, rows: bounded(outboxLag(src.pool), SCRAPE_QUERY_TIMEOUT_MS, src.log, 'outbox lag') };
    return this.lagQuery.rows;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
