// Deterministic mode: schedules per second (one trial each, as `hunt` runs them) for S1 and S6,
// hunting time to the first S6 failure, the exhaustive S1 search (3 CPUs, preemption bound 2),
// and the measurement behind the cooperative-vs-lockstep choice: one lockstep hand-off between
// two worker threads (Atomics.notify + Atomics.wait, both ways) against one cooperative decision.
import { Worker } from 'node:worker_threads';
import { getPolicy } from '../src/mm/policy.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { sameSignatures } from '../src/sched/end_state.js';
import { explore, type ExploreOutcome } from '../src/sched/explore.js';
import { exploreParallel } from '../src/sched/explore_parallel.js';
import { encodeSchedule } from '../src/sched/schedule.js';
import { hunt } from '../src/sched/hunt.js';
import { huntParallel } from '../src/sched/hunt_parallel.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { availableParallelism } from 'node:os';
import { DetSession } from '../src/sched/session.js';
import type { StrategyName } from '../src/sched/scheduler.js';

export interface SchedBench {
  rates: Array<{
    scenario: string;
    policy: string;
    strategy: StrategyName;
    schedulesPerSec: number;
    decisionsPerSchedule: number;
    usPerDecision: number;
    /** Per schedule (µs): reset and setup, the decision loop (kernel code included), the end-of-trial checks. */
    phasesUs: { reset: number; schedule: number; check: number };
  }>;
  hunts: Array<{ policy: string; strategy: StrategyName; schedules: number; ms: number }>;
  exhaustive: Array<{ policy: string; timeless: boolean; interleavings: number; ms: number; complete: boolean; failures: number }>;
  /** explore with and without sleep sets, side by side (3 CPUs, scripted CPUs renumbered). */
  reduction: Array<{
    scenario: string;
    policy: string;
    bound: number;
    cpus: number;
    none: { interleavings: number; ms: number; complete: boolean };
    sleep: { interleavings: number; pruned: number; ms: number; complete: boolean };
    sameSignatures: boolean;
    signatures: number;
  }>;
  handoffUs: number;
  /** Hunting throughput on one thread and on the worker pool (hunt --jobs), after a warm-up each. */
  parallelHunt: { schedules: number; threads: number; seqPerSec: number; parPerSec: number; sameFirst: boolean };
  /** The biggest reduction row's search (S9 merged, bound 3, sleep sets) again on the pool's threads (explore --jobs). */
  parallelExplore: { threads: number; subtrees: number; seqMs: number; parMs: number; interleavings: number; complete: boolean; same: boolean };
}

/**
 * Steady-state cost of one schedule: warm up until the JIT has settled (the first few hundred
 * schedules compile the kernel paths), then time `n` schedules in five slices and keep the
 * median slice, so a burst of load on a shared host moves one slice, not the figure.
 */
function rate(scenario: string, policy: string, strategy: StrategyName, n: number): SchedBench['rates'][number] {
  const s = loadScenario(scenario);
  const sess = new DetSession({ scenario: s, policy: getPolicy(policy), cpus: s.cpus, strategy, depth: 3 });
  for (let i = 0; i < 1000; i++) sess.run(i); // warm-up
  const ph = sess.rt.phases;
  const before = { ...ph };
  const slices: Array<{ sec: number; decisions: number; schedules: number }> = [];
  const per = Math.max(1, Math.floor(n / 5));
  for (let k = 0; k < 5; k++) {
    let decisions = 0;
    const t0 = performance.now();
    for (let i = 0; i < per; i++) decisions += sess.run(1000 + k * per + i).decisions.length;
    slices.push({ sec: (performance.now() - t0) / 1000, decisions, schedules: per });
  }
  slices.sort((a, b) => a.sec / a.decisions - b.sec / b.decisions);
  const m = slices[2]!;
  const t = ph.trials - before.trials;
  const phasesUs = {
    reset: ((ph.resetMs - before.resetMs) * 1000) / t,
    schedule: ((ph.scheduleMs - before.scheduleMs) * 1000) / t,
    check: ((ph.checkMs - before.checkMs) * 1000) / t,
  };
  return {
    scenario,
    policy,
    strategy,
    schedulesPerSec: m.schedules / m.sec,
    decisionsPerSchedule: m.decisions / m.schedules,
    usPerDecision: (m.sec * 1e6) / m.decisions,
    phasesUs,
  };
}

/** Median round trip of a lockstep hand-off: main wakes the worker, the worker wakes main. */
async function handoff(rounds: number): Promise<number> {
  const sab = new SharedArrayBuffer(8);
  const w = new Int32Array(sab);
  const src = `
    const { workerData } = require('node:worker_threads');
    const w = new Int32Array(workerData);
    for (let i = 1; ; i++) {
      let v;
      while ((v = Atomics.load(w, 0)) !== i && v >= 0) Atomics.wait(w, 0, v);
      if (v < 0) break;
      Atomics.store(w, 1, i);
      Atomics.notify(w, 1);
    }`;
  const worker = new Worker(src, { eval: true, workerData: sab });
  await new Promise((r) => setTimeout(r, 50));
  const times: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    const t = performance.now();
    Atomics.store(w, 0, i);
    Atomics.notify(w, 0);
    let v: number;
    while ((v = Atomics.load(w, 1)) !== i) Atomics.wait(w, 1, v, 1000);
    times.push(performance.now() - t);
  }
  Atomics.store(w, 0, -1);
  Atomics.notify(w, 0);
  await worker.terminate();
  times.sort((a, b) => a - b);
  return times[times.length >> 1]! * 1000;
}

/**
 * Schedules per second of a hunt that finds nothing (S1 under will-v1, PCT), on one thread and on
 * the pool's threads, each after a warm-up hunt (the pool's threads start and compile the kernel
 * paths in it); and whether both find the same first S6 failure under merged.
 */
async function parallelHunt(schedules: number): Promise<SchedBench['parallelHunt']> {
  const s1 = loadScenario('S1');
  const sess = new DetSession({ scenario: s1, policy: getPolicy('will-v1'), cpus: s1.cpus, strategy: 'pct', depth: 3 });
  const threads = availableParallelism();
  try {
    const warm = Math.min(10_000, schedules);
    hunt(sess, { seed: 1, maxSchedules: warm });
    const a = hunt(sess, { seed: 100_000, maxSchedules: schedules });
    await huntParallel(sess, { seed: 1, maxSchedules: warm * threads, jobs: threads });
    const b = await huntParallel(sess, { seed: 100_000, maxSchedules: schedules, jobs: threads });
    const s6 = new DetSession({ scenario: loadScenario('S6'), policy: getPolicy('merged'), cpus: 8, strategy: 'random' });
    const one = hunt(s6, { seed: 40, maxSchedules: 10_000 });
    const all = await huntParallel(s6, { seed: 40, maxSchedules: 10_000, jobs: threads });
    return {
      schedules,
      threads: b.threads,
      seqPerSec: a.schedules / (a.elapsedMs / 1000),
      parPerSec: b.ran / (b.elapsedMs / 1000),
      sameFirst: one.found?.seed === all.found?.seed && one.schedules === all.schedules,
    };
  } finally {
    await shutdownAll();
  }
}

/** What two searches found, for comparing them: every count, and each failure's representative and place. */
const searchKey = (r: ExploreOutcome) =>
  JSON.stringify([
    r.interleavings,
    r.pruned,
    r.maxDecisions,
    r.failures.map((f) => [f.signature, f.count, f.run.preemptions, encodeSchedule(f.explicit), f.firstAt]),
  ]);

/** S9 under merged at bound 3 with sleep sets on every core, against the one-thread search of the reduction table. */
async function parallelExplore(one: ExploreOutcome, limitMs: number): Promise<SchedBench['parallelExplore']> {
  const sc = compactCpus(loadScenario('S9'), 3);
  try {
    const r = await exploreParallel(new DetSession({ scenario: sc, policy: getPolicy('merged'), cpus: 3 }), {
      preemptionBound: 3,
      jobs: availableParallelism(),
      timeLimitMs: limitMs,
    });
    return {
      threads: r.threads,
      subtrees: r.subtrees,
      seqMs: one.elapsedMs,
      parMs: r.elapsedMs,
      interleavings: r.interleavings,
      complete: r.complete && one.complete,
      same: searchKey(r) === searchKey(one),
    };
  } finally {
    await shutdownAll();
  }
}

export async function benchSched(n: number): Promise<SchedBench> {
  const rates = [
    rate('S1', 'v6.11', 'random', n),
    rate('S1', 'will-v1', 'random', n),
    rate('S6', 'will-v1', 'random', n),
    rate('S6', 'will-v1', 'pct', n),
    rate('S6', 'merged', 'pct', n),
  ];
  const hunts: SchedBench['hunts'] = [];
  for (const policy of ['will-v1', 'merged']) {
    for (const strategy of ['random', 'pct'] as const) {
      // mean over 20 independent hunts (seeds 1, 1001, ...): schedules and time to the first failure
      let schedules = 0;
      let ms = 0;
      const sess = new DetSession({ scenario: loadScenario('S6'), policy: getPolicy(policy), cpus: 8, strategy, depth: 3 });
      for (let k = 0; k < 20; k++) {
        const h = hunt(sess, { seed: 1 + 1000 * k, maxSchedules: 100_000 });
        schedules += h.schedules;
        ms += h.elapsedMs;
      }
      hunts.push({ policy, strategy, schedules: schedules / 20, ms: ms / 20 });
    }
  }
  const s1 = compactCpus(loadScenario('S1'), 3);
  const exhaustive = [false, true].flatMap((timeless) =>
    ['will-v1', 'v6.11', 'merged'].map((policy) => {
      const r = explore(new DetSession({ scenario: s1, policy: getPolicy(policy), cpus: 3, timeless }), { preemptionBound: 2 });
      return { policy, timeless, interleavings: r.interleavings, ms: r.elapsedMs, complete: r.complete, failures: r.failures.length };
    }),
  );
  const reduction: SchedBench['reduction'] = [];
  let s9: ExploreOutcome | null = null;
  // [scenario, policy, preemption bound, CPUs (the scripted ones renumbered from 0)]
  const cases: Array<[string, string, number, number]> = [
    ...['S1', 'S6'].flatMap((id) => ['v6.11', 'merged'].flatMap((p) => [2, 3].map((b): [string, string, number, number] => [id, p, b, 3]))),
    ['S9', 'v6.11', 2, 3],
    ['S9', 'v6.11', 3, 3],
    ['S9', 'merged', 2, 3],
    ['S9', 'merged', 3, 3], // ~45 s here: 25,000 runs of up to 2,035 decisions each way
    ['S7', 'merged', 2, 5],
    ['S8', 'v6.11', 2, 4],
    ['S10', 'merged', 2, 4],
  ];
  // Per search; BENCH_EXPLORE_LIMIT_S shortens it (the smoke test), the row then marked incomplete.
  const exploreLimitMs = Number(process.env.BENCH_EXPLORE_LIMIT_S ?? 120) * 1000;
  for (const [id, policy, bound, cpus] of cases) {
    const sc = compactCpus(loadScenario(id), cpus);
    const run = (r: 'none' | 'sleep-sets') =>
      explore(new DetSession({ scenario: sc, policy: getPolicy(policy), cpus }), { preemptionBound: bound, reduction: r, timeLimitMs: exploreLimitMs });
    const off = run('none');
    const on = run('sleep-sets');
    if (id === 'S9' && policy === 'merged' && bound === 3) s9 = on;
    reduction.push({
      scenario: id,
      policy,
      bound,
      cpus,
      none: { interleavings: off.interleavings, ms: off.elapsedMs, complete: off.complete },
      sleep: { interleavings: on.interleavings, pruned: on.pruned, ms: on.elapsedMs, complete: on.complete },
      sameSignatures: sameSignatures(on, off),
      signatures: off.failures.length,
    });
  }
  const parallel = await parallelHunt(Number(process.env.BENCH_HUNT_SCHEDULES ?? 40_000));
  const parallelX = await parallelExplore(s9!, exploreLimitMs);
  return { rates, hunts, exhaustive, reduction, handoffUs: await handoff(2000), parallelHunt: parallel, parallelExplore: parallelX };
}
