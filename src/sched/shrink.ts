// Shrinking a failing schedule while its failure signature stays the same. A candidate is an
// explicit decision list replayed leniently (decisions naming a thread that cannot advance are
// skipped), then the non-preemptive default runs to the end. Candidates: cut the schedule at the
// start of a stretch (the default takes over there), or drop one stretch. A candidate is kept
// when it fails the same way and is smaller: fewer preemptions, then fewer non-default
// decisions, then a shorter explicit part. Repeats until nothing improves (or the budget ends).
import { ReplayScheduler } from './replay.js';
import { explicitPrefix, type DecisionRecord, type Thread } from './schedule.js';
import type { DetRun, DetSession } from './session.js';
import { driveInSlices, driveToEnd } from './slices.js';

export interface ShrinkOutcome {
  run: DetRun;
  /** The explicit schedule that reproduces `run` (strict replay, then the default). */
  explicit: Thread[];
  attempts: number;
  before: { preemptions: number; explicit: number };
}

const nonDefault = (ds: readonly DecisionRecord[]) => ds.reduce((a, d) => a + (d.dflt ? 0 : 1), 0);
function score(r: DetRun): [number, number, number] {
  return [r.preemptions, nonDefault(r.decisions), explicitPrefix(r.decisions).length];
}
function better(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** Stretches of one thread: [start, end) indices into the explicit list. */
function stretches(ds: readonly Thread[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < ds.length; ) {
    let j = i + 1;
    while (j < ds.length && ds[j]!.cpu === ds[i]!.cpu && ds[j]!.kw === ds[i]!.kw) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

export function shrink(session: DetSession, seed: number, failing: DetRun, maxAttempts = 2000): ShrinkOutcome {
  return driveToEnd(shrinkRuns(session, seed, failing, maxAttempts, null));
}

/**
 * shrink() in slices that give the event loop a turn (slices.ts): on an abort it stops trying and
 * returns the smallest failing schedule found so far (each one kept fails the same way).
 */
export function shrinkAsync(
  session: DetSession,
  seed: number,
  failing: DetRun,
  o: { maxAttempts?: number; signal?: AbortSignal } = {},
): Promise<ShrinkOutcome> {
  const signal = o.signal;
  return driveInSlices(shrinkRuns(session, seed, failing, o.maxAttempts ?? 2000, signal ? () => signal.aborted : null));
}

/** The shrinking itself, one replay per step: it yields after each, with the replays so far. */
function* shrinkRuns(
  session: DetSession,
  seed: number,
  failing: DetRun,
  maxAttempts: number,
  stopped: (() => boolean) | null,
): Generator<number, ShrinkOutcome> {
  const signature = failing.signature;
  if (signature === null) throw new Error('shrink: the run did not fail');
  let best = failing;
  let bestScore = score(best);
  const before = { preemptions: best.preemptions, explicit: explicitPrefix(best.decisions).length };
  let attempts = 0;
  const attempt = (cand: Thread[]): boolean => {
    attempts++;
    const r = session.run(seed, new ReplayScheduler(cand, true));
    if (r.signature !== signature) return false;
    const s = score(r);
    if (!better(s, bestScore)) return false;
    best = { ...r, decisions: [...r.decisions] };
    bestScore = s;
    return true;
  };
  // The budget, or a stop: the smallest schedule so far is the result.
  const spent = () => attempts >= maxAttempts || (stopped?.() ?? false);
  let improved = true;
  while (improved && !spent()) {
    improved = false;
    const cur = explicitPrefix(best.decisions);
    const st = stretches(cur);
    // 1. cut: the shortest cut point that still fails (earliest first).
    for (const [a] of st) {
      if (spent()) break;
      const ok = attempt(cur.slice(0, a));
      yield attempts;
      if (ok) {
        improved = true;
        break;
      }
    }
    if (improved) continue;
    // 2. drop one stretch (latest first: late stretches are usually the incidental ones).
    for (let k = st.length - 1; k >= 0 && !spent(); k--) {
      const [a, b] = st[k]!;
      const ok = attempt([...cur.slice(0, a), ...cur.slice(b)]);
      yield attempts;
      if (ok) {
        improved = true;
        break;
      }
    }
  }
  // The result replays strictly from its explicit prefix: check it, as a replay file would.
  const explicit = explicitPrefix(best.decisions);
  const check = session.run(seed, new ReplayScheduler(explicit));
  if (check.signature !== signature) throw new Error('shrink: the shrunk schedule does not replay (a nondeterminism bug)');
  return { run: { ...check, decisions: [...check.decisions] }, explicit, attempts, before };
}
