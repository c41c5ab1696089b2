// Running a study's cells: each cell is a job (the drain-latency program or a scenario), a policy
// with switch overrides, a CPU count and a number of trials, run on genuine worker threads (the
// coordinator; threads are kept between cells of the same CPU count and memory size) or on the
// deterministic runtime (one thread, logical time: reproducible, for tests). Optionally every
// cell's trace ring is read back for --perfetto / --ftrace.
import { eventLoopTurns } from '../sched/slices.js';
import type { Coordinator } from '../coordinator/coordinator.js';
import { sharedCoordinator } from '../coordinator/shared.js';
import type { JobSpec } from '../job/job.js';
import type { Dims } from '../mm/layout.js';
import type { Policy } from '../mm/policy.js';
import { CooperativeRuntime } from '../runtime/cooperative.js';
import { PolicyAggregator, type PolicyAggregate } from '../stats/aggregate.js';
import { TraceRing, type TraceRecord } from '../trace/ring.js';
import { RingTraceSink } from '../trace/sink.js';
import type { TracepointLog } from '../trace/tracepoints.js';
import type { CellParams, StudyMode } from './doc.js';
import { type CostModel, DEFAULT_COSTS } from '../cost/model.js';
import { LogicalRuntime } from '../runtime/logical.js';
import type { TrialResult } from '../trial/result.js';

export interface CellSpec {
  key: string;
  index: number;
  params: CellParams;
  job: JobSpec;
  /** The cell's full switch set (drain mechanism included). */
  policy: Policy;
  cpus: number;
  dims: Omit<Dims, 'nCpus'>;
  trials: number;
  seed: number;
}

export interface CellOutcome {
  aggregate: PolicyAggregate;
  /**
   * Logical time: the cell's first trial drew no random number, so its other trials would have
   * repeated it exactly and were not run (`trials` asked for, 1 ran). Their copies would only
   * narrow the intervals without adding a sample.
   */
  identicalTrials?: number;
  /** Trace events of the cell (when tracing), merged in sequence order. */
  trace: TraceRecord[] | null;
  aborted: boolean;
}

export interface RunCellsOptions {
  mode: StudyMode;
  /** The logical-time model's costs (mode 'logical'; default DEFAULT_COSTS). */
  costs?: CostModel;
  /** Records per CPU ring when tracing (the most recent ones are kept). */
  tracePerCpu?: number;
  /** Mode 'logical': every cell's drains as kernel tracepoints, one cell after another (study --ftrace). */
  tracepoints?: TracepointLog;
  signal?: AbortSignal;
  onCell?: (c: CellSpec, o: CellOutcome) => void;
  /** Before a cell starts, and after each of its trials (progress display). */
  onCellStart?: (c: CellSpec) => void;
  onTrial?: (c: CellSpec, r: TrialResult) => void;
}

export async function runCells(cells: readonly CellSpec[], opts: RunCellsOptions): Promise<CellOutcome[]> {
  const out: CellOutcome[] = [];
  for (const cell of cells) {
    if (opts.signal?.aborted) break;
    const ring = opts.tracePerCpu ? TraceRing.create({ nCpus: cell.cpus, perCpu: opts.tracePerCpu }) : null;
    opts.onCellStart?.(cell);
    const onTrial = opts.onTrial ? (r: TrialResult) => opts.onTrial!(cell, r) : undefined;
    const signal = opts.signal;
    let o: CellOutcome;
    try {
      o =
        opts.mode === 'free-run'
          ? await runFreeRun(await sharedCoordinator(cell.cpus, cell.dims), cell, ring, signal, onTrial)
          : await runCellHere(cell, opts.mode, {
              ...(opts.costs ? { costs: opts.costs } : {}),
              ring,
              ...(opts.tracepoints ? { tracepoints: opts.tracepoints } : {}),
              ...(signal ? { stopped: () => signal.aborted } : {}),
              ...(onTrial ? { onTrial } : {}),
            });
    } catch (e) {
      throw cellError(cell, e);
    }
    out.push(o);
    opts.onCell?.(cell, o);
    if (o.aborted) break;
  }
  return out;
}

async function runFreeRun(
  c: Coordinator,
  cell: CellSpec,
  ring: TraceRing | null,
  signal?: AbortSignal,
  onTrial?: (r: TrialResult) => void,
): Promise<CellOutcome> {
  await c.configure({ job: cell.job, policy: cell.policy, seed: cell.seed, ...(ring ? { traceSab: ring.sab } : {}) });
  const agg = new PolicyAggregator(cell.policy.id);
  const onAbort = () => c.abort('interrupted');
  signal?.addEventListener('abort', onAbort);
  try {
    const r = await c.run({
      trials: cell.trials,
      batchSize: 32,
      watchdogMs: 20_000,
      onTrial: (t) => {
        agg.add(t);
        onTrial?.(t);
      },
    });
    if (r.crash) throw new Error(`cell ${cell.key}: CPU ${r.crash.cpu} crashed in ${r.crash.op}: ${r.crash.message}`);
    return { aggregate: agg.toJSON(), trace: ring ? ring.read().events : null, aborted: r.aborted };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * An error thrown by a cell's run, named with the cell (its key says its CPUs, mechanism, policy
 * ...). It keeps the original as its cause, and its kind: a RangeError or an error named as bad
 * input still says bad input (exit 2), as it would unwrapped.
 */
export function cellError(cell: CellSpec, e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (message.startsWith(`cell ${cell.key}: `)) return e as Error;
  const Kind = e instanceof RangeError ? RangeError : Error;
  const out = new Kind(`cell ${cell.key}: ${message}`, { cause: e });
  if (e instanceof Error) out.name = e.name;
  return out;
}

/** How a cell runs on one of the single-thread runtimes. */
export interface HereOptions {
  /** Mode 'logical': the cost model (default DEFAULT_COSTS). */
  costs?: CostModel;
  /** Mode 'deterministic': the trace ring, or null. */
  ring?: TraceRing | null;
  /** Mode 'logical': the drains as the kernel's tracepoints. */
  tracepoints?: TracepointLog;
  /** Checked before each trial: true stops the cell there (it is then aborted). */
  stopped?: () => boolean;
  onTrial?: (r: TrialResult) => void;
}

/**
 * A cell's trials on one of the single-thread runtimes, on this thread (the CLI's, or a pool
 * thread's: run_cells_parallel.ts): 'deterministic' is the cooperative runtime, logical time in
 * steps; 'logical' the discrete-event runtime with a cost model (no trace ring: its times are
 * modelled; `tracepoints` gets the drains as the kernel's tracepoints would show them). The event
 * loop gets a turn every SLICE_MS between trials, so an interrupt is seen while they run.
 */
export async function runCellHere(cell: CellSpec, mode: 'deterministic' | 'logical', o: HereOptions = {}): Promise<CellOutcome> {
  const ring = mode === 'deterministic' ? (o.ring ?? null) : null;
  const rt =
    mode === 'deterministic'
      ? new CooperativeRuntime({ nCpus: cell.cpus, policy: cell.policy, dims: cell.dims, seed: cell.seed, trace: ring ? new RingTraceSink(ring) : null })
      : new LogicalRuntime({
          nCpus: cell.cpus,
          policy: cell.policy,
          dims: cell.dims,
          seed: cell.seed,
          costs: o.costs ?? DEFAULT_COSTS,
          ...(o.tracepoints ? { tracepoints: o.tracepoints } : {}),
        });
  rt.configure(cell.job);
  const agg = new PolicyAggregator(cell.policy.id);
  const turn = eventLoopTurns();
  let aborted = false;
  let identical = false;
  for (let t = 0; t < cell.trials && !(aborted = o.stopped?.() ?? false); t++) {
    const r = rt.runTrial(t);
    agg.add(r);
    o.onTrial?.(r);
    // Nothing random in logical time: every further trial would be this one again.
    if (t === 0 && rt instanceof LogicalRuntime && rt.lastTrialRandom === false && cell.trials > 1) {
      identical = true;
      break;
    }
    const due = turn();
    if (due) await due;
  }
  return { aggregate: agg.toJSON(), trace: ring ? ring.read().events : null, aborted, ...(identical ? { identicalTrials: cell.trials } : {}) };
}
