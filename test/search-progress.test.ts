// Progress of hunts and searches: the searches report their running count while they run (at
// their slices' turns on one thread, from the shared count on worker threads), and the renderer
// writes at most one plain line per interval with the latest count.
import { VirtualTimeScheduler } from 'rxjs';
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { SearchProgress, searchProgressLine } from '../src/report/search_progress.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { exploreParallel } from '../src/sched/explore_parallel.js';
import { huntAsync } from '../src/sched/hunt.js';
import { huntParallel } from '../src/sched/hunt_parallel.js';
import { DetSession } from '../src/sched/session.js';

afterAll(async () => {
  await shutdownAll();
});

/** Counts heard: non-decreasing, none above what the search reports at its end. */
function expectRunningCounts(heard: number[], end: number): void {
  expect(heard.length).toBeGreaterThan(0);
  for (let i = 1; i < heard.length; i++) expect(heard[i]!).toBeGreaterThanOrEqual(heard[i - 1]!);
  expect(heard.at(-1)!).toBeLessThanOrEqual(end);
  expect(heard.at(-1)!).toBeGreaterThan(0);
}

/** S1 under will-v1 with PCT: no failure in its first 40,000 seeds, so the hunt runs its budget. */
const quietHunt = () => new DetSession({ scenario: loadScenario('S1'), policy: getPolicy('will-v1'), cpus: 8, strategy: 'pct', depth: 3 });
const s9 = () => new DetSession({ scenario: compactCpus(loadScenario('S9'), 3), policy: getPolicy('merged'), cpus: 3 });

describe('searches report their count while they run', () => {
  test('huntAsync (one thread): at its turns of the event loop', async () => {
    const heard: number[] = [];
    const r = await huntAsync(quietHunt(), { seed: 1, maxSchedules: 10_000, onProgress: (n) => heard.push(n) });
    expect(r.schedules).toBe(10_000);
    expectRunningCounts(heard, r.schedules);
  });

  test('huntParallel: the schedules run on every thread', async () => {
    const heard: number[] = [];
    const r = await huntParallel(quietHunt(), { seed: 1, maxSchedules: 20_000, jobs: 2, onProgress: (n) => heard.push(n) });
    expectRunningCounts(heard, r.ran);
  });

  test.each([1, 2])('explore on %i thread(s): the interleavings counted so far', async (jobs) => {
    const heard: number[] = [];
    const r = await exploreParallel(s9(), { preemptionBound: 3, jobs, maxInterleavings: 1000, onProgress: (n) => heard.push(n) });
    expect(r.stoppedBy).toBe('max-interleavings');
    expectRunningCounts(heard, r.interleavings);
  });
});

describe('the progress display', () => {
  test('plain lines: at most one per interval, with the latest count, and nothing after stop()', () => {
    const sched = new VirtualTimeScheduler();
    const out: string[] = [];
    const p = new SearchProgress({
      label: 'explore',
      unit: 'interleavings',
      cap: 1_000_000,
      stream: { write: (s: string) => out.push(s), isTTY: false },
      plainEveryMs: 5000,
      scheduler: sched,
    });
    p.update(100);
    p.update(2500);
    expect(out).toHaveLength(0);
    sched.flush(); // the 5 s window closes: one line with its last count
    expect(out).toEqual(['explore: 2,500 interleavings of at most 1,000,000, 5s (500/s)\n']);
    sched.flush();
    expect(out).toHaveLength(1); // nothing new: no line
    p.update(4000);
    p.stop();
    p.update(9000);
    sched.flush();
    expect(out).toHaveLength(1);
    expect(p.count).toBe(4000);
    expect(searchProgressLine('hunt', 'schedules', 31_000, 100_000, 1000)).toBe('hunt: 31,000 schedules of at most 100,000, 1s (31000/s)\n');
  });
});
