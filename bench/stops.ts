import type { Cleanup } from '../test/support/cleanup.js';

/**
 * What a bench started, stopped by `stopAll` in reverse order; a failure to stop is not the bench's
 * result. SIGINT or SIGTERM stops it all too, then exits 130: the children run detached in groups
 * of their own and would outlive a bench killed without it (a `timeout`, a Ctrl-C).
 */
export function benchCleanup(): Cleanup & { stopAll(): Promise<void> } {
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping everything the bench started\n`);
      void stopAll().finally(() => process.exit(130));
    });
  return { push: (...stop) => void stops.push(...stop), stopAll };
}

/**
 * A bench that could not run says why in one line and exits 1, rather than with a stack trace:
 * most often a part it needs is not there (RabbitMQ not started, a port taken).
 */
export function benchFailed(err: unknown): void {
  process.stderr.write(`bench: failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
