// The deterministic runtime: every emulated CPU runs cooperatively in one thread, over the same
// shared kernel memory and the same kernel code as free-run mode. At each scheduling decision the
// runtime lists the threads that can advance — each CPU's task (its script, unless sleeping,
// hogged or blocked) and each CPU's kworker (when drain work is pending and the CPU is outside a
// local-lock section and not in a non-preemptible hog) — and a Scheduler (src/sched/) picks one;
// the decision is recorded, so a trial can be replayed step for step. Logical time: every step
// costs TICK_NS; `delay` sleeps a CPU (its kworker may still run), `hog` keeps it busy and
// non-preemptible; when nothing can run, the clock jumps to the next wake-up. Same scenario,
// policy, seed and strategy (or the same schedule): same trace.
import { createKernelMemory, DEFAULT_DIMS, makeCtx, resetForTrial } from '../mm/boot.js';
import { type KernelCtx, type KGen, type RuntimeHooks, type TraceSink, YP } from '../mm/context.js';
import { C, type Dims, type Layout } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import { work_pending } from '../mm/workqueue.js';
import type { Policy } from '../mm/policy.js';
import type { Job, JobEnv, JobSpec, Step } from '../job/job.js';
import { buildJob } from '../job/jobs.js';
import { sumCpuStats, TrialRecorder } from '../job/recorder.js';
import { KernelLivelock } from '../mm/errno.js';
import type { CpuTrialRecord } from '../cpu/worker_main.js';
import type { Failure, TrialResult } from '../trial/result.js';
import type { DecisionRecord, Thread } from '../sched/schedule.js';
import { indexOf, type Scheduler, type StrategyName } from '../sched/scheduler.js';
import { makeScheduler } from '../sched/make.js';

export const TICK_NS = 100;

export type Strategy = StrategyName;

export interface CooperativeOptions {
  nCpus: number;
  policy: Policy;
  dims?: Partial<Omit<Dims, 'nCpus'>>;
  seed: number;
  /** Built-in strategy (default random); ignored when `scheduler` is given. */
  strategy?: Strategy;
  /** PCT depth d (default 3). */
  depth?: number;
  /** A scheduler of the caller's own (replay, exhaustive search). */
  scheduler?: Scheduler;
  trace?: TraceSink | null;
  /** Scheduler decisions before a trial is declared hung (watchdog). */
  maxSteps?: number;
  /** Delays and hogs take no logical time: they are plain scheduling points (exhaustive search option). */
  timeless?: boolean;
}

interface CpuState {
  ctx: KernelCtx;
  gen: KGen<void> | null;
  /** Logical time until which the CPU sleeps (delay) or runs non-preemptibly (hog). */
  until: number;
  hogging: boolean;
  rec: TrialRecorder;
  steps: Step[];
  /** This CPU's two schedulable threads, made once (the scheduler sees the same objects). */
  task: Thread;
  kworker: Thread;
}

export class CooperativeRuntime {
  readonly w: Int32Array;
  readonly lay: Layout;
  readonly sab: SharedArrayBuffer;
  private readonly cpus: CpuState[] = [];
  private job: Job | null = null;
  private spec: JobSpec | null = null;
  private seed: number;
  private now = 0;
  private current: CpuState | null = null;
  private failures: Failure[] = [];
  private abandon = false;
  private sched: Scheduler;
  /** Every decision of the last trial, in order. */
  decisions: DecisionRecord[] = [];

  constructor(private readonly opts: CooperativeOptions) {
    const mem = createKernelMemory({ ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.nCpus });
    this.sab = mem.sab;
    this.w = mem.w;
    this.lay = mem.lay;
    this.seed = opts.seed;
    this.sched = opts.scheduler ?? makeScheduler(opts.strategy ?? 'random', opts.seed, opts.depth ?? 3, opts.nCpus);
    const hooks: RuntimeHooks = {
      wake: () => {},
      nowNs: () => this.now,
      spinNoPreempt: (ns) => this.sleepCurrent(ns, true),
      sleepNs: (ns) => this.sleepCurrent(ns, false),
      wakeAll: () => {},
    };
    for (let c = 0; c < opts.nCpus; c++) {
      const ctx = makeCtx(this.w, this.lay, c, opts.policy, hooks);
      const rec = new TrialRecorder();
      ctx.obs = rec;
      ctx.trace = opts.trace ?? null;
      const task: Thread = Object.freeze({ cpu: c, kw: false });
      const kworker: Thread = Object.freeze({ cpu: c, kw: true });
      this.cpus.push({ ctx, gen: null, until: 0, hogging: false, rec, steps: [], task, kworker });
    }
  }

  /** The current CPU sleeps (delay) or stays busy without scheduling points (hog) for `ns`. */
  private sleepCurrent(ns: number, hog: boolean): void {
    if (this.opts.timeless) return;
    const s = this.current;
    if (!s) {
      this.now += ns;
      return;
    }
    s.until = this.now + ns;
    s.hogging = hog;
  }

  configure(spec: JobSpec): void {
    this.spec = spec;
    const env: JobEnv = {
      report: (f) => this.current?.rec.current?.failures.push(f),
      seed: this.seed,
    };
    this.job = buildJob(spec, env);
  }

  /**
   * Start afresh from another seed (hunting: one trial per seed): the job's own random stream
   * (jitter) restarts from it, and so does the scheduler unless `scheduler` replaces it.
   */
  reseed(seed: number, scheduler?: Scheduler): void {
    this.seed = seed;
    this.sched = scheduler ?? makeScheduler(this.opts.strategy ?? 'random', seed, this.opts.depth ?? 3, this.opts.nCpus);
    if (this.job?.reseed) this.job.reseed(seed);
    else if (this.spec) this.configure(this.spec);
  }

  /** Use this scheduler from the next trial on (replay, exhaustive search). */
  setScheduler(s: Scheduler): void {
    this.sched = s;
  }

  /** Script step names of a CPU (for timelines). */
  stepsOf(cpu: number): readonly Step[] {
    return this.cpus[cpu]?.steps ?? [];
  }

  /** Run one trial to the end; every CPU's steps interleaved by the scheduler. */
  runTrial(trial: number): TrialResult {
    const job = this.job;
    if (!job) throw new Error('cooperative runtime: runTrial before configure');
    resetForTrial(this.w, this.lay);
    this.now = 0;
    this.failures = [];
    this.decisions = [];
    job.setup(this.cpus[0]!.ctx, trial);
    const records: CpuTrialRecord[] = [];
    for (const s of this.cpus) {
      records.push(s.rec.begin(trial));
      s.ctx.preempt = 0;
      s.ctx.blockedOn = null;
      s.ctx.task.pfMemallocPin = false;
      s.until = 0;
      s.hogging = false;
      // CPUs without a script are no threads at all: only their kworkers may run.
      s.steps = job.isScripted(s.ctx.cpu) ? job.steps(s.ctx.cpu, trial) : [];
      s.gen = s.steps.length ? program(s.ctx, s.steps) : null;
    }
    const max = this.opts.maxSteps ?? 5_000_000;
    this.abandon = false;
    this.sched.begin();
    let last: Thread | null = null;
    const options: Thread[] = [];
    for (;;) {
      if (this.abandon) break; // a CPU hung: the others may wait on it forever
      const r = this.runnable(options);
      if (r === 'done') break;
      if (r === 'hung') {
        this.failures.push({ kind: 'watchdog', cpu: -1, message: `trial ${trial}: every unfinished CPU is blocked (${this.blockedReport()})` });
        break;
      }
      const n = this.decisions.length;
      if (n >= max) {
        this.failures.push({ kind: 'watchdog', cpu: -1, message: `trial ${trial}: no end after ${max} scheduling decisions` });
        break;
      }
      const i = this.sched.pick(options, last, n);
      const t = options[i]!;
      const li = indexOf(options, last);
      const rec: DecisionRecord = { cpu: t.cpu, kw: t.kw, preempt: li >= 0 && li !== i, dflt: i === Math.max(li, 0), step: -1, yp: -1, t: this.now };
      this.decisions.push(rec);
      this.step(this.cpus[t.cpu]!, t.kw, rec);
      last = t;
    }
    this.sched.end?.(this.decisions.length);
    this.current = null;
    const stats = sumCpuStats(this.w, this.lay.dims.nCpus);
    const failures = [...this.failures, ...job.check(this.cpus[0]!.ctx, trial), ...records.flatMap((r) => r.failures)];
    return { trial, failures, pins: records.flatMap((r) => r.pins), drainAlls: records.flatMap((r) => r.drainAlls), stats, durationNs: this.now };
  }

  /**
   * Can this CPU's drain work run now? Only outside local locks; and, as a workqueue item, only at
   * a scheduling point, so not during a hog. With drainMechanism 'ipi' the request is an
   * interrupt: it runs inside a non-preemptible stretch too, as the free-run driver's does.
   */
  private kworkerCanRun(s: CpuState): boolean {
    const ipi = s.ctx.policy.switches.drainMechanism === 'ipi';
    return s.ctx.preempt === 0 && (ipi || !(s.hogging && s.until > this.now)) && work_pending(s.ctx);
  }
  private taskCanRun(s: CpuState): boolean {
    if (!s.gen || s.until > this.now) return false;
    return !s.ctx.blockedOn || s.ctx.blockedOn();
  }

  /** Fill `out` with the threads that can advance (CPU order, task before kworker); advance the clock if none. */
  private runnable(out: Thread[]): 'ok' | 'hung' | 'done' {
    for (;;) {
      out.length = 0;
      for (const s of this.cpus) {
        if (this.taskCanRun(s)) out.push(s.task);
        if (this.kworkerCanRun(s)) out.push(s.kworker);
      }
      if (out.length > 0) return 'ok';
      let wake = Infinity;
      for (const s of this.cpus) if (s.until > this.now && (s.gen || work_pending(s.ctx)) && s.until < wake) wake = s.until;
      if (wake !== Infinity) {
        this.now = wake;
        continue;
      }
      return this.cpus.some((s) => s.gen) ? 'hung' : 'done';
    }
  }

  private step(s: CpuState, kw: boolean, rec: DecisionRecord): void {
    this.current = s;
    this.now += TICK_NS;
    if (kw) {
      kworker_run_pending(s.ctx);
      return;
    }
    try {
      const r = s.gen!.next();
      if (r.done) s.gen = null;
      else {
        rec.yp = r.value;
        if (r.value === YP.BLOCKED) rec.why = s.ctx.blockReason;
      }
      rec.step = this.w[s.ctx.base + C.CUR_OP]!;
    } catch (e) {
      s.gen = null;
      const step = this.w[s.ctx.base + C.CUR_OP]!;
      rec.step = step;
      const kind = e instanceof KernelLivelock ? 'watchdog' : 'emulator';
      this.failures.push({
        kind,
        cpu: s.ctx.cpu,
        step,
        message: `CPU ${s.ctx.cpu} ${kind === 'watchdog' ? 'hung' : 'crashed'} in step ${step}: ${(e as Error).message}`,
      });
      if (kind === 'watchdog') this.abandon = true;
    }
  }

  private blockedReport(): string {
    return this.cpus
      .filter((s) => s.gen)
      .map((s) => `cpu ${s.ctx.cpu} in ${s.ctx.blockReason || 'its script'}`)
      .join(', ');
  }
}

/**
 * A CPU's whole script as one generator: each step, with a scheduling point between two steps
 * (none after the last: the CPU's script simply ends there, and its kworker stays available).
 */
function* program(ctx: KernelCtx, steps: readonly Step[]): KGen<void> {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    Atomics.store(ctx.w, ctx.base + C.CUR_OP, step.index);
    yield* step.run(ctx);
    if (i + 1 < steps.length) yield YP.OP_BOUNDARY;
  }
}
