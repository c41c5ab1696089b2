import { defineConfig } from 'vitest/config';

// Two projects, both run by `npm test`: `unit` is the kernel layer and the pure modules (one CPU,
// deterministic, seconds: `npx vitest run --project unit` while editing src/mm); `integration`
// starts worker threads, child processes, Chromium and QEMU.
const UNIT = [
  'access',
  'docs',
  'drain_all',
  'gup',
  'gup_fast',
  'hotplug_extract',
  'invariants',
  'logical',
  'kernel-compare',
  'kernel-translate',
  'memory',
  'migrate',
  'mlock',
  'mlock_range',
  'place',
  'policy-spec',
  'report_plots',
  'rmap',
  'scenario-compile',
  'scenario-deadlock',
  'scenario-load',
  'stats',
  'swap',
  'trace',
  'trace-real',
].map((n) => `test/${n}.test.ts`);

export default defineConfig({
  test: {
    // Runtime tests start real worker threads on a 2-core machine: generous per-test limits,
    // and no two test files fighting over the cores with spinning CPU threads.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
