import pg from 'pg';
import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';

/**
 * What one site tells another about rows in the ledger:
 * - `offer`: payments recorded on a closed site's connection, waiting for the open site to offer them;
 * - `outcome`: payments decided or stood in by another site, waiting for their arrival site to answer;
 * - `notices`: participant notices in the outbox, waiting for the open site to put them;
 * - `commands`: an operator's command for the site (`site_commands`), or a participant suspended
 *   or resumed (for the open site); its list names the command or the participant, as a hint.
 */
export type SignalKind = 'offer' | 'outcome' | 'notices' | 'commands';

const KINDS: ReadonlySet<string> = new Set<SignalKind>(['offer', 'outcome', 'notices', 'commands']);

/** Addresses whichever site is open, rather than a site by name. */
export const OPEN_SITE = '*open*';

/** The one channel every site listens on; a signal names its addressee. */
export const SIGNAL_CHANNEL = 'fps_sites';

/**
 * FPIDs in one notification: the payload must stay under PostgreSQL's 8000 bytes, and a FPID
 * with its quotes and comma is 45.
 */
const FPIDS_PER_NOTIFY = 150;

/** Reconnecting the listener: at once, then doubling to this. */
const RECONNECT_MAX_MS = 5_000;

export interface SignalSender {
  /**
   * Tells `to` (a site, or OPEN_SITE) that the payment (or, for `commands`, the command or
   * participant) waits for it. Best effort: polling covers a loss.
   */
  send(to: string, kind: SignalKind, fpid: string): void;
}

export interface SignalHandler {
  onSignal(kind: SignalKind, fpids: readonly string[]): void;
  /** The listener was down for a while: signals may have been lost; look in the ledger. */
  onResumed(): void;
}

/** One signal: its addressee, its kind, and the payment (or command, or participant) it is about. */
export interface Signal {
  to: string;
  kind: SignalKind;
  fpid: string;
}

/** A notification's payload: signals of one addressee and kind. */
interface Wire {
  to: string;
  kind: SignalKind;
  fpids: string[];
}

/**
 * The notifications' payloads for these signals: one per addressee and kind, each under
 * PostgreSQL's size limit (FPIDS_PER_NOTIFY FPIDs at most). The one place signals are grouped, for
 * a site's own sends and for those a ledger batch carries.
 */
export function signalPayloads(signals: Iterable<Signal>): string[] {
  const wires = new Map<string, Wire>();
  for (const { to, kind, fpid } of signals) {
    const key = `${to}\u0000${kind}`;
    const wire = wires.get(key) ?? { to, kind, fpids: [] };
    wire.fpids.push(fpid);
    wires.set(key, wire);
  }
  const payloads: string[] = [];
  for (const w of wires.values())
    for (let i = 0; i < w.fpids.length; i += FPIDS_PER_NOTIFY)
      payloads.push(JSON.stringify({ to: w.to, kind: w.kind, fpids: w.fpids.slice(i, i + FPIDS_PER_NOTIFY) }));
  return payloads;
}

/**
 * Cross-site signals over PostgreSQL LISTEN/NOTIFY: the sites share the ledger's server and nothing
 * else. A signal is a hint that saves a poll, never the truth: the payment's row is; a receiver
 * reads it before acting, and a signal lost (the listener reconnecting, a site dying before it
 * sent) is made good by the desks' polling. Sends made in one event-loop turn go as one
 * notification per addressee and kind, in the ledger's next batch when one waits to be written.
 */
export class SiteSignals implements SignalSender {
  private client: pg.Client | undefined;
  /** Signals sent this event-loop turn, grouped at the flush. */
  private pending: Signal[] = [];
  private flushing = false;
  private stopped = false;
  private reconnect: Timer | undefined;
  private delayMs = 0;

  constructor(
    private readonly opts: {
      url: string;
      site: string;
      pool: pg.Pool;
      clock: Clock;
      log: Logger;
      /** The ledger: a batch waiting to be written carries the signals (`Ledger.carrySignals`), saving a statement. */
      carrier?: { carrySignals(payloads: readonly string[]): boolean };
    },
    private readonly handler: SignalHandler,
  ) {}

  /** Listens until stop; resolves once listening, or once the first attempt failed (it keeps trying). */
  async start(): Promise<void> {
    await this.listen();
  }

  send(to: string, kind: SignalKind, fpid: string): void {
    if (this.stopped) return;
    this.pending.push({ to, kind, fpid });
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnect?.cancel();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    const payloads = signalPayloads(this.pending);
    this.pending = [];
    this.flushing = false;
    if (this.opts.carrier?.carrySignals(payloads) === true) return;
    try {
      await this.opts.pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) p', [SIGNAL_CHANNEL, payloads]);
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message, notifications: payloads.length }, 'cross-site signal not sent');
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.url });
    const lost = (err: Error | undefined) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.delayMs = Math.min(RECONNECT_MAX_MS, Math.max(100, this.delayMs * 2));
      this.opts.log.warn({ err: err?.message, retryInMs: this.delayMs }, 'cross-site listener lost; reconnecting');
      this.reconnect = this.opts.clock.after(this.delayMs, () => void this.listen());
    };
    client.on('error', lost);
    client.on('end', () => lost(undefined));
    client.on('notification', (n) => this.received(n.payload));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNAL_CHANNEL}`);
      if (this.delayMs > 0) {
        this.opts.log.info('cross-site listener back');
        this.handler.onResumed();
      }
      this.delayMs = 0;
    } catch (e) {
      lost(e as Error);
    }
  }

  private received(payload: string | undefined): void {
    let wire: Partial<Wire>;
    try {
      wire = JSON.parse(payload ?? '') as Partial<Wire>;
    } catch {
      this.opts.log.warn('cross-site signal not understood; ignored');
      return;
    }
    if (wire.to !== this.opts.site && wire.to !== OPEN_SITE) return;
    if (wire.kind === undefined || !KINDS.has(wire.kind)) return;
    if (!Array.isArray(wire.fpids) || !wire.fpids.every((f) => typeof f === 'string')) return;
    this.handler.onSignal(wire.kind, wire.fpids);
  }
}
