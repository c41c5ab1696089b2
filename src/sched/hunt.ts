// Hunting: run one schedule after another (seed, seed+1, ...) until the first failure, or until
// the schedule or time budget is spent.
import type { DetSession, DetRun } from './session.js';

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
  const t0 = performance.now();
  for (let i = 0; i < o.maxSchedules; i++) {
    const seed = (o.seed + i) >>> 0;
    const run = session.run(seed);
    if (run.signature !== null && (!o.accept || o.accept(run.signature))) {
      return { found: { seed, run: { ...run, decisions: [...run.decisions] } }, schedules: i + 1, elapsedMs: performance.now() - t0 };
    }
    if (o.timeLimitMs !== undefined && (i & 15) === 15 && performance.now() - t0 > o.timeLimitMs) {
      return { found: null, schedules: i + 1, elapsedMs: performance.now() - t0 };
    }
  }
  return { found: null, schedules: o.maxSchedules, elapsedMs: performance.now() - t0 };
}
