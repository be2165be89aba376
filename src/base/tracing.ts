import {
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * Traces through the OpenTelemetry API alone. Without an SDK registered (tracing off, the default)
 * every call here is the API's no-op: a span costs an object, nothing is recorded or sent, and a
 * traceparent received is passed on unchanged. The daemon registers the SDK when configured.
 */

export const TRACER_NAME = 'fps-gateway';

/** W3C Trace Context, version 00: `00-<trace id>-<span id>-<flags>`, lower-case hex. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** What a span is a child of: another span here, or a W3C traceparent received or stored. */
export type SpanParent = Span | string | undefined;

/** The span's W3C traceparent; undefined when it has no valid context (tracing off, no parent). */
export function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!isSpanContextValid(c)) return undefined;
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The span context a traceparent names; undefined for anything not a valid version-00 traceparent. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (m === null) return undefined;
  const c: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return isSpanContextValid(c) ? c : undefined;
}

/** Starts a span under `parent` (a new trace without one), linked to the valid traceparents of `links`. */
export function startSpan(
  name: string,
  attributes: Attributes,
  parent: SpanParent,
  links: readonly (string | undefined)[] = [],
): Span {
  const remote = typeof parent === 'string' ? parseTraceparent(parent) : undefined;
  const ctx =
    typeof parent === 'object'
      ? trace.setSpan(ROOT_CONTEXT, parent)
      : remote === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, remote);
  const linked: Link[] = [];
  for (const l of links) {
    const c = parseTraceparent(l);
    if (c !== undefined) linked.push({ context: c });
  }
  return trace.getTracer(TRACER_NAME).startSpan(name, { attributes, links: linked }, ctx);
}
