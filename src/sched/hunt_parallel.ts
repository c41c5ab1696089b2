// Hunting on every host core: the seeds of a hunt (seed, seed+1, ...) are cut into blocks that
// the deterministic worker pool claims in order from a shared counter. Each schedule depends on
// its seed alone, so the answer is the sequential hunt's: a worker that finds a failure lowers
// the shared "first failure" offset, every worker drops schedules above it, and a block is only
// ever claimed after every block below it, so every seed below the reported one was run and
// passed. Only the wall time changes: P cores run about P times the schedules.
import { detPool } from '../runtime/det_stress.js';
import { poolThreads, watchRun } from '../runtime/pool_jobs.js';
import type { HuntOutcome } from './hunt.js';
import { DetSession, type SessionOptions } from './session.js';

/** Schedules per claimed block: some 1-5 ms of work, so the shared counter is touched rarely. */
export const HUNT_BLOCK = 32;

/** Words of the hunt's shared buffer. */
export const HW = {
  /** The next block to claim. */
  NEXT: 0,
  /** The lowest offset (from the first seed) found to fail; NONE until one does. */
  FIRST: 1,
  /** Schedules run, by all workers. */
  RAN: 2,
  /** Non-zero: claim no more blocks (time limit, or the caller aborted). */
  STOP: 3,
} as const;
/** The most seeds a parallel hunt takes: offsets live in 32-bit words. */
export const MAX_PARALLEL_SCHEDULES = 0x7ffffffe;
export const NONE = 0x7fffffff;

/** One piscina task (workers/det-worker.ts huntBlocks): a worker claims blocks until none is left. */
export interface HuntTask {
  session: Omit<SessionOptions, 'trace'>;
  seed: number;
  maxSchedules: number;
  /** Wall-clock end (ms since the epoch) after which no block is claimed, unless a failure is pending. */
  deadlineMs: number | null;
  shared: SharedArrayBuffer;
}

export interface ParallelHuntOptions {
  seed: number;
  maxSchedules: number;
  timeLimitMs?: number;
  /** Worker threads (at most the host's cores). */
  jobs: number;
  signal?: AbortSignal;
  /** Hears the schedules run so far on every thread, every PROGRESS_MS (runtime/pool_jobs.ts) while the hunt runs. */
  onProgress?: (schedules: number) => void;
}

export interface ParallelHuntOutcome extends HuntOutcome {
  /** Threads that ran schedules. */
  threads: number;
  /** Schedules all threads ran: more than `schedules` when a failure was found (the others ran past it). */
  ran: number;
  /** The time limit or an abort stopped the hunt before the seeds ran out. */
  stopped: boolean;
}

/**
 * What one thread found: how many schedules it ran, and the lowest seed offset at which its run
 * failed or threw (an emulator error), with what.
 */
export interface HuntBlocksResult {
  ran: number;
  event: { offset: number; signature: string | null; schedule: string; error?: string } | null;
}

/**
 * The worker's side (workers/det-worker.ts): claim blocks of seeds and run them until the seeds
 * run out, a lower seed has failed, or the time is up with no failure pending. A run that throws
 * ends the hunt at its seed as a failure does: the one-thread hunt would have stopped there too,
 * with that error, unless a lower seed failed first.
 */
export function huntBlocks(t: HuntTask): HuntBlocksResult {
  const w = new Int32Array(t.shared);
  const session = new DetSession({ ...t.session, trace: false });
  let ran = 0;
  let event: HuntBlocksResult['event'] = null;
  for (;;) {
    if (Atomics.load(w, HW.STOP) !== 0 && Atomics.load(w, HW.FIRST) === NONE) break;
    if (t.deadlineMs !== null && Date.now() > t.deadlineMs && Atomics.load(w, HW.FIRST) === NONE) {
      Atomics.store(w, HW.STOP, 1);
      break;
    }
    const start = Atomics.add(w, HW.NEXT, 1) * HUNT_BLOCK;
    // A failure below this block ends the hunt: every block below it has been claimed.
    if (start >= t.maxSchedules || start > Atomics.load(w, HW.FIRST)) break;
    const end = Math.min(start + HUNT_BLOCK, t.maxSchedules);
    for (let i = start; i < end && i < Atomics.load(w, HW.FIRST); i++) {
      let found: HuntBlocksResult['event'] = null;
      try {
        const run = session.run((t.seed + i) >>> 0);
        if (run.signature !== null) found = { offset: i, signature: run.signature, schedule: run.schedule };
      } catch (e) {
        found = { offset: i, signature: null, schedule: '', error: e instanceof Error ? e.message : String(e) };
      }
      ran++;
      Atomics.add(w, HW.RAN, 1);
      if (found) {
        event = found; // this thread's lowest: it runs no seed above it
        // Lower the shared first failure to i, unless a lower one is already there.
        for (let cur = Atomics.load(w, HW.FIRST); i < cur; cur = Atomics.load(w, HW.FIRST)) {
          if (Atomics.compareExchange(w, HW.FIRST, cur, i) === cur) break;
        }
        break;
      }
    }
  }
  return { ran, event };
}

/**
 * hunt() on `jobs` threads of the deterministic pool. The failing run is run once more here, in
 * the caller's own session, so it comes back with its decisions for replay files and shrinking.
 */
export async function huntParallel(session: DetSession, o: ParallelHuntOptions): Promise<ParallelHuntOutcome> {
  const t0 = performance.now();
  if (o.maxSchedules > MAX_PARALLEL_SCHEDULES) throw new RangeError(`hunt: at most ${MAX_PARALLEL_SCHEDULES} schedules on threads, got ${o.maxSchedules}`);
  const threads = poolThreads(o.jobs);
  const shared = new SharedArrayBuffer(64);
  const w = new Int32Array(shared);
  Atomics.store(w, HW.FIRST, NONE);
  const { trace: _trace, ...opts } = session.o;
  const task: HuntTask = {
    session: opts,
    seed: o.seed >>> 0,
    maxSchedules: o.maxSchedules,
    deadlineMs: o.timeLimitMs === undefined ? null : Date.now() + o.timeLimitMs,
    shared,
  };
  const onProgress = o.onProgress;
  const watch = watchRun(w, HW.STOP, o.signal, onProgress ? () => onProgress(Atomics.load(w, HW.RAN)) : undefined);
  let events: HuntBlocksResult['event'][];
  try {
    const pool = detPool();
    const parts = await Promise.allSettled(Array.from({ length: threads }, () => pool.run(task, { name: 'huntBlocks' }) as Promise<HuntBlocksResult>));
    const failed = parts.find((p) => p.status === 'rejected');
    if (failed) throw new Error(`hunt: a worker thread failed: ${(failed as PromiseRejectedResult).reason?.message ?? failed}`);
    events = parts.map((p) => (p as PromiseFulfilledResult<HuntBlocksResult>).value.event);
  } finally {
    watch.close();
  }
  const first = Atomics.load(w, HW.FIRST);
  const ran = Atomics.load(w, HW.RAN);
  const stopped = Atomics.load(w, HW.STOP) !== 0;
  if (first === NONE) return { found: null, schedules: ran, elapsedMs: performance.now() - t0, threads, ran, stopped };
  const seed = (o.seed + first) >>> 0;
  const ev = events.find((e) => e?.offset === first);
  if (!ev) throw new Error(`hunt: no thread reports the first failure at seed ${seed}`);
  // The one-thread hunt would have stopped at this seed with this error.
  if (ev.error !== undefined) throw new Error(`hunt: seed ${seed} (schedule ${first + 1}): ${ev.error}`);
  const run = session.run(seed);
  if (run.signature !== ev.signature || run.schedule !== ev.schedule)
    throw new Error(
      `hunt: seed ${seed} ran differently here (${run.signature ?? 'no failure'}, schedule ${run.schedule}) than in a worker thread (${ev.signature}, schedule ${ev.schedule}): the run is not deterministic`,
    );
  return { found: { seed, run: { ...run, decisions: [...run.decisions] } }, schedules: first + 1, elapsedMs: performance.now() - t0, threads, ran, stopped };
}
