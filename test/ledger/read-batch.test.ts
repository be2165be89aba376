import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReadBatcher } from '../../src/ledger/read-batch.js';

/** A store of even numbers' squares that records the keys of each read it is asked for. */
function store(fail: (keys: readonly number[]) => boolean = () => false) {
  const reads: number[][] = [];
  const read = async (keys: readonly number[]) => {
    reads.push([...keys]);
    if (fail(keys)) throw new Error('database away');
    return new Map(keys.filter((k) => k % 2 === 0).map((k) => [k, k * k]));
  };
  return { reads, read };
}

describe('coalesced point reads', () => {
  it('reads every key asked in one turn once, in statements of at most maxKeys, and answers each caller', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(40), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (keys, max) => {
        const s = store();
        const batcher = new ReadBatcher(s.read, max);
        const answers = await Promise.all(keys.map((k) => batcher.get(k)));
        expect(answers).toEqual(keys.map((k) => (k % 2 === 0 ? k * k : undefined)));
        const asked = s.reads.flat();
        expect(asked.sort((x, y) => x - y)).toEqual([...new Set(keys)].sort((x, y) => x - y));
        expect(s.reads.every((r) => r.length <= max)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('reads a key asked in a later turn again', async () => {
    const s = store();
    const batcher = new ReadBatcher(s.read, 10);
    expect(await batcher.get(2)).toBe(4);
    expect(await batcher.get(2)).toBe(4);
    expect(s.reads).toEqual([[2], [2]]);
  });

  it('fails only the callers of a statement that failed, and reads afresh next turn', async () => {
    let failures = 1;
    const s = store((keys) => keys.includes(3) && failures-- > 0);
    const batcher = new ReadBatcher(s.read, 2);
    const results = await Promise.allSettled([batcher.get(2), batcher.get(4), batcher.get(3), batcher.get(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect(await batcher.get(3)).toBeUndefined();
    expect(s.reads).toEqual([[2, 4], [3], [3]]);
  });
});
