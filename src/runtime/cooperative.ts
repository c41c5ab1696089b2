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
import { C, type Dims, type Layout, watchSlots } from '../mm/layout.js';
import { FootprintRecorder } from '../sched/footprint.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import { enter_lazy_tlb } from '../mm/tlb.js';
import { drain_blocked } from '../mm/workqueue.js';
import type { Policy } from '../mm/policy.js';
import type { Job, JobEnv, JobSpec, Step } from '../job/job.js';
import { buildJob } from '../job/jobs.js';
import { mergeRecords, sumCpuStats, TrialRecorder } from '../job/recorder.js';
import { failureKind, resetTaskState, stepFailure } from './task_state.js';
import type { CpuTrialRecord } from '../cpu/worker_main.js';
import type { Failure, TrialResult } from '../trial/result.js';
import type { DecisionRecord, Thread } from '../sched/schedule.js';
import { indexOf, type Scheduler, type StrategyName } from '../sched/scheduler.js';
import { makeScheduler } from '../sched/make.js';

import { TICK_NS } from './tick.js';

export { TICK_NS };

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
  /** Record each decision's footprint (DecisionRecord.fp) for partial-order reduction. */
  footprints?: boolean;
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
  /** Index of this CPU's WQ_PENDING word (the kworker's doorbell), read once per decision. */
  pendingIdx: number;
  /** drainMechanism 'ipi': the drain request is an interrupt and runs inside a hog too. */
  ipi: boolean;
  /** Slots the task touched earlier in its current op (footprints only). */
  carry: readonly number[] | null;
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
  private footprints: FootprintRecorder | null;
  /** The step being run changed state every thread sees (footprints only). */
  private stepGlobal = false;
  /** The scheduler abandoned the last trial (every runnable thread asleep in `explore`). */
  pruned = false;
  /** Every decision of the last trial, in order. */
  decisions: DecisionRecord[] = [];
  /** Where trial time goes, summed over trials (ms of host time): the benchmark's profile. */
  readonly phases = { trials: 0, resetMs: 0, scheduleMs: 0, checkMs: 0 };

  constructor(private readonly opts: CooperativeOptions) {
    const mem = createKernelMemory({ ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.nCpus });
    this.sab = mem.sab;
    this.w = mem.w;
    this.lay = mem.lay;
    this.seed = opts.seed;
    this.sched = opts.scheduler ?? makeScheduler(opts.strategy ?? 'random', opts.seed, opts.depth ?? 3, opts.nCpus);
    this.footprints = opts.footprints ? new FootprintRecorder() : null;
    const hooks: RuntimeHooks = {
      singleThreaded: true,
      wake: () => {},
      nowNs: () => this.now,
      spinNoPreempt: (ns) => this.sleepCurrent(ns, true),
      sleepNs: (ns) => this.sleepCurrent(ns, false),
      // A named signal (or anything else that wakes every sleeper) is seen by all threads.
      wakeAll: () => {
        this.stepGlobal = true;
      },
    };
    for (let c = 0; c < opts.nCpus; c++) {
      const ctx = makeCtx(this.w, this.lay, c, opts.policy, hooks);
      const rec = new TrialRecorder();
      ctx.obs = rec;
      ctx.trace = opts.trace ?? null;
      const task: Thread = Object.freeze({ cpu: c, kw: false });
      const kworker: Thread = Object.freeze({ cpu: c, kw: true });
      const pendingIdx = ctx.base + C.WQ_PENDING;
      this.cpus.push({
        ctx,
        gen: null,
        until: 0,
        hogging: false,
        rec,
        steps: [],
        task,
        kworker,
        pendingIdx,
        ipi: opts.policy.switches.drainMechanism === 'ipi',
        carry: null,
      });
    }
  }

  /** The current CPU sleeps (delay) or stays busy without scheduling points (hog) for `ns`. */
  private sleepCurrent(ns: number, hog: boolean): void {
    if (this.opts.timeless) return;
    this.stepGlobal = true; // the set of runnable threads changes: no commuting with this step
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

  /**
   * Record each decision's footprint from the next trial on (partial-order reduction), or stop.
   * `audit`: check at every step's start that each copy the recorder keeps still equals memory
   * (FootprintRecorder).
   */
  recordFootprints(on: boolean, audit = false): void {
    this.footprints = on ? new FootprintRecorder(audit) : null;
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
    const t0 = performance.now();
    resetForTrial(this.w, this.lay);
    this.now = 0;
    this.failures = [];
    this.decisions = [];
    for (const s of this.cpus) resetTaskState(s.ctx); // before setup: see resetTaskState
    job.setup(this.cpus[0]!.ctx, trial);
    const records: CpuTrialRecord[] = [];
    for (const s of this.cpus) {
      records.push(s.rec.begin(trial));
      s.until = 0;
      s.hogging = false;
      s.carry = null;
      // CPUs without a script are no threads at all: only their kworkers may run.
      s.steps = job.isScripted(s.ctx.cpu) ? job.steps(s.ctx.cpu, trial) : [];
      s.gen = s.steps.length ? program(s.ctx, s.steps) : null;
    }
    // From here on only steps change the memory: the footprints' copies start afresh.
    this.footprints?.reset(this.w, this.lay);
    const t1 = performance.now();
    const max = this.opts.maxSteps ?? 5_000_000;
    this.abandon = false;
    this.pruned = false;
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
      if (i < 0) {
        this.pruned = true; // the search has seen an equivalent interleaving: no result
        break;
      }
      const t = options[i]!;
      const li = indexOf(options, last);
      const rec: DecisionRecord = {
        cpu: t.cpu,
        kw: t.kw,
        preempt: li >= 0 && li !== i,
        dflt: i === Math.max(li, 0),
        step: -1,
        yp: -1,
        why: undefined, // every field present from the start: one object shape for all records
        t: this.now,
        fp: undefined,
      };
      this.decisions.push(rec);
      this.step(this.cpus[t.cpu]!, t.kw, rec);
      last = t;
    }
    this.sched.end?.(this.decisions.length);
    this.current = null;
    const t2 = performance.now();
    const stats = sumCpuStats(this.w, this.lay.dims.nCpus);
    // A pruned trial stopped part-way: its end state is no outcome, so it is not checked.
    const merged = mergeRecords(records, this.pruned ? [] : this.failures.concat(job.check(this.cpus[0]!.ctx, trial)));
    const failures = this.pruned ? [] : merged.failures;
    const ph = this.phases;
    ph.trials++;
    ph.resetMs += t1 - t0;
    ph.scheduleMs += t2 - t1;
    ph.checkMs += performance.now() - t2;
    return {
      trial,
      failures,
      pins: merged.pins,
      drainAlls: merged.drainAlls,
      stats,
      durationNs: this.now,
      ...(this.pruned ? { pruned: true } : {}),
    };
  }

  /**
   * Fill `out` with the threads that can advance (CPU order, task before kworker); advance the
   * clock if none. A task can run unless finished, sleeping/hogging, or blocked on a condition
   * still false. A kworker can run when drain work is pending (one load: the doorbell) and its
   * CPU holds no local lock; as a workqueue item only at a scheduling point, so not during a
   * hog; with drainMechanism 'ipi' the request is an interrupt and runs inside a hog too, as the
   * free-run driver's does. This is the hottest loop of the deterministic runtime: plain fields,
   * no closures, no allocation.
   */
  private runnable(out: Thread[]): 'ok' | 'hung' | 'done' {
    const w = this.w;
    const cpus = this.cpus;
    for (;;) {
      const now = this.now;
      let n = 0;
      for (let c = 0; c < cpus.length; c++) {
        const s = cpus[c]!;
        const ctx = s.ctx;
        if (s.gen !== null && s.until <= now && (ctx.blockedOn === null || ctx.blockedOn())) out[n++] = s.task;
        if (!drain_blocked(ctx, s.ipi) && w[s.pendingIdx] !== 0 && (s.ipi || !s.hogging || s.until <= now)) out[n++] = s.kworker;
      }
      if (out.length !== n) out.length = n;
      if (n > 0) return 'ok';
      let wake = Infinity;
      for (const s of cpus) if (s.until > now && (s.gen !== null || w[s.pendingIdx] !== 0) && s.until < wake) wake = s.until;
      if (wake !== Infinity) {
        this.now = wake;
        continue;
      }
      return cpus.some((s) => s.gen) ? 'hung' : 'done';
    }
  }

  private step(s: CpuState, kw: boolean, rec: DecisionRecord): void {
    this.current = s;
    this.now += TICK_NS;
    const fp = this.footprints;
    if (fp === null) {
      this.advance(s, kw, rec);
      return;
    }
    // Exhaustive search: learn what this step touched (src/sched/footprint.ts). A task's
    // footprint carries the slots of its earlier steps in the same op, since kernel code may
    // keep an address it computed before a scheduling point. A step the search ran before,
    // from the same state, is not recorded again.
    const known = this.sched.knownFootprint?.(this.decisions.length - 1, rec.cpu, rec.kw);
    if (known !== undefined) {
      fp.skip();
      this.advance(s, kw, rec);
      rec.fp = known;
    } else {
      fp.start(s.ctx.cpu, kw ? null : s.carry, this.sched.exactFootprint?.() ?? true);
      this.stepGlobal = false;
      watchSlots(fp);
      try {
        this.advance(s, kw, rec);
      } finally {
        watchSlots(null);
      }
      rec.fp = fp.finish(this.stepGlobal);
    }
    if (!kw) s.carry = rec.yp === YP.OP_BOUNDARY || s.gen === null ? null : rec.fp.slots;
  }

  /** Run one step of a CPU's task (to its next yield point) or its kworker's pending work. */
  private advance(s: CpuState, kw: boolean, rec: DecisionRecord): void {
    if (kw) {
      try {
        kworker_run_pending(s.ctx);
      } catch (e) {
        // Drain work that throws is reported like a task's crash, with the CPU whose kworker ran it.
        this.stepGlobal = true;
        const kind = failureKind(e);
        this.failures.push({
          kind,
          cpu: s.ctx.cpu,
          op: 'kworker: lru_add_drain_per_cpu',
          message: `CPU ${s.ctx.cpu}'s kworker ${kind === 'watchdog' ? 'hung' : 'crashed'} in lru_add_drain_per_cpu: ${(e as Error).message}`,
        });
        this.abandon = true;
      }
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
      this.stepGlobal = true;
      const step = this.w[s.ctx.base + C.CUR_OP]!;
      rec.step = step;
      const f = stepFailure(e, s.ctx.cpu, step);
      this.failures.push(f);
      if (f.kind === 'watchdog') this.abandon = true;
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
 * The cooperative and logical-time runtimes share it.
 */
export function* program(ctx: KernelCtx, steps: readonly Step[]): KGen<void> {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    ctx.w[ctx.base + C.CUR_OP] = step.index; // one thread: a plain store
    yield* step.run(ctx);
    if (i + 1 < steps.length) yield YP.OP_BOUNDARY;
  }
  enter_lazy_tlb(ctx); // the task is done: its CPU idles, and TLB flushes of its mm pass it by
}
