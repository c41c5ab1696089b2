// folio-race as a library: the deliberate export list. Everything a script needs to run the
// emulator (stress on CPU worker threads or on the deterministic runtime, one traced trial,
// hunt / explore / replay), to name kernels (built-in variants, releases, a user's switches), to
// load and check scenarios, to read the results (aggregates, intervals, histograms) and to check
// a scenario on a real kernel. Nothing here installs process handlers: runs take an AbortSignal,
// and `shutdownAll()` stops every worker thread a script started.
//
//   import { loadScenario, resolveKernel, runDeterministicStress, shutdownAll } from 'folio-race';
//   const out = await runDeterministicStress({ scenario: loadScenario('S1'), policy: resolveKernel('6.12.45'),
//                                              cpus: 8, trials: 200, seed: 1 });
//   console.log(out.aggregate.rate, out.aggregate.ci95);
//   await shutdownAll();

// ---- running ------------------------------------------------------------------------------
export { runStress, type StressOptions, type StressOutcome } from './runtime/stress.js';
export { runDeterministicStress } from './runtime/det_stress.js';
export { runOne, type RunOneOptions, type RunOneOutcome } from './runtime/run_one.js';
export { shutdownAll, liveWorkerCount } from './runtime/registry.js';
export type { Failure, FailureKind, TrialResult } from './trial/result.js';

// ---- deterministic mode: the shuttle-style entry points ------------------------------------
export { DetSession, explicitSchedule, type DetRun, type SessionOptions } from './sched/session.js';
export { type AsyncHuntOutcome, hunt, huntAsync, type HuntOptions, type HuntOutcome } from './sched/hunt.js';
export { huntParallel, type ParallelHuntOptions, type ParallelHuntOutcome } from './sched/hunt_parallel.js';
export { exploreParallel, type ParallelExploreOptions, type ParallelExploreOutcome } from './sched/explore_parallel.js';
export { explore, type ExploreFailure, type ExploreOptions, type ExploreOutcome, type Reduction } from './sched/explore.js';
export { ReplayScheduler, ScheduleDivergence } from './sched/replay.js';
export { makeReplayFile, readReplayFile, tracedReplay, writeReplayFile, type ReplayFile, type ReplaySetup } from './sched/replay_file.js';

// ---- timing studies, and logical time at server scale ---------------------------------------
export { runCells, type CellSpec, type CellOutcome, type RunCellsOptions } from './study/run_cells.js';
export { runCellsParallel, type ParallelCellsOptions } from './study/run_cells_parallel.js';
export { drainLatencyCells, pinStormCells, raceWindowCells, DRAIN_LATENCY_DEFAULTS, type DrainLatencyParams } from './study/studies.js';
export { LogicalRuntime, type LogicalOptions } from './runtime/logical.js';
export { DEFAULT_COSTS, COST_SOURCES, CostModelSchema, type CostModel, type CostField } from './cost/model.js';
export { loadCostFile, validateCostFile } from './cost/file.js';
export { fitCostsFromTrace, costFileFromFit, TraceFitError, type TraceFit, type FittedField } from './cost/from_trace.js';
export { parseFtrace, parseFtraceLine, type FtraceLine } from './trace/ftrace.js';

// ---- kernels: variants, releases, switches -------------------------------------------------
export { BASELINE, POLICIES, getPolicy, policyIds, withSwitches, deltaFromBaseline, type Policy, type PolicySwitches } from './mm/policy.js';
export { SWITCH_DOCS, SWITCH_KEYS, switchSchemaJson, type SwitchDoc } from './mm/policy_schema.js';
export { resolvePolicySpec } from './policy/resolve.js';
export { RELEASES, releaseFor, releasePolicy, resolveKernels, type KernelRelease, type SwitchChange } from './policy/releases.js';

import { releaseFor, releasePolicy } from './policy/releases.js';
import type { Policy } from './mm/policy.js';
/** The variant of one kernel release ("6.12.45", "v6.17-rc6"): its range's full switch set. */
export function resolveKernel(version: string): Policy {
  return releasePolicy(releaseFor(version));
}

// ---- scenarios ------------------------------------------------------------------------------
export { loadScenario, loadScenarioFile, parseScenarioText, validateScenario, loadAllBuiltins, type ValidateOptions } from './scenario/load.js';
export { builtinScenarioIds } from './scenario/builtin.js';
export { OP_SPECS, OP_NAMES, type Op, type OpName } from './scenario/ops/index.js';
export { MEASURES, type Scenario } from './scenario/schema.js';
export { explainScenario } from './scenario/explain.js';
export { InputFileError, ScenarioError, PolicyFileError, CostFileError, type ScenarioProblem } from './input/problems.js';

// ---- results ----------------------------------------------------------------------------------
export { aggregateTrials, PolicyAggregator, trialFailed, COUNTED_KINDS, type PolicyAggregate, type CountedKind } from './stats/aggregate.js';
export { wilson, Z95 } from './stats/wilson.js';
export { LatencyHistogram, type LatencySummary } from './stats/histogram.js';
export { VMSTAT, vmstatDeltas } from './report/vmstat.js';

// ---- the same scenario on a real kernel ----------------------------------------------------------
export { translateScenarios, UntranslatableError, type Translation } from './realkernel/translate.js';
export {
  compareScenario,
  emulatorFigures,
  realFigures,
  type Comparison,
  type ScenarioComparison,
  type SideFigures,
  type Verdict,
} from './realkernel/compare.js';
