// A hunt or an exhaustive search on this thread gives the event loop a turn every SLICE_MS, so an
// abort (the CLI's Ctrl-C handler is a callback on that loop) is seen while it searches, and the
// search stops where it is with what it found so far. (Run to its end in one go, the handler ran
// only after the last schedule: a 1,000,000-interleaving search could not be stopped.) The CLI's
// side, with a real SIGINT, is in signals.test.ts.
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { exploreParallel } from '../src/sched/explore_parallel.js';
import { huntAsync } from '../src/sched/hunt.js';
import { DetSession } from '../src/sched/session.js';

afterAll(async () => {
  await shutdownAll();
});

/** S1 under will-v1 with PCT: no failure in the first 40,000 seeds (bench sched's hunt line), so a hunt runs to its budget. */
const quietHunt = () => new DetSession({ scenario: loadScenario('S1'), policy: getPolicy('will-v1'), cpus: 8, strategy: 'pct', depth: 3 });
/** S9 under merged, 3 CPUs, bound 3: 25,523 interleavings, 16-35 s on one thread here. */
const bigSearch = () => new DetSession({ scenario: compactCpus(loadScenario('S9'), 3), policy: getPolicy('merged'), cpus: 3 });

describe('a search on this thread sees an abort while it runs', () => {
  test('huntAsync: aborted at its first turn of the event loop, it stops at the next schedule', async () => {
    const ac = new AbortController();
    // Runs at the hunt's first turn of the event loop, about SLICE_MS in.
    setImmediate(() => ac.abort());
    const r = await huntAsync(quietHunt(), { seed: 1, maxSchedules: 300_000, signal: ac.signal });
    expect(r.found).toBeNull();
    expect(r.stopped).toBe(true);
    expect(r.schedules).toBeGreaterThan(0);
    expect(r.schedules).toBeLessThan(300_000);
  });

  test('huntAsync: a hunt that ran its whole budget is not "stopped", though the signal came', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await huntAsync(quietHunt(), { seed: 1, maxSchedules: 1, signal: ac.signal });
    expect(r.found).toBeNull();
    expect(r.schedules).toBe(1);
    expect(r.stopped).toBe(false);
  });

  test('explore on one thread: aborted at its first turn of the event loop, it stops and says so', async () => {
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    const r = await exploreParallel(bigSearch(), { preemptionBound: 3, jobs: 1, signal: ac.signal });
    expect(r.threads).toBe(1);
    expect(r.complete).toBe(false);
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.interleavings).toBeGreaterThan(0);
    expect(r.interleavings).toBeLessThan(25_307);
  });
});
