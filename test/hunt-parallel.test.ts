// Hunting on the deterministic worker pool (--jobs): the first failing seed, the count of
// schedules to it and the failure are the sequential hunt's, whatever the threads' timing.
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { hunt } from '../src/sched/hunt.js';
import { HUNT_BLOCK, HW, huntBlocks, huntParallel, NONE } from '../src/sched/hunt_parallel.js';
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

describe("one thread's share (huntBlocks, run here on a preset shared buffer)", () => {
  const S1 = loadScenario('S1');
  const task = (first: number, stop: number) => {
    const shared = new SharedArrayBuffer(64);
    const w = new Int32Array(shared);
    Atomics.store(w, HW.FIRST, first);
    Atomics.store(w, HW.STOP, stop);
    const t = {
      session: { scenario: S1, policy: getPolicy('will-v1'), cpus: S1.cpus, strategy: 'pct' as const },
      seed: 9,
      maxSchedules: 1000,
      deadlineMs: null,
      shared,
    };
    return { t, w };
  };
  test('stopped with no failure pending: it claims nothing', () => {
    const { t, w } = task(NONE, 1);
    expect(huntBlocks(t)).toEqual({ ran: 0, event: null });
    expect(Atomics.load(w, HW.NEXT)).toBe(0);
  });
  test("stopped with a failure pending at offset 40 (another thread's): it still runs every seed below it, and none above", () => {
    const { t, w } = task(40, 1);
    const r = huntBlocks(t);
    expect(r).toEqual({ ran: 40, event: null }); // will-v1 passes S1: offsets 0..39, in blocks 0 and 1
    expect(Atomics.load(w, HW.FIRST)).toBe(40);
    expect(Atomics.load(w, HW.RAN)).toBe(40);
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
    expect(r.err).toContain(`--jobs: expected 'auto' or a count of threads from 1 up, got ${v}`);
  });
});
