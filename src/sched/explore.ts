// Bounded exhaustive search (stateless model checking, as CHESS does): depth-first over the
// choice at every scheduling decision, each interleaving re-executed from a fresh trial (the
// runtime is deterministic, so a prefix of choices reproduces the same state). Preemption
// bounding: switching away from a thread that could have continued costs one preemption, and
// only interleavings with at most `preemptionBound` of them are explored; switching from a
// thread that blocked, slept or finished is free. Reductions (cheap and sound): no branching
// where one thread can advance; CPUs without a script are no threads (only their kworkers run,
// when drain work is queued on them); a script's end is no scheduling point.
// Logical time is kept by default (a sleeping CPU is no candidate until the clock reaches its
// wake-up); `timeless` makes delays and hogs plain scheduling points instead.
import { defaultPick, indexOf, type Scheduler } from './scheduler.js';
import type { Thread } from './schedule.js';
import { explicitPrefix } from './schedule.js';
import type { DetRun, DetSession } from './session.js';

interface Frame {
  n: number;
  /** Index of the thread that ran last, if it can continue (else -1). */
  lastIdx: number;
  dflt: number;
  idx: number;
  preBefore: number;
}

class DfsScheduler implements Scheduler {
  prefix: number[] = [];
  frames: Frame[] = [];
  begin(): void {
    this.frames = [];
  }
  pick(options: readonly Thread[], last: Thread | null, step: number): number {
    const lastIdx = indexOf(options, last);
    const dflt = defaultPick(options, last);
    const idx = step < this.prefix.length ? this.prefix[step]! : dflt;
    if (idx >= options.length) throw new Error(`explore: nondeterministic replay at decision ${step}`);
    const prev = this.frames[step - 1];
    const preBefore = prev ? prev.preBefore + (prev.lastIdx >= 0 && prev.idx !== prev.lastIdx ? 1 : 0) : 0;
    this.frames.push({ n: options.length, lastIdx, dflt, idx, preBefore });
    return idx;
  }
}

/** Alternatives of a frame in order: the default first, then the others by index. */
function order(f: Frame): number[] {
  const o = [f.dflt];
  for (let i = 0; i < f.n; i++) if (i !== f.dflt) o.push(i);
  return o;
}

export interface ExploreOptions {
  preemptionBound: number;
  /** Stop after this many interleavings (the search is then incomplete). */
  maxInterleavings?: number;
  timeLimitMs?: number;
  seed?: number;
}

export interface ExploreFailure {
  signature: string;
  /** Interleavings that failed with this signature. */
  count: number;
  /** The smallest failing run found (fewest preemptions, then shortest explicit schedule). */
  run: DetRun;
  explicit: Thread[];
}

export interface ExploreOutcome {
  interleavings: number;
  complete: boolean;
  /** Why it stopped early (when not complete). */
  stoppedBy?: 'max-interleavings' | 'time';
  failures: ExploreFailure[];
  elapsedMs: number;
  maxDecisions: number;
  maxBranching: number;
}

export function explore(session: DetSession, o: ExploreOptions): ExploreOutcome {
  const t0 = performance.now();
  const sched = new DfsScheduler();
  const seed = o.seed ?? 0;
  const failures = new Map<string, ExploreFailure>();
  let n = 0;
  let maxDecisions = 0;
  let maxBranching = 0;
  for (;;) {
    const run = session.run(seed, sched);
    n++;
    maxDecisions = Math.max(maxDecisions, run.decisions.length);
    if (run.signature !== null) {
      const ex = explicitPrefix(run.decisions);
      const f = failures.get(run.signature);
      if (!f) failures.set(run.signature, { signature: run.signature, count: 1, run: { ...run, decisions: [...run.decisions] }, explicit: ex });
      else {
        f.count++;
        if (run.preemptions < f.run.preemptions || (run.preemptions === f.run.preemptions && ex.length < f.explicit.length)) {
          f.run = { ...run, decisions: [...run.decisions] };
          f.explicit = ex;
        }
      }
    }
    // Backtrack: the deepest decision with an untried alternative within the bound.
    const frames = sched.frames;
    let next: number[] | null = null;
    for (let j = frames.length - 1; j >= 0 && !next; j--) {
      const f = frames[j]!;
      if (f.n > maxBranching) maxBranching = f.n;
      if (f.n < 2) continue;
      const ord = order(f);
      for (let p = ord.indexOf(f.idx) + 1; p < ord.length; p++) {
        const alt = ord[p]!;
        const cost = f.lastIdx >= 0 && alt !== f.lastIdx ? 1 : 0;
        if (f.preBefore + cost > o.preemptionBound) continue;
        next = frames.slice(0, j).map((x) => x.idx);
        next.push(alt);
        break;
      }
    }
    const done = { interleavings: n, failures: [...failures.values()], maxDecisions, maxBranching };
    if (!next) return { ...done, complete: true, elapsedMs: performance.now() - t0 };
    if (o.maxInterleavings !== undefined && n >= o.maxInterleavings)
      return { ...done, complete: false, stoppedBy: 'max-interleavings', elapsedMs: performance.now() - t0 };
    if (o.timeLimitMs !== undefined && performance.now() - t0 > o.timeLimitMs)
      return { ...done, complete: false, stoppedBy: 'time', elapsedMs: performance.now() - t0 };
    sched.prefix = next;
  }
}
