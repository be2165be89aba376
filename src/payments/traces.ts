import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { startSpan, traceparentOf } from '../base/tracing.js';

/**
 * The trace of each payment held in memory (docs/architecture.md, Tracing): its root span while
 * this process began it, and the traceparent the ledger keeps for it. A step's span is a child of
 * the root when held here, else of the stored traceparent (another site's or an earlier run's
 * trace, carried on). Attributes are identifiers only: the FPID, direction and site, never an
 * account number or a name. Entries are kept exactly as long as their payment is held: the desk
 * ends each in its runtime's `forget`.
 */
export class PaymentTraces {
  private readonly held = new Map<string, { root?: Span; traceparent?: string }>();

  constructor(
    private readonly direction: 'inbound' | 'outbound',
    private readonly site: string,
  ) {}

  /**
   * Begins the trace of a payment first seen now, under `parent` (a traceparent received with it)
   * or as a new trace; returns the traceparent to store with it, undefined while tracing is off
   * and nothing came with it. A payment held already keeps its trace.
   */
  begin(fpid: string, parent?: string): string | undefined {
    const known = this.held.get(fpid);
    if (known !== undefined) return known.traceparent;
    const root = startSpan(`${this.direction} payment`, this.attributes(fpid), parent);
    const traceparent = traceparentOf(root);
    this.held.set(fpid, { root, ...(traceparent === undefined ? {} : { traceparent }) });
    return traceparent;
  }

  /** A payment taken back from the ledger: its steps carry on the trace stored with it. */
  resume(fpid: string, traceparent: string | undefined): void {
    if (!this.held.has(fpid)) this.held.set(fpid, traceparent === undefined ? {} : { traceparent });
  }

  /** A span of one step of the payment, linked to the traceparents of `links` (a message's). */
  start(fpid: string, name: string, links: readonly (string | undefined)[] = []): Span {
    const held = this.held.get(fpid);
    return startSpan(name, this.attributes(fpid), held?.root ?? held?.traceparent, links);
  }

  /** Runs `step` in a span of its own, told the span's traceparent to send on; a throw marks it failed. */
  async run<T>(
    fpid: string,
    name: string,
    step: (traceparent: string | undefined) => Promise<T>,
    links: readonly (string | undefined)[] = [],
  ): Promise<T> {
    const span = this.start(fpid, name, links);
    try {
      return await step(traceparentOf(span));
    } catch (e) {
      failed(span, e);
      throw e;
    } finally {
      span.end();
    }
  }

  /** The payment left memory: its root span (if begun here) ends, and nothing more is kept. */
  end(fpid: string): void {
    this.held.get(fpid)?.root?.end();
    this.held.delete(fpid);
  }

  /** Ends every trace held (the desk stops). */
  endAll(): void {
    for (const fpid of [...this.held.keys()]) this.end(fpid);
  }

  private attributes(fpid: string): Record<string, string> {
    return { 'fps.fpid': fpid, 'fps.direction': this.direction, 'fps.site': this.site };
  }
}

/**
 * Marks a span failed, naming only the kind of error: a message may quote a payment field (a
 * pacs.008 that does not validate), and nothing personal leaves in a trace.
 */
export function failed(span: Span, e: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.name : 'error' });
}
