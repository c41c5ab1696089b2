// The logical-time runtime: a discrete-event simulation of N CPUs (up to MAX_CPUS = 512) over the
// same shared kernel memory and kernel code as the other runtimes, for timing studies at server
// scale on any host. Each CPU has its own clock; the CPU whose next thread (its task, or its
// kworker with queued drain work) can start earliest runs next, so shared memory changes in
// time order and the result depends on the cost model (src/cost/model.ts) and the kernel code,
// not on the host. Time advances by what the kernel reports it did (mm/cost.ts charges), by
// waiting for a shared spinlock's previous holder (the lruvec lock: kworkers draining many CPUs
// take turns), by
// non-preemptible stretches (hooks.spinNoPreempt) and by the costs of the machinery around it:
// a kworker woken on an idle CPU (IPI + C-state exit + switch, or only a switch while the CPU
// still polls in idle), or reaching a busy CPU at its next
// scheduling point (the switch into it paid after that point), an IPI-driven drain inside a
// stretch, a sleeping task woken. Tasks that sleep or wait cost their CPU nothing; their kworker
// may run meanwhile. A step's effects are visible from its start, but a work item completes
// (flush_work() sees it, its flusher is woken) when its kworker's step ends.
// Waits are woken by the hooks the kernel already calls for free-run's doorbells (wake, wakeAll);
// as a safety net, blocked tasks are also polled every nCpus steps and whenever nothing can run
// (counted as late wake-ups: a kernel path that forgot its wake shows up there).
import { createKernelMemory, DEFAULT_DIMS, makeCtx, resetForTrial } from '../mm/boot.js';
import type { KernelCtx, KGen, RuntimeHooks } from '../mm/context.js';
import { YP } from '../mm/context.js';
import { C, type Dims, type Layout } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import type { Policy } from '../mm/policy.js';
import { resetTaskState, stepFailure } from './task_state.js';
import type { Job, JobEnv, JobSpec, Step } from '../job/job.js';
import { buildJob } from '../job/jobs.js';
import { mergeRecords, sumCpuStats, TrialRecorder } from '../job/recorder.js';
import type { CpuTrialRecord } from '../cpu/worker_main.js';
import type { Failure, TrialResult } from '../trial/result.js';
import { type CostModel, DEFAULT_COSTS, eventCosts } from '../cost/model.js';
import { LOCK, N_LOCKS } from '../mm/cost.js';
import { program } from './cooperative.js';
import { drain_blocked, work_complete } from '../mm/workqueue.js';
import { Batch } from '../mm/constants.js';
import { folio_batch_count } from '../mm/folio_batch.js';
import { cpuTask, executeBody, idleTask, kworkerTask, lruInsertionBody, queueWorkBody, type TracepointLog } from '../trace/tracepoints.js';

export interface LogicalOptions {
  nCpus: number;
  policy: Policy;
  dims?: Partial<Omit<Dims, 'nCpus'>>;
  seed: number;
  costs?: CostModel;
  /** Steps before a trial is declared hung (watchdog). */
  maxSteps?: number;
  /** Write the drains as the kernel's tracepoints would show them (study --ftrace in this mode). */
  tracepoints?: TracepointLog;
}

interface LCpu {
  ctx: KernelCtx;
  rec: TrialRecorder;
  gen: KGen<void> | null;
  /** Time this CPU is busy until (end of its last step). */
  free: number;
  /** Time the task may run again (end of a sleep, or its wake-up). */
  taskReady: number;
  /** The task waits in wait_event() for a wake (hooks.wake / wakeAll) or the poll. */
  blocked: boolean;
  /** Time queued drain work may start (Infinity: none known). */
  kwReady: number;
  /**
   * The switch into its kworker a busy CPU still pays once its task reaches a scheduling point
   * (kworkerSwitchNs: the wake-up marks the task for rescheduling, the switch follows the point).
   */
  kwSwitch: number;
  /** Queued for the lruvec lock: when its work started (the kernel's execute_start comes before the lock), and its step. */
  kwTriedAt: number;
  kwTriedStep: number;
  /** Start of the task's last step: an IPI may land anywhere inside it. */
  lastStart: number;
  /**
   * When its kworker last ran workqueue drain work, from its start (queued for the lock
   * included) to its end: the CPU is lazy for TLB flushes meanwhile (hooks.kworkerRunning).
   */
  kwFrom: number;
  kwUntil: number;
  /**
   * The task stopped at a yield point inside kernel code (a race window, not a place where it
   * gives up the CPU): under voluntary preemption its CPU's kworker waits for the task's next
   * real scheduling point (an op boundary, a sleep, a wait) or its end.
   */
  inKernel: boolean;
  ipi: boolean;
  /** Its kworker is queued for its node's lruvec lock (lockQueue). */
  lockWait: boolean;
  /** Its NUMA node (costs.numaNodes, CPUs in order): whose lruvec its batches' folios are on. */
  node: number;
  pendingIdx: number;
  /** Heap entry version: entries with an older stamp are stale. */
  stamp: number;
}

/** A min-heap of (time, cpu, stamp): the next CPU to run. */
class EventHeap {
  private t: number[] = [];
  private c: number[] = [];
  private s: number[] = [];
  get size(): number {
    return this.t.length;
  }
  /** The earliest time queued (Infinity when empty). */
  peekTime(): number {
    return this.t.length > 0 ? this.t[0]! : Infinity;
  }
  clear(): void {
    this.t.length = this.c.length = this.s.length = 0;
  }
  private less(i: number, j: number): boolean {
    return this.t[i]! < this.t[j]! || (this.t[i] === this.t[j] && this.c[i]! < this.c[j]!);
  }
  private swap(i: number, j: number): void {
    [this.t[i], this.t[j]] = [this.t[j]!, this.t[i]!];
    [this.c[i], this.c[j]] = [this.c[j]!, this.c[i]!];
    [this.s[i], this.s[j]] = [this.s[j]!, this.s[i]!];
  }
  push(time: number, cpu: number, stamp: number): void {
    this.t.push(time);
    this.c.push(cpu);
    this.s.push(stamp);
    for (let i = this.t.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** Remove the minimum; returns [time, cpu, stamp]. */
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.t[0]!, this.c[0]!, this.s[0]!];
    const last = this.t.length - 1;
    this.swap(0, last);
    this.t.pop();
    this.c.pop();
    this.s.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.t.length && this.less(l, m)) m = l;
      if (r < this.t.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

export class LogicalRuntime {
  readonly w: Int32Array;
  readonly lay: Layout;
  readonly costs: CostModel;
  private readonly cost: Float64Array;
  private readonly cpus: LCpu[] = [];
  private readonly heap = new EventHeap();
  private job: Job | null = null;
  /**
   * Did the last trial draw random numbers (jitter, seeded phases)? false: nothing in it was
   * random, and this runtime has no randomness of its own, so another trial would repeat it
   * exactly. null: the job does not count its draws.
   */
  lastTrialRandom: boolean | null = null;
  private current: LCpu | null = null;
  /** The running step's clock: its start plus what it has cost so far. */
  private clock = 0;
  /** CPUs woken during the running step, with the time of the wake. */
  private readonly woken = new Map<number, number>();
  /**
   * Work completions still to come, in time order: a kworker's step takes effect at its start, but
   * its work completes (WQ_DONE_SEQ, the flusher's wake-up) when the step ends, as
   * process_one_work() completes the barrier after the function returns.
   */
  private readonly completions = new EventHeap(); // (time, cpu, the sequence it completes)
  /** The CPU whose step is running (the waker of every wake it makes). */
  private waker = -1;
  private wokeAll = -1;
  /**
   * When each shared spinlock (mm/cost.ts LOCK) of each node (index lock * nodes + node) is
   * next free: its holders run one after another.
   */
  private readonly lockFree: Float64Array;
  private readonly nodes: number;
  /** Kworkers queued for their node's lruvec lock, in arrival order. */
  private readonly lockQueue: number[][];
  /** Per node, the queued kworker the lock was handed to, until it runs (-1: none). */
  private readonly lockGranted: Int32Array;
  private failures: Failure[] = [];
  /** Late wake-ups found by the poll, and steps, over the runtime's life (diagnostics). */
  readonly stats = { steps: 0, lateWakeups: 0 };

  constructor(private readonly opts: LogicalOptions) {
    const mem = createKernelMemory({ ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.nCpus });
    this.w = mem.w;
    this.lay = mem.lay;
    this.costs = opts.costs ?? DEFAULT_COSTS;
    this.cost = eventCosts(this.costs);
    this.nodes = Math.max(1, Math.min(this.costs.numaNodes, opts.nCpus));
    this.lockFree = new Float64Array(N_LOCKS * this.nodes);
    this.lockQueue = Array.from({ length: this.nodes }, () => []);
    this.lockGranted = new Int32Array(this.nodes).fill(-1);
    const hooks: RuntimeHooks = {
      singleThreaded: true,
      wake: (cpu) => this.noteWake(cpu),
      wakeAll: () => {
        if (this.wokeAll < 0) this.wokeAll = this.clock;
      },
      nowNs: () => this.clock,
      spinNoPreempt: (ns) => {
        this.clock += ns;
      },
      sleepNs: (ns) => {
        if (this.current) this.current.taskReady = this.clock + ns;
      },
      charge: (ev, n, target) => {
        this.clock += this.cost[ev]! * n;
        // Another CPU's per-CPU data, on another node: its cache lines cross the interconnect.
        if (target !== undefined && this.current !== null && this.cpus[target]!.node !== this.current.node) this.clock += this.costs.remoteNodeNs * n;
      },
      // Completed when the kworker's step ends (its clock by then): flush_work() waits until then.
      deferCompletion: (ctx, seq) => this.completions.push(this.clock, ctx.cpu, seq),
      // A holder's critical section is atomic in one step, so other CPUs never see the lock
      // held: its hold time is serialised here instead (taken at most when the last holder let go).
      lockHeld: (lock, held) => {
        const i = lock * this.nodes + (this.current?.node ?? 0);
        if (held) this.clock = Math.max(this.clock, this.lockFree[i]!);
        else this.lockFree[i] = this.clock;
      },
      // A flush at this step's clock passes by a CPU whose kworker (a kernel thread) runs then.
      kworkerRunning: (cpu) => {
        const s = this.cpus[cpu]!;
        return s.kwFrom <= this.clock && this.clock < s.kwUntil;
      },
    };
    const tp = opts.tracepoints ?? null;
    for (let c = 0; c < opts.nCpus; c++) {
      const ctx = makeCtx(this.w, this.lay, c, opts.policy, hooks);
      const rec = new TrialRecorder();
      ctx.obs = rec;
      if (tp) ctx.trace = { pageRef: () => {}, mark: (x, what, a = 0) => this.tracepoint(tp, x, what, a) };
      this.cpus.push({
        ctx,
        rec,
        gen: null,
        free: 0,
        taskReady: 0,
        blocked: false,
        kwReady: Infinity,
        kwSwitch: 0,
        kwTriedAt: -1,
        kwTriedStep: -1,
        lastStart: 0,
        kwFrom: 0,
        kwUntil: 0,
        inKernel: false,
        ipi: opts.policy.switches.drainMechanism === 'ipi',
        lockWait: false,
        node: Math.floor((c * this.nodes) / opts.nCpus),
        pendingIdx: ctx.base + C.WQ_PENDING,
        stamp: 0,
      });
    }
  }

  configure(spec: JobSpec): void {
    const env: JobEnv = { report: (f) => this.current?.rec.current?.failures.push(f), seed: this.opts.seed };
    this.job = buildJob(spec, env);
  }

  private noteWake(cpu: number): void {
    if (cpu < 0 || cpu >= this.cpus.length) return; // the coordinator's doorbell: nobody there
    const prev = this.woken.get(cpu);
    if (prev === undefined || this.clock < prev) this.woken.set(cpu, this.clock);
  }

  /** A work item's completion at the end of its kworker's step (work_complete()), and the wakes it makes. */
  private complete(t: number, cpu: number, seq: number): void {
    this.clock = t;
    this.waker = cpu;
    work_complete(this.cpus[cpu]!.ctx, seq);
    this.applyWakes();
  }

  /** Start of the running step (its sched_switch, if any, is shown there). */
  private stepAt = 0;

  /**
   * The kernel's marks as its tracepoints: queue_work (with the target CPU shown idle or busy,
   * as the model will price its wake-up), execute_start with one mm_lru_insertion per lru_add
   * entry the work will move, execute_end.
   */
  private tracepoint(tp: TracepointLog, ctx: KernelCtx, what: string, a: number): void {
    const t = this.clock;
    const cpu = ctx.cpu;
    if (what === 'drain work queued') {
      const target = this.cpus[a];
      if (target && a !== cpu) {
        if (this.idleAt(target, t)) tp.switchTo(Math.min(t, target.free), a, idleTask(a));
        else tp.switchTo(Math.min(t, target.lastStart), a, cpuTask(a));
      }
      tp.emit(t, cpu, cpuTask(cpu), 'workqueue_queue_work', queueWorkBody(a));
    } else if (what === 'drain work start') {
      // A work that queued for the lruvec lock started when it first tried (it spun meanwhile).
      const lcpu = this.cpus[cpu]!;
      const tried = lcpu.kwTriedAt;
      const start = tried >= 0 ? tried : t;
      tp.switchTo(tried >= 0 ? lcpu.kwTriedStep : this.stepAt, cpu, kworkerTask(cpu));
      tp.emit(start, cpu, kworkerTask(cpu), 'workqueue_execute_start', executeBody(cpu));
      const n = folio_batch_count(ctx, cpu, Batch.lru_add);
      for (let i = 0; i < n; i++) tp.emit(start, cpu, kworkerTask(cpu), 'mm_lru_insertion', lruInsertionBody(0x100000 + cpu * 64 + i));
    } else if (what === 'drain work end') tp.emit(t, cpu, kworkerTask(cpu), 'workqueue_execute_end', executeBody(cpu));
  }

  /**
   * After a step on `s`: show what its CPU runs now (the task, or idle). A task blocked in a
   * kernel wait (its reason a kernel function's name: flush_work, ...) sleeps uninterruptibly
   * (D), as wait_for_completion() does; the jobs' own waits (reasons in words) sleep (S).
   */
  private traceAfterStep(tp: TracepointLog, s: LCpu, kw: boolean): void {
    const cpu = s.ctx.cpu;
    // After its work the kworker sleeps (S); the task's own steps end with it still running.
    if (!this.idleAt(s, this.clock)) tp.switchTo(this.clock, cpu, cpuTask(cpu), 'S');
    else tp.switchTo(this.clock, cpu, idleTask(cpu), kw ? 'S' : s.blocked && /^[a-z_]+$/.test(s.ctx.blockReason) ? 'D' : 'S');
  }

  /** Is CPU `s` idle at time `t` (no task that could run)? Decides how its kworker is woken. */
  private idleAt(s: LCpu, t: number): boolean {
    return s.gen === null || s.blocked || s.taskReady > t;
  }

  /** When can each of this CPU's threads start next? */
  private taskStart(s: LCpu): number {
    // A kworker queued for the lruvec lock spins on it: its CPU runs nothing else meanwhile.
    return s.gen !== null && !s.blocked && !s.lockWait ? Math.max(s.free, s.taskReady) : Infinity;
  }
  private kwStart(s: LCpu): number {
    // An IPI needs interrupts on and the batch locks free; queued work, preemption on.
    if (drain_blocked(s.ctx, s.ipi) || this.w[s.pendingIdx] === 0) return Infinity;
    if (s.kwReady === Infinity) s.kwReady = s.free; // work found without a wake: at once
    // An IPI lands inside a running stretch; queued work waits for the next scheduling point.
    if (s.lockWait) return Infinity; // queued for the lruvec lock: released by lockGrant()
    if (s.ipi) return Math.max(s.kwReady, s.lastStart);
    if (s.inKernel && s.gen !== null && !s.blocked) return Infinity;
    return Math.max(s.kwReady, s.free);
  }
  private schedule(s: LCpu): void {
    const t = Math.min(this.taskStart(s), this.kwStart(s));
    s.stamp++;
    if (t !== Infinity) this.heap.push(t, s.ctx.cpu, s.stamp);
  }

  /** Apply the wakes of the step that just ended (its state changes are all visible now). */
  private applyWakes(): void {
    const c = this.costs;
    const wakeOne = (s: LCpu, at: number): void => {
      const idle = this.idleAt(s, at);
      // An idle CPU still polling (it went idle less than idlePollNs ago) needs no IPI and has
      // no idle state to leave: a wake there costs a switch (wakePollingNs).
      const polling = idle && at - s.free < c.idlePollNs;
      const wakeNs = s.ctx.cpu === this.waker ? c.wakeupLocalNs : polling ? c.wakePollingNs : c.wakeupNs;
      // Drain work queued for it: its kworker is woken (an idle CPU leaves its idle state).
      if (this.w[s.pendingIdx] !== 0 && s.kwReady === Infinity) {
        const busy = !polling && !idle && !s.ipi;
        s.kwReady = at + (polling ? c.wakePollingNs : idle ? c.kworkerWakeIdleNs : s.ipi ? c.ipiNs : 0);
        s.kwSwitch = busy ? c.kworkerSwitchNs : 0;
      }
      // A waiting task whose condition now holds is woken.
      if (s.blocked && s.ctx.blockedOn?.()) {
        s.blocked = false;
        s.taskReady = Math.max(s.taskReady, at + wakeNs);
      }
      this.schedule(s);
    };
    if (this.wokeAll >= 0) {
      for (const s of this.cpus) wakeOne(s, this.woken.get(s.ctx.cpu) ?? this.wokeAll);
    } else for (const [cpu, at] of this.woken) wakeOne(this.cpus[cpu]!, at);
    this.woken.clear();
    this.wokeAll = -1;
  }

  /** Hand node `node`'s lruvec lock to its first queued kworker, unless a grant is outstanding. */
  private lockGrant(node: number): void {
    const q = this.lockQueue[node]!;
    if (q.length === 0 || this.lockGranted[node]! >= 0) return;
    const s = this.cpus[q.shift()!]!;
    this.lockGranted[node] = s.ctx.cpu;
    s.lockWait = false;
    s.kwReady = Math.max(s.kwReady, this.lockFree[LOCK.LRUVEC * this.nodes + node]!);
    s.taskReady = Math.max(s.taskReady, s.kwReady); // it spun on the lock: the kworker runs first
    this.schedule(s);
  }

  /** The safety net: blocked tasks whose condition holds although nobody woke them. */
  private poll(at: number): boolean {
    let any = false;
    for (const s of this.cpus) {
      if (s.blocked && s.ctx.blockedOn?.()) {
        s.blocked = false;
        s.taskReady = Math.max(s.taskReady, at + this.costs.wakeupNs);
        this.stats.lateWakeups++;
        this.schedule(s);
        any = true;
      }
    }
    return any;
  }

  runTrial(trial: number): TrialResult {
    const job = this.job;
    if (!job) throw new Error('logical runtime: runTrial before configure');
    resetForTrial(this.w, this.lay);
    for (const s of this.cpus) resetTaskState(s.ctx); // before setup: see resetTaskState
    this.failures = [];
    this.opts.tracepoints?.nextTrial();
    this.clock = 0;
    this.woken.clear();
    this.completions.clear();
    this.wokeAll = -1;
    this.lockFree.fill(0);
    for (const q of this.lockQueue) q.length = 0;
    this.lockGranted.fill(-1);
    const draws = job.randomDraws?.();
    job.setup(this.cpus[0]!.ctx, trial);
    const records: CpuTrialRecord[] = [];
    this.heap.clear();
    for (const s of this.cpus) {
      records.push(s.rec.begin(trial));
      s.free = 0;
      s.taskReady = 0;
      s.blocked = false;
      s.kwReady = Infinity;
      s.kwSwitch = 0;
      s.kwTriedAt = -1;
      s.lastStart = 0;
      s.kwFrom = 0;
      s.kwUntil = 0;
      s.inKernel = false;
      s.lockWait = false;
      const steps: Step[] = job.isScripted(s.ctx.cpu) ? job.steps(s.ctx.cpu, trial) : [];
      s.gen = steps.length ? program(s.ctx, steps) : null;
      this.schedule(s);
    }
    const max = this.opts.maxSteps ?? 50_000_000;
    const pollEvery = Math.max(8, this.cpus.length);
    let steps = 0;
    let end = 0;
    let abandon = false;
    while (!abandon) {
      if (this.completions.size > 0 && this.completions.peekTime() <= this.heap.peekTime()) {
        this.complete(...this.completions.pop());
        continue;
      }
      if (this.heap.size === 0 && !this.poll(end)) break;
      if (this.heap.size === 0) continue;
      const [t, cpu, stamp] = this.heap.pop();
      const s = this.cpus[cpu]!;
      if (stamp !== s.stamp) continue; // stale entry
      const kwAt = this.kwStart(s);
      const kw = kwAt <= this.taskStart(s);
      // Drain work walks a batch under the lruvec lock, taken first thing: while another CPU
      // holds it, the kworker queues for it (FIFO) and starts when it is handed over, so that
      // its effects (which others see from its start) happen in time order.
      const granted = cpu === this.lockGranted[s.node]; // (a grant not taken up passes on after the step)
      if (granted) this.lockGranted[s.node] = -1;
      // (A busy CPU's kworker reaches the lock after switching in.)
      if (kw && this.lockFree[LOCK.LRUVEC * this.nodes + s.node]! > t + s.kwSwitch) {
        s.lockWait = true;
        if (s.kwTriedAt < 0) {
          s.kwTriedStep = t;
          s.kwTriedAt = t + this.costs.stepNs + s.kwSwitch;
        }
        // It has switched in and spins on the lock: it is granted it no earlier than that.
        s.kwReady = Math.max(s.kwReady, t + s.kwSwitch);
        s.kwSwitch = 0;
        // Handed the lock, but a task step took it meanwhile: first in line again.
        const q = this.lockQueue[s.node]!;
        if (granted) q.unshift(cpu);
        else q.push(cpu);
        this.schedule(s);
        this.lockGrant(s.node); // nobody may be left to let go of it: the lock is free from lockFree on
        continue;
      }
      if (++steps > max) {
        this.failures.push({ kind: 'watchdog', cpu: -1, message: `trial ${trial}: no end after ${max} steps (logical time ${(t / 1000).toFixed(1)} µs)` });
        break;
      }
      this.current = s;
      this.waker = cpu;
      // A busy CPU's kworker starts at the task's scheduling point with the switch into it.
      this.clock = t + this.costs.stepNs + (kw ? s.kwSwitch : 0);
      this.stepAt = t;
      if (kw) {
        const from = s.kwTriedAt >= 0 ? s.kwTriedAt : t;
        kworker_run_pending(s.ctx);
        if (!s.ipi) {
          s.kwFrom = from;
          s.kwUntil = this.clock;
        }
        s.kwReady = Infinity;
        s.kwSwitch = 0;
        s.kwTriedAt = -1;
        // Interrupt-style (IPI) work inside a stretch pushes the stretch's end out by its cost.
        s.free = t < s.free ? s.free + (this.clock - t) : this.clock;
      } else {
        s.lastStart = t;
        this.opts.tracepoints?.switchTo(t, cpu, cpuTask(cpu));
        abandon = this.stepTask(s);
        s.free = this.clock;
      }
      if (this.opts.tracepoints) this.traceAfterStep(this.opts.tracepoints, s, kw);
      end = Math.max(end, this.clock);
      this.current = null;
      this.schedule(s);
      this.lockGrant(s.node);
      this.applyWakes();
      if (steps % pollEvery === 0) this.poll(this.clock);
    }
    this.stats.steps += steps;
    const hung = this.cpus.filter((s) => s.gen !== null);
    if (!abandon && hung.length > 0 && !this.failures.length) {
      this.failures.push({
        kind: 'watchdog',
        cpu: -1,
        message: `trial ${trial}: every unfinished CPU is blocked (${hung.map((s) => `cpu ${s.ctx.cpu} in ${s.ctx.blockReason || 'its script'}`).join(', ')})`,
      });
    }
    const merged = mergeRecords(records, this.failures.concat(job.check(this.cpus[0]!.ctx, trial)));
    this.lastTrialRandom = draws === undefined ? null : job.randomDraws!() !== draws;
    return {
      trial,
      failures: merged.failures,
      pins: merged.pins,
      drainAlls: merged.drainAlls,
      stats: sumCpuStats(this.w, this.lay.dims.nCpus),
      durationNs: end,
    };
  }

  /** One step of a CPU's task (to its next yield point); true if the trial must stop (a hang). */
  private stepTask(s: LCpu): boolean {
    try {
      const r = s.gen!.next();
      if (r.done) s.gen = null;
      else if (r.value === YP.BLOCKED) s.blocked = true;
      s.inKernel = !r.done && r.value !== YP.BLOCKED && r.value !== YP.OP_BOUNDARY && r.value !== YP.SCRIPT_DELAY;
      return false;
    } catch (e) {
      s.gen = null;
      s.inKernel = false;
      const f = stepFailure(e, s.ctx.cpu, this.w[s.ctx.base + C.CUR_OP]!);
      this.failures.push(f);
      return f.kind === 'watchdog';
    }
  }
}
