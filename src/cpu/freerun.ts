// Free-run driver of one emulated CPU inside its worker thread. It runs kernel generators and
// decides what happens at each scheduling point: the bound kworker runs queued drain work
// (unless a local lock is held or a non-preemptible stretch is running), and blocked waits
// sleep on the CPU's doorbell instead of spinning, so more CPUs than host cores still work.
import { availableParallelism } from 'node:os';
import { YP, type KernelCtx, type KGen, type RuntimeHooks } from '../mm/context.js';
import { C, COORDINATOR, CpuState, G, cpuBase } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import { drain_blocked, drain_may_run } from '../mm/workqueue.js';
import { hostPerf, nowNs } from '../mm/boot.js';

/** Thrown out of a CPU's kernel code when the coordinator stops the run. */
export class TrialAborted extends Error {
  constructor() {
    super('trial aborted');
  }
}

/** Minimum spins before sleeping on the doorbell. */
const SPIN_BEFORE_SLEEP = 200;

export function ringBell(w: Int32Array, cpu: number): void {
  const i = cpuBase(cpu) + C.BELL;
  Atomics.add(w, i, 1);
  Atomics.notify(w, i);
}

export { nowNs };

/**
 * How long a CPU thread's waits spin before sleeping on the doorbell (FreeRunCpu.spinNs). A
 * wake-up costs ~10-70 µs on a 2-core host, so when every thread that would spin has a core of
 * its own, spinning is cheaper; with more spinning threads than cores a spinner only steals the
 * core the others need, and the thread being woken (a drain's flusher, say) waits for a time slice.
 * The busy threads are the scripted CPUs, plus the coordinator when it runs kernel code itself
 * during the batch (a benchmark's lru_add_drain_all() calls, RunOptions.during): N CPUs and the
 * coordinator on N cores are one thread too many. An unscripted CPU (it only runs drain work
 * queued on it) would spin after every piece of work, so it spins only when every thread of the
 * run has a core; otherwise it sleeps at once and leaves the cores to the busy threads.
 */
export function waitSpinNs(o: { scripted: number; nCpus: number; mine: boolean; coordinatorRuns: boolean; cores: number }): number {
  const coord = o.coordinatorRuns ? 1 : 0;
  if (o.scripted === 0 || o.scripted + coord > o.cores) return 0;
  return o.mine || o.nCpus + coord <= o.cores ? SPIN_NS : 0;
}
const SPIN_NS = 200_000;

/**
 * waitSpinNs() for a thread that runs kernel code itself beside `scripted` busy CPU threads: the
 * coordinator while it drains (Coordinator.run({ during })), and the drain benchmark's floor,
 * which waits as the emulator does in the same cell.
 */
export function busyBesideSpinNs(scripted: number, nCpus: number): number {
  return waitSpinNs({ scripted, nCpus, mine: true, coordinatorRuns: true, cores: availableParallelism() });
}

export const FREE_RUN_HOOKS: (w: Int32Array) => RuntimeHooks = (w) => ({
  wake: (cpu) => ringBell(w, cpu),
  wakeAll: () => {
    for (let c = 0; c <= COORDINATOR; c++) ringBell(w, c);
  },
  nowNs,
  // Replaced by FreeRunCpu for each CPU; the coordinator's context runs no job step that sleeps.
  sleepNs: () => {
    throw new Error('sleepNs: only a CPU thread (FreeRunCpu) sleeps');
  },
  // Replaced by FreeRunCpu, whose stretch can take IPIs; until then a plain spin.
  spinNoPreempt: (ns) => {
    const end = nowNs() + ns;
    while (nowNs() < end) {
      /* non-preemptible: no scheduling point, no kworker */
    }
  },
});

export class FreeRunCpu {
  private readonly bell: number;
  private readonly pending: number;
  private readonly pointsIdx: number;
  private points = 0;
  /** Extra spin at each yield point (ns): the "spacing of scheduling points" knob. */
  yieldSpinNs = 0;
  /** Unbounded waits give up at this time (ns) with a Stalled error. */
  stallDeadlineNs = Infinity;
  /** How long a wait spins before it sleeps on the doorbell (ns): waitSpinNs(). */
  spinNs = 0;

  constructor(readonly ctx: KernelCtx) {
    this.bell = ctx.base + C.BELL;
    this.pending = ctx.base + C.WQ_PENDING;
    this.pointsIdx = ctx.base + C.SCHED_POINTS;
    // The hog (an RT task / preempt-off stretch) belongs to this CPU: let it see IPIs; a sleep
    // lets its kworker run.
    ctx.hooks.spinNoPreempt = (ns) => this.spinNoPreempt(ns);
    ctx.hooks.sleepNs = (ns) => this.delay(ns / 1000);
    // A wait sleeps where it is, as schedulePoint(BLOCKED) would have slept after the yield. (The
    // hooks object is this thread's own, FREE_RUN_HOOKS(w): a per-CPU closure is safe on it.)
    ctx.hooks.blockInPlace = (cond) => {
      if (drain_may_run(ctx) && Atomics.load(ctx.w, this.pending) !== 0) kworker_run_pending(ctx);
      this.waitUntil(cond, Infinity);
    };
  }

  /**
   * A non-preemptible stretch of `ns`: no scheduling point, so no kworker. Under drainMechanism
   * 'ipi' the drain request is an interrupt: it runs inside the stretch, as soon as it is seen
   * (unless a local lock is held: local_lock_irqsave would hold the IPI off too).
   */
  spinNoPreempt(ns: number): void {
    // Only a real stretch (a hog op) is recorded for the watchdog's report; the spacing spun at
    // every scheduling point (spin() from schedulePoint) stays off that word.
    const state = this.ctx.base + C.STATE;
    const was = Atomics.exchange(this.ctx.w, state, CpuState.NOPREEMPT);
    try {
      this.spin(ns);
    } finally {
      Atomics.store(this.ctx.w, state, was);
    }
  }

  private spin(ns: number): void {
    const ctx = this.ctx;
    const end = nowNs() + ns;
    const ipi = ctx.policy.switches.drainMechanism === 'ipi';
    while (nowNs() < end) {
      // No scheduling point and no kworker, but the run's stop word is still seen: a stretch
      // never holds the process past a stop (the watchdog's, Ctrl-C's).
      if (this.stopped()) throw new TrialAborted();
      if (ipi && !drain_blocked(ctx, true) && Atomics.load(ctx.w, this.pending) !== 0) {
        ctx.trace?.mark(ctx, 'ipi drain', ctx.cpu, 0);
        kworker_run_pending(ctx);
      }
    }
  }

  /** Run a kernel generator to completion on this CPU. */
  drive<T>(gen: KGen<T>): T {
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value;
      this.schedulePoint(r.value);
    }
  }

  private stopped(): boolean {
    return Atomics.load(this.ctx.w, G.TRIAL_STOP) !== 0;
  }

  /** A scheduling point: run the kworker if allowed; sleep while blocked. */
  schedulePoint(yp: number): void {
    const ctx = this.ctx;
    // Published every 64th point: the word shares its line with ones the drain caller reads
    // (ONLINE, BH_LRU), which a store at every point would keep taking away from it.
    if ((++this.points & 63) === 0) ctx.w[this.pointsIdx] = this.points;
    if (this.yieldSpinNs > 0 && yp !== YP.BLOCKED) this.spin(this.yieldSpinNs);
    if (drain_may_run(ctx) && Atomics.load(ctx.w, this.pending) !== 0) kworker_run_pending(ctx);
    if (yp === YP.BLOCKED && ctx.blockedOn) this.waitUntil(ctx.blockedOn, Infinity);
  }

  /**
   * Sleep until `cond()` or until `deadlineNs`, running this CPU's kworker whenever drain work
   * arrives (a sleeping task leaves its CPU to the kworker). Returns cond().
   */
  waitUntil(cond: () => boolean, deadlineNs: number, as: number = CpuState.WAITING): boolean {
    const state = this.ctx.base + C.STATE;
    const was = Atomics.exchange(this.ctx.w, state, as);
    try {
      return this.waitLoop(cond, deadlineNs);
    } finally {
      Atomics.store(this.ctx.w, state, was);
    }
  }

  private waitLoop(cond: () => boolean, deadlineNs: number): boolean {
    const w = this.ctx.w;
    // Deadlines arrive on the process-wide clock (ns); the loop uses this thread's cheap clock.
    const t0 = hostPerf.now();
    const bounded = deadlineNs !== Infinity || this.stallDeadlineNs !== Infinity;
    const entryNs = bounded ? nowNs() : 0;
    const toMs = (ns: number) => (ns === Infinity ? Infinity : t0 + (ns - entryNs) / 1e6);
    const deadlineMs = toMs(deadlineNs);
    const stallMs = toMs(this.stallDeadlineNs);
    const spinUntilMs = t0 + this.spinNs / 1e6;
    for (let spins = 0; ; spins++) {
      if (cond()) return true;
      if (drain_may_run(this.ctx) && Atomics.load(w, this.pending) !== 0) {
        kworker_run_pending(this.ctx);
        continue;
      }
      if (this.stopped()) throw new TrialAborted();
      // The clock (~50 ns) only every 8th turn: a deadline or the end of the spin is seen within
      // a µs, and a turn that does not read it sees a store sooner (the flusher its completion).
      if (spins < SPIN_BEFORE_SLEEP || (spins & 7) !== 0) continue;
      const now = hostPerf.now();
      if (now >= deadlineMs) return false;
      if (now >= stallMs) throw new Error(`cpu ${this.ctx.cpu}: stalled waiting (${this.ctx.blockReason || 'condition'})`);
      if (now < spinUntilMs) continue;
      const seen = Atomics.load(w, this.bell);
      if (cond() || Atomics.load(w, this.pending) !== 0) continue;
      Atomics.wait(w, this.bell, seen, Math.max(0.001, Math.min(50, Math.min(deadlineMs, stallMs) - now)));
    }
  }

  /** A preemptible delay of `us`: the task sleeps, the CPU's kworker may run meanwhile. */
  delay(us: number): void {
    if (us <= 0) return;
    this.waitUntil(() => false, nowNs() + us * 1000, CpuState.SLEEPING);
  }
}
