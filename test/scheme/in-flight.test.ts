import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InFlight, NETWORK_IN_FLIGHT_MAX } from '../../src/scheme/in-flight.js';
import { Backoff } from '../../src/scheme/backoff.js';
import { RequestError } from '../../src/scheme/errors.js';
import { ManualClock } from '../support/manual-clock.js';

const response = { mti: '9210' as const, fields: new Map<number, string>() };

describe('matching requests to responses by field 11', () => {
  it('settles the waiter of that field 11 only', async () => {
    const clock = new ManualClock();
    const f = new InFlight(clock, 10);
    const a = f.track(1, 1000, true);
    const b = f.track(2, 1000, true);
    expect(f.settle(2, response)).toBe(true);
    await expect(b).resolves.toBe(response);
    expect(f.settle(2, response)).toBe(false);
    expect(f.size).toBe(1);
    f.settle(1, response);
    await a;
  });

  it('refuses a duplicate field 11 in flight and a full connection', async () => {
    const f = new InFlight(new ManualClock(), 2);
    void f.track(7, 1000, true).catch(() => undefined);
    expect(() => f.track(7, 1000, true)).toThrow(expect.objectContaining({ code: 'duplicate-stan' }));
    void f.track(8, 1000, true).catch(() => undefined);
    expect(() => f.track(9, 1000, true)).toThrow(expect.objectContaining({ code: 'busy' }));
    // Network management is exempt from the cap.
    void f.track(9, 1000, false).catch(() => undefined);
    expect(f.size).toBe(3);
  });

  it('times a request out and tells every waiter at once when the connection dies', async () => {
    const clock = new ManualClock();
    const f = new InFlight(clock, 10);
    const late = f.track(1, 500, true);
    const others = [f.track(2, 5000, true), f.track(3, 5000, true)];
    clock.advance(500);
    await expect(late).rejects.toMatchObject({ code: 'timeout' });
    f.failAll('peer closed');
    for (const o of others) await expect(o).rejects.toBeInstanceOf(RequestError);
    await expect(others[0]).rejects.toMatchObject({ code: 'closed' });
    expect(f.size).toBe(0);
  });

  it('allocates field 11 from 000001, wraps at 999999 and skips numbers in flight', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 999_999 }), { maxLength: 50 }),
        fc.integer({ min: 1, max: 2_000 }),
        (busy, draws) => {
          const f = new InFlight(new ManualClock(), 1_000_000);
          for (const s of busy) void f.track(s, 1000, false).catch(() => undefined);
          for (let i = 0; i < draws; i++) {
            const s = f.allocate();
            expect(s).toBeGreaterThanOrEqual(1);
            expect(s).toBeLessThanOrEqual(999_999);
            expect(busy).not.toContain(s);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('reconnect back-off', () => {
  it('grows exponentially, stays within [d/2, d] and is capped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 40 }),
        (draws) => {
          let i = 0;
          const b = new Backoff({ initialMs: 100, maxMs: 10_000 }, () => draws[i++ % draws.length]!);
          for (let n = 0; n < draws.length; n++) {
            const ceiling = Math.min(10_000, 100 * 2 ** n);
            const d = b.next();
            expect(d).toBeGreaterThanOrEqual(ceiling / 2 - 1);
            expect(d).toBeLessThanOrEqual(ceiling);
          }
          b.reset();
          expect(b.next()).toBeLessThanOrEqual(100);
        },
      ),
    );
  });
});

describe('the in-flight table at its bound', () => {
  it('refuses network management too once it holds the cap and NETWORK_IN_FLIGHT_MAX more', () => {
    const f = new InFlight(new ManualClock(), 2);
    for (let stan = 1; stan <= 2 + NETWORK_IN_FLIGHT_MAX; stan++)
      void f.track(stan, 1000, stan > 2 ? false : true).catch(() => undefined);
    expect(() => f.track(999, 1000, false)).toThrow(expect.objectContaining({ code: 'busy' }));
    expect(f.size).toBe(2 + NETWORK_IN_FLIGHT_MAX);
  });

  it('never allocates a field 11 in flight', () => {
    const f = new InFlight(new ManualClock(), 10);
    void f.track(1, 1000, true).catch(() => undefined);
    void f.track(2, 1000, true).catch(() => undefined);
    expect(f.allocate()).toBe(3);
  });
});
