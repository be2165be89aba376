import type { Socket } from 'node:net';
import { assert } from '../base/assert.js';
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

/**
 * Bytes of frames waiting in the outbox at most. Frames wait there only while the socket refuses
 * more (its `write` said false and no 'drain' came yet): the peer, or the network, reads slower
 * than this side writes. The first half is for requests: past it `request` refuses with
 * RequestError `busy`, which the pool already takes as "try another connection or later", and
 * the connection stops offering room to submit. The second half is kept for responses, which
 * are never refused while the connection lives; a response that would not fit means the peer has
 * stopped reading altogether, and the connection is closed, so that its replies are lost (R4)
 * rather than the outbox growing: the scheme repeats or reverses what it did not get. 2 MiB is
 * over three thousand payment frames.
 */
export const OUTBOX_BYTES_MAX = 2 * 1024 * 1024;

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
  /** Bytes waiting in the outbox at most (half of them for requests); defaults to OUTBOX_BYTES_MAX. */
  outboxBytesMax?: number;
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
  /** Bytes of the frames in `outbox`. */
  private outboxLength = 0;
  private readonly outboxBytesMax: number;
  /** Back-pressure: the socket's last write returned false and no 'drain' has come since. */
  private socketFull = false;
  private flushScheduled = false;
  private closed = false;
  private muted = false;
  private unansweredCount = 0;
  private heartbeat: Timer | undefined;
  private echoPending = false;
  private lastReceivedAt: number;
  /** When an echo last went through either way (R9), clock ms: the console shows it. */
  private lastEcho: number | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly opts: WireOptions,
    private readonly handler: WireHandler,
  ) {
    this.id = opts.id;
    this.inFlight = new InFlight(opts.clock, opts.maxInFlight);
    this.lastReceivedAt = opts.clock.now();
    this.outboxBytesMax = opts.outboxBytesMax ?? OUTBOX_BYTES_MAX;
    assert(
      this.outboxBytesMax >= 2 * (FRAME_HEADER + MAX_FRAME_BODY),
      `an outbox of ${this.outboxBytesMax} bytes cannot hold a largest frame in each half`,
    );
    socket.setNoDelay(true);
    socket.on('drain', () => this.onDrain());
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

  /** Room for one more payment request: under the cap in flight, and the outbox under its request half. */
  get hasRoom(): boolean {
    return this.inFlight.hasRoom && this.outboxHasRoomForRequests;
  }

  /** Bytes of frames waiting for the socket to take them (back-pressure). */
  get outboxBytes(): number {
    return this.outboxLength;
  }

  private get outboxHasRoomForRequests(): boolean {
    return this.outboxLength < this.outboxBytesMax / 2;
  }

  /** Requests received whose reply handle has not been used. */
  get unanswered(): number {
    return this.unansweredCount;
  }

  /** Sends a request with fresh fields 7 and 11 and resolves with its response on this connection. */
  request(message: IsoMessage, options: RequestOptions = {}): Promise<IsoMessage> {
    if (this.closed) return Promise.reject(new RequestError('closed', `connection ${this.id} is closed`));
    // Network management is tiny and one at a time; it may use the half kept for responses.
    if (options.exempt !== true && !this.outboxHasRoomForRequests) {
      return Promise.reject(
        new RequestError('busy', `connection ${this.id} has ${this.outboxLength} bytes waiting for the socket`),
      );
    }
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
    return this.write(responseTo(request.mti, request.fields, action, this.opts.clock.now(), extra));
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
    this.outboxLength = 0;
  }

  /** Closes the connection. Graceful lets what is already written leave first. */
  close(reason: string, graceful = true): void {
    if (this.closed) return;
    if (graceful) {
      // What is written already leaves, back-pressure or not: the socket is ending anyway.
      this.socketFull = false;
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

  /** False when the frame was not queued: the outbox was full and the connection is closed. */
  private write(message: IsoMessage, stamp?: Stamp): boolean {
    // The body is encoded after room for its frame header, so the frame needs no second copy.
    const framed = encode(message, this.opts.macKey, FRAME_HEADER, stamp);
    const length = framed.length - FRAME_HEADER;
    if (length > MAX_FRAME_BODY) throw new FramingError(`body of ${length} bytes is over ${MAX_FRAME_BODY}`);
    framed.writeUInt16BE(length, 0);
    return this.enqueue(framed);
  }

  private enqueue(framed: Buffer): boolean {
    if (this.muted) return true;
    if (this.outboxLength + framed.length > this.outboxBytesMax) {
      this.opts.log.error(
        { connection: this.id, outboxBytes: this.outboxLength },
        'the peer has stopped reading: outbox full; closing the connection',
      );
      this.close(`outbox full: ${this.outboxLength} bytes not taken by the socket`, false);
      return false;
    }
    this.outbox.push(framed);
    this.outboxLength += framed.length;
    // A full batch leaves at once so that the peer starts on it while this side carries on.
    if (this.outbox.length >= FLUSH_BATCH) {
      this.flush();
      return true;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  private flush(): void {
    if (this.outbox.length === 0 || this.socket.destroyed || this.socketFull) return;
    const out = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    // Paired with enqueue, which counts every frame it adds.
    assert(out.length === this.outboxLength, `outbox holds ${out.length} bytes but counted ${this.outboxLength}`);
    this.outbox = [];
    this.outboxLength = 0;
    // Back-pressure: past its high-water mark the socket keeps what it was given, and the frames
    // that follow wait in the bounded outbox until 'drain'.
    if (!this.socket.write(out)) this.socketFull = true;
  }

  private onDrain(): void {
    this.socketFull = false;
    this.flush();
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
        this.lastEcho = this.opts.clock.now();
        this.respond(message, ActionCode.accepted, new Map());
        return;
      }
      this.unansweredCount++;
      const handle = new ReplyHandle(this, message, this.opts.clock.now(), () => {
        this.unansweredCount--;
        // Paired with ReplyHandle's once-only settle: a handle settled twice would drive this below zero.
        assert(this.unansweredCount >= 0, `connection ${this.id} settled more replies than requests it read`);
      });
      this.handler.onRequest(message, handle);
      return;
    }
    const stan = Number(message.fields.get(11));
    if (!this.inFlight.settle(stan, message)) this.handler.onUnmatched?.(message);
  }

  /** [R11] Answers a refused request with its response type and 9020 or 9068; drops a refused response. */
  private refuse(error: DecodeError): void {
    const { mti } = error;
    this.opts.log.warn(
      { connection: this.id, mti, code: error.code, field: error.field, reason: error.reason },
      'refused a message',
    );
    if (mti !== undefined && isRequest(mti)) {
      const answerable: Mti = mti;
      const extra = new Map<number, string>();
      if (error.code === 'format')
        extra.set(44, `${String(error.field).padStart(3, '0')} ${error.reason}`.slice(0, 99));
      this.respond(
        { mti: answerable, fields: error.fields },
        error.code === 'mac' ? ActionCode.macFailure : ActionCode.formatError,
        extra,
      );
    }
    this.handler.onRefused?.(error);
  }

  /** When an echo last went through, either way (R9); undefined before the first. */
  get lastEchoAt(): number | undefined {
    return this.lastEcho;
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
        this.lastEcho = this.opts.clock.now();
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
