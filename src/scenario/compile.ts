// Compiling a scenario into the program one CPU runs: a flat list of steps, each calling the
// emulated kernel's own entry points with `yield*`, so every scheduling point inside the kernel
// is a scheduling point of the run. Repeats are unrolled; names become indices (resolveNames).
import type { KernelCtx, KGen } from '../mm/context.js';
import type { Step as JobStep } from '../job/job.js';
import type { CompileCtx, CompileEnv, TrialState } from './compile_ctx.js';
import { opRow, type Op } from './ops/index.js';
import { MAX_STEPS_PER_CPU, type Scenario } from './schema.js';
import { resolveNames, scenarioAlloc, type ResolvedNames, type ScenarioBoard } from './setup.js';

export type { CompileEnv } from './compile_ctx.js';

/** One step of a CPU's program (src/job/job.ts Step), always with its place in the file. */
export type Step = JobStep & { path: string };

/** A CompileEnv whose signals and fork children live on a ScenarioBoard. */
export function boardEnv(board: ScenarioBoard, rt: Pick<CompileEnv, 'delay' | 'hog' | 'pinLog' | 'random'>): CompileEnv {
  return {
    signal: (ctx, n) => {
      board.signal(n);
      ctx.hooks.wakeAll();
    },
    isSignalled: (n) => board.isSignalled(n),
    setForkChild: (ctx, n, v) => {
      board.setForkChild(n, v);
      ctx.hooks.wakeAll(); // state outside the kernel memory that other CPUs read
    },
    forkChild: (n) => board.forkChild(n),
    ...rt,
  };
}

/**
 * The program CPU `cpu` runs in every trial of scenario `s`. A CPU without a script gets an
 * empty program (it only runs drain work at its scheduling points).
 */
export function compileScenario(s: Scenario, cpu: number, env: CompileEnv, names: ResolvedNames = resolveNames(s)): Step[] {
  const ops = s.steps[cpu] ?? [];
  const steps: Step[] = [];
  const st: TrialState = { held: new Map(), forks: new Map() };
  const alloc = scenarioAlloc(s);
  const rand = env.random ?? Math.random;

  const vmaId = (name: string, path: string): number => {
    const v = names.vmas.get(name);
    if (v !== undefined) return v;
    const id = env.forkChild ? env.forkChild(name) : (st.forks.get(name) ?? -1);
    if (id < 0) throw new Error(`${s.file}: ${path}: VMA '${name}' is created by a fork that has not run yet in this trial (order the CPUs with signal/wait)`);
    return id;
  };
  const helpers = { names, vmaId, env, trial: st, timing: s.timing };

  const emit = (list: readonly Op[], offset: number, suffix: string): void => {
    // What the op rows' compile see: `offset` is what the enclosing repeats add to pages and indices.
    const c: CompileCtx = { ...helpers, offset };
    for (const op of list) {
      if (op.op === 'repeat') {
        for (let k = 0; k < op.times; k++) {
          const before = steps.length;
          emit(op.ops, offset + k * op.stride, `${suffix} (${k + 1}/${op.times})`);
          const last = steps[steps.length - 1];
          if (last && steps.length > before && (op.delayAfterUs !== undefined || op.jitterUs !== undefined)) {
            // A repeat's own timing knobs pause after every repetition.
            steps[steps.length - 1] = withPause(last, op.delayAfterUs ?? 0, op.jitterUs ?? 0);
          }
        }
        continue;
      }
      if (steps.length >= MAX_STEPS_PER_CPU) throw new Error(`${s.file}: steps.${cpu}: more than ${MAX_STEPS_PER_CPU} steps after unrolling repeats`);
      const body = opRow(op.op).compile(op, c);
      const pause = op.delayAfterUs ?? s.timing.delayAfterUs;
      const jitter = op.jitterUs ?? s.timing.jitterUs;
      const index = steps.length;
      const path = op.path + suffix;
      const base: Step = {
        index,
        op: op.op,
        path,
        run:
          index === 0
            ? function* (ctx: KernelCtx): KGen<void> {
                // Trial start on this CPU: user faults allocate where the scenario says, no pins held.
                ctx.alloc = { ...alloc };
                st.held.clear();
                st.forks.clear();
                yield* body(ctx, path);
              }
            : (ctx: KernelCtx) => body(ctx, path),
      };
      steps.push(pause > 0 || jitter > 0 ? withPause(base, pause, jitter) : base);
    }
  };

  const withPause = (step: Step, us: number, jitterUs: number): Step => {
    const inner = step.run;
    return {
      ...step,
      *run(ctx: KernelCtx): KGen<void> {
        yield* inner(ctx);
        const t = us + (jitterUs > 0 ? rand() * jitterUs : 0);
        if (t > 0) yield* env.delay(ctx, t);
      },
    };
  };

  emit(ops, 0, '');
  return steps;
}

/** The op names of a CPU's program, in order (for tests and `explain --steps`). */
export function programOps(steps: readonly Step[]): string[] {
  return steps.map((x) => x.op);
}
