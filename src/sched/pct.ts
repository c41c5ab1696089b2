// PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): every thread (each CPU's task
// and each CPU's kworker) gets a random distinct priority >= d; d-1 priority-change points are
// drawn uniformly over the expected number of steps k; the highest-priority thread that can
// advance always runs; at the i-th change point the running thread drops to priority i (below
// every initial one). A bug of depth d is found with probability >= 1/(n k^(d-1)) per run.
// k: given by the caller (a session measures its scenario once: session.ts expectedSteps), then
// raised to the longest trial seen when one scheduler runs many trials (stress).
import { mulberry32 } from '../rng/mulberry32.js';
import { threadId, type Thread } from './schedule.js';
import type { Scheduler } from './scheduler.js';

export class PctScheduler implements Scheduler {
  private readonly rand: () => number;
  /** Priority of each thread (threadId: CPU*2 + kworker), redrawn every trial. */
  private readonly prio: Int32Array;
  /** Decision numbers (1-based) of the change points, in the order they were drawn. */
  private readonly changes: Int32Array;
  private k: number;
  constructor(
    seed: number,
    private readonly depth: number,
    readonly nCpus: number,
    expectedSteps = 64,
  ) {
    this.rand = mulberry32(seed ^ 0x5bd1e995);
    this.k = Math.max(1, expectedSteps);
    this.prio = new Int32Array(nCpus * 2);
    this.changes = new Int32Array(Math.max(0, depth - 1));
  }
  /** New priorities and change points every trial, from one stream that runs on across trials. */
  begin(): void {
    const p = this.prio;
    const n = p.length;
    for (let i = 0; i < n; i++) p[i] = this.depth + i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    for (let i = 0; i < this.changes.length; i++) this.changes[i] = 1 + Math.floor(this.rand() * this.k);
  }
  pick(options: readonly Thread[], _last: Thread | null, step: number): number {
    let best = this.highest(options);
    const c = this.changes;
    for (let i = 0; i < c.length; i++) {
      if (c[i] !== step + 1) continue;
      this.prio[threadId(options[best]!)] = this.depth - 1 - i; // below every initial priority
      best = this.highest(options);
    }
    return best;
  }
  end(steps: number): void {
    this.k = Math.max(this.k, steps);
  }
  private highest(options: readonly Thread[]): number {
    const p = this.prio;
    let best = 0;
    let top = -1;
    for (let i = 0; i < options.length; i++) {
      const o = options[i]!;
      const v = p[o.cpu * 2 + (o.kw ? 1 : 0)]!;
      if (v > top) {
        top = v;
        best = i;
      }
    }
    return best;
  }
}
