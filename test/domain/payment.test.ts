/**
 * The payment table (src/domain/payment.ts) is the one description of a payment's attributes:
 * these check that the places that cannot import it agree with it, and that it is well formed.
 */
import { Writable } from 'node:stream';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createLogger } from '../../src/base/log.js';
import { PAYMENT_ATTRIBUTES, PERSONAL_ATTRIBUTES, type PersonalAttributeName } from '../../src/domain/payment.js';
import type { Cause } from '../../src/ledger/transition.js';
import { FIELDS, MESSAGE_TYPES } from '../../src/scheme/profile.js';

describe('the payment table', () => {
  it('names each attribute, field and column once', () => {
    for (const key of ['name', 'field', 'column'] as const) {
      const values = PAYMENT_ATTRIBUTES.map((a) => a[key]);
      expect(new Set(values).size, key).toBe(values.length);
    }
  });

  it('gives every attribute a field of a 9200, mandatory exactly when the attribute is required', () => {
    const { mandatory, allowed } = MESSAGE_TYPES['9200'];
    for (const a of PAYMENT_ATTRIBUTES) {
      expect(FIELDS.has(a.field), a.name).toBe(true);
      expect(a.required ? mandatory : allowed, a.name).toContain(a.field);
    }
  });

  it("keeps every personal attribute out of the log, even inside a payment object (the logger's paths in src/base, which cannot import the table)", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = createLogger('table-test', 'info', sink);
    for (const name of PERSONAL_ATTRIBUTES)
      log.info({ payment: { [name]: `SECRET-${name}` } }, 'a payment passed whole');
    expect(lines).toHaveLength(PERSONAL_ATTRIBUTES.length);
    for (const line of lines) expect(line).not.toContain('SECRET');
  });

  it('keeps personal attributes out of the journal: a cause carries identifiers only', () => {
    expectTypeOf<Extract<keyof Cause, PersonalAttributeName>>().toBeNever();
    expect(PERSONAL_ATTRIBUTES).toEqual([
      'originatorAccount',
      'beneficiaryAccount',
      'originatorName',
      'beneficiaryName',
      'remittance',
    ]);
  });
});
