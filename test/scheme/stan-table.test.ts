import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StanTable } from '../../src/scheme/stan-table.js';

/** Field 11s that share home slots (multiples of 64, near neighbours) so that probing, shifting and growth are exercised. */
const stan = fc.oneof(
  fc.nat(40).map((k) => k * 64),
  fc.nat(40),
  fc.integer({ min: 0, max: 999_999 }),
  fc.constant(0x7fffffff),
);
const op = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('add' as const), stan }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('delete' as const), stan }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

describe('the field 11 table', () => {
  it('behaves as a Map: lookups, deletions, size and the order of entries', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 400 }),
        fc.array(fc.integer({ min: -2, max: 1_000_001 }), { maxLength: 20 }),
        (ops, probes) => {
          const table = new StanTable<string>();
          const model = new Map<number, string>();
          ops.forEach((o, n) => {
            if (o.kind === 'clear') {
              table.clear();
              model.clear();
            } else if (o.kind === 'delete') {
              expect(table.delete(o.stan)).toBe(model.get(o.stan));
              model.delete(o.stan);
            } else if (!model.has(o.stan)) {
              table.add(o.stan, `v${n}`);
              model.set(o.stan, `v${n}`);
            }
            expect(table.size).toBe(model.size);
          });
          expect(table.entries()).toEqual([...model.entries()]);
          for (const [stan, v] of model) expect(table.get(stan)).toBe(v);
          for (const p of probes) {
            expect(table.has(p)).toBe(model.has(p));
            expect(table.get(p)).toBe(model.get(p));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a field 11 already in it, and one that is not a whole number', () => {
    const table = new StanTable<number>();
    table.add(42, 1);
    expect(() => table.add(42, 2)).toThrow();
    expect(() => table.add(1.5, 2)).toThrow();
    expect(() => table.add(-1, 2)).toThrow();
    expect(table.entries()).toEqual([[42, 1]]);
  });
});
