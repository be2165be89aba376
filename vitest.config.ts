import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real servers on loopback; running files one at a time keeps
    // ports and the two cores from being fought over.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
