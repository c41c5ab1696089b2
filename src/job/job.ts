// A job is what every CPU runs in each trial: its steps, plus how the trial is set up and
// checked. Jobs are rebuilt in every thread from a serialisable JobSpec, so functions never
// cross threads: a built-in runtime program, or a scenario (src/scenario).
import type { KernelCtx, KGen } from '../mm/context.js';
import type { Failure } from '../trial/result.js';
import type { Scenario } from '../scenario/schema.js';

export interface Step {
  /** Position in this CPU's program. */
  index: number;
  /** The operation's name (crash reports name it). */
  op: string;
  /** Where the step comes from in a scenario file, when it does. */
  path?: string;
  run(ctx: KernelCtx): KGen<void>;
}

export interface Job {
  /** Build this trial's state in freshly reset kernel memory (leader thread or coordinator). */
  setup(ctx: KernelCtx, trial: number): void;
  /** The steps CPU `cpu` runs in trial `trial`. */
  steps(cpu: number, trial: number): Step[];
  /** Does CPU `cpu` run steps (in every trial)? Others only run drain work queued on them. */
  isScripted(cpu: number): boolean;
  /** Restart the job's own random streams from `seed` (cheaper than building the job again). */
  reseed?(seed: number): void;
  /**
   * Random numbers the job has drawn since it was built (jitter, seeded phases), over all trials.
   * A trial that drew none in a runtime with no randomness of its own (logical time) repeats
   * exactly: further trials would be copies.
   */
  randomDraws?(): number;
  /** Checks after a trial, on quiescent memory (leader thread). */
  check(ctx: KernelCtx, trial: number): Failure[];
  /**
   * Non-preemptible time each scheduling point costs (ns; a scenario's timing.schedPointSpacingUs).
   * The free-run driver spins it at every yield point; the deterministic runtime does not model it.
   */
  readonly schedPointSpacingNs?: number;
}

export type JobSpec =
  | { kind: 'program'; name: string; params: Record<string, number> }
  /** `board`: the signal board CPU threads share; single-thread runtimes may leave it out. */
  | { kind: 'scenario'; scenario: Scenario; board?: SharedArrayBuffer };

/**
 * What a job gets from the runtime that builds it. Everything a step needs at run time (sleeping,
 * stretches, waking, the clock) comes through ctx.hooks, which both runtimes implement, so a job
 * never asks which runtime it is in.
 */
export interface JobEnv {
  /** Record a failure in the current trial of the CPU running the step. */
  report(f: Failure): void;
  /** Seed of the run (jitter, random choices). */
  seed?: number;
}
