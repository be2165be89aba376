/**
 * An invariant that must never break was broken: a bug, not a fault of the world outside. It is
 * thrown, never caught to carry on, so that the step relying on the invariant does nothing more.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Asserts an invariant where it is relied on. Put one where the data is written and one where it
 * is read (TigerBeetle's assertions in pairs), so a break is caught at the nearer of the two.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`assertion failed: ${message}`);
}
