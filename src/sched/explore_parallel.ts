// explore on every host core. The depth-first search is cut at a shallow depth: the calling
// thread searches the choices above the cut, and each of its runs hands the subtree below it to
// the deterministic worker pool. Inside a subtree the search depends only on the run's prefix and
// on the threads already explored at each depth above (the sleep sets' source; see Subtree), both
// known when the subtree is handed out, so the subtrees are searched independently and their
// interleavings, abandoned runs and failures add up to exactly the one-thread search's.
import type { Piscina } from 'piscina';
import { detPool } from '../runtime/det_stress.js';
import { betterFailure, type ExploreFailure, type ExploreOptions, type ExploreOutcome, search, searchAsync, type Subtree } from './explore.js';
import { ReplayScheduler } from './replay.js';
import { limiter, poolThreads, watchRun } from '../runtime/pool_jobs.js';
import type { Thread } from './schedule.js';
import type { DetSession, SessionOptions } from './session.js';

/** Subtrees to aim for per thread: enough that a few big ones do not leave the others idle. */
const SUBTREES_PER_THREAD = 16;

/** Words of the exploration's shared buffer. */
const XW = { COUNTED: 0, STOP: 1 } as const;

/** One piscina task (workers/det-worker.ts exploreSubtree). */
export interface SubtreeTask {
  /** Which exploration: a worker keeps one session per key. */
  key: string;
  session: Omit<SessionOptions, 'trace'>;
  options: Omit<ExploreOptions, 'visit' | 'timeLimitMs'>;
  /** Wall-clock end (ms since the epoch), or null. */
  deadlineMs: number | null;
  /** The cut's depth: the subtree's search backtracks only below it. */
  cut: number;
  subtree: Subtree;
  shared: SharedArrayBuffer;
}

/** What a subtree's search found, as plain data. */
export interface SubtreeResult {
  interleavings: number;
  pruned: number;
  complete: boolean;
  stoppedBy?: ExploreOutcome['stoppedBy'];
  maxDecisions: number;
  maxBranching: number;
  failures: Array<{ signature: string; count: number; preemptions: number; explicit: Thread[]; firstAt: number }>;
}

export interface ParallelExploreOptions extends Omit<ExploreOptions, 'visit' | 'auditFootprints'> {
  /** Threads (at most the host's cores); 1 runs the search here, on this thread. */
  jobs: number;
  signal?: AbortSignal;
  /** The pool to run subtrees on (default: the deterministic pool, workers/det-worker.js); at most `jobs` tasks are in it at once. */
  pool?: Pick<Piscina, 'run'>;
  /** Hears the interleavings counted so far, every few tens of ms while the search runs (progress). */
  onProgress?: (interleavings: number) => void;
}

export interface ParallelExploreOutcome extends ExploreOutcome {
  threads: number;
  /** Subtrees handed to the pool, and the depth of the cut above them. */
  subtrees: number;
  cut: number;
}

/** The cut: the first depth at which the first run's choices so far multiply to `want`. */
export function chooseCut(branching: number[], want: number): number {
  let product = 1;
  for (let d = 0; d < branching.length; d++) {
    product *= branching[d]!;
    if (product >= want) return d;
  }
  return branching.length;
}

let keys = 0;

/** A subtree not searched: the exploration stopped before its turn. */
const NOT_SEARCHED: SubtreeResult = { interleavings: 0, pruned: 0, complete: false, stoppedBy: 'interrupted', maxDecisions: 0, maxBranching: 0, failures: [] };

/** The worker's side (workers/det-worker.ts): one subtree, searched as explore() would. */
export function searchSubtree(session: DetSession, t: SubtreeTask): SubtreeResult {
  const w = new Int32Array(t.shared);
  // Stopped while it waited in the queue: nothing of it is searched.
  if (Atomics.load(w, XW.STOP) !== 0) return NOT_SEARCHED;
  const left = t.deadlineMs === null ? undefined : Math.max(0, t.deadlineMs - Date.now());
  const r = search(
    session,
    { ...t.options, ...(left !== undefined ? { timeLimitMs: left } : {}) },
    {
      floor: t.cut + 1,
      cut: null,
      start: t.subtree,
      counted: () => Atomics.load(w, XW.COUNTED),
      onRun: () => Atomics.add(w, XW.COUNTED, 1),
      stopped: () => Atomics.load(w, XW.STOP) !== 0,
    },
  );
  return {
    interleavings: r.interleavings,
    pruned: r.pruned,
    complete: r.complete,
    ...(r.stoppedBy ? { stoppedBy: r.stoppedBy } : {}),
    maxDecisions: r.maxDecisions,
    maxBranching: r.maxBranching,
    failures: r.failures.map((f) => ({ signature: f.signature, count: f.count, preemptions: f.run.preemptions, explicit: f.explicit, firstAt: f.firstAt })),
  };
}

/**
 * explore() with the subtrees below a shallow cut searched on `jobs` threads of the worker pool.
 * Each failure's representative (fewest preemptions, then the shortest and first-sorting explicit
 * schedule) is run once more here, so it comes back with its decisions for timelines and replay
 * files.
 */
export async function exploreParallel(session: DetSession, o: ParallelExploreOptions): Promise<ParallelExploreOutcome> {
  const threads = poolThreads(o.jobs);
  const { jobs: _jobs, signal, pool: given, onProgress, ...options } = o;
  if (threads === 1) {
    const r = await searchAsync(session, options, { floor: 0, cut: null, ...(signal ? { stopped: () => signal.aborted } : {}) }, undefined, onProgress);
    return { ...r, threads: 1, subtrees: 0, cut: -1 };
  }
  const t0 = performance.now();
  const shared = new SharedArrayBuffer(64);
  const w = new Int32Array(shared);
  // Every thread adds its runs to the shared count: read from a timer (this thread's search gives the loop turns).
  const watch = watchRun(w, XW.STOP, signal, onProgress ? () => onProgress(Atomics.load(w, XW.COUNTED)) : undefined);
  const { trace: _trace, ...sessionOpts } = session.o;
  const deadlineMs = o.timeLimitMs === undefined ? null : Date.now() + o.timeLimitMs;
  const { timeLimitMs: _t, ...taskOptions } = options;
  const key = `${process.pid}-${++keys}-${Date.now()}`;
  const pool = given ?? detPool();
  // The pool may have more threads than asked for (it is sized to the host): at most `threads` subtrees run at once.
  const limit = limiter(threads);
  const pending: Array<Promise<SubtreeResult>> = [];
  /** The calling thread's run that handed out each subtree: the subtree's runs follow it in the one-thread order. */
  const emittedAt: number[] = [];
  let cut = -1;
  try {
    let top: ExploreOutcome;
    try {
      // Async: while it searches, finished subtrees make room for queued ones and an abort is seen.
      top = await searchAsync(session, options, {
        floor: 0,
        cut: null,
        chooseCut: (b) => (cut = chooseCut(b, SUBTREES_PER_THREAD * threads)),
        emit: (subtree, runIndex) => {
          emittedAt.push(runIndex);
          const task: SubtreeTask = { key, session: sessionOpts, options: taskOptions, deadlineMs, cut, subtree, shared };
          // A subtree whose search throws (an emulator error) ends the exploration, as it would on one thread.
          // A subtree whose turn comes after a stop is not sent at all.
          const send = () => (watch.stopped() ? Promise.resolve(NOT_SEARCHED) : (pool.run(task, { name: 'exploreSubtree' }) as Promise<SubtreeResult>));
          const run = limit(send).catch((e: unknown) => {
            watch.stop();
            throw e;
          });
          pending.push(run);
          // Observed by the allSettled below; until then (this thread's search gives the event loop
          // turns) a rejection must not count as unhandled, which would end the process.
          run.catch(() => {});
        },
        counted: () => Atomics.load(w, XW.COUNTED),
        onRun: () => Atomics.add(w, XW.COUNTED, 1),
        stopped: watch.stopped,
      });
    } catch (e) {
      // This thread's search failed: the subtrees being searched stop after their current run, the
      // ones waiting for a thread are not sent, and none is left running when the error is passed on.
      watch.stop();
      await Promise.allSettled(pending);
      throw e;
    }
    const parts = await Promise.allSettled(pending);
    const failed = parts.find((p) => p.status === 'rejected');
    if (failed) throw new Error(`explore: a worker failed: ${(failed as PromiseRejectedResult).reason?.message ?? failed}`);
    const results = parts.map((p) => (p as PromiseFulfilledResult<SubtreeResult>).value);
    return { ...merge(session, options, top, results, emittedAt), elapsedMs: performance.now() - t0, threads, subtrees: pending.length, cut };
  } finally {
    watch.close();
  }
}

/**
 * Add the subtrees' findings to the calling thread's. Each failure's firstAt is put back in the
 * one-thread search's order (a subtree's runs come right after the calling thread's run that
 * handed it out, `emittedAt`), so the failures are listed, and numbered, as one thread lists them.
 */
function merge(session: DetSession, o: ExploreOptions, top: ExploreOutcome, parts: SubtreeResult[], emittedAt: number[]): Omit<ExploreOutcome, 'elapsedMs'> {
  // The one-thread search's run index of the calling thread's run m: m, plus the runs of every
  // subtree handed out before it (each subtree's own runs, its first being the run that handed it out).
  const own = parts.map((p) => p.interleavings + p.pruned);
  const mainAt = (m: number) => {
    let i = m;
    for (let k = 0; k < emittedAt.length && emittedAt[k]! < m; k++) i += own[k]!;
    return i;
  };
  type Best = { count: number; preemptions: number; explicit: Thread[]; run?: ExploreFailure['run']; at: number };
  const best = new Map<string, Best>();
  for (const f of top.failures)
    best.set(f.signature, { count: f.count, preemptions: f.run.preemptions, explicit: f.explicit, run: f.run, at: mainAt(f.firstAt) });
  let { interleavings, pruned, maxDecisions, maxBranching, complete } = top;
  let stoppedBy = top.stoppedBy;
  parts.forEach((p, k) => {
    interleavings += p.interleavings;
    pruned += p.pruned;
    maxDecisions = Math.max(maxDecisions, p.maxDecisions);
    maxBranching = Math.max(maxBranching, p.maxBranching);
    if (!p.complete) {
      complete = false;
      stoppedBy ??= p.stoppedBy;
    }
    for (const f of p.failures) {
      const at = mainAt(emittedAt[k]!) + f.firstAt;
      const b = best.get(f.signature);
      if (!b) best.set(f.signature, { count: f.count, preemptions: f.preemptions, explicit: f.explicit, at });
      else {
        b.count += f.count;
        if (at < b.at) b.at = at;
        if (betterFailure(f, b)) Object.assign(b, { preemptions: f.preemptions, explicit: f.explicit, run: undefined });
      }
    }
  });
  const order = [...best].sort((x, y) => x[1].at - y[1].at);
  const failures: ExploreFailure[] = order.map(([signature, b]) => {
    let run = b.run;
    if (!run) {
      const r = session.run(o.seed ?? 0, new ReplayScheduler(b.explicit));
      if (r.signature !== signature) throw new Error(`explore: a worker's failure (${signature}) does not replay here (${r.signature ?? 'no failure'})`);
      run = { ...r, decisions: [...r.decisions] };
    }
    return { signature, count: b.count, run, explicit: b.explicit, firstAt: b.at };
  });
  return { interleavings, pruned, reduction: top.reduction, complete, ...(stoppedBy ? { stoppedBy } : {}), failures, maxDecisions, maxBranching };
}
