import { splitEndpoint } from '../base/config.js';
import type { IsoMessage } from './codec.js';
import {
  SchemeConnection,
  type ConnectionDeps,
  type ConnectionHandler,
  type ConnectionOptions,
  type ConnectionStatus,
  type Dc,
  type ServiceStatus,
} from './connection.js';
import { RequestError } from './errors.js';
import type { SchemeLinkConfig } from './config.js';

export interface SubmitOptions {
  /** A repeat goes on another connection (TCP session) than the one that failed (R7). */
  avoid?: string;
  timeoutMs?: number;
}

export interface Submitted {
  response: IsoMessage;
  /** The connection (TCP session) that carried the request and its response. */
  connection: string;
}

export type PoolHandler = Omit<ConnectionHandler, 'onServiceStatus'> & {
  onServiceStatus?(status: ServiceStatus): void;
};

/**
 * This site's connections to both DCs of the scheme. Outbound payments are spread over every
 * ready connection signed on to submit, whichever DC it belongs to, so losing one DC leaves the
 * other carrying the traffic.
 */
export class SchemePool {
  private readonly connections: SchemeConnection[] = [];
  private readonly drainedIds = new Set<string>();
  private next = 0;
  private serviceStatus: ServiceStatus = 'ACTIVE';

  constructor(config: SchemeLinkConfig, deps: ConnectionDeps, handler: PoolHandler) {
    const shared: ConnectionHandler = {
      ...handler,
      onServiceStatus: (status) => {
        if (status === this.serviceStatus) return;
        this.serviceStatus = status;
        deps.log.warn({ status }, 'scheme service status changed (971)');
        handler.onServiceStatus?.(status);
      },
    };
    for (const [dc, endpoints] of [
      ['DC1', config.dc1],
      ['DC2', config.dc2],
    ] as Array<[Dc, string[]]>) {
      for (let i = 0; i < config.connectionsPerDc; i++) {
        const { host, port } = splitEndpoint(endpoints[i % endpoints.length]!);
        const opts: ConnectionOptions = {
          id: `${dc}-${i + 1}`,
          dc,
          host,
          port,
          macKey: Buffer.from(config.macKey, 'hex'),
          heartbeatMs: config.heartbeatMs,
          requestTimeoutMs: config.requestTimeoutMs,
          signOnTimeoutMs: config.signOnTimeoutMs,
          connectTimeoutMs: config.connectTimeoutMs,
          maxInFlight: config.maxInFlight,
          backoff: config.backoff,
          drainTimeoutMs: config.drainTimeoutMs,
        };
        this.connections.push(new SchemeConnection(opts, deps, shared));
      }
    }
  }

  start(): void {
    for (const c of this.connections) c.start();
  }

  /** After 971 SUSPENDED and until 971 ACTIVE (R10). */
  get suspended(): boolean {
    return this.serviceStatus === 'SUSPENDED';
  }

  status(): ConnectionStatus[] {
    return this.connections.map((c) => c.status());
  }

  /** True when some connection could take a payment now. */
  get canSubmit(): boolean {
    return !this.suspended && this.connections.some((c) => c.canSubmit);
  }

  /** Sends a payment request on the next ready submit connection and resolves with its response. */
  async submit(message: IsoMessage, options: SubmitOptions = {}): Promise<Submitted> {
    // [R10] After 971 SUSPENDED nothing is submitted until 971 ACTIVE.
    if (this.suspended)
      throw new RequestError('suspended', 'the scheme is suspended (971); nothing is submitted until ACTIVE');
    const n = this.connections.length;
    for (let i = 0; i < n; i++) {
      const c = this.connections[(this.next + i) % n]!;
      const session = c.session;
      // [R7] A repeat never goes on the session that failed; only a ready submit connection takes one.
      if (session === undefined || session === options.avoid || !c.canSubmit) continue;
      this.next = (this.next + i + 1) % n;
      try {
        const response = await c.request(
          message,
          options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
        );
        return { response, connection: session };
      } catch (e) {
        if (e instanceof RequestError) throw new RequestError(e.code, e.message, session);
        throw e;
      }
    }
    throw new RequestError(
      'no-connection',
      options.avoid === undefined
        ? 'no connection is ready to submit'
        : `no connection other than ${options.avoid} is ready to submit`,
    );
  }

  /** Connections an operator drained: they stay closed until undrained. */
  get drained(): string[] {
    return [...this.drainedIds];
  }

  /**
   * [R8] Drains the connections `pick` chooses (one, or a whole DC), each in the profile's order
   * (`SchemeConnection.drain`), in parallel; the others carry the traffic. They stay closed until
   * `undrain`. Returns their ids and the drains' end.
   */
  drainSome(pick: (c: { id: string; dc: Dc }) => boolean): { ids: string[]; done: Promise<void> } {
    const chosen = this.connections.filter((c) => pick(c) && !this.drainedIds.has(c.id));
    for (const c of chosen) this.drainedIds.add(c.id);
    return { ids: chosen.map((c) => c.id), done: Promise.all(chosen.map((c) => c.drain())).then(() => undefined) };
  }

  /** Connects and signs on again the drained connections `pick` chooses; returns their ids. */
  undrainSome(pick: (c: { id: string; dc: Dc }) => boolean): string[] {
    const chosen = this.connections.filter((c) => pick(c) && this.drainedIds.has(c.id));
    for (const c of chosen) {
      this.drainedIds.delete(c.id);
      c.resume();
    }
    return chosen.map((c) => c.id);
  }

  /** Drains every connection (R8) in parallel; none comes back (a stop). */
  async drain(): Promise<void> {
    this.drainedIds.clear();
    await Promise.all(this.connections.map((c) => c.drain()));
  }

  stop(): void {
    for (const c of this.connections) c.stop();
  }
}
