/**
 * The payment event schema (`schemas/events/payment-event.v1.json`) and what the runtime writes:
 * every event the runtime can build conforms, and the schema refuses any field it does not name,
 * an account number or a name above all.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PAYMENT_ATTRIBUTES } from '../../src/domain/payment.js';
import { paymentEvent, type PaymentEvent } from '../../src/payments/payment-event.js';
import { paymentEventValidator } from '../support/event-schema.js';

const validate = paymentEventValidator();

const fpid = fc
  .tuple(
    fc.stringMatching(/^[A-Z0-9]{18}$/),
    fc.constantFrom('10', '20', '30'),
    fc.constantFrom('20261202', '20270101'),
    fc.stringMatching(/^[A-Za-z0-9]{1,11}$/),
  )
  .map(([trn, type, date, institution]) => `${trn}${type}${date}GBP${institution.padEnd(11, ' ')}`);
const state = fc.constantFrom('received', 'recorded', 'offered', 'decided', 'replied', 'submitted', 'reported');

const step = fc.record({
  fpid,
  direction: fc.constantFrom<'inbound' | 'outbound'>('inbound', 'outbound'),
  event: fc.constantFrom('received', 'offer', 'decided', 'stand-in', 'instructed', 'reply_sent'),
  from: fc.option(state, { nil: null }),
  to: state,
  outcome: fc.option(fc.constantFrom('0000', '1114', '0912', '9091'), { nil: null }),
  atMs: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
  site: fc.constantFrom('site-a', 'site-b', 'demo'),
  epoch: fc.nat(1000),
  facts: fc.record({
    amountPence: fc.integer({ min: 1, max: 100_000_000 }),
    receivedAtMs: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
  }),
});

/** Every attribute of the payment table besides the amount (which an event carries): personal data above all. */
const notCarried = fc.constantFrom(
  ...PAYMENT_ATTRIBUTES.filter((a) => a.name !== 'amountPence').map((a) => a.name),
  'accountNumber',
);

describe('payment event schema v1', () => {
  it('accepts every event the runtime builds', () => {
    fc.assert(
      fc.property(step, (s) => {
        const e = paymentEvent(s);
        expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
      }),
    );
  });

  it('refuses an event that carries an account number, a name or any field it does not name', () => {
    fc.assert(
      fc.property(step, fc.oneof(notCarried, fc.stringMatching(/^[a-zA-Z]{1,12}$/)), fc.string(), (s, field, value) => {
        const e = paymentEvent(s) as PaymentEvent & Record<string, unknown>;
        fc.pre(!(field in e));
        expect(validate({ ...e, [field]: value })).toBe(false);
        expect(validate.errors?.[0]?.keyword).toBe('additionalProperties');
      }),
    );
    const e = paymentEvent(fc.sample(step, 1)[0]!);
    for (const a of PAYMENT_ATTRIBUTES.filter((p) => p.personal)) expect(validate({ ...e, [a.name]: 'x' })).toBe(false);
    expect(validate({ ...e, beneficiaryAccount: '12345678' })).toBe(false);
    expect(validate({ ...e, state: { ...e.state, originatorName: 'A Person' } })).toBe(false);
  });

  it('refuses an event without its id, with a wrong version, or an amount that is not whole pence', () => {
    const e = paymentEvent(fc.sample(step, 1)[0]!);
    const { eventId: _dropped, ...noId } = e;
    expect(validate(noId)).toBe(false);
    expect(validate({ ...e, schemaVersion: 2 })).toBe(false);
    expect(validate({ ...e, amountPence: 10.5 })).toBe(false);
    expect(validate({ ...e, eventId: 'not-a-uuid' })).toBe(false);
  });
});
