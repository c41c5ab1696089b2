// Round-robin: CPUs take turns, one step each; a CPU with pending drain work runs its kworker
// on its turn first (the kworker is woken at that CPU's next scheduling point).
import type { Thread } from './schedule.js';
import type { Scheduler } from './scheduler.js';

export class RoundRobinScheduler implements Scheduler {
  private next = 0;
  begin(): void {
    this.next = 0;
  }
  pick(options: readonly Thread[]): number {
    let best = -1;
    let bestKey = Infinity;
    for (let i = 0; i < options.length; i++) {
      const o = options[i]!;
      // distance from the CPU whose turn it is; kworker before task on the same CPU
      const key = ((o.cpu - this.next + 4096) % 4096) * 2 + (o.kw ? 0 : 1);
      if (key < bestKey) {
        bestKey = key;
        best = i;
      }
    }
    this.next = options[best]!.cpu + 1;
    return best;
  }
}
