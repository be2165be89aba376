import { startTracing, type Tracing } from './tracing.js';
import type pg from 'pg';
import { monotonicClock, type Clock, type Timer } from '../base/clock.js';
import { backoffDelay, TRANSIENT_BACKOFF } from '../base/faults.js';
import { openDatabase, type DatabaseHandle } from '../ledger/database.js';
import { DAY_MS, Ledger, OPEN_SITE_LEASE } from '../ledger/ledger.js';
import { RefusalLog } from '../ledger/refusals.js';
import { purgeOlderThan } from '../ledger/retention.js';
import { migrate } from '../ledger/migrate.js';
import { createPool } from '../ledger/pool.js';
import type { Logger } from '../base/log.js';
import { INBOUND_SETTLED } from '../payments/machines/inbound.js';
import { OUTBOUND_SETTLED } from '../payments/machines/outbound.js';
import { ParticipantBridge } from '../participant/bridge.js';
import { createTransport, newMessageId, type MqTransport } from '../participant/mq/index.js';
import type { ConnectionStatus } from '../scheme/connection.js';
import { SchemePool } from '../scheme/pool.js';
import type { GatewayConfig } from './config.js';
import { Lease } from '../failover/lease.js';
import { LeaseKeeper, type CloseReason } from '../failover/lease-keeper.js';
import { InboundDesk } from '../payments/inbound-desk.js';
import { Admission, type Load } from '../payments/admission.js';
import { OutboundDesk } from '../payments/outbound-desk.js';
import { ParticipantDirectory } from '../participant/directory.js';
import { ParticipantNotices } from '../payments/participant-notices.js';
import { SiteSignals } from '../ledger/site-signals.js';
import { suspensions } from '../ledger/participant-suspensions.js';
import { GatewayMetrics } from '../ops/metrics.js';
import { startOpsServer, type OpsServer } from '../ops/server.js';
import { kafkaBrokers } from '../events/config.js';
import { PaymentEventRelay, type PaymentEventRelayStatus } from '../events/kafka-relay.js';
import { UnsentEventsBound } from '../events/outbox-bound.js';
import { prepareConsole, type ConsoleSite, type PreparedConsole } from '../ops/console/index.js';

export interface GatewayStatus {
  site: string;
  /** This site holds the open-site lease: it bridges MQ and submits outbound payments. */
  open: boolean;
  epoch: number;
  suspended: boolean;
  connections: ConnectionStatus[];
  inFlight: { inbound: number; outbound: number };
  mq: { transport: string; durable: boolean; bridging: boolean };
  /** The relay of payment events to Kafka: off without brokers; runs while this site is open. */
  events: PaymentEventRelayStatus | { on: false };
  admission: Load;
}

export interface GatewayDeps {
  clock: Clock;
  log: Logger;
  transport?: MqTransport;
  leaseClock?: Clock;
}

/** The relay of payment events to Kafka when brokers are configured; said once when it is off. */
function eventRelay(
  config: GatewayConfig,
  deps: { pool: pg.Pool; clock: Clock; log: Logger },
): PaymentEventRelay | undefined {
  const brokers = kafkaBrokers(config.events);
  if (brokers === undefined) {
    deps.log.info('event relay off (no events.kafka.brokers, no KAFKA_BROKERS): the outbox keeps the payment events');
    return undefined;
  }
  return new PaymentEventRelay(deps, { ...config.events.kafka, brokers });
}

/** The lease's statements run one at a time; a second connection stands by for a lost one. */
const LEASE_POOL_SIZE = 2;

/** How often the retention job removes finished payments older than the duplicate window. */
const RETENTION_EVERY_MS = 3_600_000;

/**
 * One gateway site: the ledger, the scheme link to both DCs, the participant link over MQ and the
 * payment lifecycle between them. Every site holds its own scheme connections; the one holding
 * the open-site lease also reads the participants' queues and submits outbound payments. Start
 * order makes recovery safe: the ledger, the lease's first attempt, this site's own inbound
 * payments left open, then the scheme. Opening resumes the outbound payments left open and only
 * then reads the queues; closing stops reading them first.
 */

export class Gateway {
  private retention: Timer | undefined;
  /** Opening and closing, one at a time and in the order the lease keeper told them. */
  private turns: Promise<void> = Promise.resolve();
  /** `/metrics`, `/healthz`, `/readyz`: bound first, closed last. */
  private ops: OpsServer | undefined;
  /** The OTLP export of traces, when configured: started first, its last spans sent at the very end. */
  private tracing: Tracing | undefined;
  /** The ops console on the same server, when configured. */
  private opsConsole: PreparedConsole | undefined;

  private constructor(
    private readonly config: GatewayConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly db: DatabaseHandle,
    private readonly pool: pg.Pool,
    private readonly leasePool: pg.Pool,
    private readonly ledger: Ledger,
    private readonly transport: MqTransport,
    private readonly ownsTransport: boolean,
    private readonly scheme: SchemePool,
    private readonly bridge: ParticipantBridge,
    private readonly inbound: InboundDesk,
    private readonly outbound: OutboundDesk,
    private readonly keeper: LeaseKeeper,
    private readonly signals: SiteSignals,
    private readonly notices: ParticipantNotices,
    private readonly events: PaymentEventRelay | undefined,
    private readonly eventsBound: UnsentEventsBound,
    private readonly admission: Admission,
  ) {}

  /**
   * `deps.transport` replaces the one `config.mq` names: the demo shares its in-process broker with
   * the bank simulator and both sites. A transport given is the giver's to close.
   */
  static async start(config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
    // Bound before anything starts, so that a port taken fails the start at once; not ready until attached.
    const metrics = new GatewayMetrics(config.site);
    const opsConsole =
      config.console === undefined
        ? undefined
        : await prepareConsole(config.console, { siteName: config.site, log: deps.log });
    const ops = await startOpsServer(config.http, { metrics, log: deps.log, ...opsConsole?.server });
    let tracing: Tracing | undefined;
    try {
      tracing = await startTracing(config.tracing, config.site, deps.log);
      const gateway = await Gateway.build(config, deps, metrics, ops, opsConsole);
      gateway.tracing = tracing;
      return gateway;
    } catch (e) {
      await tracing?.stop();
      await ops.close();
      throw e;
    }
  }

  private static async build(
    config: GatewayConfig,
    deps: GatewayDeps,
    metrics: GatewayMetrics,
    ops: OpsServer,
    opsConsole: PreparedConsole | undefined,
  ): Promise<Gateway> {
    const { clock, log } = deps;
    const db = await openDatabase({ name: config.site, ...config.database }, log);
    await migrate(db.migrationUrl, log);
    const pool = createPool({ url: db.url, max: config.ledger.poolSize }, log);
    const ledger = new Ledger(pool, clock, log, {
      finalStates: [...INBOUND_SETTLED, ...OUTBOUND_SETTLED],
      duplicateWindowDays: config.ledger.duplicateWindowDays,
      maxBatch: config.ledger.maxBatch,
      maxInFlight: config.ledger.maxInFlight,
      onBatch: metrics.ledgerBatch,
    });
    const participants = new ParticipantDirectory(config.participants);
    const transport = deps.transport ?? (await createTransport(config.mq, log));
    const ownsTransport = deps.transport === undefined;
    const refusals = new RefusalLog(pool, clock);
    const bridge = new ParticipantBridge({
      transport,
      participants,
      clock,
      log,
      refusals: metrics.countRefusals(refusals),
    });
    // The keeper tells the gateway, which is made after it.
    const told: { gateway?: Gateway } = {};
    let firstOpen: (() => void) | undefined;
    // The lease's own connections: a renew never queues behind the ledger's batches.
    const leasePool = createPool(
      {
        url: db.url,
        max: LEASE_POOL_SIZE,
        applicationName: `lease ${config.site}`,
        connectTimeoutMs: config.failover.lease.renewDeadlineMs,
      },
      log,
    );
    const keeper = new LeaseKeeper({
      lease: new Lease(leasePool, OPEN_SITE_LEASE, config.site, config.failover.lease),
      timing: config.failover.lease,
      // The renew deadline must hold whatever the wall clock does.
      clock: deps.leaseClock ?? monotonicClock,
      log,
      listener: {
        onOpen: (epoch) => {
          firstOpen?.();
          told.gateway?.turn('open', epoch);
        },
        onClose: (reason) => told.gateway?.turn('closed', reason),
        // A manual move releases the lease once the queues are no longer read.
        whenClosed: () => told.gateway?.turns ?? Promise.resolve(),
      },
    });
    const fence = keeper.fence;
    const notices = new ParticipantNotices({ pool, ledger, port: bridge, clock, log });
    const events = eventRelay(config, { pool, clock, log });
    // On every site, relay on or off: a relay that never runs or cannot send leaves the events to pile up.
    const eventsBound = new UnsentEventsBound(
      { pool, clock, log, onDropped: metrics.outboxEventsDropped },
      config.events.outbox,
    );
    const heard: { inbound?: InboundDesk } = {};
    const signals = new SiteSignals(
      { url: db.url, site: config.site, pool, clock, log, carrier: ledger },
      {
        onSignal: (kind, fpids) =>
          kind === 'notices'
            ? notices.wake()
            : kind === 'commands'
              ? told.gateway?.opsConsole?.signalled()
              : heard.inbound?.onSignal(kind, fpids),
        // Signals may have been lost meanwhile: the desks' polls find their payments; notices now.
        onResumed: () => notices.wake(),
      },
    );
    await signals.start();
    const admission = new Admission(
      {
        clock,
        sources: { offered: () => heard.inbound?.offeredHeld ?? 0, commitDelayMs: () => ledger.commitDelayMs },
      },
      config.admission,
    );
    const inbound = new InboundDesk({
      ledger,
      clock,
      log,
      fence,
      isOpen: () => keeper.isOpen,
      participants,
      port: bridge,
      newOfferMessageId: newMessageId,
      signals,
      timing: config.timing,
      observer: metrics.payments,
      admission,
    });
    heard.inbound = inbound;
    const scheme = new SchemePool(
      config.scheme,
      { clock, log },
      {
        // A request that cannot be recorded (ledger down) goes unanswered: the scheme times it out
        // and reverses it (R2, R3), which the ledger learns when the 9420 comes.
        onRequest: (m, reply) =>
          void inbound.onRequest(m, reply).catch((e: Error) => {
            log.error({ mti: m.mti, err: e.message }, 'scheme request not handled');
            // Given up, so that a drain does not wait for it.
            reply.leaveUnanswered();
          }),
        onRefused: metrics.schemeRefusal,
      },
    );
    const outbound = new OutboundDesk({
      ledger,
      clock,
      log,
      fence,
      scheme,
      port: bridge,
      timing: config.timing,
      observer: metrics.payments,
      intake: () => admission.intake(),
    });

    const gateway = new Gateway(
      config,
      clock,
      log,
      db,
      pool,
      leasePool,
      ledger,
      transport,
      ownsTransport,
      scheme,
      bridge,
      inbound,
      outbound,
      keeper,
      signals,
      notices,
      events,
      eventsBound,
      admission,
    );
    told.gateway = gateway;
    admission.start();
    gateway.ops = ops;
    metrics.attach({ status: () => gateway.status(), pool, leaseRole: OPEN_SITE_LEASE, log });
    // A lone site (or the one whose lease is free) opens at once: wait for the first attempt, so
    // that it offers what it recovers and the first payments that arrive.
    const attempted = new Promise<void>((resolve) => {
      firstOpen = resolve;
      clock.after(config.failover.lease.renewDeadlineMs, resolve);
    });
    keeper.start();
    await attempted;
    // Opened at once: its queues are read before start returns.
    await gateway.turns;
    // The inbound payments that arrived on this site's connections (the desk picks them): answering
    // and standing in are the arrival site's to do, open or closed.
    const open = (await ledger.findOpen()).filter((p) => p.direction === 'inbound');
    if (open.length > 0) log.info({ payments: open.length }, 'inbound payments left open in the ledger');
    await inbound.recover(open);
    scheme.start();
    ops.attach({ status: () => gateway.status(), pool });
    gateway.opsConsole = opsConsole;
    opsConsole?.attach(gateway.consoleSite());
    log.info(
      {
        site: config.site,
        participants: participants.all.map((p) => p.id),
        mq: transport.name,
        open: keeper.isOpen,
        http: ops.url,
      },
      'gateway started',
    );
    gateway.scheduleRetention(clock);
    eventsBound.start();
    return gateway;
  }

  /**
   * Finished payments older than the duplicate window leave the ledger: until then their FPID is
   * a duplicate (R5); after it the scheme would not repeat them either.
   */
  private scheduleRetention(clock: Clock): void {
    const run = () => {
      purgeOlderThan(this.pool, clock, this.config.ledger.duplicateWindowDays * DAY_MS, {
        finalStates: [...INBOUND_SETTLED, ...OUTBOUND_SETTLED],
      }).then(
        (purged) => this.log.info(purged, 'retention: removed finished payments older than the duplicate window'),
        (e: Error) => this.log.error({ err: e.message }, 'retention run failed; will try again'),
      );
      // Refused participant messages are kept as long as the payments they may have concerned.
      new RefusalLog(this.pool, clock)
        .purgeOlderThan(this.config.ledger.duplicateWindowDays * DAY_MS)
        .catch((e: Error) =>
          this.log.error({ err: e.message }, 'purging refused participant messages failed; will try again'),
        );
      this.retention = clock.after(RETENTION_EVERY_MS, run);
    };
    this.retention = clock.after(RETENTION_EVERY_MS, run);
  }

  /** Queues an opening or a closing behind the one before, so that the queues are read only while open. */
  private turn(to: 'open', epoch: number): void;
  private turn(to: 'closed', reason: CloseReason): void;
  private turn(to: 'open' | 'closed', why: number | CloseReason): void {
    this.turns = this.turns
      .then(() => (to === 'open' ? this.opened(why as number) : this.closed(why as CloseReason)))
      .catch((e: Error) => this.log.error({ to, err: e.message }, 'changing between open and closed failed'));
  }

  /**
   * [P3] Open: resume the outbound payments left open (by this site or the one before), read the
   * queues, offer the inbound payments recorded on any site and not yet offered, put the
   * participant notices the outbox holds, and relay its payment events to Kafka.
   */
  private async opened(epoch: number): Promise<void> {
    if (!this.keeper.isOpen) return;
    this.log.warn({ site: this.config.site, epoch }, "this site is open: it bridges the participants' queues");
    // A broker or database away at this moment must not leave an open site that does not bridge.
    for (let attempt = 1; this.keeper.isOpen; attempt += 1) {
      try {
        await this.open();
        return;
      } catch (e) {
        await this.bridge.stop().catch(() => undefined);
        const retryInMs = backoffDelay(TRANSIENT_BACKOFF, attempt);
        this.log.warn({ err: (e as Error).message, attempt, retryInMs }, 'opening did not complete; trying again');
        await new Promise<void>((resolve) => this.clock.after(retryInMs, resolve));
      }
    }
  }

  private async open(): Promise<void> {
    const open = await this.ledger.findOpen();
    await this.outbound.recover(open);
    if (!this.keeper.isOpen) return;
    // Before any queue is read: a participant suspended on either site stays unread here (a
    // failure to read them fails the opening, which is tried again).
    await this.applySuspended((await suspensions(this.pool)).map((x) => x.participant));
    await this.bridge.start({
      instruct: (p, instruction, mqMessageId, traceparent) =>
        this.outbound.instruct(p, instruction, mqMessageId, traceparent),
      decide: (from, offerMessageId, decision, message) =>
        this.inbound.decideOffer(from, offerMessageId, decision, message),
    });
    await this.inbound.opened(open);
    this.notices.start();
    this.events?.start();
  }

  /** [P3] Closed: stop taking new work from MQ at once; the ledger refuses this site's fenced writes. */
  private async closed(reason: CloseReason): Promise<void> {
    if (reason !== 'stopped')
      this.log.warn({ site: this.config.site, reason }, 'this site is closed: it stops bridging');
    await this.bridge.stop();
    await this.notices.stop();
    await this.events?.stop();
  }

  status(): GatewayStatus {
    return {
      site: this.config.site,
      open: this.keeper.isOpen,
      epoch: this.keeper.fence().epoch,
      suspended: this.scheme.suspended,
      connections: this.scheme.status(),
      inFlight: { inbound: this.inbound.inFlight, outbound: this.outbound.inFlight },
      mq: { transport: this.transport.name, durable: this.transport.durable, bridging: this.bridge.bridging },
      events: this.events?.status() ?? { on: false },
      admission: this.admission.sampled,
    };
  }

  /** What the ops console reads of this site and asks of it. */
  private consoleSite(): ConsoleSite {
    const byTarget = (t: { connection: string } | { dc: string }) => (c: { id: string; dc: string }) =>
      'connection' in t ? c.id === t.connection : c.dc === t.dc;
    const named = (t: { connection: string } | { dc: string }) =>
      'connection' in t ? `connection ${t.connection}` : `DC ${t.dc}`;
    return {
      site: this.config.site,
      pool: this.pool,
      leaseRole: OPEN_SITE_LEASE,
      tInMs: this.config.timing.tInMs,
      status: () => this.status(),
      drained: () => this.scheme.drained,
      participants: () => this.config.participants.map((p) => p.id),
      suspended: () => this.bridge.suspended,
      requestMove: (by) =>
        new Lease(this.pool, OPEN_SITE_LEASE, this.config.site, this.config.failover.lease).requestMove(by),
      drain: async (t) => {
        const { ids, done } = this.scheme.drainSome(byTarget(t));
        done.catch((e: Error) => this.log.error({ err: e.message }, 'operator drain failed'));
        return ids.length > 0
          ? { ok: true, connections: ids }
          : { ok: false, reason: `no ${named(t)} here that is not drained already` };
      },
      undrain: (t) => {
        const ids = this.scheme.undrainSome(byTarget(t));
        return ids.length > 0 ? { ok: true, connections: ids } : { ok: false, reason: `no drained ${named(t)} here` };
      },
      applySuspended: (p) => this.applySuspended(p),
      signal: (to, about) => this.signals.send(to, 'commands', about),
    };
  }

  /** Suspends here exactly the participants the ledger holds suspended (of those configured). */
  private async applySuspended(participants: readonly string[]): Promise<void> {
    const wanted = new Set(participants);
    for (const p of this.bridge.suspended) if (!wanted.has(p)) await this.bridge.resume(p);
    for (const p of this.config.participants) if (wanted.has(p.id)) await this.bridge.suspend(p.id);
  }

  /** Where `/metrics`, `/healthz` and `/readyz` are served. */
  get httpUrl(): string | undefined {
    return this.ops?.url;
  }

  /**
   * Drains and closes, in this order:
   * - instructions read from now on are recorded (their MQ message committed) but not submitted:
   *   the next run's recovery submits and reports them;
   * - the scheme link drains (R8): receive is signed off first, so no new inbound payment comes;
   *   the participants' queues are still read meanwhile, so the decisions on the inbound payments
   *   held arrive (the stand-in answers the rest within T_in); outstanding outbound responses are
   *   awaited; then submit is signed off;
   * - only then the queues stop being read, the desks stop and the ledger closes.
   */
  async stop(): Promise<void> {
    this.ops?.stopping();
    this.retention?.cancel();
    await this.eventsBound.stop();
    this.outbound.leaveNewInstructionsForNextRun();
    // [R8] The scheme link drains while the queues are still read, so held payments can be decided.
    await this.scheme.drain();
    await this.bridge.stop();
    await this.notices.stop();
    this.inbound.stop();
    this.outbound.stop();
    this.admission.stop();
    await this.ledger.drain();
    // After the last steps were written: what it has not relayed by now the next open site relays.
    await this.events?.stop();
    // Released last, so that the other site opens only once this one has stopped writing.
    await this.keeper.stop('stop');
    await this.turns;
    if (this.ownsTransport) await this.transport.close();
    await this.signals.stop();
    await this.opsConsole?.stop();
    await this.leasePool.end();
    await this.pool.end();
    await this.db.stop();
    await this.ops?.close();
    await this.tracing?.stop();
    this.log.info('gateway stopped');
  }
}
