// Hunting: run one schedule after another (seed, seed+1, ...) until the first failure, or until
// the schedule or time budget is spent.
import type { DetSession, DetRun } from './session.js';
import { driveInSlices, driveToEnd, SLICE_MS } from './slices.js';

export interface HuntOptions {
  seed: number;
  maxSchedules: number;
  /** Give up after this much wall time (ms). */
  timeLimitMs?: number;
  /** Only failures whose signature passes this count (default: any counted failure). */
  accept?: (signature: string) => boolean;
}

export interface HuntOutcome {
  found: { seed: number; run: DetRun } | null;
  schedules: number;
  elapsedMs: number;
}

export function hunt(session: DetSession, o: HuntOptions): HuntOutcome {
  return driveToEnd(huntRuns(session, o, null));
}

export interface AsyncHuntOutcome extends HuntOutcome {
  /** Stopped by the signal before the schedules or the time were spent. */
  stopped: boolean;
}

/**
 * hunt() that gives this thread's event loop a turn every `sliceMs` (slices.ts), so an
 * interrupt is seen while it runs: the hunt then stops after the schedule it is running.
 */
export async function huntAsync(
  session: DetSession,
  o: HuntOptions & { signal?: AbortSignal; onProgress?: (schedules: number) => void },
  sliceMs = SLICE_MS,
): Promise<AsyncHuntOutcome> {
  const signal = o.signal;
  const r = await driveInSlices(huntRuns(session, o, signal ? () => signal.aborted : null), sliceMs, o.onProgress);
  const { interrupted, ...outcome } = r;
  return { ...outcome, stopped: interrupted === true };
}

/** The hunt itself, one schedule per step: it yields after each schedule, with the schedules so far. */
function* huntRuns(session: DetSession, o: HuntOptions, stopped: (() => boolean) | null): Generator<number, HuntOutcome & { interrupted?: true }> {
  const t0 = performance.now();
  for (let i = 0; i < o.maxSchedules; i++) {
    const seed = (o.seed + i) >>> 0;
    const run = session.run(seed);
    if (run.signature !== null && (!o.accept || o.accept(run.signature))) {
      return { found: { seed, run: { ...run, decisions: [...run.decisions] } }, schedules: i + 1, elapsedMs: performance.now() - t0 };
    }
    // Stopped with schedules left: a hunt that spent its budget is not "interrupted".
    if (stopped?.() && i + 1 < o.maxSchedules) return { found: null, schedules: i + 1, elapsedMs: performance.now() - t0, interrupted: true };
    if (o.timeLimitMs !== undefined && (i & 15) === 15 && performance.now() - t0 > o.timeLimitMs) {
      return { found: null, schedules: i + 1, elapsedMs: performance.now() - t0 };
    }
    yield i + 1;
  }
  return { found: null, schedules: o.maxSchedules, elapsedMs: performance.now() - t0 };
}
