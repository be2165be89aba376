import type { IsoMessage } from './codec.js';
import type { ActionCode } from './profile.js';

/** What became of a reply: written to the arrival connection, or lost with it (R4). */
export type ReplyOutcome = 'sent' | 'lost' | 'already-replied';

/** The one thing a reply handle needs of its connection. */
export interface ReplyChannel {
  readonly id: string;
  readonly open: boolean;
  respond(request: IsoMessage, action: ActionCode, extra: ReadonlyMap<number, string>): boolean;
}

/**
 * [R1] An inbound request carries the only means of answering it, bound to the connection it
 * arrived on. There is no way to pass another connection, so a response on the wrong one cannot
 * be written.
 * [R4] Once that connection is gone the reply is reported lost, never sent elsewhere.
 */
export class ReplyHandle {
  private done = false;

  constructor(
    private readonly channel: ReplyChannel,
    readonly request: IsoMessage,
    /** Clock time the request was read. */
    readonly receivedAt: number,
    private readonly onSettled: () => void,
  ) {}

  get connectionId(): string {
    return this.channel.id;
  }

  get replied(): boolean {
    return this.done;
  }

  /** Writes the response, once: a second use writes nothing and says `already-replied`. */
  reply(action: ActionCode, extra: ReadonlyMap<number, string> = new Map()): ReplyOutcome {
    if (this.done) return 'already-replied';
    this.settle();
    if (!this.channel.open) return 'lost';
    return this.channel.respond(this.request, action, extra) ? 'sent' : 'lost';
  }

  /**
   * Gives up the reply on purpose, writing nothing: a request the gateway cannot take (at a bound,
   * or not recorded) is left to time out at the scheme, which repeats or reverses it (R2-R4). A
   * drain then no longer waits for it; a later `reply` writes nothing.
   */
  leaveUnanswered(): void {
    if (!this.done) this.settle();
  }

  private settle(): void {
    this.done = true;
    this.onSettled();
  }
}
