// `npm run bench` still runs (the benchmarks are not timed tests: this only checks that each part
// starts, finishes and prints its figures, at tiny sizes; no timing is asserted).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const bench = (part: string, env: Record<string, string>, ...rest: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), part, ...rest], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 50_000,
    env: { ...process.env, ...env },
  });

test('bench drain and sched run to the end at small sizes', () => {
  const drain = bench('drain', { BENCH_ROUNDS: '5', BENCH_CPUS: '1,2' });
  expect(drain.stderr).toBe('');
  expect(drain.status).toBe(0);
  expect(drain.stdout).toContain('lru_add_drain_all() round trip');
  // Busy rows carry a third ratio, against the floor polled at the CPU's own scheduling-point gap.
  const busy = drain.stdout.split('\n').filter((l) => /^ +[12] +busy /.test(l));
  expect(busy).toHaveLength(2);
  // (only where every thread has a core: else the gap would count time slices).
  for (const l of busy) {
    const cpus = Number(l.trim().split(/ +/)[0]);
    expect(l.match(/\d\.\d\dx \(/g)?.length ?? 0).toBe(cpus + 1 <= availableParallelism() ? 3 : 2);
  }
  const sched = bench('sched', { BENCH_SCHEDULES: '20', BENCH_EXPLORE_LIMIT_S: '1', BENCH_HUNT_SCHEDULES: '200' });
  expect(sched.stderr).toBe('');
  expect(sched.status).toBe(0);
  expect(sched.stdout).toContain('lockstep hand-off between two threads');
  expect(sched.stdout).toMatch(/hunt --jobs \d+ \d+ schedules\/s .* the same on both: yes/);
  expect(sched.stdout).toMatch(/explore --jobs \d+ \d+ ms .* representatives: /);
});

test('bench ab compares two builds in one process, and names what is missing', () => {
  // This checkout against itself: five rows, each with a ratio.
  const ab = bench('ab', { BENCH_AB_SLICES: '2', BENCH_AB_SCHEDULES: '5', BENCH_AB_EXPLORE_SLICES: '2', BENCH_AB_EXPLORE_MS: '20' }, ROOT);
  expect(ab.stderr).toBe('');
  expect(ab.status).toBe(0);
  expect(ab.stdout.match(/^ {2}S[16] .* (random|pct) .* \d+\.\d{3} \(/gm)).toHaveLength(5); // tiny slices: a ratio may be anything
  expect(ab.stdout.match(/^ {2}S[69] .* (sleep-sets|none) .* \d+\.\d{3} \(/gm)).toHaveLength(3);
  const none = bench('ab', {});
  expect(none.status).not.toBe(0);
  expect(none.stderr).toContain('name the other checkout');
  const unbuilt = bench('ab', {}, join(ROOT, 'no-such-checkout'));
  expect(unbuilt.status).not.toBe(0);
  expect(unbuilt.stderr).toContain('no-such-checkout');
});
