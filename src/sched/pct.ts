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
  private prio: number[] = [];
  private changes: number[] = [];
  private k: number;
  constructor(
    seed: number,
    private readonly depth: number,
    private readonly nCpus: number,
    expectedSteps = 64,
  ) {
    this.rand = mulberry32(seed ^ 0x5bd1e995);
    this.k = Math.max(1, expectedSteps);
  }
  /** New priorities and change points every trial, from one stream that runs on across trials. */
  begin(): void {
    const n = this.nCpus * 2;
    const p = Array.from({ length: n }, (_, i) => this.depth + i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    this.prio = p;
    this.changes = [];
    for (let i = 1; i < this.depth; i++) this.changes.push(1 + Math.floor(this.rand() * this.k));
  }
  pick(options: readonly Thread[], _last: Thread | null, step: number): number {
    let best = this.highest(options);
    for (let i = 0; i < this.changes.length; i++) {
      if (this.changes[i] !== step + 1) continue;
      this.prio[threadId(options[best]!)] = this.depth - 1 - i; // below every initial priority
      best = this.highest(options);
    }
    return best;
  }
  end(steps: number): void {
    this.k = Math.max(this.k, steps);
  }
  private highest(options: readonly Thread[]): number {
    let best = 0;
    for (let i = 1; i < options.length; i++) if (this.prio[threadId(options[i]!)]! > this.prio[threadId(options[best]!)]!) best = i;
    return best;
  }
}
