import { assign, setup, type SnapshotFrom } from 'xstate';
import { z } from 'zod';
import { ActionCode } from '../../scheme/profile.js';
import { EFFECT_ACTION, start, type EffectActions } from './step.js';

const actionCode = z.enum(ActionCode);

const outboundInputShape = {
  fpid: z.string(),
  participant: z.string(),
  /** What the pacs.002 must name: the instruction's message ids and references. */
  instruction: z.strictObject({
    msgId: z.string(),
    mqMessageId: z.string(),
    trn: z.string(),
    endToEndRef: z.string().optional(),
  }),
  instructedAt: z.number(),
  /** R10: the latest time a first submission may still go; past it the instruction is rejected 9091. */
  submitBy: z.number(),
};

/**
 * The context as the ledger keeps it (column `context`, with its version beside it: see
 * `stored-context.ts`). Strict: a key this build does not know is a context it cannot read.
 */
export const outboundContext = z.strictObject({
  ...outboundInputShape,
  outcome: actionCode.nullable(),
  /** Connection of the last attempt, which a repeat must avoid (R7). */
  lastConnection: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
});

export type OutboundInput = z.infer<z.ZodObject<typeof outboundInputShape>>;
export type OutboundContext = z.infer<typeof outboundContext>;

/** What an outbound payment asks the desk to do, each performed after its step is committed. */
export const outboundEffect = z.discriminatedUnion('type', [
  /** 9200 on any connection ready to submit. */
  z.strictObject({ type: z.literal('submit') }),
  /** R7: 9201 with the same FPID on a connection other than `avoid` ('' when any will do). */
  z.strictObject({ type: z.literal('repeat'), params: z.strictObject({ avoid: z.string() }) }),
  /** pacs.002 ACSC or RJCT with the action code to the participant. */
  z.strictObject({ type: z.literal('report'), params: z.strictObject({ code: actionCode }) }),
]);

export type OutboundEffect = z.infer<typeof outboundEffect>;

const effects: EffectActions<OutboundEffect> = { submit: EFFECT_ACTION, repeat: EFFECT_ACTION, report: EFFECT_ACTION };

export type OutboundEvent =
  /** The runtime found a connection ready to submit and the scheme active. */
  | { type: 'SUBMIT' }
  /** The scheme's 9210 to the 9200 or a 9201. */
  | { type: 'RESPONSE'; code: ActionCode; connection: string }
  /** No 9210: `T_out` passed or the connection died with the request in flight (R7). */
  | { type: 'NO_ANSWER'; connection: string }
  | { type: 'DEADLINE'; at: number }
  /** The request never left this gateway (no connection ready, cap reached, suspended). */
  | { type: 'NOT_SENT' }
  /** Try again what did not go: the repeat, or the report. */
  | { type: 'RETRY' }
  /** The pacs.002 is on the participant's queue. */
  | { type: 'REPORTED' };

export const OUTBOUND_SETTLED = ['reported'] as const;

/** Codes with which the scheme refused to take the message at all; the payment does not exist there. */
const NOT_TAKEN: readonly string[] = [ActionCode.notSignedOn];

/**
 * An outbound payment (participant to scheme), from the participant's instruction to the one
 * pacs.002 that reports it. Pure: the runtime submits, times and reports.
 */
export const outboundMachine = setup({
  types: { context: {} as OutboundContext, events: {} as OutboundEvent, input: {} as OutboundInput },
  actions: effects,
  guards: {
    late: ({ context, event }) => event.type === 'DEADLINE' && event.at >= context.submitBy,
    accepted: ({ event }) => event.type === 'RESPONSE' && event.code === ActionCode.accepted,
    notTaken: ({ event }) => event.type === 'RESPONSE' && NOT_TAKEN.includes(event.code),
  },
}).createMachine({
  id: 'outbound',
  context: ({ input }) => ({ ...input, outcome: null, lastConnection: null, attempts: 0 }),
  initial: 'recorded',
  states: {
    // [R10] Instructed and recorded, not yet with the scheme: waits while it cannot go, and is
    // rejected 9091 once it would miss its deadline.
    recorded: {
      on: {
        SUBMIT: {
          target: 'submitted',
          actions: [assign({ attempts: ({ context }) => context.attempts + 1 }), 'submit'],
        },
        DEADLINE: { guard: 'late', target: 'rejected', actions: assign({ outcome: ActionCode.notSignedOn }) },
      },
    },
    // [R7] The scheme may have the payment: from here it is never rejected locally, only learned,
    // and no answer means a 9201 with the same FPID on another connection.
    submitted: {
      on: {
        RESPONSE: [
          { guard: 'accepted', target: 'accepted', actions: assign({ outcome: ActionCode.accepted }) },
          // [R7a] 9091: the scheme took nothing, so the same FPID goes again as a 9200, or the
          // instruction times out (R10).
          {
            guard: 'notTaken',
            target: 'recorded',
            actions: assign({ lastConnection: ({ event }) => event.connection }),
          },
          { target: 'rejected', actions: assign({ outcome: ({ event }) => event.code }) },
        ],
        NO_ANSWER: { target: 'repeating', actions: assign({ lastConnection: ({ event }) => event.connection }) },
        NOT_SENT: 'recorded',
      },
    },
    repeating: {
      entry: [
        assign({ attempts: ({ context }) => context.attempts + 1 }),
        { type: 'repeat', params: ({ context }) => ({ avoid: context.lastConnection ?? '' }) },
      ],
      on: {
        RESPONSE: [
          { guard: 'accepted', target: 'accepted', actions: assign({ outcome: ActionCode.accepted }) },
          // [R7a] The repeat was not taken, but the original may have been: a 9201 again on RETRY,
          // which the runtime sends after a pause (not at once, which would loop on a refusing scheme).
          { guard: 'notTaken', actions: assign({ lastConnection: ({ event }) => event.connection }) },
          { target: 'rejected', actions: assign({ outcome: ({ event }) => event.code }) },
        ],
        NO_ANSWER: {
          target: 'repeating',
          reenter: true,
          actions: assign({ lastConnection: ({ event }) => event.connection }),
        },
        RETRY: { target: 'repeating', reenter: true },
      },
    },
    accepted: {
      entry: { type: 'report', params: { code: ActionCode.accepted } },
      on: { REPORTED: 'reported', RETRY: { target: 'accepted', reenter: true } },
    },
    rejected: {
      entry: { type: 'report', params: ({ context }) => ({ code: context.outcome! }) },
      on: { REPORTED: 'reported', RETRY: { target: 'rejected', reenter: true } },
    },
    reported: {},
  },
});

export type OutboundSnapshot = SnapshotFrom<typeof outboundMachine>;

/** A new outbound payment (`start`): with `SUBMIT` when it goes to the scheme as it is recorded. */
export function startOutbound(
  input: OutboundInput,
  then?: 'SUBMIT',
): { snapshot: OutboundSnapshot; effects: OutboundEffect[] } {
  return start(outboundMachine, outboundEffect, input, then === undefined ? undefined : { type: then });
}

export function resumeOutbound(state: string, context: OutboundContext): OutboundSnapshot {
  return outboundMachine.resolveState({ value: state, context });
}
