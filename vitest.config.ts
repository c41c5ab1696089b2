import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Runtime tests start real worker threads on a 2-core machine: generous per-test limits,
    // and no two test files fighting over the cores with spinning CPU threads.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
