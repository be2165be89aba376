/**
 * The machines and their declared unions agree: for random event sequences every action xstate
 * returns is a member of the machine's effect union, and every context reached loads back from
 * its stored (versioned, JSON) form as it was.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import type { z } from 'zod';
import {
  inboundContext,
  inboundEffect,
  inboundMachine,
  type InboundEvent,
} from '../../src/payments/machines/inbound.js';
import {
  outboundContext,
  outboundEffect,
  outboundMachine,
  type OutboundEvent,
} from '../../src/payments/machines/outbound.js';
import { stateOf } from '../../src/payments/machines/step.js';
import { loadContext, storedContext } from '../../src/payments/stored-context.js';
import type { ActionCode } from '../../src/scheme/profile.js';
import { newPayment } from '../support/ledger.js';

const code = fc.constantFrom<ActionCode>('0000', '1100', '1114', '1160', '0912', '9091');
const word = fc.constantFrom('h1', 'h2', 'DC1-1', 'DC2-1', '');
const at = fc.integer({ min: 0, max: 30_000 });

const inboundEvent: fc.Arbitrary<InboundEvent> = fc.oneof(
  fc.constantFrom<InboundEvent>(
    { type: 'OFFER' },
    { type: 'OFFER_FAILED' },
    { type: 'SHED' },
    { type: 'REPLY_SENT' },
    { type: 'REPLY_LOST' },
  ),
  fc.record({ type: fc.constant('DECIDED' as const), accept: fc.boolean(), code, message: word }),
  fc.record({ type: fc.constant('DEADLINE' as const), at }),
  fc.record({ type: fc.constantFrom('REPEAT' as const, 'REVERSAL' as const), handle: word }),
);

const outboundEvent: fc.Arbitrary<OutboundEvent> = fc.oneof(
  fc.constantFrom<OutboundEvent>({ type: 'SUBMIT' }, { type: 'NOT_SENT' }, { type: 'RETRY' }, { type: 'REPORTED' }),
  fc.record({ type: fc.constant('RESPONSE' as const), code, connection: word }),
  fc.record({ type: fc.constant('NO_ANSWER' as const), connection: word }),
  fc.record({ type: fc.constant('DEADLINE' as const), at }),
);

/** Runs `events` from the machine's first state, checking every step's actions and context. */
function run(
  machine: AnyStateMachine,
  effect: z.ZodType,
  context: z.ZodType,
  first: [AnyMachineSnapshot, ReadonlyArray<{ type: string; params?: unknown }>],
  events: EventObject[],
): void {
  const row = { ...newPayment(), fpid: 'F', site: 's', createdAt: 0, updatedAt: 0, version: 1 };
  const states = Object.keys(machine.states);
  let [snapshot, actions] = first;
  for (let i = 0; ; i++) {
    for (const a of actions)
      expect(
        effect.safeParse(a.params === undefined ? { type: a.type } : { type: a.type, params: a.params }).error,
        a.type,
      ).toBeUndefined();
    // The ledger keeps the context as jsonb: what comes back is its JSON.
    const stored = JSON.parse(JSON.stringify(storedContext(snapshot.context)));
    expect(loadContext({ ...row, state: stateOf(snapshot), context: stored }, { schema: context, states })).toEqual({
      ok: true,
      context: snapshot.context,
    });
    const event = events[i];
    if (event === undefined) return;
    [snapshot, actions] = transition(machine, snapshot, event);
  }
}

describe('effects and stored contexts', () => {
  it('every action the inbound machine returns is an InboundEffect, and every context it reaches loads back', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constant('P1'), { nil: null }),
        fc.array(inboundEvent, { maxLength: 25 }),
        (participant, events) => {
          const input = {
            fpid: 'F',
            arrivalConnection: 'DC1-1',
            arrivalSite: 'site-a',
            participant,
            receivedAt: 0,
            standInAt: 9_000,
            offerMessageId: 'ab'.repeat(24),
          };
          run(inboundMachine, inboundEffect, inboundContext, initialTransition(inboundMachine, input), events);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every action the outbound machine returns is an OutboundEffect, and every context it reaches loads back', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constant('E2E-1'), { nil: undefined }),
        fc.array(outboundEvent, { maxLength: 25 }),
        (endToEndRef, events) => {
          const instruction = {
            msgId: 'M1',
            mqMessageId: 'cd'.repeat(24),
            trn: 'TRN1',
            ...(endToEndRef === undefined ? {} : { endToEndRef }),
          };
          const input = { fpid: 'F', participant: 'P1', instruction, instructedAt: 0, submitBy: 15_000 };
          run(outboundMachine, outboundEffect, outboundContext, initialTransition(outboundMachine, input), events);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
