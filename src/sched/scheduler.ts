// The choice at every scheduling point of the deterministic runtime, pulled out of the runtime:
// the runtime lists the threads that can advance (each CPU's task, each CPU's kworker with
// pending drain work), in a fixed order (CPU ascending, task before kworker), and a Scheduler
// picks one. Strategies: seeded random, PCT, round-robin, replay of an explicit schedule, and
// the exhaustive explorer's own (explore.ts).
import type { Footprint } from './footprint.js';
import type { Thread } from './schedule.js';

export interface Scheduler {
  /** Called at the start of every trial. */
  begin(): void;
  /**
   * Pick among `options` (never empty). `last` is the thread that ran the previous step;
   * `step` counts decisions from 0. Returns an index into `options`, or -1 to abandon the
   * trial (the exhaustive search, when every runnable thread is asleep: see explore.ts).
   */
  pick(options: readonly Thread[], last: Thread | null, step: number): number;
  /**
   * Whether the step just picked needs its writes told apart from its reads (partial-order
   * reduction: only where a sleep set or a sibling branch still to come uses its footprint);
   * without it a footprint counts every slot addressed as written, which is cheaper and safe.
   */
  exactFootprint?(): boolean;
  /**
   * The footprint of decision `step`'s step where the scheduler knows it already, else
   * undefined: the exhaustive search re-runs the previous run's decisions up to where it
   * backtracked, and those steps repeat exactly (the runtime is deterministic), footprints
   * included. The runtime then runs the step without recording it. `cpu` and `kw` name the
   * thread picked, to check it is the one the footprint is of.
   */
  knownFootprint?(step: number, cpu: number, kw: boolean): Footprint | undefined;
  /** Called at the end of a trial with the number of decisions it took. */
  end?(steps: number): void;
}

export const STRATEGIES = ['random', 'pct', 'round-robin'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** The option continuing `last` if it can, else -1. */
export function indexOf(options: readonly Thread[], t: Thread | null): number {
  if (!t) return -1;
  for (let i = 0; i < options.length; i++) if (options[i]!.cpu === t.cpu && options[i]!.kw === t.kw) return i;
  return -1;
}

/** Non-preemptive default: continue the last thread if it can run, else the first option. */
export function defaultPick(options: readonly Thread[], last: Thread | null): number {
  const i = indexOf(options, last);
  return Math.max(i, 0);
}
