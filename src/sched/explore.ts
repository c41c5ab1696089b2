// Bounded exhaustive search (stateless model checking, as CHESS does): depth-first over the
// choice at every scheduling decision, each interleaving re-executed from a fresh trial (the
// runtime is deterministic, so a prefix of choices reproduces the same state). Preemption
// bounding: switching away from a thread that could have continued costs one preemption, and
// only interleavings with at most `preemptionBound` of them are explored; switching from a
// thread that blocked, slept or finished is free. Reductions (cheap and sound): no branching
// where one thread can advance; CPUs without a script are no threads (only their kworkers run,
// when drain work is queued on them); a script's end is no scheduling point.
// Partial-order reduction (sleep sets, Godefroid 1996): after the search has explored thread t
// from a state, t "sleeps" in the sibling branches until a step dependent on t's runs (one that
// touched a slot t touched, or changed a global word: footprint.ts); a sleeping thread is not
// scheduled, and a branch where every runnable thread sleeps is abandoned, since an equivalent
// interleaving (the same steps, independent ones swapped) was explored already. Under the
// preemption bound that equivalent must be within the bound too, so an explored thread sleeps in
// a sibling only where putting its step first costs no extra preemption (see sleepAt).
// Fairness (as CHESS's fair scheduler): the CPUs are parallel processors, so a schedule where one
// thread takes FAIR_RUN steps in a row while another could run stands for no real execution (on
// hardware the other CPU runs meanwhile). After FAIR_RUN such steps the default moves to the next
// runnable thread, free and without a branch there; a thread spinning in a retry loop (the
// -EAGAIN loop of __gup_longterm_locked() while the other pinner holds the folio isolated) then
// lets the other finish, instead of running into the watchdog in an unfair schedule. A true
// livelock, where every runnable thread spins, still ends at the watchdog.
// Logical time is kept by default (a sleeping CPU is no candidate until the clock reaches its
// wake-up); `timeless` makes delays and hogs plain scheduling points instead.
import { type Footprint, independent } from './footprint.js';
import { defaultPick, indexOf, type Scheduler } from './scheduler.js';
import { type DecisionRecord, type Thread, encodeSchedule, explicitPrefix, threadId } from './schedule.js';
import type { DetRun, DetSession } from './session.js';
import { driveInSlices, driveToEnd, SLICE_MS } from './slices.js';

/** A thread asleep at a state, with the footprint of the step it would take there. */
export interface Sleeper {
  id: number;
  fp: Footprint;
  /** Explored threads only: could it continue after that step (so switching away from it is a preemption)? */
  cont?: boolean;
}

interface Frame {
  n: number;
  /** threadId of each option, in the runtime's order. */
  ids: number[];
  /** Index of the thread that ran last, if it can continue (else -1). */
  lastIdx: number;
  dflt: number;
  idx: number;
  preBefore: number;
  sleep: readonly Sleeper[];
  /** A fairness switch: no alternative is explored here. */
  forced: boolean;
}

const NO_SLEEPERS: readonly Sleeper[] = Object.freeze([]);

/** Steps in a row one thread may take while another could run, before fairness moves on. */
export const FAIR_RUN = 1000;

const preemptionCost = (lastIdx: number, alt: number): number => (lastIdx >= 0 && alt !== lastIdx ? 1 : 0);

/**
 * The alternative after `after` in a frame's order (the default first, then the others by
 * index), or -1 past the end; `after` = -1 gives the first. No array: this runs every decision.
 */
function altAfter(dflt: number, n: number, after: number): number {
  if (after < 0) return dflt;
  let a = after === dflt ? 0 : after + 1;
  if (a === dflt) a++;
  return a < n ? a : -1;
}

/** The first alternative after `after` that the bound allows and that is awake, or -1. */
function nextAlternative(f: Pick<Frame, 'ids' | 'lastIdx' | 'dflt' | 'preBefore' | 'sleep'>, after: number, bound: number): number {
  for (let alt = altAfter(f.dflt, f.ids.length, after); alt >= 0; alt = altAfter(f.dflt, f.ids.length, alt)) {
    if (f.preBefore + preemptionCost(f.lastIdx, alt) > bound) continue;
    if (f.sleep.some((u) => u.id === f.ids[alt])) continue;
    return alt;
  }
  return -1;
}

class DfsScheduler implements Scheduler {
  prefix: number[] = [];
  frames: Frame[] = [];
  /** Per depth on the current path: the threads already explored there, with their footprints. */
  done: Sleeper[][] = [];

  constructor(
    private readonly bound: number,
    /** The decisions of the trial running now (their footprints), or null without reduction. */
    private readonly decisions: (() => readonly DecisionRecord[]) | null,
  ) {}

  /** Consecutive steps of the thread that ran last (`runId`), counted while another thread could run. */
  private run = 0;
  private runId = -1;
  /** Does the step picked last need an exact footprint (see Scheduler.exactFootprint)? */
  private exact = true;

  exactFootprint(): boolean {
    return this.exact;
  }

  /**
   * The previous run's decisions, of which the run now starting repeats the first `knownLen`
   * (the prefix up to the decision where the search backtracked): the same steps from the same
   * states, with the same sleep sets and alternatives, so the same footprints. Most of a deep
   * run is such a prefix, and recording a footprint is most of what the reduction costs.
   */
  private known: readonly DecisionRecord[] = [];
  private knownLen = 0;

  /** The next run repeats the first `n` of `decisions` (0: nothing known). */
  repeats(decisions: readonly DecisionRecord[], n: number): void {
    this.known = decisions;
    this.knownLen = n;
  }

  knownFootprint(step: number, cpu: number, kw: boolean): Footprint | undefined {
    if (step >= this.knownLen) return undefined;
    const d = this.known[step]!;
    // The choice index replayed the same, so the thread must be too: else the runtime is not deterministic.
    if (d.cpu !== cpu || d.kw !== kw)
      throw new Error(
        `explore: nondeterministic replay at decision ${step} (cpu ${cpu}${kw ? ' kworker' : ''} where the previous run had cpu ${d.cpu}${d.kw ? ' kworker' : ''})`,
      );
    return d.fp;
  }

  begin(): void {
    this.frames = [];
    this.run = 0;
    this.runId = -1;
  }

  /** Threads asleep at decision `step`: those asleep or explored at the previous state that commute with the step taken from it. */
  private sleepAt(step: number): readonly Sleeper[] {
    const prev = this.frames[step - 1];
    if (!this.decisions || !prev) return NO_SLEEPERS;
    const explored = this.done[step - 1];
    if (prev.sleep.length === 0 && (explored === undefined || explored.length === 0)) return NO_SLEEPERS;
    const d = this.decisions()[step - 1]!;
    const taken = prev.ids[prev.idx]!;
    let out: Sleeper[] | null = null; // most decisions have no sleeper: no array then
    for (const u of prev.sleep) if (u.id !== taken && independent(u.fp, d.fp!)) (out ??= []).push(u);
    // A thread explored here sleeps in a sibling only where the equivalent run, its step first,
    // costs no more preemptions than the sibling's start: c(L,t) + c(t,u) <= c(L,u) for the thread
    // L that ran before, t the one explored, u the one taken now. Else the equivalent could lie
    // outside the preemption bound and the sibling's runs would be lost (Coons et al. 2013): S8
    // at bound 0 lost an end state before this rule.
    const lastId = prev.lastIdx >= 0 ? prev.ids[prev.lastIdx]! : -1;
    const c = (from: number, to: number) => (from >= 0 && from !== to ? 1 : 0);
    for (const u of explored ?? NO_SLEEPERS) {
      if (u.id === taken || !independent(u.fp, d.fp!)) continue;
      if (c(lastId, u.id) + (u.cont ? 1 : 0) > c(lastId, taken)) continue;
      (out ??= []).push(u);
    }
    return out ?? NO_SLEEPERS;
  }

  /** Option lists seen, by their ids packed into one number (up to 4 options): frames share them. */
  private idLists = new Map<number, number[]>();

  /** The threadId of each option. Frames never change it, so equal lists are one array. */
  private idsOf(options: readonly Thread[]): number[] {
    if (options.length > 4) return options.map(threadId);
    let key = options.length;
    for (const t of options) {
      const id = threadId(t);
      if (id > 255) return options.map(threadId); // CPUs past 127: not packed
      key = key * 256 + id;
    }
    let ids = this.idLists.get(key);
    if (ids === undefined) this.idLists.set(key, (ids = options.map(threadId)));
    return ids;
  }

  pick(options: readonly Thread[], last: Thread | null, step: number): number {
    const lastIdx = indexOf(options, last);
    const dflt = defaultPick(options, last);
    const prev = this.frames[step - 1];
    const preBefore = prev ? prev.preBefore + preemptionCost(prev.lastIdx, prev.idx) : 0;
    const ids = this.idsOf(options);
    const sleep = this.sleepAt(step);
    const lastId = last ? threadId(last) : -1;
    if (lastId !== this.runId) {
      this.runId = lastId;
      this.run = 0;
    }
    if (lastIdx >= 0 && options.length > 1) this.run++;
    if (this.run >= FAIR_RUN) {
      // Fairness: the next runnable thread after the one that ran, without a branch or a cost.
      this.run = 0;
      const idx = (lastIdx + 1) % options.length;
      if (step < this.prefix.length && this.prefix[step] !== idx) throw new Error(`explore: nondeterministic replay at decision ${step}`);
      this.frames.push({ n: options.length, ids, lastIdx: -1, dflt: idx, idx, preBefore, sleep: [], forced: true });
      this.exact = false; // no sleepers pass this step and no sibling is explored here
      return idx;
    }
    let idx: number;
    if (step < this.prefix.length) {
      idx = this.prefix[step]!;
      if (idx >= options.length) throw new Error(`explore: nondeterministic replay at decision ${step}`);
    } else {
      // New ground: the default unless it sleeps, else the first awake option the bound allows.
      idx = nextAlternative({ ids, lastIdx, dflt, preBefore, sleep }, -1, this.bound);
      if (idx < 0) return -1; // every thread that may run sleeps: an equivalent run was explored
    }
    const frame: Frame = { n: options.length, ids, lastIdx, dflt, idx, preBefore, sleep, forced: false };
    this.frames.push(frame);
    // The step's footprint is used where threads asleep or explored here are carried past it,
    // and where a sibling still to be explored will put this thread to sleep.
    this.exact = sleep.length > 0 || (this.done[step]?.length ?? 0) > 0 || nextAlternative(frame, idx, this.bound) >= 0;
    return idx;
  }
}

export type Reduction = 'sleep-sets' | 'none';

export interface ExploreOptions {
  preemptionBound: number;
  /** Partial-order reduction (default sleep-sets). */
  reduction?: Reduction;
  /** Stop after this many interleavings (the search is then incomplete). */
  maxInterleavings?: number;
  timeLimitMs?: number;
  seed?: number;
  /**
   * Check at every step that no step changed a slot it did not address: the premise the
   * footprints rest on (FootprintRecorder's audit; slower). Only with the reduction.
   */
  auditFootprints?: boolean;
  /**
   * Take the footprints of the steps a run repeats from the previous run (default true: each
   * was recorded, and audited, when the search first ran it); false records every step.
   */
  reuseFootprints?: boolean;
  /** Called after every interleaving run to its end, with the kernel memory as it ended. */
  visit?: (run: DetRun, w: Int32Array) => void;
}

export interface ExploreFailure {
  signature: string;
  /** Interleavings that failed with this signature. */
  count: number;
  /** The smallest failing run found (fewest preemptions, then shortest explicit schedule). */
  run: DetRun;
  explicit: Thread[];
  /** The run of the search (counted from 0, abandoned ones included) that found it first: failures are listed in this order. */
  firstAt: number;
}

export interface ExploreOutcome {
  /** Interleavings run to the end (each an outcome). */
  interleavings: number;
  /** Runs abandoned part-way by the reduction (equivalent to one explored). */
  pruned: number;
  reduction: Reduction;
  complete: boolean;
  /** Why it stopped early (when not complete). */
  stoppedBy?: 'max-interleavings' | 'time' | 'interrupted';
  failures: ExploreFailure[];
  elapsedMs: number;
  maxDecisions: number;
  maxBranching: number;
}

/**
 * A subtree of the search, as the search stands when it first enters it: the choices that lead
 * there (a run's prefix; past it each run takes defaults) and, per depth above, the threads
 * already explored there (the sleep sets' source). The search inside it depends on nothing else,
 * so a worker can explore it alone (explore_parallel.ts).
 */
export interface Subtree {
  prefix: number[];
  done: Sleeper[][];
}

/** Where a search may backtrack: below `floor` (a subtree's own root) and, when set, not below `cut`. */
export interface SearchScope {
  /** Backtrack only at depths >= floor (0: the whole search). */
  floor: number;
  /** Backtrack only at depths <= cut, and hand each run's subtree below the cut to `emit`. */
  cut: number | null;
  /** Set `cut` after the first run, from its branching factor at each depth (1 where it had no choice). */
  chooseCut?: (branching: number[]) => number;
  emit?: (s: Subtree, runIndex: number) => void;
  /** Start here instead of the root; its first run was counted by whoever handed it out. */
  start?: Subtree;
  /** Interleavings counted by every search of this exploration (a parallel one's shared counter), for maxInterleavings. */
  counted?: () => number;
  onRun?: () => void;
  /** The caller aborted: stop after this run. */
  stopped?: () => boolean;
}

/** The representative of a signature: fewest preemptions, then shortest explicit schedule, then the schedule's text (an order that does not depend on the order of discovery). */
export function betterFailure(a: { preemptions: number; explicit: Thread[] }, b: { preemptions: number; explicit: Thread[] }): boolean {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  if (a.explicit.length !== b.explicit.length) return a.explicit.length < b.explicit.length;
  return encodeSchedule(a.explicit) < encodeSchedule(b.explicit);
}

export function explore(session: DetSession, o: ExploreOptions): ExploreOutcome {
  return search(session, o, { floor: 0, cut: null });
}

/** The depth-first search of explore(), within `scope`, on this thread to its end. */
export function search(session: DetSession, o: ExploreOptions, scope: SearchScope): ExploreOutcome {
  return driveToEnd(searchRuns(session, o, scope));
}

/**
 * search() that gives this thread's event loop a turn every `sliceMs` (slices.ts): an interrupt,
 * a worker's finished subtree or a timer is seen while the search runs, not after it.
 */
export function searchAsync(
  session: DetSession,
  o: ExploreOptions,
  scope: SearchScope,
  sliceMs = SLICE_MS,
  onProgress?: (interleavings: number) => void,
): Promise<ExploreOutcome> {
  return driveInSlices(searchRuns(session, o, scope), sliceMs, onProgress);
}

/** The search itself, one run per step: it yields after each run, with the interleavings so far. */
function* searchRuns(session: DetSession, o: ExploreOptions, scope: SearchScope): Generator<number, ExploreOutcome> {
  const t0 = performance.now();
  const reduction = o.reduction ?? 'sleep-sets';
  const reduce = reduction === 'sleep-sets';
  session.rt.recordFootprints(reduce, o.auditFootprints ?? false);
  const sched = new DfsScheduler(o.preemptionBound, reduce ? () => session.rt.decisions : null);
  if (scope.start) {
    sched.prefix = [...scope.start.prefix];
    sched.done = scope.start.done.map((d) => (d ? [...d] : d));
  }
  let skipFirst = scope.start !== undefined;
  let cut = scope.cut;
  const seed = o.seed ?? 0;
  const failures = new Map<string, ExploreFailure>();
  let n = 0;
  let pruned = 0;
  let maxDecisions = 0;
  let maxBranching = 0;
  let runIndex = -1;
  try {
    for (;;) {
      const run = session.run(seed, sched);
      runIndex++;
      const frames = sched.frames;
      if (cut === null && scope.chooseCut) cut = scope.chooseCut(frames.map((f) => (f.forced ? 1 : f.n)));
      if (skipFirst)
        skipFirst = false; // the subtree's first run: counted where it was handed out
      else {
        if (run.result.pruned) pruned++;
        else {
          n++;
          scope.onRun?.();
          o.visit?.(run, session.rt.w);
        }
        maxDecisions = Math.max(maxDecisions, run.decisions.length);
        for (const f of frames) if (f.n > maxBranching) maxBranching = f.n;
        if (run.signature !== null) {
          const ex = explicitPrefix(run.decisions);
          const f = failures.get(run.signature);
          const cand = { preemptions: run.preemptions, explicit: ex };
          if (!f)
            failures.set(run.signature, {
              signature: run.signature,
              count: 1,
              run: { ...run, decisions: [...run.decisions] },
              explicit: ex,
              firstAt: runIndex,
            });
          else {
            f.count++;
            if (betterFailure(cand, { preemptions: f.run.preemptions, explicit: f.explicit })) {
              f.run = { ...run, decisions: [...run.decisions] };
              f.explicit = ex;
            }
          }
        }
        // Below the cut, this run's subtree is someone else's: hand it out if it has more than this run.
        if (cut !== null && scope.emit && deepestAlternative(frames, frames.length - 1, cut + 1, o.preemptionBound) >= 0) {
          scope.emit({ prefix: [...sched.prefix], done: sched.done.slice(0, cut + 1).map((d) => (d ? [...d] : d)) }, runIndex);
        }
      }
      // Backtrack: the deepest decision with an untried, awake alternative within the bound (and the scope).
      const top = cut === null ? frames.length - 1 : Math.min(frames.length - 1, cut);
      const j = deepestAlternative(frames, top, scope.floor, o.preemptionBound);
      let next: number[] | null = null;
      if (j >= 0) {
        const f = frames[j]!;
        next = frames.slice(0, j).map((x) => x.idx);
        next.push(nextAlternative(f, f.idx, o.preemptionBound));
        // Its first j steps are this run's again, footprints included.
        if (reduce && (o.reuseFootprints ?? true)) sched.repeats(run.decisions, j);
        // The thread just explored at depth j sleeps in its siblings (with what its step touched).
        sched.done.length = j + 1;
        if (reduce) {
          // Could the explored thread continue after its step? Its id among the next decision's options
          // (a run that ended there: no; a fairness switch there: counted as yes, the safe side).
          const nx = frames[j + 1];
          const cont = nx ? nx.forced || nx.ids.includes(f.ids[f.idx]!) : false;
          (sched.done[j] ??= []).push({ id: f.ids[f.idx]!, fp: run.decisions[j]!.fp!, cont });
        }
      }
      const done = { interleavings: n, pruned, reduction, failures: [...failures.values()], maxDecisions, maxBranching };
      if (!next) return { ...done, complete: true, elapsedMs: performance.now() - t0 };
      const total = scope.counted ? scope.counted() : n;
      if (o.maxInterleavings !== undefined && total >= o.maxInterleavings)
        return { ...done, complete: false, stoppedBy: 'max-interleavings', elapsedMs: performance.now() - t0 };
      if (o.timeLimitMs !== undefined && performance.now() - t0 > o.timeLimitMs)
        return { ...done, complete: false, stoppedBy: 'time', elapsedMs: performance.now() - t0 };
      if (scope.stopped?.()) return { ...done, complete: false, stoppedBy: 'interrupted', elapsedMs: performance.now() - t0 };
      sched.prefix = next;
      yield total;
    }
  } finally {
    session.rt.recordFootprints(false);
  }
}

/** The deepest frame from `top` down to `floor` with an untried, awake alternative within the bound, or -1. */
function deepestAlternative(frames: readonly Frame[], top: number, floor: number, bound: number): number {
  for (let j = top; j >= floor; j--) {
    const f = frames[j]!;
    if (f.n < 2 || f.forced) continue;
    if (nextAlternative(f, f.idx, bound) >= 0) return j;
  }
  return -1;
}
