// Deterministic stress runs on the piscina pool: same seed, same figures, whatever the pool size
// or the threads used (--jobs).
import { availableParallelism } from 'node:os';
import { afterAll, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { runDeterministicStress } from '../src/runtime/det_stress.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { cli } from './helpers/cli.js';

afterAll(async () => {
  await shutdownAll();
});

test('the same seed gives the same aggregate; another seed gives another schedule', async () => {
  const s = loadScenario('S6');
  const run = (seed: number) => runDeterministicStress({ scenario: s, policy: getPolicy('merged'), cpus: s.cpus, trials: 120, seed });
  const a = (await run(11)).aggregate;
  const b = (await run(11)).aggregate;
  expect(a.trials).toBe(120);
  expect(b.failures).toEqual(a.failures);
  expect(b.stats).toEqual(a.stats);
  expect(b.pinLatencyNs.hdr).toBe(a.pinLatencyNs.hdr);
  const c = (await run(12)).aggregate;
  expect(c.stats).not.toEqual(a.stats);
});

test('--jobs: one thread or every core, the same aggregate', async () => {
  const s = loadScenario('S6');
  const run = (jobs: number) => runDeterministicStress({ scenario: s, policy: getPolicy('merged'), cpus: s.cpus, trials: 200, seed: 5, jobs });
  const one = (await run(1)).aggregate;
  const all = (await run(availableParallelism())).aggregate;
  expect(one.trials).toBe(200);
  expect(all).toEqual(one);
});

test('stress --jobs: for --mode deterministic only, and checked', async () => {
  const free = await cli('stress', 'S1', '--policy', 'v6.11', '--trials', '2', '--jobs', '2');
  expect(free.code).toBe(2);
  expect(free.err).toContain('--jobs 2: for --mode deterministic');
  const bad = await cli('stress', 'S1', '--policy', 'v6.11', '--trials', '2', '--mode', 'deterministic', '--jobs', 'x');
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--jobs: expected 'auto' or a count of threads from 1 up, got x");
  const one = await cli('stress', 'S6', '--policy', 'merged', '--trials', '64', '--seed', '3', '--mode', 'deterministic', '--jobs', '1', '--no-progress');
  const auto = await cli('stress', 'S6', '--policy', 'merged', '--trials', '64', '--seed', '3', '--mode', 'deterministic', '--jobs', 'auto', '--no-progress');
  expect(one.code).toBe(auto.code);
  expect(auto.out).toBe(one.out);
});
