// The CPU runtime with genuine worker threads: flush semantics by state, the generation skip
// rule under concurrency, a blocked caller draining its own CPU, crash reporting and thread
// cleanup, and large CPU counts on a small host. Needs the compiled worker (npm test builds it).
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { waitSpinNs } from '../src/cpu/freerun.js';
import { Stat } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import type { TrialResult } from '../src/trial/result.js';
import { liveWorkerCount, shutdownAll } from '../src/runtime/registry.js';
import type { ProgramParams } from '../src/job/programs.js';

const osThreads = () => readdirSync('/proc/self/task').length;

async function runDrainProgram(cpus: number, params: Partial<ProgramParams>, trials: number, policyId = 'v6.11') {
  const c = await Coordinator.start({ cpus });
  const results: TrialResult[] = [];
  try {
    await c.configure({ job: { kind: 'program', name: 'drain', params: params as Record<string, number> }, policy: getPolicy(policyId), seed: 1 });
    const outcome = await c.run({ trials, batchSize: 8, onTrial: (r) => results.push(r) });
    return { outcome, results };
  } finally {
    await c.shutdown();
  }
}

const sum = (rs: TrialResult[], stat: number) => rs.reduce((a, r) => a + (r.stats[stat] ?? 0), 0);

afterEach(async () => {
  await shutdownAll();
  expect(liveWorkerCount()).toBe(0);
});

describe('lru_add_drain_all() on worker threads', () => {
  test('flush returns only after every queued CPU ran its work, while other CPUs keep adding', async () => {
    const { outcome, results } = await runDrainProgram(4, { drainers: 1, adders: 3, drains: 25, adds: 50 }, 4);
    expect(outcome.crash).toBeNull();
    expect(results).toHaveLength(4);
    // The drainer checked, after each return, that the last folio every adder had finished
    // adding before the call is now on the LRU: any early return is reported as a failure.
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    const drainAlls = results.flatMap((r) => r.drainAlls);
    expect(drainAlls).toHaveLength(100);
    expect(drainAlls.some((d) => d.cpusQueued > 0)).toBe(true);
    // Every queued work ran: works run on the CPUs equal the works queued.
    expect(sum(results, Stat.DRAIN_WORK_RUN)).toBe(sum(results, Stat.DRAIN_ALL_CPUS_QUEUED));
  });

  test('concurrent callers: a skipping caller still finds its own earlier adds drained', async () => {
    const { outcome, results } = await runDrainProgram(4, { drainers: 4, adders: 0, drains: 30, ownAdds: 1 }, 3);
    expect(outcome.crash).toBeNull();
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    const calls = results.flatMap((r) => r.drainAlls);
    expect(calls).toHaveLength(4 * 30 * 3);
    expect(calls.filter((d) => d.genSkipped).length).toBe(sum(results, Stat.DRAIN_ALL_GEN_SKIP));
  });

  test('a CPU blocked in lru_add_drain_all() runs its own drain work', async () => {
    // CPU 0 fills its own lru_add batch, then drains all; nobody else has work. Without its
    // kworker running while it waits, the flush would never return (watchdog).
    const { outcome, results } = await runDrainProgram(2, { drainers: 1, adders: 0, drains: 5, ownAdds: 3 }, 2);
    expect(outcome.crash).toBeNull();
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    for (const r of results) {
      expect(r.drainAlls.every((d) => d.cpusQueued === 1)).toBe(true);
      expect(r.stats[Stat.DRAIN_WORK_RUN]).toBe(5);
    }
  });
});

describe('crashes and shutdown', () => {
  test('an exception in a CPU names the CPU and the operation, and no worker thread is left', async () => {
    const before = osThreads();
    const { outcome, results } = await runDrainProgram(4, { drainers: 1, adders: 2, drains: 3, bugAtStep: 2 }, 5);
    expect(outcome.crash).toMatchObject({ cpu: 0, step: 2, op: 'bug' });
    expect(outcome.crash!.message).toMatch(/BUG/);
    const crashTrial = results.find((r) => r.failures.some((f) => f.kind === 'emulator'));
    expect(crashTrial?.failures[0]?.message).toMatch(/crashed \(trial \d+, cpu 0, step 2, bug\)/);
    expect(liveWorkerCount()).toBe(0);
    // No OS thread left behind (other runtime threads may come and go, so not exact equality).
    expect(osThreads()).toBeLessThanOrEqual(before);
  });
});

describe('many CPUs on a small host', () => {
  test('waits spin before sleeping only when every thread that would spin has a core: the coordinator counts while it runs kernel code', () => {
    const spin = (scripted: number, nCpus: number, mine: boolean, coordinatorRuns: boolean) => waitSpinNs({ scripted, nCpus, mine, coordinatorRuns, cores: 2 });
    expect(spin(1, 1, true, true)).toBeGreaterThan(0); // one CPU and the coordinator on 2 cores
    expect(spin(2, 2, true, false)).toBeGreaterThan(0); // the coordinator only awaits the batch
    expect(spin(2, 2, true, true)).toBe(0); // two CPUs and a draining coordinator: one too many
    expect(spin(3, 3, true, false)).toBe(0);
    expect(spin(0, 2, false, false)).toBe(0); // a job that scripts no CPU
    // one drainer among idle CPUs: the drainer spins; the idle CPUs only while all threads fit
    expect(spin(1, 2, false, false)).toBeGreaterThan(0);
    expect(spin(1, 8, true, false)).toBeGreaterThan(0);
    expect(spin(1, 8, false, false)).toBe(0);
  });
  test.each([16, 64])(
    '%i CPUs run drains among adders',
    async (cpus) => {
      const { outcome, results } = await runDrainProgram(cpus, { drainers: 2, adders: cpus - 2, drains: 5, adds: 8 }, 2);
      expect(outcome.crash).toBeNull();
      expect(results).toHaveLength(2);
      expect(results.flatMap((r) => r.failures)).toEqual([]);
      expect(sum(results, Stat.DRAIN_WORK_RUN)).toBe(sum(results, Stat.DRAIN_ALL_CPUS_QUEUED));
    },
    60_000,
  );
});
