// The drain benchmark's workload: every CPU keeps a pool of LRU folios and, busy, cycles them
// through isolation and putback (so its lru_add batch is rarely empty), or, idle, sleeps and
// refills one resting entry per round when the coordinator asks. The coordinator meanwhile
// times its own lru_add_drain_all() calls.
import type { KernelCtx, KGen } from '../mm/context.js';
import { YP } from '../mm/context.js';
import { C, COORDINATOR, cpuBase } from '../mm/layout.js';
import { folio_alloc } from '../mm/page_alloc.js';
import { folio_add_lru, lru_add_drain } from '../mm/swap.js';
import { folio_isolate_lru, folio_putback_lru } from '../mm/vmscan.js';
import type { Failure } from '../trial/result.js';
import type { Job, Step } from './job.js';
import { wait_event } from '../mm/wait.js';

/** Coordinator-region words the benchmark uses. */
export const BENCH_RELEASE = cpuBase(COORDINATOR) + C.USER; // 1 = stop
export const BENCH_ROUND = cpuBase(COORDINATOR) + C.USER + 1; // idle refill round
/** Non-zero: busy CPUs drain their batches and sleep until it is 0 again (the value is a park count). */
export const BENCH_PARK = cpuBase(COORDINATOR) + C.USER + 2;
/** Per-CPU word: the last round this CPU has refilled for (idle), or its cycles so far (busy); -1 before setup. */
export const BENCH_READY = C.USER + 3;
/** Per-CPU word: the last park count (BENCH_PARK) this CPU has parked for. */
export const BENCH_PARKED = C.USER + 2;
/**
 * Isolate/putback cycles a busy CPU runs before the coordinator starts timing: the JIT has
 * compiled the loop by then (a cell of a few hundred drains lasts milliseconds, and a CPU still
 * in the interpreter made hardly a cycle in it: its batch stayed empty, the drains queued nothing).
 */
export const BENCH_WARM_CYCLES = 20_000;

export interface BenchParams {
  busy: number;
  pool: number;
}

export class BenchProgram implements Job {
  private pool: number[] = [];
  constructor(private readonly p: BenchParams) {}

  setup(ctx: KernelCtx): void {
    for (let c = 0; c < ctx.nCpus; c++) {
      Atomics.store(ctx.w, cpuBase(c) + BENCH_READY, -1);
      Atomics.store(ctx.w, cpuBase(c) + BENCH_PARKED, 0);
    }
  }

  isScripted(): boolean {
    return true;
  }

  steps(): Step[] {
    return [
      { index: 0, op: 'bench_setup', run: (c) => this.fillPool(c) },
      { index: 1, op: this.p.busy ? 'isolate_putback_loop' : 'idle_refill', run: (c) => (this.p.busy ? this.busy(c) : this.idle(c)) },
    ];
  }

  private *fillPool(ctx: KernelCtx): KGen<void> {
    this.pool = [];
    for (let i = 0; i < this.p.pool; i++) {
      const f = folio_alloc(ctx, 0, true);
      yield* folio_add_lru(ctx, f);
      this.pool.push(f);
    }
    lru_add_drain(ctx);
    Atomics.store(ctx.w, ctx.base + BENCH_READY, 0);
    ctx.hooks.wake(COORDINATOR);
  }

  private *cycle(ctx: KernelCtx, i: number): KGen<void> {
    const f = this.pool[i % this.pool.length]!;
    if (folio_isolate_lru(ctx, f)) yield* folio_putback_lru(ctx, f);
  }

  private *busy(ctx: KernelCtx): KGen<void> {
    for (let i = 0; Atomics.load(ctx.w, BENCH_RELEASE) === 0; i++) {
      if (Atomics.load(ctx.w, BENCH_PARK) !== 0) yield* this.parked(ctx);
      yield* this.cycle(ctx, i);
      yield YP.OP_BOUNDARY;
      if ((i & 255) === 0) Atomics.store(ctx.w, ctx.base + BENCH_READY, i);
      if (i === BENCH_WARM_CYCLES) {
        Atomics.store(ctx.w, ctx.base + BENCH_READY, i); // busy and warm, with a non-empty batch
        ctx.hooks.wake(COORDINATOR);
      }
    }
  }

  /**
   * Parked: the drain bench times the floor's threads meanwhile, so this CPU empties its batches
   * and leaves the host's core to them.
   */
  private *parked(ctx: KernelCtx): KGen<void> {
    const count = Atomics.load(ctx.w, BENCH_PARK);
    lru_add_drain(ctx);
    Atomics.store(ctx.w, ctx.base + BENCH_PARKED, count);
    ctx.hooks.wake(COORDINATOR);
    yield* wait_event(ctx, () => Atomics.load(ctx.w, BENCH_PARK) === 0 || Atomics.load(ctx.w, BENCH_RELEASE) !== 0, 'bench parked');
  }

  private *idle(ctx: KernelCtx): KGen<void> {
    let round = 0;
    for (let i = 0; ; i++) {
      const next = round;
      // A sleeping wait: the free-run driver sleeps on the doorbell, and the kworker runs meanwhile.
      yield* wait_event(ctx, () => Atomics.load(ctx.w, BENCH_ROUND) > next || Atomics.load(ctx.w, BENCH_RELEASE) !== 0, 'bench round');
      if (Atomics.load(ctx.w, BENCH_RELEASE) !== 0) return;
      round = Atomics.load(ctx.w, BENCH_ROUND);
      yield* this.cycle(ctx, i); // one entry rests in this CPU's lru_add batch
      Atomics.store(ctx.w, ctx.base + BENCH_READY, round);
      ctx.hooks.wake(COORDINATOR);
    }
  }

  check(): Failure[] {
    return [];
  }
}
