import type { Socket } from 'node:net';
import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import { decode, encode, type DecodeError, type IsoMessage, type Stamp } from './codec.js';
import { RequestError } from './errors.js';
import { frame, FRAME_HEADER, FrameReader, FramingError } from './framing.js';
import { InFlight } from './in-flight.js';
import { networkRequest, responseTo, stanText, transmissionTime } from './messages.js';
import { ActionCode, FunctionCode, isRequest, MAX_FRAME_BODY, type Mti } from './profile.js';
import { ReplyHandle, type ReplyChannel } from './reply.js';

/** Frames written together at most; smaller batches let two busy ends work in parallel. */
const FLUSH_BATCH = 16;

export interface WireOptions {
  id: string;
  macKey: Buffer;
  clock: Clock;
  log: Logger;
  /** Default time a request waits for its response. */
  requestTimeoutMs: number;
  /** Back-pressure: requests in flight on this connection at most. */
  maxInFlight: number;
  /** R9: `H`, send an echo after this long without traffic from the peer; 0 turns echo off. */
  heartbeatMs: number;
}

/** What a wire tells its owner. Echo requests are answered by the wire itself and never surface. */
export interface WireHandler {
  onRequest(request: IsoMessage, reply: ReplyHandle): void;
  /** A valid response whose field 11 no request on this connection waits for. */
  onUnmatched?(response: IsoMessage): void;
  /** R11: a body refused; it was answered 9020 or 9068 when it was a request. */
  onRefused?(error: DecodeError): void;
  onClose(reason: string): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Network management (echo, sign-on, sign-off) is not held back by the cap on payments in flight. */
  exempt?: boolean;
  /** Field 11 chosen by the caller instead of allocated; refused if it is already in flight. */
  stan?: number;
}

/**
 * One framed, MAC-protected ISO 8583 message stream over a socket: the part of a connection that
 * the gateway and the scheme simulator share. Writes made in one turn of the event loop leave in a
 * single socket write.
 */
export class Wire implements ReplyChannel {
  readonly id: string;
  private readonly reader = new FrameReader();
  private readonly inFlight: InFlight;
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;
  private muted = false;
  private unansweredCount = 0;
  private heartbeat: Timer | undefined;
  private echoPending = false;
  private lastReceivedAt: number;

  constructor(
    private readonly socket: Socket,
    private readonly opts: WireOptions,
    private readonly handler: WireHandler,
  ) {
    this.id = opts.id;
    this.inFlight = new InFlight(opts.clock, opts.maxInFlight);
    this.lastReceivedAt = opts.clock.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.finish(`socket error: ${e.message}`));
    socket.on('close', () => this.finish('closed by peer'));
    this.armHeartbeat();
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Requests sent and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get hasRoom(): boolean {
    return this.inFlight.hasRoom;
  }

  /** Requests received whose reply handle has not been used. */
  get unanswered(): number {
    return this.unansweredCount;
  }

  /** Sends a request with fresh fields 7 and 11 and resolves with its response on this connection. */
  request(message: IsoMessage, options: RequestOptions = {}): Promise<IsoMessage> {
    if (this.closed) return Promise.reject(new RequestError('closed', `connection ${this.id} is closed`));
    const stan = options.stan ?? this.inFlight.allocate();
    let waiting: Promise<IsoMessage>;
    try {
      waiting = this.inFlight.track(stan, options.timeoutMs ?? this.opts.requestTimeoutMs, options.exempt !== true);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    this.write(message, { time: transmissionTime(this.opts.clock.now()), stan: stanText(stan) });
    return waiting;
  }

  respond(request: IsoMessage, action: ActionCode, extra: ReadonlyMap<number, string>): boolean {
    if (this.closed) return false;
    this.write(responseTo(request.mti, request.fields, action, this.opts.clock.now(), extra));
    return true;
  }

  /**
   * Fault injection for simulators: a silent peer. Nothing more is read or written and no echo is
   * sent, so the other end's echo (R9) is what must notice.
   */
  mute(): void {
    this.muted = true;
    this.socket.pause();
    this.heartbeat?.cancel();
    this.outbox = [];
  }

  /** Closes the connection. Graceful lets what is already written leave first. */
  close(reason: string, graceful = true): void {
    if (this.closed) return;
    if (graceful) {
      this.flush();
      this.socket.end();
      this.opts.clock.after(1000, () => this.socket.destroy());
    } else {
      this.socket.destroy();
    }
    this.finish(reason);
  }

  /**
   * Writes an already encoded body as one frame, unchecked. Fault injection only: the scheme
   * simulator uses it to send a message whose MAC it corrupted after encoding.
   */
  writeRaw(body: Buffer): void {
    if (!this.closed) this.enqueue(frame(body));
  }

  private write(message: IsoMessage, stamp?: Stamp): void {
    // The body is encoded after room for its frame header, so the frame needs no second copy.
    const framed = encode(message, this.opts.macKey, FRAME_HEADER, stamp);
    const length = framed.length - FRAME_HEADER;
    if (length > MAX_FRAME_BODY) throw new FramingError(`body of ${length} bytes is over ${MAX_FRAME_BODY}`);
    framed.writeUInt16BE(length, 0);
    this.enqueue(framed);
  }

  private enqueue(framed: Buffer): void {
    if (this.muted) return;
    this.outbox.push(framed);
    // A full batch leaves at once so that the peer starts on it while this side carries on.
    if (this.outbox.length >= FLUSH_BATCH) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.outbox.length === 0 || this.socket.destroyed) return;
    const out = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    this.outbox = [];
    this.socket.write(out);
  }

  private onData(chunk: Buffer): void {
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch (e) {
      // [R11] A frame that breaks section 2 closes the connection.
      const reason = e instanceof FramingError ? `framing error: ${e.message}` : String(e);
      this.opts.log.warn({ connection: this.id, reason }, 'closing connection on a bad frame');
      this.close(reason, false);
      return;
    }
    if (bodies.length > 0) this.lastReceivedAt = this.opts.clock.now();
    for (const body of bodies) {
      if (this.closed) return;
      this.onBody(body);
    }
  }

  private onBody(body: Buffer): void {
    const result = decode(body, this.opts.macKey);
    if (!result.ok) {
      this.refuse(result.error);
      return;
    }
    const message = result.message;
    if (isRequest(message.mti)) {
      if (message.mti === '9804' && message.fields.get(24) === FunctionCode.echo) {
        this.respond(message, ActionCode.accepted, new Map());
        return;
      }
      this.unansweredCount++;
      const handle = new ReplyHandle(this, message, this.opts.clock.now(), () => this.unansweredCount--);
      this.handler.onRequest(message, handle);
      return;
    }
    const stan = Number(message.fields.get(11));
    if (!this.inFlight.settle(stan, message)) this.handler.onUnmatched?.(message);
  }

  /** [R11] Answers a refused request with its response type and 9020 or 9068; drops a refused response. */
  private refuse(error: DecodeError): void {
    const { mti } = error;
    this.opts.log.warn({ connection: this.id, mti, code: error.code, field: error.field, reason: error.reason }, 'refused a message');
    if (mti !== undefined && isRequest(mti)) {
      const answerable: Mti = mti;
      const extra = new Map<number, string>();
      if (error.code === 'format') extra.set(44, `${String(error.field).padStart(3, '0')} ${error.reason}`.slice(0, 99));
      this.respond({ mti: answerable, fields: error.fields }, error.code === 'mac' ? ActionCode.macFailure : ActionCode.formatError, extra);
    }
    this.handler.onRefused?.(error);
  }

  private armHeartbeat(): void {
    if (this.opts.heartbeatMs <= 0 || this.closed) return;
    const due = this.lastReceivedAt + this.opts.heartbeatMs - this.opts.clock.now();
    this.heartbeat = this.opts.clock.after(due, () => this.onHeartbeat());
  }

  private onHeartbeat(): void {
    if (this.closed || this.echoPending || this.muted) return;
    const h = this.opts.heartbeatMs;
    if (this.opts.clock.now() - this.lastReceivedAt < h) {
      this.armHeartbeat();
      return;
    }
    // [R9] An echo after H without traffic; no 9814 within H means the connection is dead.
    this.echoPending = true;
    this.request(networkRequest(FunctionCode.echo, this.opts.clock.now()), { timeoutMs: h, exempt: true }).then(
      () => {
        this.echoPending = false;
        this.armHeartbeat();
      },
      (e: RequestError) => {
        this.echoPending = false;
        if (e.code === 'timeout') this.close(`no echo response within ${h} ms`, false);
      },
    );
  }

  private finish(reason: string): void {
    if (this.heartbeat !== undefined) this.heartbeat.cancel();
    const wasOpen = !this.closed;
    this.closed = true;
    this.inFlight.failAll(`connection ${this.id} closed: ${reason}`);
    if (wasOpen) this.handler.onClose(reason);
  }
}
