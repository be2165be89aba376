import net from 'node:net';
import { systemClock, type Clock, type Timer } from '../../src/base/clock.js';
import { silentLogger, type Logger } from '../../src/base/log.js';
import type { IsoMessage } from '../../src/scheme/codec.js';
import { parseMacKey } from '../../src/scheme/mac.js';
import { advice } from '../../src/scheme/messages.js';
import { ActionCode, FunctionCode } from '../../src/scheme/profile.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';
import { scheduleFaults } from './faults.js';
import { PaymentGenerator } from './generator.js';
import { InboundDesk } from './inbound.js';
import { every } from './periodic.js';
import { splitEndpoint } from '../../src/base/config.js';
import { centralSettingsSchema, type CentralSettings, type CentralSettingsInput } from './options.js';
import { OutboundDesk } from './outbound.js';
import { buildReport, zeroFaults, zeroInbound, zeroOutbound, type Report, type SessionView } from './report.js';
import { Session, type Dc } from './session.js';
import { TimingTable } from '../timings.js';

export interface CentralDeps {
  clock: Clock;
  log: Logger;
  /** Source of the random amounts, accounts and fault choices. */
  random: () => number;
}

/** A session named by a control request that cannot do what was asked. */
export class SessionUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionUnavailable';
  }
}

/** Wire cap on requests in flight per session; well under the 999,999 values of field 11. */
const MAX_IN_FLIGHT = 100_000;

/** R8: what each 9804 function code does to a session's sign-on state. */
const SIGN_ON: Readonly<Record<string, { direction: 'submit' | 'receive'; on: boolean }>> = {
  [FunctionCode.signOnSubmit]: { direction: 'submit', on: true },
  [FunctionCode.signOnReceive]: { direction: 'receive', on: true },
  [FunctionCode.signOffSubmit]: { direction: 'submit', on: false },
  [FunctionCode.signOffReceive]: { direction: 'receive', on: false },
};

/** Sign-offs listed per session in the report; a well-behaved gateway sends two. */
const MAX_SIGN_OFFS_KEPT = 8;

/** How often the inbound generator wakes at most, and at least. */
const LOAD_TICK_MIN_MS = 10;
const LOAD_TICK_MAX_MS = 1000;

/**
 * The simulated FPS Central Infrastructure: DC1 and DC2 listeners, one session per gateway
 * connection, and the scheme's side of R1..R11. Runs in-process for tests or under main.ts.
 */
export class Central {
  private readonly settings: CentralSettings;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly macKey: Buffer;
  private readonly servers: Array<{ dc: Dc; server: net.Server }> = [];
  /** Every session of the run, closed ones too, for the report. */
  private readonly all = new Map<string, Session>();
  private readonly live = new Set<Session>();
  private readonly sequence: Record<Dc, number> = { DC1: 0, DC2: 0 };
  private readonly counts = { inbound: zeroInbound(), outbound: zeroOutbound(), faults: zeroFaults() };
  private readonly inbound: InboundDesk;
  private readonly outbound: OutboundDesk;
  private readonly generator: PaymentGenerator;
  /** `--timings N`: per-payment times for benchmarks, N payments at most; off at 0. */
  readonly timings: TimingTable;
  private timers: Timer[] = [];
  /** The `--inbound-rate` generator, replaced by `setInboundRate`. */
  private load: Timer | undefined;
  private turn = 0;
  private suspended = false;
  private stopped = false;

  constructor(settings: CentralSettingsInput, deps: Partial<CentralDeps> = {}) {
    this.settings = centralSettingsSchema.parse(settings);
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.random = deps.random ?? Math.random;
    this.macKey = parseMacKey(this.settings.macKey);
    const s = this.settings;
    this.timings = new TimingTable(s.timings);
    this.inbound = new InboundDesk({
      tInMs: s.tInMs,
      reversalRepeatMs: s.reversalRepeatMs,
      clock: this.clock,
      counts: this.counts.inbound,
      timings: this.timings,
      receiver: (prefer, except) => this.receiver(prefer, except),
      stopped: () => this.stopped,
    });
    this.outbound = new OutboundDesk({
      tOutMs: s.tOutMs,
      answerDelayMs: s.answerDelayMs,
      corruptMacRate: s.corruptMacRate,
      macKey: this.macKey,
      clock: this.clock,
      random: this.random,
      counts: this.counts.outbound,
      faults: this.counts.faults,
      timings: this.timings,
      suspended: () => this.suspended,
    });
    this.generator = new PaymentGenerator(s.sortCodes, this.clock, this.random);
  }

  /** Opens every listener; resolves with the addresses actually bound (port 0 becomes a real port). */
  async start(): Promise<Array<{ dc: Dc; address: string }>> {
    const wanted: Array<[Dc, string]> = [
      ...this.settings.dc1.map((e): [Dc, string] => ['DC1', e]),
      ...this.settings.dc2.map((e): [Dc, string] => ['DC2', e]),
    ];
    for (const [dc, text] of wanted) {
      const e = splitEndpoint(text);
      const server = net.createServer((socket) => this.accept(dc, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(e.port, e.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push({ dc, server });
    }
    this.timers = scheduleFaults(this.settings, this.clock, {
      dropRandom: () => this.drop(),
      suspend: () => this.suspend(),
      resume: () => this.resume(),
    });
    this.setInboundRate(this.settings.inboundRate);
    const addresses = this.addresses();
    this.log.info({ listeners: addresses }, 'central infrastructure listening');
    return addresses;
  }

  addresses(): Array<{ dc: Dc; address: string }> {
    return this.servers.map(({ dc, server }) => {
      const a = server.address() as net.AddressInfo;
      return { dc, address: `${a.address}:${a.port}` };
    });
  }

  /** Closes listeners and every session at once; nothing is sent after. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.load?.cancel();
    for (const s of this.live) s.wire.close('simulator stopping', false);
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.log.info('central infrastructure stopped');
  }

  report(): Report {
    return buildReport(
      { ...this.counts, suspended: this.suspended },
      [...this.all.values()].map((s) => ({ view: s.view(), counts: s.counts })),
    );
  }

  sessions(): SessionView[] {
    return [...this.all.values()].map((s) => s.view());
  }

  /**
   * Sends `count` new inbound payments now, round robin over the receiving sessions or all to
   * `sessionId`. None while suspended. Returns their FPIDs.
   */
  sendInbound(count: number, sessionId?: string): string[] {
    const target = sessionId === undefined ? undefined : this.session(sessionId);
    if (target !== undefined && !target.receiving)
      throw new SessionUnavailable(`session ${target.id} is not open and signed on to receive`);
    const fpids: string[] = [];
    if (this.suspended || this.stopped) return fpids;
    for (let i = 0; i < count; i++) {
      const s = target ?? this.receiver();
      if (s === undefined) break;
      fpids.push(this.inbound.send(s, this.generator.next()));
    }
    return fpids;
  }

  /**
   * Paces new inbound payments at `perSecond` from now on, as `--inbound-rate` does (0 stops it):
   * a benchmark sets each phase's rate once rather than asking for every burst.
   */
  setInboundRate(perSecond: number): void {
    this.load?.cancel();
    this.load = perSecond > 0 && !this.stopped ? this.generateLoad(perSecond) : undefined;
  }

  /** Drops a session abruptly, `sessionId` or a random open one. Returns the id dropped, if any. */
  drop(sessionId?: string): string | undefined {
    const open = [...this.live];
    const s = sessionId === undefined ? open[Math.floor(this.random() * open.length)] : this.session(sessionId);
    if (s === undefined || !s.wire.open) return undefined;
    this.counts.faults.dropped++;
    s.wire.close('dropped by fault injection', false);
    return s.id;
  }

  /** Stops reading and writing on a session without closing it: a silent peer. */
  mute(sessionId: string): void {
    const s = this.session(sessionId);
    if (!s.wire.open) throw new SessionUnavailable(`session ${s.id} is closed`);
    if (s.muted) return;
    this.counts.faults.muted++;
    s.mute();
  }

  /** R10: returns false when already suspended. */
  suspend(): boolean {
    return this.setSuspended(true);
  }

  resume(): boolean {
    return this.setSuspended(false);
  }

  private session(id: string): Session {
    const s = this.all.get(id);
    if (s === undefined) throw new SessionUnavailable(`no session ${id}`);
    return s;
  }

  private accept(dc: Dc, socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    // As the gateway's side does: a small answer goes at once, not after the peer's delayed ACK.
    socket.setNoDelay(true);
    const id = `${dc}#${++this.sequence[dc]}`;
    const session = new Session(
      id,
      dc,
      `${socket.remoteAddress}:${socket.remotePort}`,
      socket,
      {
        macKey: this.macKey,
        clock: this.clock,
        log: this.log,
        requestTimeoutMs: this.settings.tInMs,
        maxInFlight: MAX_IN_FLIGHT,
        heartbeatMs: this.settings.heartbeatMs, // R9
      },
      (s) => ({
        onRequest: (request, reply) => this.onRequest(s, request, reply),
        onUnmatched: (response) => this.inbound.onStray(s, response),
        // R11: the Wire has answered 9020/9068 already; we only count.
        onRefused: (e) => {
          if (e.code === 'mac') s.counts.mac_errors++;
          else s.counts.format_errors++;
        },
        onClose: (reason) => {
          s.closed(reason);
          this.live.delete(s);
          this.log.info({ connection: s.id, reason }, 'session closed');
        },
      }),
    );
    this.all.set(id, session);
    this.live.add(session);
    this.log.info({ connection: id, remote: session.remote }, 'session opened');
  }

  private onRequest(s: Session, request: IsoMessage, reply: ReplyHandle): void {
    if (request.mti === '9804') this.networkManagement(s, request, reply);
    else if (request.mti === '9200' || request.mti === '9201') this.outbound.onPayment(s, request, reply);
    else this.refuse(s, reply, `000 ${request.mti} is sent by the CI only`);
  }

  /** R8: sign-on and sign-off, per direction. Echoes (831) never get here: the Wire answers them. */
  private networkManagement(s: Session, request: IsoMessage, reply: ReplyHandle): void {
    const fn = request.fields.get(24) ?? '';
    const change = SIGN_ON[fn];
    if (change === undefined) {
      this.refuse(s, reply, `024 function ${fn} is not a sign-on or sign-off`);
      return;
    }
    if (!change.on) this.signedOff(s, fn);
    const wasSignedOn = s.signedOn;
    s[change.direction] = change.on;
    reply.reply(ActionCode.accepted);
    if (s.receiving) this.inbound.onReceiver(s);
    // R10: a session signing on during a suspension learns of it now, not at the next change.
    if (!wasSignedOn && s.signedOn && this.suspended) this.advise(s, 'SUSPENDED');
  }

  /**
   * [R8] A gateway drains by signing off receive first, then answers what it holds, then signs
   * off submit: an 882 while still signed on to receive, or while CI requests wait for answers on
   * the session, breaks that order and is counted.
   */
  private signedOff(s: Session, fn: string): void {
    if (s.signOffs.length < MAX_SIGN_OFFS_KEPT) s.signOffs.push(fn);
    if (fn !== FunctionCode.signOffSubmit) return;
    if (s.receive) {
      s.counts.drain_violations++;
      return;
    }
    // Answers read in the same chunk as the 882 reach their requests a few microtasks later.
    setImmediate(() => {
      if (this.inbound.awaitingOn(s) > 0) s.counts.drain_violations++;
    });
  }

  /** A valid message the CI does not take from a participant: 9020, field 44 says why (R11 style). */
  private refuse(s: Session, reply: ReplyHandle, why: string): void {
    s.counts.format_errors++;
    reply.reply(ActionCode.formatError, new Map([[44, why]]));
  }

  private setSuspended(on: boolean): boolean {
    if (this.suspended === on || this.stopped) return false;
    this.suspended = on;
    if (on) this.counts.faults.suspensions++;
    const status = on ? 'SUSPENDED' : 'ACTIVE';
    this.log.info({ status }, 'service status changed');
    // [R10] Every signed-on session is told (9824 971), and acknowledges (9834).
    for (const s of this.live) if (s.usable && s.signedOn) this.advise(s, status);
    return true;
  }

  private advise(s: Session, status: 'SUSPENDED' | 'ACTIVE'): void {
    s.counts.advices_sent++;
    s.wire.request(advice(FunctionCode.serviceStatus, status, this.clock.now()), { exempt: true }).then(
      (ack) => {
        if (ack.fields.get(26) === ActionCode.accepted) s.counts.advices_acknowledged++;
      },
      // Unacknowledged: visible as advices_sent above advices_acknowledged.
      () => undefined,
    );
  }

  /** R8: a session signed on to receive, `prefer` while it is, otherwise round robin. */
  private receiver(prefer?: Session, except?: Session): Session | undefined {
    if (prefer !== undefined && prefer !== except && prefer.receiving) return prefer;
    const ready = [...this.live].filter((s) => s.receiving && s !== except);
    if (ready.length === 0) return undefined;
    return ready[this.turn++ % ready.length];
  }

  /** `--inbound-rate`: payments a second, spread over ticks, fractions carried over. */
  private generateLoad(ratePerSec: number): Timer {
    const tick = Math.min(LOAD_TICK_MAX_MS, Math.max(LOAD_TICK_MIN_MS, 1000 / ratePerSec));
    let last = this.clock.now();
    let credit = 0;
    return every(this.clock, tick, () => {
      const now = this.clock.now();
      credit += (ratePerSec * (now - last)) / 1000;
      last = now;
      const n = Math.floor(credit);
      credit -= n;
      if (n > 0) this.sendInbound(n);
    });
  }
}
