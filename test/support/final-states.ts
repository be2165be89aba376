import { expect } from 'vitest';
import type { LedgerCounts } from './stack.js';

/** Asserts every payment in the ledger ended in a final state: nothing left open. */
export function expectEveryPaymentFinal(rows: LedgerCounts): void {
  for (const r of rows.rows)
    expect(
      r.direction === 'inbound' ? ['replied', 'reply-lost', 'reversed'] : ['reported'],
      `${r.direction} ${r.state}`,
    ).toContain(r.state);
}
