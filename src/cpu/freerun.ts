// Free-run driver of one emulated CPU inside its worker thread. It runs kernel generators and
// decides what happens at each scheduling point: the bound kworker runs queued drain work
// (unless a local lock is held or a non-preemptible stretch is running), and blocked waits
// sleep on the CPU's doorbell instead of spinning, so more CPUs than host cores still work.
import { YP, type KernelCtx, type KGen, type RuntimeHooks } from '../mm/context.js';
import { C, G, cpuBase } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';

/** Thrown out of a CPU's kernel code when the coordinator stops the run. */
export class TrialAborted extends Error {
  constructor() {
    super('trial aborted');
  }
}

/** Spins before sleeping on the doorbell (a wake-up costs ~70 µs on a busy 2-core host). */
const SPIN_BEFORE_SLEEP = 200;

export function ringBell(w: Int32Array, cpu: number): void {
  const i = cpuBase(cpu) + C.BELL;
  Atomics.add(w, i, 1);
  Atomics.notify(w, i);
}

export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export const FREE_RUN_HOOKS: (w: Int32Array) => RuntimeHooks = (w) => ({
  wake: (cpu) => ringBell(w, cpu),
  nowNs,
  spinNoPreempt: (ns) => {
    const end = nowNs() + ns;
    while (nowNs() < end) { /* non-preemptible: no scheduling point, no kworker */ }
  },
});

export class FreeRunCpu {
  private readonly bell: number;
  private readonly pending: number;
  /** Extra spin at each yield point (ns): the "spacing of scheduling points" knob. */
  yieldSpinNs = 0;
  /** Unbounded waits give up at this time (ns) with a Stalled error. */
  stallDeadlineNs = Infinity;

  constructor(readonly ctx: KernelCtx) {
    this.bell = ctx.base + C.BELL;
    this.pending = ctx.base + C.WQ_PENDING;
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
    if (this.yieldSpinNs > 0 && yp !== YP.BLOCKED) ctx.hooks.spinNoPreempt(this.yieldSpinNs);
    if (ctx.preempt === 0 && Atomics.load(ctx.w, this.pending) !== 0) kworker_run_pending(ctx);
    if (yp === YP.BLOCKED && ctx.blockedOn) this.waitUntil(ctx.blockedOn, Infinity);
  }

  /**
   * Sleep until `cond()` or until `deadlineNs`, running this CPU's kworker whenever drain work
   * arrives (a sleeping task leaves its CPU to the kworker). Returns cond().
   */
  waitUntil(cond: () => boolean, deadlineNs: number): boolean {
    const w = this.ctx.w;
    let spins = 0;
    for (;;) {
      if (cond()) return true;
      if (this.ctx.preempt === 0 && Atomics.load(w, this.pending) !== 0) {
        kworker_run_pending(this.ctx);
        continue;
      }
      if (this.stopped()) throw new TrialAborted();
      const limit = Math.min(deadlineNs, this.stallDeadlineNs);
      const now = limit === Infinity ? 0 : nowNs();
      if (now >= limit) {
        if (now >= deadlineNs) return false;
        throw new Error(`cpu ${this.ctx.cpu}: stalled waiting (${this.ctx.blockReason || 'condition'})`);
      }
      if (++spins < SPIN_BEFORE_SLEEP) continue;
      const seen = Atomics.load(w, this.bell);
      if (cond() || Atomics.load(w, this.pending) !== 0) continue;
      const ms = limit === Infinity ? 50 : Math.max(0.001, Math.min(50, (limit - now) / 1e6));
      Atomics.wait(w, this.bell, seen, ms);
    }
  }

  /** A preemptible delay of `us`: the task sleeps, the CPU's kworker may run meanwhile. */
  delay(us: number): void {
    if (us <= 0) return;
    this.waitUntil(() => false, nowNs() + us * 1000);
  }
}
