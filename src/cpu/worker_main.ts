// The body of one CPU worker thread: holds the CPU's kernel context over the shared memory,
// runs batches of trials, and reports what it saw. Trials are synchronised among the CPUs
// through shared memory (no main-thread round trip per trial): the last CPU to finish a trial
// is its "leader": it checks invariants, resets and sets up the next trial, then releases all.
import { availableParallelism } from 'node:os';
import { makeCtx, resetForTrial } from '../mm/boot.js';
import type { KernelCtx } from '../mm/context.js';
import { KernelLivelock } from '../mm/errno.js';
import { sumCpuStats, TrialRecorder } from '../job/recorder.js';
import { C, COORDINATOR, CpuState, G, makeLayout, type Dims, type Layout } from '../mm/layout.js';
import type { CpuTrialRecord } from '../job/recorder.js';
export type { CpuTrialRecord } from '../job/recorder.js';
import { getPolicy, type Policy } from '../mm/policy.js';
import { checkPolicy } from '../policy/derive.js';
import { RingTraceSink } from '../trace/sink.js';
import type { Failure } from '../trial/result.js';
import { FREE_RUN_HOOKS, FreeRunCpu, TrialAborted, nowNs, ringBell, waitSpinNs } from './freerun.js';
import type { Job, JobSpec } from '../job/job.js';
import { buildJob } from '../job/jobs.js';

export interface WorkerInit {
  sab: SharedArrayBuffer;
  dims: Dims;
  cpu: number;
}
export interface JobConfig {
  job: JobSpec;
  /** The full switch set (a user's variant crosses as data, never as an id to look up). */
  policy: Policy;
  seed: number;
  /** Extra non-preemptible spin at each yield point (ns). */
  yieldSpinNs?: number;
  /** A trace ring (TraceRing.create) to write page_ref events and marks into. */
  traceSab?: SharedArrayBuffer;
}

export interface LeaderRecord {
  trial: number;
  stats: number[];
  failures: Failure[];
  durationNs: number;
}
export interface CpuCrash {
  cpu: number;
  trial: number;
  step: number;
  op: string;
  message: string;
}
export interface BatchResult {
  cpu: number;
  records: CpuTrialRecord[];
  leader: LeaderRecord[];
  crash: CpuCrash | null;
  /** A CPU's kernel code looped without end (KernelLivelock): the trial was cut short. */
  livelock?: boolean;
  aborted: boolean;
}

export class CpuWorker {
  private readonly w: Int32Array;
  private readonly lay: Layout;
  private readonly ctx: KernelCtx;
  private readonly cpu: FreeRunCpu;
  private job: Job | null = null;
  private readonly rec = new TrialRecorder();
  /** CPUs that take part in the trial barrier, and whether this one does (set by configure). */
  private participants = 0;
  private inBarrier = true;
  /** Scripted CPUs of the job (set by configure): the busy threads of waitSpinNs(). */
  private scripted = 0;

  constructor(init: WorkerInit) {
    this.w = new Int32Array(init.sab);
    this.lay = makeLayout(init.dims);
    this.ctx = makeCtx(this.w, this.lay, init.cpu, getPolicy('v6.11'), FREE_RUN_HOOKS(this.w));
    this.cpu = new FreeRunCpu(this.ctx);
    this.ctx.obs = this.rec;
  }

  ping(): number {
    return this.ctx.cpu;
  }

  configure(cfg: JobConfig): void {
    this.ctx.policy = checkPolicy(cfg.policy);
    this.ctx.trace = cfg.traceSab ? new RingTraceSink(cfg.traceSab) : null;
    const job = buildJob(cfg.job, { seed: cfg.seed, report: (f) => this.rec.current?.failures.push(f) });
    this.job = job;
    // A scenario's scheduling-point spacing, else the program's (a drain-study cell's --spacing).
    this.cpu.yieldSpinNs = job.schedPointSpacingNs ?? cfg.yieldSpinNs ?? 0;
    let scripted = 0;
    for (let c = 0; c < this.lay.dims.nCpus; c++) if (job.isScripted(c)) scripted++;
    // A job that scripts no CPU at all runs every CPU through the trial barrier.
    this.participants = scripted === 0 ? this.lay.dims.nCpus : scripted;
    this.inBarrier = scripted === 0 || job.isScripted(this.ctx.cpu);
    this.scripted = scripted;
  }

  /**
   * Run trials firstTrial .. firstTrial+count-1. Trial i is released when G.TRIAL_GEN reaches
   * releaseGen + i. Returns early, with what it has, when the run is stopped. `coordinatorRuns`:
   * the coordinator runs kernel code itself meanwhile (one more busy thread, waitSpinNs()).
   */
  runBatch(firstTrial: number, count: number, releaseGen: number, coordinatorRuns = false): BatchResult {
    const job = this.job;
    if (!job) throw new Error(`cpu ${this.ctx.cpu}: runBatch before configure`);
    // Spin rather than sleep in waits when the busy threads fit on the host's cores.
    this.cpu.spinNs = waitSpinNs({
      scripted: this.scripted,
      nCpus: this.lay.dims.nCpus,
      mine: this.inBarrier && this.scripted > 0,
      coordinatorRuns,
      cores: availableParallelism(),
    });
    const w = this.w;
    const me = this.ctx.cpu;
    const nCpus = this.lay.dims.nCpus;
    const out: BatchResult = { cpu: me, records: [], leader: [], crash: null, aborted: false };
    // CPUs without a script take no part in the trial barrier: they only run drain work that
    // others queue on them, until the batch's last trial is released past.
    if (!this.inBarrier) {
      try {
        this.cpu.waitUntil(() => Atomics.load(w, G.TRIAL_GEN) >= releaseGen + count, Infinity);
      } catch (e) {
        if (!(e instanceof TrialAborted)) throw e;
        out.aborted = true;
      }
      return out;
    }
    const participants = this.participants;
    for (let i = 0; i < count; i++) {
      const trial = firstTrial + i;
      const gen = releaseGen + i;
      try {
        this.cpu.waitUntil(() => Atomics.load(w, G.TRIAL_GEN) >= gen, Infinity);
      } catch (e) {
        if (e instanceof TrialAborted) {
          out.aborted = true;
          break;
        }
        throw e;
      }
      const started = nowNs();
      out.records.push(this.rec.begin(trial));
      const crashed = this.runSteps(job, trial, out);
      if (crashed || out.aborted) break;
      const done = Atomics.add(w, G.TRIAL_DONE, 1) + 1;
      if (done === participants) {
        try {
          out.leader.push(this.endTrial(job, trial, i + 1 < count, started));
        } catch (e) {
          // The check or the next trial's setup failed: report it and release everyone.
          out.crash = { cpu: me, trial, step: -1, op: 'trial check/setup', message: (e as Error).message };
          stopAll(w);
          break;
        }
        Atomics.store(w, G.TRIAL_DONE, 0);
        Atomics.store(w, G.TRIAL_GEN, gen + 1);
        for (let c = 0; c < nCpus; c++) if (c !== me) ringBell(w, c);
        ringBell(w, COORDINATOR); // the coordinator may be waiting too
      } else {
        try {
          this.cpu.waitUntil(() => Atomics.load(w, G.TRIAL_GEN) > gen, Infinity);
        } catch (e) {
          if (e instanceof TrialAborted) {
            out.aborted = true;
            break;
          }
          throw e;
        }
      }
    }
    this.rec.current = null;
    return out;
  }

  /** Run this CPU's steps; returns true if the CPU crashed (the run is then stopped). */
  private runSteps(job: Job, trial: number, out: BatchResult): boolean {
    const ctx = this.ctx;
    ctx.preempt = 0;
    ctx.ipiBlocked = 0;
    ctx.blockedOn = null;
    ctx.task.pfMemallocPin = false;
    const steps = job.steps(ctx.cpu, trial);
    Atomics.store(ctx.w, ctx.base + C.STATE, CpuState.RUNNING);
    for (const step of steps) {
      Atomics.store(ctx.w, ctx.base + C.CUR_OP, step.index);
      try {
        this.cpu.drive(step.run(ctx));
        this.cpu.schedulePoint(0);
      } catch (e) {
        if (e instanceof TrialAborted) {
          out.aborted = true;
          return false;
        }
        const err = e instanceof Error ? e : new Error(String(e));
        if (err instanceof KernelLivelock) {
          // A hang of the variant: report it, end this trial for everyone, keep the run going.
          this.rec.current?.failures.push({ kind: 'watchdog', cpu: ctx.cpu, step: step.index, op: step.op, message: err.message });
          out.livelock = true;
        } else {
          out.crash = { cpu: ctx.cpu, trial, step: step.index, op: step.op, message: err.message };
        }
        stopAll(ctx.w);
        return true;
      }
    }
    Atomics.store(ctx.w, ctx.base + C.STATE, CpuState.DONE);
    return false;
  }

  /** Leader's end of trial: gather counters, check, and prepare the next trial. */
  private endTrial(job: Job, trial: number, setupNext: boolean, started: number): LeaderRecord {
    const w = this.w;
    const stats = sumCpuStats(w, this.lay.dims.nCpus);
    const failures = job.check(this.ctx, trial);
    const rec: LeaderRecord = { trial, stats, failures, durationNs: nowNs() - started };
    if (setupNext) {
      resetForTrial(w, this.lay);
      job.setup(this.ctx, trial + 1);
    }
    return rec;
  }
}

/** Stop the run: every CPU (and the coordinator) leaves its wait at once. */
function stopAll(w: Int32Array): void {
  Atomics.store(w, G.TRIAL_STOP, 1);
  for (let c = 0; c <= COORDINATOR; c++) ringBell(w, c);
}
