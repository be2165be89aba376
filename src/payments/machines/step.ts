import { transition, type AnyStateMachine, type SnapshotFrom, type EventFromLogic } from 'xstate';

/** An effect a machine asks for: performed by the runtime only after the new state is committed. */
export interface Effect {
  type: string;
  params?: Record<string, unknown>;
}

export interface Step<M extends AnyStateMachine> {
  snapshot: SnapshotFrom<M>;
  effects: Effect[];
  /** False when the event was not handled: no new state and nothing to do. */
  changed: boolean;
}

/** One pure transition: the next snapshot and the effects it calls for. No I/O, no timers. */
export function step<M extends AnyStateMachine>(machine: M, snapshot: SnapshotFrom<M>, event: EventFromLogic<M>): Step<M> {
  const [next, actions] = transition(machine, snapshot, event);
  const effects = toEffects(actions);
  return { snapshot: next, effects, changed: next !== snapshot || effects.length > 0 };
}

export function toEffects(actions: ReadonlyArray<{ type: string; params?: unknown }>): Effect[] {
  return actions.map((a) => (a.params === undefined ? { type: a.type } : { type: a.type, params: a.params as Record<string, unknown> }));
}

/** The state a snapshot is in, as stored in the ledger. Machines here are flat, so it is a string. */
export function stateOf(snapshot: { value: unknown }): string {
  return String(snapshot.value);
}
