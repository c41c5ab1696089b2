// piscina task: run a chunk of deterministic trials (one scenario, one policy) on the
// single-thread cooperative runtime and return them folded into a PolicyAggregate. Chunks are
// independent (each seeds its own scheduler), so a pool runs them on every core at once.
import { checkPolicy } from '../src/policy/derive.js';
import { CooperativeRuntime } from '../src/runtime/cooperative.js';
import { dimsFor } from '../src/runtime/dims.js';
import type { DetChunk } from '../src/runtime/det_stress.js';
import { PolicyAggregator, type PolicyAggregate } from '../src/stats/aggregate.js';
import { huntBlocks as runHuntBlocks, type HuntTask } from '../src/sched/hunt_parallel.js';

export default function runChunk(c: DetChunk): PolicyAggregate {
  const rt = new CooperativeRuntime({ nCpus: c.cpus, policy: checkPolicy(c.policy), dims: dimsFor(c.scenario, c.cpus), seed: c.seed });
  rt.configure({ kind: 'scenario', scenario: c.scenario });
  const agg = new PolicyAggregator(c.policy.id);
  for (let t = c.firstTrial; t < c.firstTrial + c.trials; t++) agg.add(rt.runTrial(t));
  return agg.toJSON();
}

/** piscina task `huntBlocks`: one thread of a parallel hunt (sched/hunt_parallel.ts). */
export function huntBlocks(t: HuntTask): number {
  return runHuntBlocks({ ...t, session: { ...t.session, policy: checkPolicy(t.session.policy) } });
}
