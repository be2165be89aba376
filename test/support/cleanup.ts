import { afterAll } from 'vitest';

/**
 * What a test file started, stopped after its tests, the last started first. A failure to stop is
 * not the test's failure: the test has already said what it found.
 */
export interface Cleanup {
  push(...stop: Array<() => Promise<unknown>>): void;
}

export function stopAfterAll(): Cleanup {
  const stops: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });
  return { push: (...stop) => void stops.push(...stop) };
}
