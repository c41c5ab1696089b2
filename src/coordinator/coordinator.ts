// The coordinator: spawns one worker thread per emulated CPU once, owns the shared kernel
// memory, runs trials in batches (reset, set up, release all CPUs together, gather, check),
// can itself call lru_add_drain_all() while CPUs run, and stops every thread on any exit path.
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createKernelMemory, DEFAULT_DIMS, makeCtx, resetForTrial } from '../mm/boot.js';
import type { DrainAllRecord, KernelCtx } from '../mm/context.js';
import { C, COORDINATOR, CPU_STATE_NAMES, CpuState, FREE_RUN_MAX_CPUS, G, MAX_CPUS, cpuBase, type Dims, type Layout } from '../mm/layout.js';
import { lru_add_drain_all } from '../mm/lru_add_drain_all.js';
import { getPolicy } from '../mm/policy.js';
import { busyBesideSpinNs, FREE_RUN_HOOKS, FreeRunCpu, nowNs, ringBell } from '../cpu/freerun.js';
import type { Job } from '../job/job.js';
import { buildJob } from '../job/jobs.js';
import { checkPolicy } from '../policy/derive.js';
import type { BatchResult, CpuCrash, CpuWorker, JobConfig } from '../cpu/worker_main.js';
import { RingTraceSink } from '../trace/sink.js';
import type { Failure, TrialResult } from '../trial/result.js';
import { register, unregister, workerExited, workerStarted, type Stoppable } from '../runtime/registry.js';
import { cpuWorkerPath, workerExecArgv } from '../runtime/worker-path.js';
import { assembleTrials } from './assemble.js';
import { placeText } from '../report/place.js';

export interface CoordinatorOptions {
  cpus: number;
  dims?: Partial<Omit<Dims, 'nCpus'>>;
}

export interface RunOptions {
  trials: number;
  /** Trials per batch (between main-thread round trips). */
  batchSize?: number;
  /** No trial completing for this long (one to two periods) stops the batch; the unfinished trial is reported. */
  watchdogMs?: number;
  onTrial?: (r: TrialResult) => void;
  /**
   * Runs on this thread right after each batch's CPUs are released (benchmarks). The CPUs then
   * count this thread as busy: their waits spin first only if they and it fit the host's cores.
   */
  during?: () => void;
}

export interface RunOutcome {
  completed: number;
  crash: CpuCrash | null;
  aborted: boolean;
  abortReason: string;
}

interface CpuThread {
  cpu: number;
  worker: Worker;
  api: Comlink.Remote<CpuWorker>;
  exited: Promise<void>;
}

export class Coordinator implements Stoppable {
  readonly w: Int32Array;
  readonly lay: Layout;
  private readonly sab: SharedArrayBuffer;
  private threads: CpuThread[] = [];
  private readonly ctx: KernelCtx;
  private readonly self: FreeRunCpu;
  private job: Job | null = null;
  private cfg: JobConfig | null = null;
  private abortReason = '';
  /** Set when the watchdog fired: what the CPUs were doing, for the trial's watchdog failure. */
  private watchdogDetail = '';
  private watchdogCpu = -1;
  private crashFromEvent: CpuCrash | null = null;
  private wakeRun: (() => void) | null = null;
  private closed = false;

  private constructor(
    readonly cpus: number,
    dims: Dims,
  ) {
    const mem = createKernelMemory(dims);
    this.sab = mem.sab;
    this.w = mem.w;
    this.lay = mem.lay;
    this.ctx = makeCtx(this.w, this.lay, COORDINATOR, getPolicy('v6.11'), FREE_RUN_HOOKS(this.w));
    this.self = new FreeRunCpu(this.ctx);
  }

  /** Spawn the CPUs and wait until every one answers. */
  static async start(opts: CoordinatorOptions): Promise<Coordinator> {
    // One worker thread per emulated CPU: beyond this, simulate in logical time instead.
    if (Number.isInteger(opts.cpus) && opts.cpus > FREE_RUN_MAX_CPUS)
      throw new RangeError(
        `cpus: free-run starts one thread per CPU, at most ${FREE_RUN_MAX_CPUS}; got ${opts.cpus} (the logical-time model goes to ${MAX_CPUS})`,
      );
    const dims: Dims = { ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.cpus };
    const c = new Coordinator(opts.cpus, dims); // validates dims (names the field and value)
    register(c);
    try {
      const path = cpuWorkerPath();
      for (let cpu = 0; cpu < opts.cpus; cpu++) c.threads.push(c.spawn(path, cpu, dims));
      await Promise.all(c.threads.map((t) => callOrExit(t, t.api.ping())));
    } catch (e) {
      await c.shutdown();
      throw e;
    }
    return c;
  }

  private spawn(path: string, cpu: number, dims: Dims): CpuThread {
    const worker = new Worker(path, { workerData: { sab: this.sab, dims, cpu }, execArgv: workerExecArgv() });
    workerStarted();
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        workerExited();
        resolve();
      }),
    );
    worker.on('error', (err) => {
      this.crashFromEvent ??= { cpu, trial: -1, step: -1, op: 'worker thread', message: err.message };
      this.abort(`CPU ${cpu} crashed: ${err.message}`);
    });
    return { cpu, worker, api: Comlink.wrap<CpuWorker>(nodeEndpoint(worker)), exited };
  }

  /** Load a job (program or scenario) and policy into every CPU. */
  async configure(cfg: JobConfig): Promise<void> {
    this.cfg = cfg;
    this.ctx.policy = checkPolicy(cfg.policy);
    this.ctx.trace = cfg.traceSab ? new RingTraceSink(cfg.traceSab) : null;
    this.job = buildJob(cfg.job, { report: () => {} });
    await Promise.all(this.threads.map((t) => callOrExit(t, t.api.configure(cfg))));
  }

  /** Run trials in batches until done, stopped or a CPU crashes. */
  async run(opts: RunOptions): Promise<RunOutcome> {
    const job = this.job;
    if (!job || !this.cfg) throw new Error('coordinator: run before configure');
    const batchSize = Math.max(1, opts.batchSize ?? 64);
    const out: RunOutcome = { completed: 0, crash: null, aborted: false, abortReason: '' };
    let t = 0;
    while (t < opts.trials && !this.abortReason) {
      const k = Math.min(batchSize, opts.trials - t);
      const results = await this.runBatch(job, t, k, opts.watchdogMs ?? 10_000, opts.during);
      const cut = results.watchdog || results.batch.some((b) => b.livelock);
      const trials = assembleTrials(results.batch, t, k, cut, this.watchdogDetail, this.watchdogCpu);
      if (results.watchdog && results.batch.length === 0) {
        // The threads had to be terminated: this batch left no records; say so as a finding.
        opts.onTrial?.({
          trial: t,
          failures: [{ kind: 'watchdog', cpu: this.watchdogCpu, message: this.watchdogDetail }],
          pins: [],
          drainAlls: [],
          stats: [],
          durationNs: 0,
        });
      }
      this.watchdogDetail = '';
      this.watchdogCpu = -1;
      for (const r of trials) opts.onTrial?.(r);
      out.completed += trials.filter((r) => !r.failures.some((f) => f.kind === 'watchdog' || f.kind === 'emulator')).length;
      const crash = results.batch.find((b) => b.crash)?.crash ?? this.crashFromEvent ?? results.rejected;
      if (crash) {
        out.crash = crash;
        if (!trials.some((r) => r.trial === crash.trial)) opts.onTrial?.(crashTrial(crash));
        break;
      }
      // A trial cut short ends its batch: go on after the last trial that has a result.
      t = trials.length ? trials[trials.length - 1]!.trial + 1 : t + k;
    }
    out.aborted = !!this.abortReason;
    out.abortReason = this.abortReason;
    return out;
  }

  private async runBatch(
    job: Job,
    first: number,
    count: number,
    watchdogMs: number,
    during?: () => void,
  ): Promise<{ batch: BatchResult[]; watchdog: boolean; rejected: CpuCrash | null }> {
    const w = this.w;
    resetForTrial(w, this.lay);
    Atomics.store(w, G.TRIAL_STOP, 0);
    Atomics.store(w, G.TRIAL_DONE, 0);
    job.setup(this.ctx, first);
    const releaseGen = Atomics.load(w, G.TRIAL_GEN) + 1;
    // A CPU whose thread dies never answers: its exit settles its call instead. With `during`,
    // this thread runs kernel code beside the CPUs: they count it among the busy threads.
    const calls = this.threads.map((t) => callOrExit(t, t.api.runBatch(first, count, releaseGen, during !== undefined)));
    Atomics.store(w, G.TRIAL_GEN, releaseGen);
    for (const t of this.threads) ringBell(w, t.cpu);
    if (during) {
      // The coordinator is one of the busy threads now: its waits (flush_work in its drains,
      // waitFor) follow the CPUs' spin-or-sleep rule. Sleeping in flush_work while every thread
      // had a core cost a futex wake-up per drain (~10 µs here), the idle cell's extra hop.
      let scripted = 0;
      for (const t of this.threads) if (job.isScripted(t.cpu)) scripted++;
      this.self.spinNs = busyBesideSpinNs(scripted, this.cpus);
      try {
        during();
      } finally {
        this.self.spinNs = 0;
      }
    }
    let watchdog = false;
    // Per trial, not per batch: fire when no trial has completed for a whole period.
    let seenGen = Atomics.load(w, G.TRIAL_GEN);
    const timer = setInterval(() => {
      const gen = Atomics.load(w, G.TRIAL_GEN);
      if (gen !== seenGen) {
        seenGen = gen;
        return;
      }
      watchdog = true;
      // Read what the CPUs are doing now, before the stop changes it.
      const seen = this.watchdogReport(job, first);
      this.watchdogDetail = `no trial finished for ${watchdogMs / 1000} s: ${seen.text}`;
      this.watchdogCpu = seen.cpu;
      this.stopTrials();
    }, watchdogMs);
    const stopped = new Promise<'stuck'>((resolve) => {
      this.wakeRun = () => setTimeout(() => resolve('stuck'), 2000).unref();
    });
    try {
      const res = await Promise.race([Promise.allSettled(calls), stopped]);
      if (res === 'stuck') {
        // Kernel code that never reaches a wait or a stretch check: end the run here, keeping the
        // earlier batches, and report what each CPU was doing. The threads are terminated.
        this.watchdogDetail = `${this.watchdogDetail || 'the run was stopped'}; the CPU threads did not stop within 2 s and were terminated`;
        this.abort(this.watchdogDetail);
        await Promise.all(this.threads.map((t) => t.worker.terminate()));
        return { batch: [], watchdog: true, rejected: null };
      }
      const batch: BatchResult[] = [];
      let rejected: CpuCrash | null = null;
      res.forEach((r, i) => {
        if (r.status === 'fulfilled') batch.push(r.value);
        else
          rejected ??= { cpu: this.threads[i]!.cpu, trial: -1, step: -1, op: 'trial setup/check', message: String((r.reason as Error)?.message ?? r.reason) };
      });
      return { batch, watchdog, rejected };
    } finally {
      clearInterval(timer);
      this.wakeRun = null;
    }
  }

  /** What each scripted CPU's thread was doing (C.STATE) and at which step, for watchdog reports. */
  private watchdogReport(job: Job, trial: number): { text: string; cpu: number } {
    const parts: string[] = [];
    let stuck = -1;
    for (const t of this.threads) {
      if (!job.isScripted(t.cpu)) continue;
      const b = cpuBase(t.cpu);
      const state = Atomics.load(this.w, b + C.STATE);
      if (state === CpuState.DONE) continue;
      const index = Atomics.load(this.w, b + C.CUR_OP);
      let where = `step ${index + 1}`;
      try {
        const st = job.steps(t.cpu, trial)[index];
        if (st) where = `${st.path} (${st.op})`;
      } catch {
        /* a program job: the step number is all there is */
      }
      if (state === CpuState.NOPREEMPT && stuck < 0) stuck = t.cpu;
      parts.push(`CPU ${t.cpu} is ${CPU_STATE_NAMES[state] ?? 'running'} at ${where}`);
    }
    if (stuck < 0 && parts.length > 0)
      stuck = this.threads.find((t) => job.isScripted(t.cpu) && Atomics.load(this.w, cpuBase(t.cpu) + C.STATE) !== CpuState.DONE)?.cpu ?? -1;
    return { text: parts.join('; ') || 'every CPU had finished its steps', cpu: stuck };
  }

  /** Tell every CPU to leave its trial now (they throw TrialAborted at their next wait). */
  private stopTrials(): void {
    Atomics.store(this.w, G.TRIAL_STOP, 1);
    for (let c = 0; c <= COORDINATOR; c++) ringBell(this.w, c);
    this.wakeRun?.();
  }

  /**
   * lru_add_drain_all() called by the coordinator itself (as a task on no particular CPU),
   * while the CPUs run a batch. Blocks this thread until the flush completes. `phases`: the
   * record times the first queue_work_on() and the last flush's return as well (the drain bench).
   */
  lruAddDrainAll(timeoutMs = 10_000, phases = false): DrainAllRecord | null {
    let rec: DrainAllRecord | null = null;
    this.ctx.obs = {
      drainAll: (_c, r) => {
        rec = r;
      },
      pin: () => {},
      drainPhases: phases,
    };
    this.self.stallDeadlineNs = nowNs() + timeoutMs * 1e6;
    try {
      this.self.drive(lru_add_drain_all(this.ctx));
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${this.describeCpus()}`);
    } finally {
      this.self.stallDeadlineNs = Infinity;
      this.ctx.obs = null;
    }
    return rec;
  }

  /** Sleep on the coordinator's doorbell until `cond()` (CPUs ring it when they progress). */
  waitFor(cond: () => boolean, timeoutMs = 10_000): void {
    if (!this.self.waitUntil(cond, nowNs() + timeoutMs * 1e6)) {
      throw new Error(`coordinator: gave up after ${timeoutMs} ms; ${this.describeCpus()}`);
    }
  }

  /** Where each CPU is (for stall reports). */
  describeCpus(): string {
    const parts: string[] = [];
    for (const t of this.threads) {
      const b = cpuBase(t.cpu);
      parts.push(
        `cpu ${t.cpu}: step ${this.w[b + C.CUR_OP]}, work pending ${this.w[b + C.WQ_PENDING]}, queued/done ${this.w[b + C.WQ_QUEUED_SEQ]}/${this.w[b + C.WQ_DONE_SEQ]}, locks ${this.w[b + C.LOCK]}/${this.w[b + C.LOCK_IRQ]}/${this.w[b + C.MLOCK_LOCK]}`,
      );
    }
    return `drain mutex ${this.w[G.DRAIN_MUTEX]}, trial gen ${this.w[G.TRIAL_GEN]}, done ${this.w[G.TRIAL_DONE]}; ` + parts.join('; ');
  }

  /** False once a CPU thread died or the run was aborted: start a new coordinator. */
  healthy(): boolean {
    return !this.closed && !this.abortReason && !this.crashFromEvent;
  }

  abort(reason: string): void {
    if (!this.abortReason) this.abortReason = reason;
    this.stopTrials();
  }

  /** Stop trials and join every worker thread. Safe to call more than once. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTrials();
    await Promise.all(
      this.threads.map(async (t) => {
        t.api[Comlink.releaseProxy]();
        await t.worker.terminate();
        await t.exited;
      }),
    );
    unregister(this);
  }
}

/** A control call to a CPU thread, settled by the thread's exit if it dies first. */
function callOrExit<T>(t: CpuThread, call: Promise<T>): Promise<T> {
  return Promise.race([
    call,
    t.exited.then((): never => {
      throw new Error(`CPU ${t.cpu} thread exited`);
    }),
  ]);
}

function crashTrial(crash: CpuCrash): TrialResult {
  const f: Failure = {
    kind: 'emulator',
    cpu: crash.cpu,
    step: crash.step,
    op: crash.op,
    message: `crashed (${placeText({ trial: crash.trial, cpu: crash.cpu, step: crash.step, op: crash.op })}): ${crash.message}`,
  };
  return { trial: crash.trial, failures: [f], pins: [], drainAlls: [], stats: [], durationNs: 0 };
}
