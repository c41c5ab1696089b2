// piscina task: run a chunk of deterministic trials (one scenario, one policy) on the
// single-thread cooperative runtime and return them folded into a PolicyAggregate. Chunks are
// independent (each seeds its own scheduler), so a pool runs them on every core at once.
import { checkPolicy } from '../src/policy/derive.js';
import { CooperativeRuntime } from '../src/runtime/cooperative.js';
import { dimsFor } from '../src/runtime/dims.js';
import type { DetChunk } from '../src/runtime/det_stress.js';
import { PolicyAggregator, type PolicyAggregate } from '../src/stats/aggregate.js';
import { huntBlocks as runHuntBlocks, type HuntBlocksResult, type HuntTask } from '../src/sched/hunt_parallel.js';
import { searchSubtree, type SubtreeResult, type SubtreeTask } from '../src/sched/explore_parallel.js';
import { DetSession } from '../src/sched/session.js';
import type { CellOutcome } from '../src/study/run_cells.js';
import { type CellTask, runCellTask } from '../src/study/run_cells_parallel.js';

export default function runChunk(c: DetChunk): PolicyAggregate {
  const rt = new CooperativeRuntime({ nCpus: c.cpus, policy: checkPolicy(c.policy), dims: dimsFor(c.scenario, c.cpus), seed: c.seed });
  rt.configure({ kind: 'scenario', scenario: c.scenario });
  const agg = new PolicyAggregator(c.policy.id);
  for (let t = c.firstTrial; t < c.firstTrial + c.trials; t++) agg.add(rt.runTrial(t));
  return agg.toJSON();
}

/** piscina task `huntBlocks`: one thread of a parallel hunt (sched/hunt_parallel.ts). */
export function huntBlocks(t: HuntTask): HuntBlocksResult {
  return runHuntBlocks({ ...t, session: { ...t.session, policy: checkPolicy(t.session.policy) } });
}

/** One session per exploration in this thread: a subtree task reuses it (the setup is the same). */
let exploreSession: { key: string; s: DetSession } | null = null;

/** piscina task `exploreSubtree`: one subtree of a parallel explore (sched/explore_parallel.ts). */
export function exploreSubtree(t: SubtreeTask): SubtreeResult {
  if (exploreSession?.key !== t.key) exploreSession = { key: t.key, s: new DetSession({ ...t.session, policy: checkPolicy(t.session.policy), trace: false }) };
  return searchSubtree(exploreSession.s, t);
}

/** piscina task `runCell`: one cell of a study on this thread (study/run_cells_parallel.ts). */
export function runCell(t: CellTask): Promise<CellOutcome> {
  return runCellTask({ ...t, cell: { ...t.cell, policy: checkPolicy(t.cell.policy) } });
}
