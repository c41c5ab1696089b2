// Replay of an explicit schedule. Strict: every decision must name a thread that can advance
// (else ScheduleDivergence); when the schedule runs out, the non-preemptive default continues
// (the last thread if it can, else the lowest CPU), so a shrunk prefix is a whole schedule.
// Lenient (shrinking): a decision naming a thread that cannot advance is skipped.
import { threadName, type Thread } from './schedule.js';
import { defaultPick, indexOf, type Scheduler } from './scheduler.js';

export class ScheduleDivergence extends Error {
  constructor(
    readonly step: number,
    readonly wanted: Thread,
    readonly options: readonly Thread[],
  ) {
    super(`schedule diverged at decision ${step + 1}: ${threadName(wanted)} cannot advance (runnable: ${options.map(threadName).join(', ')})`);
    this.name = 'ScheduleDivergence';
  }
}

export class ReplayScheduler implements Scheduler {
  private pos = 0;
  constructor(
    private readonly schedule: readonly Thread[],
    private readonly lenient = false,
  ) {}
  begin(): void {
    this.pos = 0;
  }
  pick(options: readonly Thread[], last: Thread | null, step: number): number {
    while (this.pos < this.schedule.length) {
      const want = this.schedule[this.pos++]!;
      const i = indexOf(options, want);
      if (i >= 0) return i;
      if (!this.lenient) throw new ScheduleDivergence(step, want, options);
    }
    return defaultPick(options, last);
  }
}
