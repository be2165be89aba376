import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/base/clock.js';
import { Admission, ADMISSION_DEFAULTS, SAMPLE_MS, shedReason, type Load } from '../../src/payments/admission.js';

const o = ADMISSION_DEFAULTS;
const calm: Load = { offered: 0, loopDelayMs: 0, commitDelayMs: 0 };
const NOW = 1_000_000;
const ample = NOW + o.decisionWindowMs + 5_000;

/** A started Admission whose samples the test takes by hand (`sample`), on sources it sets. */
function sampledByHand(options: Partial<typeof o>) {
  let due: (() => void) | undefined;
  const clock: Clock = {
    now: () => NOW,
    after: (_ms, fn) => ((due = fn), { cancel: () => (due = undefined) }),
  };
  const sources = { offered: 0, commitDelayMs: 0 };
  const admission = new Admission(
    { clock, sources: { offered: () => sources.offered, commitDelayMs: () => sources.commitDelayMs } },
    { ...o, ...options },
  );
  admission.start();
  return { admission, sources, sample: () => due!(), sampling: () => due !== undefined };
}

describe('admission control (R6 stand-in past capacity)', () => {
  it('offers when every signal is under its bound, and names the signal past its bound otherwise', () => {
    expect(shedReason(calm, ample, NOW, o)).toBeUndefined();
    expect(shedReason(calm, NOW + o.decisionWindowMs - 1, NOW, o)).toBe('window');
    expect(shedReason({ ...calm, offered: o.offeredMax }, ample, NOW, o)).toBe('offered');
    expect(shedReason({ ...calm, loopDelayMs: o.loopDelayMaxMs + 1 }, ample, NOW, o)).toBe('loop');
    expect(shedReason({ ...calm, commitDelayMs: o.commitDelayMaxMs + 1 }, ample, NOW, o)).toBe('ledger');
  });

  it('sheds exactly when some signal is past its bound (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * o.offeredMax }),
        fc.integer({ min: 0, max: 2 * o.loopDelayMaxMs }),
        fc.integer({ min: 0, max: 2 * o.commitDelayMaxMs }),
        fc.integer({ min: -1_000, max: 3 * o.decisionWindowMs }),
        (offered, loopDelayMs, commitDelayMs, left) => {
          const past =
            left < o.decisionWindowMs ||
            offered >= o.offeredMax ||
            loopDelayMs > o.loopDelayMaxMs ||
            commitDelayMs > o.commitDelayMaxMs;
          const reason = shedReason({ offered, loopDelayMs, commitDelayMs }, NOW + left, NOW, o);
          expect(reason !== undefined).toBe(past);
        },
      ),
    );
  });

  it('answers from the last sample of its sources, taken every SAMPLE_MS', () => {
    const { admission, sources, sample, sampling } = sampledByHand({ offeredMax: 2 });
    sources.offered = 5;
    // Not sampled yet: the load read is the last sample's.
    expect(admission.shed(ample)).toBeUndefined();
    sample();
    expect(admission.sampled.offered).toBe(5);
    expect(admission.shed(ample)).toBe('offered');
    sources.offered = 0;
    sources.commitDelayMs = o.commitDelayMaxMs * 2;
    sample();
    expect(admission.shed(ample)).toBe('ledger');
    admission.stop();
    expect(sampling()).toBe(false);
    expect(SAMPLE_MS).toBeGreaterThan(0);
  });

  it('takes outbound instructions at once while the site keeps up, and a few a sample, in order, while it is congested', async () => {
    const { admission, sources, sample } = sampledByHand({ congestedIntakePerSample: 2 });
    const taken: number[] = [];
    const take = async (n: number) => {
      await admission.intake();
      taken.push(n);
    };
    await take(0);
    expect(taken).toEqual([0]);
    // The ledger falls behind: instructions wait, and go two a sample, oldest first.
    sources.commitDelayMs = o.commitDelayMaxMs + 1;
    sample();
    const waiting = [1, 2, 3, 4, 5].map(take);
    await new Promise((r) => setImmediate(r));
    expect(taken).toEqual([0]);
    sample();
    await new Promise((r) => setImmediate(r));
    expect(taken).toEqual([0, 1, 2]);
    // It catches up: the rest go at the next sample, and new ones at once after them.
    sources.commitDelayMs = 0;
    sample();
    await Promise.all(waiting);
    expect(taken).toEqual([0, 1, 2, 3, 4, 5]);
    await take(6);
    expect(taken.at(-1)).toBe(6);
    // Stopping lets every waiter go.
    sources.commitDelayMs = o.commitDelayMaxMs + 1;
    sample();
    const late = take(7);
    admission.stop();
    await late;
    expect(taken.at(-1)).toBe(7);
  });
});
