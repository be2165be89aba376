import type { IncomingMessage, OutgoingMessage } from './port.js';

/**
 * The message properties the IBM MQ transport carries, as plain data: which are set on a put and
 * how what a get found becomes the port's fields. `ibmmq.ts` makes the calls (MQCRTMH, MQSETMP,
 * MQINQMP on a message handle); this file imports nothing of the `ibmmq` package, whose binding
 * needs an MQ client, so the mapping is tested where no queue manager is.
 */

/**
 * The W3C trace context: the AMQP transport's header name, and the property (in the `usr` folder of
 * an MQRFH2 for applications that read one) that IBM's own OpenTelemetry instrumentation of MQ
 * applications reads and writes, so a bank's instrumented client joins the trace by itself.
 */
export const TRACEPARENT_PROPERTY = 'traceparent';

/** The properties a get reads from its message handle. */
export const GOT_PROPERTIES: readonly string[] = [TRACEPARENT_PROPERTY];

/** What a property read from a message handle is, as MQINQMP returns it; undefined: the message has none. */
export type PropertyValue = string | number | boolean | Buffer | null | undefined;

/** The properties a put sets on its message handle; none: the put needs no handle. */
export function putProperties(m: OutgoingMessage): Array<[name: string, value: string]> {
  return m.traceparent === undefined ? [] : [[TRACEPARENT_PROPERTY, m.traceparent]];
}

/**
 * The port's fields from the properties a get found, read by name. A traceparent is taken as the
 * AMQP transport takes its header: a string property only, unchecked (a parse of it decides); a
 * message without one has no `traceparent` field at all.
 */
export function gotProperties(read: (name: string) => PropertyValue): Pick<IncomingMessage, 'traceparent'> {
  const traceparent = read(TRACEPARENT_PROPERTY);
  return typeof traceparent === 'string' ? { traceparent } : {};
}
