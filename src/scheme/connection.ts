import { connect, type Socket } from 'node:net';
import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { DecodeError, IsoMessage } from './codec.js';
import { RequestError } from './errors.js';
import { networkRequest } from './messages.js';
import { ActionCode, FunctionCode } from './profile.js';
import type { ReplyHandle } from './reply.js';
import { Wire, type RequestOptions } from './wire.js';

export type Dc = 'DC1' | 'DC2';

/** Section 6. */
export type ConnectionState = 'connecting' | 'signing-on' | 'ready' | 'draining' | 'closed';

/** How often a drain looks at what it waits for. */
const DRAIN_POLL_MS = 10;

export type ServiceStatus = 'ACTIVE' | 'SUSPENDED';

export interface ConnectionOptions {
  /** Stable name for logs and the console, e.g. `DC1-1`. */
  id: string;
  dc: Dc;
  host: string;
  port: number;
  macKey: Buffer;
  /** R9 `H`. */
  heartbeatMs: number;
  /** Default wait for a payment response (R7 `T_out`, or the gateway's stricter one). */
  requestTimeoutMs: number;
  signOnTimeoutMs: number;
  connectTimeoutMs: number;
  /** Back-pressure: payment requests in flight on this connection at most. */
  maxInFlight: number;
  backoff: BackoffOptions;
  /** How long a drain waits for outstanding responses before signing off anyway. */
  drainTimeoutMs: number;
}

export interface ConnectionStatus {
  id: string;
  dc: Dc;
  /** This TCP session's name, `<id>#<n>`: replies and repeats (R1, R7) are bound to a session, not a slot. */
  session: string | null;
  remote: string;
  /** Local address of the TCP connection, to find it in the scheme's logs; null when not connected. */
  local: string | null;
  state: ConnectionState;
  submit: boolean;
  receive: boolean;
  inFlight: number;
  unanswered: number;
  /** Clock time of the last state change. */
  since: number;
  reconnects: number;
  lastError: string | null;
  /** Clock time of the last echo through this session (R9), either way; null before one. */
  lastEcho?: number | null;
}

export interface ConnectionHandler {
  /** A payment or reversal request from the scheme, with the only handle that can answer it (R1). */
  onRequest(request: IsoMessage, reply: ReplyHandle, connection: SchemeConnection): void;
  onServiceStatus?(status: ServiceStatus, connection: SchemeConnection): void;
  onStateChange?(status: ConnectionStatus): void;
  /** [R11] A message the wire refused (bad MAC or format), answered 9068 or 9020 when it was a request. */
  onRefused?(code: DecodeError['code'], connection: SchemeConnection): void;
}

export interface ConnectionDeps {
  clock: Clock;
  log: Logger;
  random?: () => number;
}

/**
 * One persistent connection to a scheme DC: connect, sign on both ways (R8), carry traffic,
 * reconnect after a loss with jittered back-off (R9), and drain with sign-off when asked.
 */
export class SchemeConnection {
  private state: ConnectionState = 'closed';
  private wire: Wire | undefined;
  private socket: Socket | undefined;
  private submitOn = false;
  private receiveOn = false;
  private since: number;
  private reconnects = 0;
  private lastError: string | null = null;
  private stopping = false;
  private retry: Timer | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly deps: ConnectionDeps,
    private readonly handler: ConnectionHandler,
  ) {
    this.since = deps.clock.now();
    this.backoff = new Backoff(opts.backoff, deps.random);
    this.log = deps.log.child({ connection: opts.id, dc: opts.dc });
  }

  get id(): string {
    return this.opts.id;
  }

  /** The current TCP session's name, if connected. */
  get session(): string | undefined {
    return this.wire?.id;
  }

  /** Ready, signed on to submit and with room under its cap: may take an outbound payment. */
  get canSubmit(): boolean {
    return this.state === 'ready' && this.submitOn && this.wire !== undefined && this.wire.hasRoom;
  }

  status(): ConnectionStatus {
    return {
      id: this.opts.id,
      dc: this.opts.dc,
      session: this.wire?.id ?? null,
      remote: `${this.opts.host}:${this.opts.port}`,
      local:
        this.wire === undefined || this.socket === undefined
          ? null
          : `${this.socket.localAddress}:${this.socket.localPort}`,
      state: this.state,
      submit: this.submitOn,
      receive: this.receiveOn,
      inFlight: this.wire?.inFlightCount ?? 0,
      unanswered: this.wire?.unanswered ?? 0,
      since: this.since,
      reconnects: this.reconnects,
      lastError: this.lastError,
      lastEcho: this.wire?.lastEchoAt ?? null,
    };
  }

  start(): void {
    this.stopping = false;
    if (this.state === 'closed') this.connect();
  }

  get dc(): Dc {
    return this.opts.dc;
  }

  /**
   * Back after a drain (an operator's): connect and sign on again, as a new TCP session, so that
   * no reply or repeat bound to the drained session can take it for this one (R1, R7).
   */
  resume(): void {
    if (!this.stopping) return;
    this.stopping = false;
    if (this.state !== 'closed') return;
    this.reconnects++;
    this.connect();
  }

  /** [R7] Only a ready connection signed on to submit carries a payment request. */
  request(message: IsoMessage, options: RequestOptions = {}): Promise<IsoMessage> {
    if (this.state !== 'ready' || !this.submitOn || this.wire === undefined) {
      return Promise.reject(
        new RequestError('no-connection', `connection ${this.opts.id} is ${this.state}, not ready to submit`),
      );
    }
    return this.wire.request(message, options);
  }

  /**
   * [R8] Drain, in the profile's order: sign off receive (892), after which the scheme sends no
   * new inbound request here; answer the inbound requests already held (each answered within its
   * T_in by its desk, the stand-in included); stop submitting (`draining`); wait for the
   * outstanding outbound responses, at most T_out; sign off submit (882) and close. Until it stops
   * submitting the connection stays `ready` with receive off, and may still carry payments. The
   * whole drain is bounded by `drainTimeoutMs`. The connection does not come back.
   */
  async drain(): Promise<void> {
    this.stopping = true;
    this.retry?.cancel();
    const wire = this.wire;
    if (this.state !== 'ready' || wire === undefined) {
      this.stop();
      return;
    }
    const clock = this.deps.clock;
    const deadline = clock.now() + this.opts.drainTimeoutMs;
    // A wire that closes on the way has made the connection `closed` already (`lost`).
    await this.signOff(wire, FunctionCode.signOffReceive);
    if (!wire.open) return;
    this.receiveOn = false;
    this.setState('ready', true);
    await this.waitFor(wire, () => wire.unanswered === 0, deadline);
    if (!wire.open) return;
    this.setState('draining');
    await this.waitFor(
      wire,
      () => wire.inFlightCount === 0,
      Math.min(deadline, clock.now() + this.opts.requestTimeoutMs),
    );
    if (!wire.open) return;
    await this.signOff(wire, FunctionCode.signOffSubmit);
    this.submitOn = false;
    wire.close('drained');
  }

  private async signOff(wire: Wire, fn: string): Promise<void> {
    try {
      const r = await wire.request(networkRequest(fn, this.deps.clock.now()), {
        exempt: true,
        timeoutMs: this.opts.signOnTimeoutMs,
      });
      if (r.fields.get(26) !== ActionCode.accepted)
        this.log.warn({ function: fn, code: r.fields.get(26) }, 'sign-off refused');
    } catch (e) {
      this.log.warn({ reason: (e as Error).message, function: fn }, 'sign-off not acknowledged');
    }
  }

  /** Polls `done` until it holds, the wire closes or `until` (clock time) passes. */
  private async waitFor(wire: Wire, done: () => boolean, until: number): Promise<void> {
    while (wire.open && !done() && this.deps.clock.now() < until) {
      await new Promise<void>((resolve) => this.deps.clock.after(DRAIN_POLL_MS, resolve));
    }
  }

  /** Closes at once and for good; requests in flight fail with `closed`. */
  stop(): void {
    this.stopping = true;
    this.retry?.cancel();
    if (this.wire !== undefined) this.wire.close('stopped', false);
    else this.socket?.destroy();
    this.setState('closed');
  }

  private connect(): void {
    this.setState('connecting');
    const socket = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = socket;
    const timer = this.deps.clock.after(this.opts.connectTimeoutMs, () =>
      socket.destroy(new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`)),
    );
    const failed = (e: Error) => {
      timer.cancel();
      this.lost(`connect failed: ${e.message}`);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      timer.cancel();
      socket.off('error', failed);
      this.wire = new Wire(
        socket,
        {
          id: `${this.opts.id}#${this.reconnects + 1}`,
          macKey: this.opts.macKey,
          clock: this.deps.clock,
          log: this.log,
          requestTimeoutMs: this.opts.requestTimeoutMs,
          maxInFlight: this.opts.maxInFlight,
          heartbeatMs: this.opts.heartbeatMs,
        },
        {
          onRequest: (m, reply) => this.onRequest(m, reply),
          onUnmatched: (m) =>
            this.log.warn({ mti: m.mti, stan: m.fields.get(11) }, 'response matches no request in flight; discarded'),
          onRefused: (e) => this.handler.onRefused?.(e.code, this),
          onClose: (reason) => this.lost(reason),
        },
      );
      void this.signOn(this.wire);
    });
  }

  /** [R8] 9804 881 and 891, both answered 9814 0000, make the connection ready. */
  private async signOn(wire: Wire): Promise<void> {
    this.setState('signing-on');
    const ask = async (fn: string) => {
      const r = await wire.request(networkRequest(fn, this.deps.clock.now()), {
        exempt: true,
        timeoutMs: this.opts.signOnTimeoutMs,
      });
      const code = r.fields.get(26);
      if (code !== ActionCode.accepted) throw new Error(`sign-on ${fn} refused with ${code}`);
    };
    try {
      await Promise.all([ask(FunctionCode.signOnSubmit), ask(FunctionCode.signOnReceive)]);
    } catch (e) {
      wire.close(`sign-on failed: ${(e as Error).message}`, false);
      return;
    }
    if (!wire.open) return;
    this.submitOn = true;
    this.receiveOn = true;
    this.backoff.reset();
    this.lastError = null;
    this.setState('ready');
    this.log.info('signed on to submit and receive');
  }

  private onRequest(request: IsoMessage, reply: ReplyHandle): void {
    if (request.mti === '9824') {
      reply.reply(ActionCode.accepted);
      const text = request.fields.get(120);
      if (request.fields.get(24) === FunctionCode.serviceStatus && (text === 'ACTIVE' || text === 'SUSPENDED')) {
        this.handler.onServiceStatus?.(text, this);
      }
      return;
    }
    if (request.mti === '9804') {
      reply.reply(ActionCode.accepted);
      return;
    }
    this.handler.onRequest(request, reply, this);
  }

  private lost(reason: string): void {
    this.wire = undefined;
    this.socket = undefined;
    this.submitOn = false;
    this.receiveOn = false;
    if (this.stopping) {
      this.setState('closed');
      return;
    }
    this.lastError = reason;
    this.setState('closed');
    const delay = this.backoff.next();
    this.log.warn({ reason, retryInMs: delay }, 'connection lost; reconnecting');
    this.retry = this.deps.clock.after(delay, () => {
      if (this.stopping) return;
      this.reconnects++;
      this.connect();
    });
  }

  /** `flagsChanged` reports a change of the sign-on flags within one state. */
  private setState(state: ConnectionState, flagsChanged = false): void {
    if (this.state === state && !flagsChanged) return;
    this.state = state;
    this.since = this.deps.clock.now();
    this.handler.onStateChange?.(this.status());
  }
}
