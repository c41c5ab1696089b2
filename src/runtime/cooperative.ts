// The deterministic runtime: every emulated CPU runs cooperatively in one thread, over the same
// shared kernel memory and the same kernel code as free-run mode. At each scheduling point a
// seeded scheduler picks which CPU advances; a CPU's kworker runs drain work only when that CPU
// is picked at a scheduling point outside a local-lock section, and not during a non-preemptible
// stretch. Logical time: every step costs TICK_NS; `delay` sleeps a CPU (its kworker may still
// run), `hog` keeps it busy and non-preemptible. Same seed, scenario and policy: same trace.
import { createKernelMemory, DEFAULT_DIMS, makeCtx, resetForTrial } from '../mm/boot.js';
import { YP, type KernelCtx, type KGen, type RuntimeHooks, type TraceSink } from '../mm/context.js';
import { C, type Dims, type Layout } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import { work_pending } from '../mm/workqueue.js';
import type { Policy } from '../mm/policy.js';
import type { Job, JobEnv, JobSpec } from '../cpu/job.js';
import { buildJob } from '../cpu/jobs.js';
import { sumCpuStats, TrialRecorder } from '../cpu/recorder.js';
import { KernelLivelock } from '../mm/errno.js';
import { mulberry32 } from '../cpu/scenario_job.js';
import type { CpuTrialRecord } from '../cpu/worker_main.js';
import type { Failure, TrialResult } from './api.js';

export const TICK_NS = 100;

export type Strategy = 'random' | 'round-robin';

export interface CooperativeOptions {
  nCpus: number;
  policy: Policy;
  dims?: Partial<Omit<Dims, 'nCpus'>>;
  seed: number;
  strategy?: Strategy;
  trace?: TraceSink | null;
  /** Scheduler decisions before a trial is declared hung (watchdog). */
  maxSteps?: number;
}

interface CpuState {
  ctx: KernelCtx;
  gen: KGen<void> | null;
  /** Logical time until which the CPU sleeps (delay) or runs non-preemptibly (hog). */
  until: number;
  hogging: boolean;
  rec: TrialRecorder;
}

export class CooperativeRuntime {
  readonly w: Int32Array;
  readonly lay: Layout;
  readonly sab: SharedArrayBuffer;
  private readonly cpus: CpuState[] = [];
  private job: Job | null = null;
  private now = 0;
  private current: CpuState | null = null;
  private rand: () => number;
  private rr = 0;
  private failures: Failure[] = [];
  private abandon = false;

  constructor(private readonly opts: CooperativeOptions) {
    const mem = createKernelMemory({ ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.nCpus });
    this.sab = mem.sab;
    this.w = mem.w;
    this.lay = mem.lay;
    this.rand = mulberry32(opts.seed);
    const hooks: RuntimeHooks = {
      wake: () => {},
      nowNs: () => this.now,
      spinNoPreempt: (ns) => this.sleepCurrent(ns, true),
    };
    for (let c = 0; c < opts.nCpus; c++) {
      const ctx = makeCtx(this.w, this.lay, c, opts.policy, hooks);
      const rec = new TrialRecorder();
      ctx.obs = rec;
      ctx.trace = opts.trace ?? null;
      this.cpus.push({ ctx, gen: null, until: 0, hogging: false, rec });
    }
  }

  /** The current CPU sleeps (delay) or stays busy without scheduling points (hog) for `ns`. */
  private sleepCurrent(ns: number, hog: boolean): void {
    const s = this.current;
    if (!s) { this.now += ns; return; }
    s.until = this.now + ns;
    s.hogging = hog;
  }

  configure(spec: JobSpec): void {
    const env: JobEnv = {
      report: (f) => this.current?.rec.current?.failures.push(f),
      seed: this.opts.seed,
      sleep: (ns: number) => this.sleepCurrent(ns, false),
    };
    this.job = buildJob(spec, env);
  }

  /** Run one trial to the end; every CPU's steps interleaved by the seeded scheduler. */
  runTrial(trial: number): TrialResult {
    const job = this.job;
    if (!job) throw new Error('cooperative runtime: runTrial before configure');
    resetForTrial(this.w, this.lay);
    this.now = 0;
    this.failures = [];
    job.setup(this.cpus[0]!.ctx, trial);
    const records: CpuTrialRecord[] = [];
    for (const s of this.cpus) {
      records.push(s.rec.begin(trial));
      s.ctx.preempt = 0;
      s.ctx.blockedOn = null;
      s.ctx.task.pfMemallocPin = false;
      s.until = 0;
      s.hogging = false;
      s.gen = program(s.ctx, job.steps(s.ctx.cpu, trial));
    }
    const max = this.opts.maxSteps ?? 5_000_000;
    let steps = 0;
    this.abandon = false;
    for (;;) {
      if (this.abandon) break; // a CPU hung: the others may wait on it forever
      const pick = this.choose();
      if (pick === null) break;
      if (pick === 'hung') {
        this.failures.push({ kind: 'watchdog', cpu: -1, message: `trial ${trial}: every unfinished CPU is blocked (${this.blockedReport()})` });
        break;
      }
      if (++steps > max) {
        this.failures.push({ kind: 'watchdog', cpu: -1, message: `trial ${trial}: no end after ${max} scheduling decisions` });
        break;
      }
      this.step(pick);
    }
    this.current = null;
    const stats = sumCpuStats(this.w, this.lay.dims.nCpus);
    const failures = [...this.failures, ...job.check(this.cpus[0]!.ctx, trial), ...records.flatMap((r) => r.failures)];
    return { trial, failures, pins: records.flatMap((r) => r.pins), drainAlls: records.flatMap((r) => r.drainAlls), stats, durationNs: this.now };
  }

  /** Can this CPU's kworker run now? Only at a scheduling point, outside local locks and hogs. */
  private kworkerCanRun(s: CpuState): boolean {
    return s.ctx.preempt === 0 && !(s.hogging && s.until > this.now) && work_pending(s.ctx);
  }
  private taskCanRun(s: CpuState): boolean {
    if (!s.gen || s.until > this.now) return false;
    return !s.ctx.blockedOn || s.ctx.blockedOn();
  }

  /** The next CPU to advance; null when every script is done; 'hung' when nothing can run. */
  private choose(): CpuState | 'hung' | null {
    for (;;) {
      const ready = this.cpus.filter((s) => this.kworkerCanRun(s) || this.taskCanRun(s));
      if (ready.length > 0) {
        if (this.opts.strategy === 'round-robin') {
          for (let k = 0; k < this.cpus.length; k++) {
            const s = this.cpus[(this.rr + k) % this.cpus.length]!;
            if (ready.includes(s)) { this.rr = (s.ctx.cpu + 1) % this.cpus.length; return s; }
          }
        }
        return ready[Math.floor(this.rand() * ready.length)]!;
      }
      const sleeping = this.cpus.filter((s) => s.until > this.now && (s.gen || work_pending(s.ctx)));
      if (sleeping.length > 0) {
        this.now = Math.min(...sleeping.map((s) => s.until));
        continue;
      }
      return this.cpus.some((s) => s.gen) ? 'hung' : null;
    }
  }

  private step(s: CpuState): void {
    this.current = s;
    this.now += TICK_NS;
    if (this.kworkerCanRun(s) && (!this.taskCanRun(s) || this.rand() < 0.5)) {
      kworker_run_pending(s.ctx);
      return;
    }
    try {
      const r = s.gen!.next();
      if (r.done) s.gen = null;
    } catch (e) {
      s.gen = null;
      const step = this.w[s.ctx.base + C.CUR_OP]!;
      const kind = e instanceof KernelLivelock ? 'watchdog' : 'emulator';
      this.failures.push({ kind, cpu: s.ctx.cpu, step, message: `CPU ${s.ctx.cpu} ${kind === 'watchdog' ? 'hung' : 'crashed'} in step ${step}: ${(e as Error).message}` });
      if (kind === 'watchdog') this.abandon = true;
    }
  }

  private blockedReport(): string {
    return this.cpus.filter((s) => s.gen).map((s) => `cpu ${s.ctx.cpu} in ${s.ctx.blockReason || 'its script'}`).join(', ');
  }
}

/** A CPU's whole script as one generator: each step, then a scheduling point between steps. */
function* program(ctx: KernelCtx, steps: ReturnType<Job['steps']>): KGen<void> {
  for (const step of steps) {
    Atomics.store(ctx.w, ctx.base + C.CUR_OP, step.index);
    yield* step.run(ctx);
    yield YP.OP_BOUNDARY;
  }
}
