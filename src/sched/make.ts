// A built-in strategy by name.
import { PctScheduler } from './pct.js';
import { RandomScheduler } from './random.js';
import { RoundRobinScheduler } from './round_robin.js';
import type { Scheduler, StrategyName } from './scheduler.js';

export function makeScheduler(strategy: StrategyName, seed: number, depth: number, nCpus: number): Scheduler {
  switch (strategy) {
    case 'random':
      return new RandomScheduler(seed);
    case 'pct':
      return new PctScheduler(seed, depth, nCpus);
    case 'round-robin':
      return new RoundRobinScheduler();
  }
}
