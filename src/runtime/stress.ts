// Stress runs: one scenario under one policy for K trials on genuine CPU worker threads
// (free-run), folded into a PolicyAggregate as trials complete. The CPU threads are kept
// between policies of the same run (same CPU count and memory size): nothing is spawned per
// trial, and only the job and policy change between policies.
import type { RunOutcome } from '../coordinator/coordinator.js';
import { sharedCoordinator } from '../coordinator/shared.js';
import type { Policy } from '../mm/policy.js';
import type { Scenario } from '../scenario/schema.js';
import { resolveNames, ScenarioBoard } from '../scenario/setup.js';
import { PolicyAggregator, type PolicyAggregate } from '../stats/aggregate.js';
import type { TrialResult } from '../trial/result.js';
import { dimsFor } from './dims.js';

export interface StressOptions {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  trials: number;
  seed: number;
  onTrial?: (r: TrialResult) => void;
  signal?: AbortSignal;
  /** Trials per batch between main-thread round trips (default 128). */
  batchSize?: number;
  /** Free-run: a trial that has not finished after this long is a `watchdog` finding (ms, default 10000). */
  watchdogMs?: number;
  /** Deterministic: chunks running at once, on as many pool threads (default: the host's cores). The aggregate does not depend on it. */
  jobs?: number;
}
export interface StressOutcome {
  aggregate: PolicyAggregate;
  aborted: boolean;
  /** Set when a CPU crashed (the run stopped there; results so far are in the aggregate). */
  crash?: RunOutcome['crash'];
}

export async function runStress(opts: StressOptions): Promise<StressOutcome> {
  const { nCpus: _n, ...dims } = dimsFor(opts.scenario, opts.cpus);
  const c = await sharedCoordinator(opts.cpus, dims);
  const board = new ScenarioBoard(resolveNames(opts.scenario));
  await c.configure({ job: { kind: 'scenario', scenario: opts.scenario, board: board.sab }, policy: opts.policy, seed: opts.seed });
  const agg = new PolicyAggregator(opts.policy.id);
  const onAbort = () => c.abort('interrupted');
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const out = await c.run({
      trials: opts.trials,
      batchSize: opts.batchSize ?? 128,
      ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
      onTrial: (r) => {
        agg.add(r);
        opts.onTrial?.(r);
      },
    });
    return { aggregate: agg.toJSON(), aborted: out.aborted, crash: out.crash };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
