// Hunting on the deterministic worker pool (--jobs): the first failing seed, the count of
// schedules to it and the failure are the sequential hunt's, whatever the threads' timing.
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { hunt } from '../src/sched/hunt.js';
import { HUNT_BLOCK, huntParallel } from '../src/sched/hunt_parallel.js';
import { DetSession } from '../src/sched/session.js';
import { cli } from './helpers/cli.js';

afterAll(async () => {
  await shutdownAll();
});

const session = (policy: string, strategy: 'random' | 'pct') => {
  const s = loadScenario(policy === 'will-v1' ? 'S1' : 'S6');
  return new DetSession({ scenario: s, policy: getPolicy(policy), cpus: s.cpus, strategy });
};

describe('hunt on worker threads', () => {
  test('S6 under merged: the same first failing seed, schedule count and failure as the sequential hunt, seed after seed', async () => {
    const seq = session('merged', 'random');
    const par = session('merged', 'random');
    let pastFirstBlock = 0;
    for (const seed of [0, 40, 100, 300, 340]) {
      const a = hunt(seq, { seed, maxSchedules: 2000 });
      const b = await huntParallel(par, { seed, maxSchedules: 2000, jobs: 2 });
      expect(a.found).not.toBeNull();
      expect(b.found?.seed).toBe(a.found!.seed);
      expect(b.schedules).toBe(a.schedules);
      expect(b.found?.run.signature).toBe(a.found!.run.signature);
      expect(b.found?.run.schedule).toBe(a.found!.run.schedule);
      expect(b.ran).toBeGreaterThanOrEqual(b.schedules);
      if (a.schedules > HUNT_BLOCK) pastFirstBlock++;
    }
    // Some of these hunts need more than one block of seeds: the claiming order is exercised.
    expect(pastFirstBlock).toBeGreaterThan(0);
  });

  test('with no failure, every seed is run exactly once', async () => {
    const r = await huntParallel(session('will-v1', 'pct'), { seed: 5, maxSchedules: 3 * HUNT_BLOCK + 7, jobs: 2 });
    expect(r.found).toBeNull();
    expect(r.ran).toBe(3 * HUNT_BLOCK + 7);
    expect(r.schedules).toBe(r.ran);
    expect(r.stopped).toBe(false);
  });

  test('an aborted hunt stops, and says so', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await huntParallel(session('will-v1', 'pct'), { seed: 5, maxSchedules: 1_000_000, jobs: 2, signal: ac.signal });
    expect(r.found).toBeNull();
    expect(r.stopped).toBe(true);
    expect(r.ran).toBeLessThan(1_000_000);
  });
});

describe('hunt --jobs on the command line', () => {
  test('--jobs auto finds the seed --jobs 1 finds', async () => {
    const one = await cli('hunt', 'S6', '--policy', 'merged', '--strategy', 'random', '--seed', '3', '--no-replay-file', '--jobs', '1');
    const all = await cli('hunt', 'S6', '--policy', 'merged', '--strategy', 'random', '--seed', '3', '--no-replay-file', '--jobs', 'auto');
    expect(one.code).toBe(1);
    expect(all.code).toBe(1);
    const seedLine = (out: string) => out.split('\n').find((l) => l.startsWith('seed '));
    expect(seedLine(all.out)).toBe(seedLine(one.out));
    expect(all.out.match(/first failure after (\d+) schedule/)?.[1]).toBe(one.out.match(/first failure after (\d+) schedule/)?.[1]);
  });

  test.each([['0'], ['many'], ['-2']])('--jobs %s -> exit 2 naming the flag', async (v) => {
    const r = await cli('hunt', 'S6', '--jobs', v);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--jobs: expected an integer from 1 to 1024, got ${v}`);
  });
});
