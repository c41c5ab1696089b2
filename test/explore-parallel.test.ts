// explore on the deterministic worker pool (--jobs): the subtrees below a shallow cut searched
// on other threads add up to exactly the one-thread search: interleavings, abandoned runs, the
// longest run, every failure signature with its count, representative and place in the order.
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { detPool } from '../src/runtime/det_stress.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { explore, type ExploreOutcome, type Reduction } from '../src/sched/explore.js';
import { chooseCut, exploreParallel } from '../src/sched/explore_parallel.js';
import { encodeSchedule } from '../src/sched/schedule.js';
import { DetSession } from '../src/sched/session.js';
import { cli } from './helpers/cli.js';

afterAll(async () => {
  await shutdownAll();
});

const summary = (r: ExploreOutcome) => ({
  interleavings: r.interleavings,
  pruned: r.pruned,
  complete: r.complete,
  maxDecisions: r.maxDecisions,
  maxBranching: r.maxBranching,
  failures: r.failures.map((f) => ({
    signature: f.signature,
    count: f.count,
    preemptions: f.run.preemptions,
    explicit: encodeSchedule(f.explicit),
    firstAt: f.firstAt,
  })),
});

describe('explore on worker threads', () => {
  test.each([
    ['S6', 'merged', 3, 3, 'sleep-sets'],
    ['S6', 'v6.11', 3, 3, 'none'],
    ['S8', 'v6.11', 4, 2, 'sleep-sets'],
    ['S7', 'merged', 5, 2, 'sleep-sets'],
    // Deeper and wider: three signatures, two of them first found inside subtrees.
    ['S6', 'merged', 4, 3, 'sleep-sets', true],
    // A small search whose cut sits near its runs' ends (a subtree handed out from one depth too deep shows here).
    ['S2', 'merged', 3, 2, 'sleep-sets'],
  ] as const)(
    '%s under %s, %i CPUs, bound %i, %s: the same search as one thread',
    async (id, policy, cpus, bound, reduction: Reduction, timeless: boolean = false) => {
      const scenario = compactCpus(loadScenario(id), cpus);
      const session = () => new DetSession({ scenario, policy: getPolicy(policy), cpus, timeless });
      const one = explore(session(), { preemptionBound: bound, reduction });
      const many = await exploreParallel(session(), { preemptionBound: bound, reduction, jobs: 2 });
      expect(summary(many)).toEqual(summary(one));
      // The work really was split (on a host of one core there is one thread and no split).
      if (many.threads > 1) expect(many.subtrees).toBeGreaterThan(2);
      // Each failure's run came back whole: its decisions replay to the same signature.
      for (const f of many.failures) expect(f.run.signature).toBe(f.signature);
    },
  );

  // The tests below need two threads; on a host of one core they are reported as skipped.
  const multi = availableParallelism() > 1;

  /** S9's search with an already-aborted signal, on `jobs` threads: it stops and says so. */
  async function abortedSearch(jobs: number) {
    const ac = new AbortController();
    ac.abort();
    const scenario = compactCpus(loadScenario('S9'), 3);
    const r = await exploreParallel(new DetSession({ scenario, policy: getPolicy('merged'), cpus: 3 }), { preemptionBound: 3, jobs, signal: ac.signal });
    expect(r.threads).toBe(jobs);
    expect(r.complete).toBe(false);
    expect(r.stoppedBy).toBe('interrupted');
    return r.interleavings;
  }

  test('an aborted search on one thread stops after its first run', async () => {
    expect(await abortedSearch(1)).toBe(1);
  });

  test.skipIf(!multi)("an aborted search on two threads stops after each thread's current run", async () => {
    expect(await abortedSearch(2)).toBeLessThan(100);
  });

  /** The deterministic pool, counting the subtree tasks sent to it, and this session's runs when the first was sent. */
  function countingPool(session: DetSession) {
    const counts = { now: 0, peak: 0, tasks: 0, runs: 0, runsAtFirstTask: -1 };
    const real = session.run.bind(session);
    session.run = (...a: Parameters<DetSession['run']>) => {
      counts.runs++;
      return real(...a);
    };
    const pool = {
      run: async (task: unknown, opts: { name: string }) => {
        if (counts.tasks++ === 0) counts.runsAtFirstTask = counts.runs;
        counts.peak = Math.max(counts.peak, ++counts.now);
        try {
          return await detPool().run(task, opts);
        } finally {
          counts.now--;
        }
      },
    };
    return { pool, counts };
  }

  test.skipIf(!multi)('at most --jobs subtrees run at once, however many threads the pool has, the first while this thread still searches', async () => {
    const scenario = compactCpus(loadScenario('S6'), 3);
    const session = new DetSession({ scenario, policy: getPolicy('merged'), cpus: 3 });
    const { pool, counts } = countingPool(session);
    const r = await exploreParallel(session, { preemptionBound: 3, jobs: 2, pool });
    expect(r.threads).toBe(2);
    expect(counts.tasks).toBe(r.subtrees);
    expect(counts.tasks).toBeGreaterThan(2);
    expect(counts.peak).toBe(2);
    // Sent as soon as handed out, not after this thread's search (its runs, then the failures' re-runs).
    expect(counts.runsAtFirstTask).toBeGreaterThan(0);
    expect(counts.runsAtFirstTask).toBeLessThan(counts.runs / 2);
  });

  test('a limited search says only that it is incomplete, and why', async () => {
    const scenario = compactCpus(loadScenario('S9'), 3);
    const r = await exploreParallel(new DetSession({ scenario, policy: getPolicy('merged'), cpus: 3 }), { preemptionBound: 3, jobs: 2, maxInterleavings: 200 });
    expect(r.complete).toBe(false);
    expect(r.stoppedBy).toBe('max-interleavings');
    // Each thread stops at its next run once the shared count reaches the limit.
    expect(r.interleavings).toBeGreaterThanOrEqual(200);
    expect(r.interleavings).toBeLessThan(200 + 4 * r.threads);
  });

  test.skipIf(!multi)("this thread's search throwing: the subtrees waiting for a thread are not sent, and none is left running", async () => {
    const scenario = compactCpus(loadScenario('S6'), 3);
    const session = new DetSession({ scenario, policy: getPolicy('merged'), cpus: 3 });
    const { pool, counts } = countingPool(session);
    const counted = session.run;
    let sentAtThrow = -1;
    session.run = (...a: Parameters<DetSession['run']>) => {
      if (counts.runs === 11) {
        sentAtThrow = counts.tasks;
        throw new Error('emulator fault in run 12');
      }
      return counted(...a);
    };
    await expect(exploreParallel(session, { preemptionBound: 3, jobs: 2, pool })).rejects.toThrow('emulator fault in run 12');
    // Runs 1-11 handed out about one subtree each; two threads had taken some of them by then
    // (this thread gives the event loop a turn every 20 ms, where finished ones make room).
    expect(sentAtThrow).toBeGreaterThan(0);
    // After the throw none of those still waiting was sent, and none was left running.
    expect(counts.tasks).toBe(sentAtThrow);
    expect(counts.now).toBe(0);
  });

  test.skipIf(!multi)('a subtree failing while this thread still searches ends the exploration with its error, not the process', async () => {
    // S9 (3 CPUs, bound 3): this thread searches for many slices, so the rejection arrives while it does.
    const scenario = compactCpus(loadScenario('S9'), 3);
    const session = new DetSession({ scenario, policy: getPolicy('merged'), cpus: 3 });
    let calls = 0;
    const pool = {
      run: (task: unknown, opts: { name: string }) => (++calls === 1 ? Promise.reject(new Error('worker fault')) : detPool().run(task, opts)),
    };
    await expect(exploreParallel(session, { preemptionBound: 3, jobs: 2, pool })).rejects.toThrow('explore: a worker failed: worker fault');
  });

  test('the cut: the first depth where the choices so far multiply to the subtrees wanted', () => {
    expect(chooseCut([1, 2, 1, 3, 2], 6)).toBe(3);
    expect(chooseCut([1, 2, 1, 3, 2], 100)).toBe(5); // never: no cut inside the run
    expect(chooseCut([4], 2)).toBe(0);
  });
});

describe('explore --jobs on the command line', () => {
  test('--jobs auto prints what --jobs 1 prints, timing aside', async () => {
    const args = ['explore', 'S6', '--policy', 'merged', '--cpus', '3', '--compact', '--preemptions', '3'];
    const one = await cli(...args, '--jobs', '1');
    const all = await cli(...args, '--jobs', 'auto');
    expect(one.code).toBe(1);
    expect(all.code).toBe(1);
    const untimed = (s: string) => s.replace(/ in [\d.]+ s \(\d+\/s\)/, '');
    expect(untimed(all.out)).toBe(untimed(one.out));
    expect(one.out).toMatch(/failure 2: /);
  });
  test('--jobs 0 -> exit 2 naming the flag', async () => {
    const r = await cli('explore', 'S1', '--jobs', '0');
    expect(r.code).toBe(2);
    expect(r.err).toContain("--jobs: expected 'auto' or a count of threads from 1 up, got 0");
  });
});
