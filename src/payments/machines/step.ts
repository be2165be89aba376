import {
  initialTransition,
  transition,
  type AnyStateMachine,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';
import type { z } from 'zod';

/**
 * An effect a machine asks for: performed by the runtime only after the new state is committed.
 * Each machine declares its own union of them as a zod schema (`inboundEffect`, `outboundEffect`).
 */
export interface Effect {
  type: string;
  params?: unknown;
}

type ParamsOf<E extends Effect, T extends E['type']> = E extends { type: T; params: infer P } ? P : undefined;

/**
 * The xstate `actions` of a machine's effects, one per member of its union and no other, each
 * typed by the params of its effect. They do nothing: the machine only names them; the desk
 * performs them after the commit. Build one with `EFFECT_ACTION` for every key.
 */
export type EffectActions<E extends Effect> = {
  [T in E['type']]: (args: unknown, params: ParamsOf<E, T>) => undefined;
};

/** The body of every effect action: nothing runs inside the machine. */
export const EFFECT_ACTION = (): undefined => undefined;

export interface Step<M extends AnyStateMachine, E extends Effect> {
  snapshot: SnapshotFrom<M>;
  effects: E[];
  /** False when the event was not handled: no new state and nothing to do. */
  changed: boolean;
}

/** One pure transition: the next snapshot and the effects it calls for, as `effects` types them. No I/O, no timers. */
export function step<M extends AnyStateMachine, E extends Effect>(
  machine: M,
  effects: z.ZodType<E>,
  snapshot: SnapshotFrom<M>,
  event: EventFromLogic<M>,
): Step<M, E> {
  const [next, actions] = transition(machine, snapshot, event);
  const typed = toEffects(effects, actions);
  return { snapshot: next, effects: typed, changed: next !== snapshot || typed.length > 0 };
}

/**
 * A new payment's first state and its effects. `then`: an event it takes in the same step when its
 * first state takes it, so that one commit records the payment and moves it on (the open site
 * offers what it records, a desk submits what it is instructed).
 */
export function start<M extends AnyStateMachine, E extends Effect>(
  machine: M,
  effects: z.ZodType<E>,
  input: InputFrom<M>,
  then?: EventFromLogic<M>,
): { snapshot: SnapshotFrom<M>; effects: E[] } {
  const [snapshot, actions] = initialTransition(machine, input);
  const first = toEffects(effects, actions);
  if (then === undefined) return { snapshot, effects: first };
  const next = step(machine, effects, snapshot as SnapshotFrom<M>, then);
  return next.changed
    ? { snapshot: next.snapshot, effects: [...first, ...next.effects] }
    : { snapshot, effects: first };
}

/**
 * The actions xstate returns, as members of the machine's effect union. Its assignments never
 * reach here (xstate applies them), so every action left is an effect; one that does not parse
 * is a machine out of step with its union (a bug the model test looks for), and throws.
 */
export function toEffects<E extends Effect>(
  effects: z.ZodType<E>,
  actions: ReadonlyArray<{ type: string; params?: unknown }>,
): E[] {
  return actions.map((a) => {
    const parsed = effects.safeParse(a.params === undefined ? { type: a.type } : { type: a.type, params: a.params });
    if (!parsed.success)
      throw new Error(
        `action ${a.type} is not an effect of its machine: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    return parsed.data;
  });
}

/** The exhaustiveness check of a desk's `switch (effect.type)`: compiles only when every effect has its case. */
export function unhandledEffect(effect: never): never {
  const e: unknown = effect;
  throw new Error(
    `no case for effect ${typeof e === 'object' && e !== null && 'type' in e ? String(e.type) : typeof e}`,
  );
}

/** The state a snapshot is in, as stored in the ledger. Machines here are flat, so it is a string. */
export function stateOf(snapshot: { value: unknown }): string {
  return String(snapshot.value);
}
