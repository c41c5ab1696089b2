// What the op rows' `compile` (ops/*.ts) are given by compileScenario() (compile.ts): the
// runtime's services, the names resolved to indices, and the per-CPU state of one trial.
import type { KernelCtx, KGen } from '../mm/context.js';
import type { Timing } from './schema.js';
import type { ResolvedNames } from './setup.js';

/** One op's kernel calls; `path` is where the step is in the file (with its repetition). */
export type StepBody = (ctx: KernelCtx, path: string) => KGen<void>;

/** Runtime services the compiled steps use. */
export interface CompileEnv {
  /** Raise a named signal (shared memory: every CPU sees it) and wake the CPUs waiting for one. */
  signal(ctx: KernelCtx, name: string): void;
  isSignalled(name: string): boolean;
  /** A preemptible pause of `us` µs: scheduling points while it lasts (this CPU's kworker may run). */
  delay(ctx: KernelCtx, us: number): KGen<void>;
  /** A non-preemptible stretch of `us` µs: no scheduling point, no kworker. */
  hog(ctx: KernelCtx, us: number): KGen<void>;
  /** Record each pin_user_pages() result and the folio of each pinned page (invariant checker). */
  pinLog?(ctx: KernelCtx, rc: number, folios: readonly number[]): void;
  /** Uniform [0, 1) for `jitterUs` (seeded in deterministic runs); Math.random by default. */
  random?(): number;
  /**
   * Publish / look up the VMA id of a fork child (shared memory, see ScenarioBoard). Publishing
   * is seen by every CPU, as a signal is (the exhaustive search counts the step as global).
   */
  setForkChild?(ctx: KernelCtx, name: string, vma: number): void;
  forkChild?(name: string): number;
}

/** Per-CPU program state that lives for one trial (cleared in place when step 0 runs: step bodies keep the maps). */
export interface TrialState {
  /** Pins kept by `pin ... hold: true`: `${vma}:${page}` -> folios (a stack). */
  held: Map<string, number[]>;
  /** Fork children this CPU created (fallback when the env has no board). */
  forks: Map<string, number>;
}

/** What an op row's `compile` is given. */
export interface CompileCtx {
  /** What the enclosing repeats add to this occurrence's pages and indices. */
  offset: number;
  /** Scenario names as kernel indices (objects, folios) and board slots (fork children, signals). */
  names: ResolvedNames;
  /** The VMA id of a declared VMA, or of a fork child once its fork has run in this trial (throws before). */
  vmaId(name: string, path: string): number;
  env: CompileEnv;
  trial: TrialState;
  /** The scenario's timing defaults (`hog`/`delay` lengths). */
  timing: Timing;
}
