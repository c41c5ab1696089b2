// Seeded random scheduling: a uniformly chosen CPU among those that can advance, then (when that
// CPU has both) its task or its kworker with equal chance, as free-run CPUs race.
import { mulberry32 } from '../rng/mulberry32.js';
import type { Thread } from './schedule.js';
import type { Scheduler } from './scheduler.js';

export class RandomScheduler implements Scheduler {
  private readonly rand: () => number;
  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }
  /** The stream runs on across trials: trial k of a run from one seed is a fixed schedule. */
  begin(): void {}
  pick(options: readonly Thread[]): number {
    // options are grouped by CPU: count CPUs, pick one, then task or kworker.
    let cpus = 0;
    for (let i = 0; i < options.length; i++) if (i === 0 || options[i]!.cpu !== options[i - 1]!.cpu) cpus++;
    let k = Math.floor(this.rand() * cpus);
    for (let i = 0; i < options.length; i++) {
      if (i > 0 && options[i]!.cpu === options[i - 1]!.cpu) continue;
      if (k-- > 0) continue;
      const both = i + 1 < options.length && options[i + 1]!.cpu === options[i]!.cpu;
      return both && this.rand() < 0.5 ? i + 1 : i;
    }
    return 0;
  }
}
