// S1 throughput and time to first failure: free-run on CPU worker threads and on the
// deterministic runtime, measured in the same run.
import { getPolicy } from '../src/mm/policy.js';
import { nowNs } from '../src/cpu/freerun.js';
import { CooperativeRuntime } from '../src/runtime/cooperative.js';
import { dimsFor } from '../src/runtime/dims.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { runStress } from '../src/runtime/stress.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';

export interface S1Bench {
  freeRunTrialsPerSec: number;
  coopTrialsPerSec: number;
  firstFailureMs: number;
  firstFailureTrial: number;
  startMs: number;
  cpus: number;
}

export async function benchS1(cpus: number, trials: number): Promise<S1Bench> {
  const s = compactCpus(loadScenario('S1'), cpus);
  const policy = getPolicy('v6.11');
  // Start the CPU threads first (1 trial), so throughput excludes thread start-up.
  const t0 = performance.now();
  await runStress({ scenario: s, policy, cpus, trials: 1, seed: 1 });
  const startMs = performance.now() - t0;
  let first = -1;
  let firstMs = -1;
  const t1 = performance.now();
  const t1ns = nowNs();
  await runStress({
    scenario: s,
    policy,
    cpus,
    trials,
    seed: 2,
    batchSize: 256,
    onTrial: (r) => {
      // When the failing pin_user_pages() returned, on the CPU's own clock (process-wide).
      const failed = r.pins.find((p) => p.rc < 0);
      if (first < 0 && failed) {
        first = r.trial;
        firstMs = (failed.endNs - t1ns) / 1e6;
      }
    },
  });
  const freeRunTrialsPerSec = trials / ((performance.now() - t1) / 1000);
  await shutdownAll();

  const rt = new CooperativeRuntime({ nCpus: cpus, policy, dims: dimsFor(s, cpus), seed: 3 });
  rt.configure({ kind: 'scenario', scenario: s });
  const n = Math.min(trials, 5000);
  const t2 = performance.now();
  for (let t = 0; t < n; t++) rt.runTrial(t);
  const coopTrialsPerSec = n / ((performance.now() - t2) / 1000);
  return { freeRunTrialsPerSec, coopTrialsPerSec, firstFailureMs: firstMs, firstFailureTrial: first, startMs, cpus };
}
