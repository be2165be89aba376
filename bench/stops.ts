import type { Cleanup } from '../test/support/cleanup.js';

/** What a bench started, stopped by `stopAll` in reverse order; a failure to stop is not the bench's result. */
export function benchCleanup(): Cleanup & { stopAll(): Promise<void> } {
  const stops: Array<() => Promise<unknown>> = [];
  return {
    push: (...stop) => void stops.push(...stop),
    async stopAll() {
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    },
  };
}
