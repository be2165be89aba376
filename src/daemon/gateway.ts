import type pg from 'pg';
import type { Clock, Timer } from '../base/clock.js';
import { openDatabase, type DatabaseHandle } from '../ledger/database.js';
import { DAY_MS, Ledger } from '../ledger/ledger.js';
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
import { fixedFence } from '../failover/fence.js';
import { InboundDesk } from '../payments/inbound-desk.js';
import { OutboundDesk } from '../payments/outbound-desk.js';
import { ParticipantDirectory } from '../participant/directory.js';

export interface GatewayStatus {
  site: string;
  suspended: boolean;
  connections: ConnectionStatus[];
  inFlight: { inbound: number; outbound: number };
  mq: { transport: string; durable: boolean };
}

/**
 * One gateway site: the ledger, the scheme link to both DCs, the participant link over MQ and the
 * payment lifecycle between them. Start order makes recovery safe: the ledger first, then the
 * payments left open by a previous run, then the scheme, then the participants' queues.
 */
/** How often the retention job removes finished payments older than the duplicate window. */
const RETENTION_EVERY_MS = 3_600_000;

export class Gateway {
  private retention: Timer | undefined;

  private constructor(
    private readonly config: GatewayConfig,
    private readonly log: Logger,
    private readonly db: DatabaseHandle,
    private readonly pool: pg.Pool,
    private readonly ledger: Ledger,
    private readonly transport: MqTransport,
    private readonly scheme: SchemePool,
    private readonly bridge: ParticipantBridge,
    private readonly inbound: InboundDesk,
    private readonly outbound: OutboundDesk,
  ) {}

  /** `deps.transport` replaces the one `config.mq` names: the demo shares its in-process broker with the bank simulator. */
  static async start(
    config: GatewayConfig,
    deps: { clock: Clock; log: Logger; transport?: MqTransport },
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
    });
    const participants = new ParticipantDirectory(config.participants);
    const transport = deps.transport ?? (await createTransport(config.mq, log));
    const refusals = new RefusalLog(pool, clock);
    const bridge = new ParticipantBridge({ transport, participants, clock, log, refusals });
    const fence = fixedFence(config.site);
    const inbound = new InboundDesk({
      ledger,
      clock,
      log,
      fence,
      participants,
      port: bridge,
      newOfferMessageId: newMessageId,
      timing: config.timing,
    });
    const scheme = new SchemePool(
      config.scheme,
      { clock, log },
      {
        // A request that cannot be recorded (ledger down) goes unanswered: the scheme times it out
        // and reverses it (R2, R3), which the ledger learns when the 9420 comes.
        onRequest: (m, reply) =>
          void inbound
            .onRequest(m, reply)
            .catch((e: Error) => log.error({ mti: m.mti, err: e.message }, 'scheme request not handled')),
      },
    );
    const outbound = new OutboundDesk({ ledger, clock, log, fence, scheme, port: bridge, timing: config.timing });

    const open = await ledger.findOpen();
    if (open.length > 0) log.info({ payments: open.length }, 'resuming payments left open by the previous run');
    await inbound.recover(open);
    await outbound.recover(open);
    scheme.start();
    await bridge.start({
      instruct: (p, instruction, mqMessageId) => outbound.instruct(p, instruction, mqMessageId),
      decide: (from, offerMessageId, decision, message) => inbound.decideOffer(from, offerMessageId, decision, message),
    });
    log.info(
      { site: config.site, participants: participants.all.map((p) => p.id), mq: transport.name },
      'gateway started',
    );
    const gateway = new Gateway(config, log, db, pool, ledger, transport, scheme, bridge, inbound, outbound);
    gateway.scheduleRetention(clock);
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

  status(): GatewayStatus {
    return {
      site: this.config.site,
      suspended: this.scheme.suspended,
      connections: this.scheme.status(),
      inFlight: { inbound: this.inbound.inFlight, outbound: this.outbound.inFlight },
      mq: { transport: this.transport.name, durable: this.transport.durable },
    };
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
    this.retention?.cancel();
    this.outbound.leaveNewInstructionsForNextRun();
    // [R8] The scheme link drains while the queues are still read, so held payments can be decided.
    await this.scheme.drain();
    await this.bridge.stop();
    this.inbound.stop();
    this.outbound.stop();
    await this.ledger.drain();
    await this.transport.close();
    await this.pool.end();
    await this.db.stop();
    this.log.info('gateway stopped');
  }
}
