import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { parseTraceparent, startSpan, traceparentOf } from '../../src/base/tracing.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('parses a version-00 traceparent and refuses anything else, the all-zero ids included', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    for (const bad of [
      undefined,
      '',
      TRACEPARENT.toUpperCase(),
      TRACEPARENT.replace(/^00/, '01'),
      `${TRACEPARENT}-extra`,
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    ])
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
  });

  it('without an SDK starts no trace of its own but passes a received traceparent on unchanged', () => {
    const fresh = startSpan('payment', { 'fps.fpid': 'X' }, undefined);
    expect(fresh.isRecording()).toBe(false);
    expect(traceparentOf(fresh)).toBeUndefined();
    expect(traceparentOf(startSpan('step', {}, TRACEPARENT, ['not a traceparent']))).toBe(TRACEPARENT);
    expect(traceparentOf(startSpan('step', {}, 'not a traceparent'))).toBeUndefined();
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
