import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActionCode, PAYMENT_LIMIT_PENCE } from '../../src/scheme/profile.js';
import { decide, settlement } from '../../simulators/scheme/rules.js';

const NOON = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('scheme simulator: decision rules', () => {
  it('applies account 99, account 98, then the limit, else accepts with 15 and 29', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{8}$/),
        fc.integer({ min: 1, max: 2 * PAYMENT_LIMIT_PENCE }),
        (account, amount) => {
          const d = decide({ beneficiaryAccount: account, amountPence: amount }, NOON);
          const expected = account.endsWith('99')
            ? ActionCode.invalidAccount
            : account.endsWith('98')
              ? ActionCode.accountClosed
              : amount > PAYMENT_LIMIT_PENCE
                ? ActionCode.overLimit
                : ActionCode.accepted;
          expect(d.action).toBe(expected);
          expect([...d.extra.keys()]).toEqual(expected === ActionCode.accepted ? [15, 29] : []);
        },
      ),
    );
  });

  it('settles on the UTC business date in one of three cycles', () => {
    expect(settlement(Date.UTC(2026, 10, 22, 7, 59))).toEqual({ date: '20261122', cycle: '01' });
    expect(settlement(NOON)).toEqual({ date: '20261122', cycle: '02' });
    expect(settlement(Date.UTC(2026, 10, 22, 23, 59))).toEqual({ date: '20261122', cycle: '03' });
  });
});
