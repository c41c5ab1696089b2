// A study's cells on the deterministic pool's threads (study --jobs N with --model logical or
// --deterministic). A cell's outcome depends only on its spec (its seed included), so cells run
// side by side give what one thread gives, cell for cell; they are handed to onCell in the
// sweep's order, each as soon as it and every cell before it have ended.
import type { Piscina } from 'piscina';
import type { CostModel } from '../cost/model.js';
import { detPool } from '../runtime/det_stress.js';
import { limiter, poolThreads, watchRun } from '../runtime/pool_jobs.js';
import { trialFailed } from '../stats/aggregate.js';
import { type CellOutcome, type CellSpec, cellError, runCellHere } from './run_cells.js';

/** Words of the study's shared buffer: the stop word, and trials done and failed on every thread (progress). */
const SW = { STOP: 0, TRIALS: 1, FAILED: 2 } as const;

/** One piscina task (workers/det-worker.ts runCell). */
export interface CellTask {
  cell: CellSpec;
  mode: 'deterministic' | 'logical';
  costs?: CostModel;
  shared: SharedArrayBuffer;
}

/** The worker's side: one cell on this thread, stopping before its next trial when told to. */
export function runCellTask(t: CellTask): Promise<CellOutcome> {
  const w = new Int32Array(t.shared);
  return runCellHere(t.cell, t.mode, {
    ...(t.costs ? { costs: t.costs } : {}),
    stopped: () => Atomics.load(w, SW.STOP) !== 0,
    onTrial: (r) => {
      Atomics.add(w, SW.TRIALS, 1);
      if (trialFailed(r)) Atomics.add(w, SW.FAILED, 1);
    },
  });
}

export interface ParallelCellsOptions {
  mode: 'deterministic' | 'logical';
  costs?: CostModel;
  /** Threads (at most the host's cores). */
  jobs: number;
  signal?: AbortSignal;
  /** Every cell that ended, in the sweep's order (one stopped part-way has aborted: true). */
  onCell?: (c: CellSpec, o: CellOutcome) => void;
  /** Trials done and failed so far on every thread, every PROGRESS_MS (runtime/pool_jobs.ts). */
  onProgress?: (trials: number, failed: number) => void;
  /** Default: the deterministic pool (workers/det-worker.js). */
  pool?: Pick<Piscina, 'run'>;
}

/**
 * The cells on `jobs` threads, at most that many at once. After a stop (the signal, or a cell
 * that threw) the cells running end before their next trial (aborted) and those not started are
 * not run. Every cell that ran is handed to onCell, in the sweep's order, and returned; a cell
 * that threw then rejects the whole with its error, once every task has settled.
 */
export async function runCellsParallel(cells: readonly CellSpec[], o: ParallelCellsOptions): Promise<CellOutcome[]> {
  const threads = poolThreads(o.jobs);
  const shared = new SharedArrayBuffer(16);
  const w = new Int32Array(shared);
  const onProgress = o.onProgress;
  const watch = watchRun(w, SW.STOP, o.signal, onProgress ? () => onProgress(Atomics.load(w, SW.TRIALS), Atomics.load(w, SW.FAILED)) : undefined);
  const pool = o.pool ?? detPool();
  const limit = limiter(threads);
  const results: Array<CellOutcome | undefined> = [];
  const out: CellOutcome[] = [];
  let next = 0;
  // Hand over, in order, every cell that ran and whose predecessors have all ended (`all`: the
  // rest too, past the cells never run).
  const flush = (all = false) => {
    for (; next < cells.length && (all || results[next]); next++) {
      const r = results[next];
      if (!r) continue;
      out.push(r);
      o.onCell?.(cells[next]!, r);
    }
  };
  // The biggest cells first (CPUs x trials: a 512-CPU cell costs some 30 times a 16-CPU one), so
  // no thread is left with one big cell at the end while the others idle.
  const order = cells.map((_, i) => i).sort((a, b) => cells[b]!.cpus * cells[b]!.trials - cells[a]!.cpus * cells[a]!.trials || a - b);
  try {
    const tasks = order.map((i) => {
      const cell = cells[i]!;
      return limit(async () => {
        if (watch.stopped()) return; // its turn came after a stop: not run
        const task: CellTask = { cell, mode: o.mode, ...(o.costs ? { costs: o.costs } : {}), shared };
        try {
          results[i] = (await pool.run(task, { name: 'runCell' })) as CellOutcome;
        } catch (e) {
          watch.stop();
          throw cellError(cell, e);
        }
        flush();
      });
    });
    const settled = await Promise.allSettled(tasks);
    flush(true);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return out;
  } finally {
    watch.close();
  }
}
