// What every --jobs run on the worker pool shares (hunt, explore, studies, deterministic stress):
// the threads it gets, at most n of its tasks in flight on a pool sized to the host's cores, and
// a stop word the caller's signal sets with a progress timer reading the threads' shared counts.
import { availableParallelism } from 'node:os';

/** How often a run on worker threads has its shared counts read for progress (ms). */
export const PROGRESS_MS = 100;

/** The threads a run asking for `jobs` gets: 1 up to the host's cores. */
export function poolThreads(jobs: number): number {
  return Math.max(1, Math.min(jobs, availableParallelism()));
}

export interface RunWatch {
  /** Set the stop word: the threads end before their next unit of work. */
  stop(): void;
  stopped(): boolean;
  /** Remove the signal's listener and the progress timer (in a finally). */
  close(): void;
}

/**
 * The stop word `w[stopWord]`, set by `signal` (at once if it is already aborted) and by stop();
 * `progress`, when given, is called every PROGRESS_MS until close().
 */
export function watchRun(w: Int32Array, stopWord: number, signal: AbortSignal | undefined, progress?: () => void): RunWatch {
  const stop = () => Atomics.store(w, stopWord, 1);
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop);
  const ticker = progress ? setInterval(progress, PROGRESS_MS) : null;
  return {
    stop,
    stopped: () => Atomics.load(w, stopWord) !== 0,
    close: () => {
      if (ticker) clearInterval(ticker);
      signal?.removeEventListener('abort', stop);
    },
  };
}

/**
 * Start at most `n` tasks at once, each as soon as a slot is free. A task is started at once when
 * one is free, not from a microtask (as p-limit does): a parallel explore's first subtrees are
 * being searched during its own search's first slice (sched/explore_parallel.ts).
 */
export function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  const done = () => {
    active--;
    waiting.shift()?.();
  };
  return <T>(f: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const go = () => {
        active++;
        let p: Promise<T>;
        try {
          p = f();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(done);
      };
      if (active < n) go();
      else waiting.push(go);
    });
}
