// A single-thread runtime: every emulated CPU's context in one thread, sharing one kernel
// memory. Kernel generators run to completion on the CPU they are given; when one blocks
// (drain mutex, flush_work), the other CPUs, idle, reach a scheduling point and run their
// kworkers. Used for deterministic unit tests and fixed-order scenario runs.
import { createKernelMemory, makeCtx, NOOP_HOOKS, DEFAULT_DIMS } from '../mm/boot.js';
import { YP, type KernelCtx, type KGen, type RuntimeHooks, type TraceSink } from '../mm/context.js';
import type { Dims, Layout } from '../mm/layout.js';
import { kworker_run_pending } from '../mm/lru_add_drain_all.js';
import { drain_may_run } from '../mm/workqueue.js';
import type { Policy } from '../mm/policy.js';

export interface InlineOptions {
  nCpus: number;
  policy: Policy;
  dims?: Partial<Dims>;
  trace?: TraceSink | null;
  /** Logical clock: each yield advances it by this many ns (default 100). */
  tickNs?: number;
}

export class InlineKernel {
  readonly w: Int32Array;
  readonly lay: Layout;
  readonly sab: SharedArrayBuffer;
  readonly ctxs: KernelCtx[];
  private clock = 0;
  /** Yield points passed, by CPU (for tests that check where a CPU stopped). */
  readonly yields: number[][];

  constructor(opts: InlineOptions) {
    const dims: Dims = { ...DEFAULT_DIMS, ...opts.dims, nCpus: opts.nCpus };
    const { sab, w, lay } = createKernelMemory(dims);
    this.sab = sab;
    this.w = w;
    this.lay = lay;
    const tick = opts.tickNs ?? 100;
    const hooks: RuntimeHooks = {
      singleThreaded: true,
      ...NOOP_HOOKS,
      nowNs: () => this.clock,
      spinNoPreempt: (ns) => {
        this.clock += ns;
      },
      sleepNs: (ns) => {
        this.clock += ns;
      },
    };
    this.ctxs = [];
    for (let c = 0; c < opts.nCpus; c++) {
      const ctx = makeCtx(w, lay, c, opts.policy, hooks);
      ctx.trace = opts.trace ?? null;
      this.ctxs.push(ctx);
    }
    this.yields = this.ctxs.map(() => []);
    this.tick = tick;
  }
  private tick: number;

  ctx(cpu: number): KernelCtx {
    const c = this.ctxs[cpu];
    if (!c) throw new RangeError(`cpu: expected 0..${this.ctxs.length - 1}, got ${cpu}`);
    return c;
  }

  /**
   * Run `gen` on `cpu` to completion. At each scheduling point outside a local-lock section the
   * CPU's own kworker may run; when it blocks, every other CPU runs its pending kworker work.
   */
  run<T>(cpu: number, gen: KGen<T>): T {
    const ctx = this.ctx(cpu);
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value;
      this.clock += this.tick;
      this.yields[cpu]!.push(r.value);
      if (drain_may_run(ctx)) kworker_run_pending(ctx);
      if (r.value === YP.BLOCKED && ctx.blockedOn && !ctx.blockedOn()) {
        let progressed = false;
        for (const other of this.ctxs) if (other !== ctx && drain_may_run(other)) progressed = kworker_run_pending(other) || progressed;
        if (!progressed && !ctx.blockedOn()) {
          throw new Error(`cpu ${cpu}: deadlock: blocked in ${ctx.blockReason} and no other CPU can make progress`);
        }
      }
    }
  }

  /** Run every CPU's pending kworker work (as if each reached a scheduling point). */
  runKworkers(): void {
    for (const c of this.ctxs) if (drain_may_run(c)) kworker_run_pending(c);
  }
}
