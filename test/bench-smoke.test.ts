// `npm run bench` still runs (the benchmarks are not timed tests: this only checks that each part
// starts, finishes and prints its figures, at tiny sizes; no timing is asserted).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const bench = (part: string, env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), part], { cwd: ROOT, encoding: 'utf8', timeout: 50_000, env: { ...process.env, ...env } });

test('bench drain and sched run to the end at small sizes', () => {
  const drain = bench('drain', { BENCH_ROUNDS: '5', BENCH_CPUS: '1,2' });
  expect(drain.stderr).toBe('');
  expect(drain.status).toBe(0);
  expect(drain.stdout).toContain('lru_add_drain_all() round trip');
  const sched = bench('sched', { BENCH_SCHEDULES: '20' });
  expect(sched.stderr).toBe('');
  expect(sched.status).toBe(0);
  expect(sched.stdout).toContain('lockstep hand-off between two threads');
});
