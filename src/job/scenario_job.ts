// A scenario as a Job: set up from the scenario's declarations before each trial, each CPU runs
// its compiled steps, and the invariant checker (with this trial's pin results) runs after.
import { YP, type KernelCtx, type KGen } from '../mm/context.js';
import type { Failure } from '../trial/result.js';
import { boardEnv, compileScenario, type CompileEnv } from '../scenario/compile.js';
import type { Scenario } from '../scenario/schema.js';
import { resolveNames, ScenarioBoard, setupScenario, type ResolvedNames } from '../scenario/setup.js';
import type { Job, JobEnv, Step } from './job.js';
import { checkTrial } from './trial_check.js';
import { mulberry32 } from '../rng/mulberry32.js';

export class ScenarioJob implements Job {
  readonly names: ResolvedNames;
  readonly board: ScenarioBoard;
  private readonly programs = new Map<number, Step[]>();

  constructor(
    readonly scenario: Scenario,
    boardSab: SharedArrayBuffer | undefined,
    env: JobEnv,
  ) {
    this.seed = env.seed ?? 1;
    this.names = resolveNames(scenario);
    this.board = new ScenarioBoard(this.names, boardSab);
    // timing.schedPointSpacingUs: each scheduling point costs this much non-preemptible time.
    this.schedPointSpacingNs = scenario.timing.schedPointSpacingUs * 1000;
  }

  readonly schedPointSpacingNs: number;

  /** Per-CPU random streams (jitter), restarted by reseed without recompiling the programs. */
  private streams = new Map<number, () => number>();
  private seed: number;
  private draws = 0;

  randomDraws(): number {
    return this.draws;
  }

  private stream(cpu: number): () => number {
    let r = this.streams.get(cpu);
    if (!r) {
      r = mulberry32(this.seed * 131 + cpu);
      this.streams.set(cpu, r);
    }
    return r;
  }

  reseed(seed: number): void {
    this.seed = seed;
    this.streams.clear();
  }

  setup(ctx: KernelCtx): void {
    this.board.reset();
    setupScenario(ctx, this.scenario, this.names);
  }

  isScripted(cpu: number): boolean {
    return (this.scenario.steps[cpu]?.length ?? 0) > 0;
  }

  steps(cpu: number): Step[] {
    let p = this.programs.get(cpu);
    if (!p) {
      p = compileScenario(this.scenario, cpu, this.compileEnv(cpu), this.names);
      this.programs.set(cpu, p);
    }
    return p;
  }

  private compileEnv(cpu: number): CompileEnv {
    // Signals and fork children on the shared board (a signal wakes every sleeping CPU); sleeps
    // and stretches through the runtime's hooks.
    return boardEnv(this.board, {
      delay: function* (ctx: KernelCtx, us: number): KGen<void> {
        ctx.hooks.sleepNs(us * 1000);
        yield YP.SCRIPT_DELAY;
      },
      hog: function* (ctx: KernelCtx, us: number): KGen<void> {
        ctx.hooks.spinNoPreempt(us * 1000);
      },
      random: () => {
        this.draws++;
        return this.stream(cpu)();
      },
    });
  }

  check(ctx: KernelCtx): Failure[] {
    return checkTrial(ctx);
  }
}
