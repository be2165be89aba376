import type { Socket } from 'node:net';
import { encode, type IsoMessage } from '../../src/scheme/codec.js';
import { Wire, type WireHandler, type WireOptions } from '../../src/scheme/wire.js';
import { corruptMac } from './faults.js';
import { zeroConnection, type SessionView } from './report.js';

export type Dc = 'DC1' | 'DC2';

/** One accepted connection from a gateway, named `DC1#1`, `DC2#3`, ... and its sign-on state (R8). */
export class Session {
  /** R8: signed on to submit (881) and to receive (891); sign-off (882, 892) clears them. */
  submit = false;
  receive = false;
  muted = false;
  /** R8: sign-off function codes received, in order; only the first few are kept. */
  readonly signOffs: string[] = [];
  closedReason: string | undefined;
  readonly counts = zeroConnection();
  readonly wire: Wire;

  constructor(
    readonly id: string,
    readonly dc: Dc,
    readonly remote: string,
    private readonly socket: Socket,
    options: Omit<WireOptions, 'id'>,
    handler: (session: Session) => WireHandler,
  ) {
    this.wire = new Wire(socket, { ...options, id }, handler(this));
  }

  get signedOn(): boolean {
    return this.submit || this.receive;
  }

  /** May carry CI requests: open, not muted. */
  get usable(): boolean {
    return this.wire.open && !this.muted;
  }

  /** [R8] Inbound payments and reversals go only to sessions signed on to receive. */
  get receiving(): boolean {
    return this.usable && this.receive;
  }

  /** A silent peer for the gateway's echo test (R9): nothing is read and nothing leaves. */
  mute(): void {
    if (this.muted) return;
    this.muted = true;
    this.wire.mute();
  }

  /** Fault injection: the message leaves with a MAC the peer must refuse (R11, 9068). */
  writeCorrupted(message: IsoMessage, macKey: Buffer): void {
    this.wire.writeRaw(corruptMac(encode(message, macKey)));
  }

  closed(reason: string): void {
    this.closedReason = reason;
    this.submit = false;
    this.receive = false;
  }

  view(): SessionView {
    const v: SessionView = {
      id: this.id,
      dc: this.dc,
      remote: this.remote,
      open: this.wire.open,
      submit: this.submit,
      receive: this.receive,
      muted: this.muted,
      sign_offs: [...this.signOffs],
    };
    if (this.closedReason !== undefined) v.closed_reason = this.closedReason;
    return v;
  }
}
