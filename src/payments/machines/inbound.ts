import { assign, setup, type SnapshotFrom } from 'xstate';
import { z } from 'zod';
import { ActionCode } from '../../scheme/profile.js';
import { EFFECT_ACTION, start, type EffectActions } from './step.js';

const actionCode = z.enum(ActionCode);

const inboundInputShape = {
  fpid: z.string(),
  /** Connection the 9200 arrived on: the only one its 9210 may go on (R1). */
  arrivalConnection: z.string(),
  /**
   * The site holding that connection: only it can answer the 9210 (R1). Another site that moves
   * the payment (the open site offering it or recording its decision) leaves the answer to it.
   */
  arrivalSite: z.string(),
  /** The participant owning the beneficiary sort code, or null when none does. */
  participant: z.string().nullable(),
  receivedAt: z.number(),
  /** R6: `T_in - margin` after the scheme wrote the request. */
  standInAt: z.number(),
  /**
   * The MQ message id of the offer (pacs.008) and so the correlation id its decision must carry:
   * random per payment, so that no one can compute it from the public FPID, and kept here so that
   * it survives a restart.
   */
  offerMessageId: z.string(),
};

/**
 * The context as the ledger keeps it (column `context`, with its version beside it: see
 * `stored-context.ts`). Strict: a key this build does not know is a context it cannot read.
 */
export const inboundContext = z.strictObject({
  ...inboundInputShape,
  /** Action code of the 9210 once known. */
  outcome: actionCode.nullable(),
  decidedBy: z.enum(['participant', 'stand-in', 'gateway']).nullable(),
  offered: z.boolean(),
  /** R5: repeats that arrived before the outcome, by reply handle id, answered when it is known. */
  waitingRepeats: z.array(z.string()),
});

export type InboundInput = z.infer<z.ZodObject<typeof inboundInputShape>>;
export type InboundContext = z.infer<typeof inboundContext>;

/** What an inbound payment asks the desk to do, each performed after its step is committed. */
export const inboundEffect = z.discriminatedUnion('type', [
  /** Put the pacs.008 on the participant's queue, expiring at the stand-in deadline. */
  z.strictObject({ type: z.literal('offer') }),
  /** Write the 9210 through the arrival connection's reply handle. */
  z.strictObject({ type: z.literal('reply'), params: z.strictObject({ code: actionCode }) }),
  /** Answer a repeat on its own connection (R5). */
  z.strictObject({ type: z.literal('replyRepeat'), params: z.strictObject({ handle: z.string(), code: actionCode }) }),
  /** R5: the repeats that waited for the outcome are answered with it, each on its own connection. */
  z.strictObject({
    type: z.literal('replyRepeats'),
    params: z.strictObject({ handles: z.array(z.string()), code: actionCode }),
  }),
  /** R6: pacs.002 RJCT 0912 to the participant after a stand-in. */
  z.strictObject({ type: z.literal('tellStandIn') }),
  /** R6: pacs.002 RJCT 0912 answering a decision that came after the stand-in. */
  z.strictObject({ type: z.literal('answerLate'), params: z.strictObject({ message: z.string() }) }),
  /** R3: pacs.007 to the participant. */
  z.strictObject({ type: z.literal('notifyReversal') }),
  /** R3: 9430 0000 on the reversal's own connection. */
  z.strictObject({ type: z.literal('replyReversal'), params: z.strictObject({ handle: z.string() }) }),
]);

export type InboundEffect = z.infer<typeof inboundEffect>;

const effects: EffectActions<InboundEffect> = {
  offer: EFFECT_ACTION,
  reply: EFFECT_ACTION,
  replyRepeat: EFFECT_ACTION,
  replyRepeats: EFFECT_ACTION,
  tellStandIn: EFFECT_ACTION,
  answerLate: EFFECT_ACTION,
  notifyReversal: EFFECT_ACTION,
  replyReversal: EFFECT_ACTION,
};

export type InboundEvent =
  | { type: 'OFFER' }
  /** The offer could not be made (its pacs.008 did not build or validate, or could not be put). */
  | { type: 'OFFER_FAILED' }
  /** The participant's pacs.002; `message` is its MQ message id, which an answer to it correlates to. */
  | { type: 'DECIDED'; accept: boolean; code: ActionCode; message: string }
  | { type: 'DEADLINE'; at: number }
  /** Admission control: the site cannot get it decided in time, so it is not offered (`admission.ts`). */
  | { type: 'SHED' }
  | { type: 'REPLY_SENT' }
  | { type: 'REPLY_LOST' }
  | { type: 'REPEAT'; handle: string }
  | { type: 'REVERSAL'; handle: string };

/** States in which nothing more is owed by the gateway until the scheme speaks again. */
export const INBOUND_SETTLED = ['replied', 'reply-lost', 'reversed'] as const;

const outcomeKnown = ({ context }: { context: InboundContext }) => context.outcome !== null;

/**
 * An inbound payment (scheme to participant), from its 9200 to the reply on the arrival
 * connection, or its reversal. Pure: timers and I/O are the runtime's; this says what to do.
 */
export const inboundMachine = setup({
  types: {
    context: {} as InboundContext,
    events: {} as InboundEvent,
    input: {} as InboundInput,
  },
  actions: {
    ...effects,
    forgetWaiting: assign({ waitingRepeats: [] }),
    standIn: assign({ outcome: ActionCode.standIn, decidedBy: 'stand-in' }),
  },
  guards: {
    routed: ({ context }) => context.participant !== null,
    due: ({ context, event }) => event.type === 'DEADLINE' && event.at >= context.standInAt,
    outcomeKnown,
    stoodIn: ({ context }) => context.decidedBy === 'stand-in',
  },
}).createMachine({
  id: 'inbound',
  context: ({ input }) => ({ ...input, outcome: null, decidedBy: null, offered: false, waitingRepeats: [] }),
  initial: 'received',
  on: {
    // [R3] A reversal is recorded whatever the state, told to the participant, and answered 9430 on its own connection.
    REVERSAL: {
      target: '.reversed',
      actions: [
        { type: 'notifyReversal' },
        { type: 'replyReversal', params: ({ event }) => ({ handle: event.handle }) },
      ],
    },
    // [R5] A repeat gets the original outcome, once known, and never reaches the participant again.
    REPEAT: [
      {
        guard: 'outcomeKnown',
        actions: {
          type: 'replyRepeat',
          params: ({ context, event }) => ({ handle: event.handle, code: context.outcome! }),
        },
      },
      { actions: assign({ waitingRepeats: ({ context, event }) => [...context.waitingRepeats, event.handle] }) },
    ],
    // [R6] A decision after a stand-in changes nothing; it is recorded and answered RJCT 0912.
    DECIDED: { guard: 'stoodIn', actions: { type: 'answerLate', params: ({ event }) => ({ message: event.message }) } },
  },
  states: {
    received: {
      always: [
        { guard: 'routed', target: 'recorded' },
        // [P1] No participant owns the beneficiary sort code: 1100 without reaching any queue.
        {
          target: 'decided',
          actions: assign({ outcome: ActionCode.invalidAccount, decidedBy: 'gateway' }),
        },
      ],
    },
    recorded: {
      on: {
        OFFER: { target: 'offered', actions: [assign({ offered: true }), 'offer'] },
        // [R6] Undecided at T_in - margin: the gateway answers 0912 itself.
        DEADLINE: { guard: 'due', target: 'stood-in' },
        // [R6] Past capacity it answers 0912 at once rather than offer what cannot be decided in time.
        SHED: { target: 'stood-in' },
      },
    },
    offered: {
      on: {
        DECIDED: {
          target: 'decided',
          actions: assign({
            outcome: ({ event }) => (event.accept ? ActionCode.accepted : event.code),
            decidedBy: 'participant',
          }),
        },
        // [P10] The participant has the payment: it must learn, RJCT 0912, that it was rejected for it.
        DEADLINE: { guard: 'due', target: 'stood-in', actions: 'tellStandIn' },
        // [R6] No participant can decide a payment it never got: stood in at once, not at the
        // deadline. No notice follows an offer that did not go.
        OFFER_FAILED: { target: 'stood-in', actions: assign({ offered: false }) },
      },
    },
    decided: {
      entry: [
        { type: 'reply', params: ({ context }) => ({ code: context.outcome! }) },
        {
          type: 'replyRepeats',
          params: ({ context }) => ({ handles: context.waitingRepeats, code: context.outcome! }),
        },
        'forgetWaiting',
      ],
      on: { REPLY_SENT: 'replied', REPLY_LOST: 'reply-lost' },
    },
    'stood-in': {
      entry: [
        'standIn',
        { type: 'reply', params: { code: ActionCode.standIn } },
        {
          type: 'replyRepeats',
          params: ({ context }) => ({ handles: context.waitingRepeats, code: ActionCode.standIn }),
        },
        'forgetWaiting',
      ],
      on: { REPLY_SENT: 'replied', REPLY_LOST: 'reply-lost' },
    },
    replied: {},
    // [R4] The arrival connection closed first: recorded reply-lost; a 9201 or a 9420 is expected.
    'reply-lost': {},
    reversed: {
      // A 9421 repeat is answered the same way, once recorded.
      on: { REVERSAL: { actions: { type: 'replyReversal', params: ({ event }) => ({ handle: event.handle }) } } },
    },
  },
});

/**
 * A new payment's first state and its effects (`start`): with `OFFER` on the open site, which
 * offers what it records; with `SHED` when admission control stands it in on arrival.
 */
export function startInbound(
  input: InboundInput,
  then?: 'OFFER' | 'SHED',
): { snapshot: InboundSnapshot; effects: InboundEffect[] } {
  return start(inboundMachine, inboundEffect, input, then === undefined ? undefined : { type: then });
}

export type InboundSnapshot = SnapshotFrom<typeof inboundMachine>;

/** Rebuilds a payment's machine from what the ledger holds, for recovery and for repeats. */
export function resumeInbound(state: string, context: InboundContext): InboundSnapshot {
  return inboundMachine.resolveState({ value: state, context });
}
