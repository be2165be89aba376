/**
 * The IBM MQ transport's message properties as data (`ibmmq-properties.ts`): what a put sets on its
 * message handle and what a get's handle becomes on the port. The calls themselves (MQSETMP,
 * MQINQMP) need a queue manager: the transport contract suite runs them where one is configured.
 */
import { describe, expect, it } from 'vitest';
import {
  GOT_PROPERTIES,
  gotProperties,
  putProperties,
  TRACEPARENT_PROPERTY,
  type PropertyValue,
} from '../../src/participant/mq/ibmmq-properties.js';
import { newMessageId } from '../../src/participant/mq/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const put = { queue: 'FPS.200001.FROM.GATEWAY', body: '<x/>', messageId: newMessageId() };
const handle = (properties: Record<string, PropertyValue>) => (name: string) => properties[name];

describe('IBM MQ message properties', () => {
  it('carries the traceparent under the name the AMQP header and IBM’s OpenTelemetry instrumentation use', () => {
    expect(TRACEPARENT_PROPERTY).toBe('traceparent');
    expect(GOT_PROPERTIES).toEqual([TRACEPARENT_PROPERTY]);
  });

  it('sets a traceparent property only on a put that has one: without, the put needs no handle', () => {
    expect(putProperties({ ...put, traceparent: TRACEPARENT })).toEqual([['traceparent', TRACEPARENT]]);
    expect(putProperties(put)).toEqual([]);
  });

  it('reads a string traceparent unchecked, and nothing from a message without one or with another type', () => {
    expect(gotProperties(handle({ traceparent: TRACEPARENT }))).toEqual({ traceparent: TRACEPARENT });
    // Not checked here: the desk's parse refuses it, as it does an AMQP header.
    expect(gotProperties(handle({ traceparent: 'not-a-trace' }))).toEqual({ traceparent: 'not-a-trace' });
    for (const other of [undefined, null, 42, true, Buffer.from(TRACEPARENT)]) {
      const got = gotProperties(handle({ traceparent: other }));
      expect(got).toEqual({});
      expect(got).not.toHaveProperty('traceparent');
    }
    // Other properties a bank sets are not the port's.
    expect(gotProperties(handle({ traceparent: TRACEPARENT, 'usr.other': 'x' }))).toEqual({
      traceparent: TRACEPARENT,
    });
  });
});
