// Deterministic mode: schedules per second (one trial each, as `hunt` runs them) for S1 and S6,
// hunting time to the first S6 failure, the exhaustive S1 search (3 CPUs, preemption bound 2),
// and the measurement behind the cooperative-vs-lockstep choice: one lockstep hand-off between
// two worker threads (Atomics.notify + Atomics.wait, both ways) against one cooperative decision.
import { Worker } from 'node:worker_threads';
import { getPolicy } from '../src/mm/policy.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { explore } from '../src/sched/explore.js';
import { hunt } from '../src/sched/hunt.js';
import { DetSession } from '../src/sched/session.js';
import type { StrategyName } from '../src/sched/scheduler.js';

export interface SchedBench {
  rates: Array<{ scenario: string; policy: string; strategy: StrategyName; schedulesPerSec: number; decisionsPerSchedule: number; usPerDecision: number }>;
  hunts: Array<{ policy: string; strategy: StrategyName; schedules: number; ms: number }>;
  exhaustive: Array<{ policy: string; timeless: boolean; interleavings: number; ms: number; complete: boolean; failures: number }>;
  handoffUs: number;
}

function rate(scenario: string, policy: string, strategy: StrategyName, n: number): SchedBench['rates'][number] {
  const s = loadScenario(scenario);
  const sess = new DetSession({ scenario: s, policy: getPolicy(policy), cpus: s.cpus, strategy, depth: 3 });
  for (let i = 0; i < 50; i++) sess.run(i); // warm-up
  let decisions = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) decisions += sess.run(1000 + i).decisions.length;
  const sec = (performance.now() - t0) / 1000;
  return { scenario, policy, strategy, schedulesPerSec: n / sec, decisionsPerSchedule: decisions / n, usPerDecision: (sec * 1e6) / decisions };
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
  return { rates, hunts, exhaustive, handoffUs: await handoff(2000) };
}
