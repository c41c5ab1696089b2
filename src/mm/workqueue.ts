// The per-CPU drain work item on mm_percpu_wq (kernel/workqueue.c semantics that
// __lru_add_drain_all relies on, all versions): queue_work_on() sets PENDING unless already
// pending; the bound kworker clears PENDING before it runs the function; flush_work() waits
// for the last queued instance to finish, and only the completion of the work it flushes wakes
// it. Sequence numbers in shared memory make this exact.
import type { KernelCtx, KGen } from './context.js';
import { wait_event } from './wait.js';
import { COST, charge, charge_on } from './cost.js';
import { C, cpuBase } from './layout.js';

/**
 * queue_work_on(cpu, mm_percpu_wq, lru_add_drain_work): returns the sequence to flush. The
 * pending word holds the sequence number of the pending instance (0 = not pending), so the
 * kworker that claims it knows exactly which instance it completes. Only __lru_add_drain_all
 * queues this work, under its mutex: there is one queuer at a time.
 */
export function queue_work_on(ctx: KernelCtx, cpu: number): number {
  const b = cpuBase(cpu);
  const pending = Atomics.load(ctx.w, b + C.WQ_PENDING);
  if (pending !== 0) return pending; // already pending: flushing waits for that instance
  const seq = Atomics.add(ctx.w, b + C.WQ_QUEUED_SEQ, 1) + 1;
  Atomics.store(ctx.w, b + C.WQ_PENDING, seq);
  charge_on(ctx, COST.QUEUE_WORK, cpu);
  ctx.hooks.wake(cpu);
  return seq;
}

/**
 * flush_work(): sleep until the work instance `seq` on `cpu` has run. Already run: return at
 * once (flush_work() returns false). Else the flusher's wq_barrier goes behind the work
 * (insert_wq_barrier()): the flusher names itself in the work's WQ_FLUSHER word, and the kworker
 * that completes the work wakes it, and nobody else does (complete(&barr->done)). Only
 * __lru_add_drain_all flushes this work, under its mutex: one flusher at a time.
 */
export function* flush_work(ctx: KernelCtx, cpu: number, seq: number): KGen<void> {
  const b = cpuBase(cpu);
  const idx = b + C.WQ_DONE_SEQ;
  if (Atomics.load(ctx.w, idx) >= seq) return;
  // Named before the condition is read again (in wait_event): a kworker that publishes the
  // sequence after that read sees the name and wakes us (Atomics are sequentially consistent).
  Atomics.store(ctx.w, b + C.WQ_FLUSHER, ctx.cpu + 1);
  try {
    yield* wait_event(ctx, () => Atomics.load(ctx.w, idx) >= seq, 'flush_work');
  } finally {
    Atomics.store(ctx.w, b + C.WQ_FLUSHER, 0);
  }
}

/** Is drain work pending on this CPU? One load: the runtime's doorbell check. */
export function work_pending(ctx: KernelCtx): boolean {
  return Atomics.load(ctx.w, ctx.base + C.WQ_PENDING) !== 0;
}

/**
 * May this CPU's drain work run now? A workqueue item only with preemption on; an interrupt-driven
 * drain (drainMechanism 'ipi') whenever interrupts are on and the CPU's own batch locks are free,
 * so also while its task holds or waits for a spinlock (ctx.ipiBlocked).
 */
export function drain_may_run(ctx: KernelCtx): boolean {
  return !drain_blocked(ctx, ctx.policy.switches.drainMechanism === 'ipi');
}
/** drain_may_run() negated, with the mechanism known (`ipi`): the runtimes' hot loops cache it. */
export function drain_blocked(ctx: KernelCtx, ipi: boolean): boolean {
  return (ipi ? ctx.ipiBlocked : ctx.preempt) !== 0;
}

/**
 * The kworker bound to this CPU runs its pending work item (worker_thread/process_one_work).
 * Called by the runtime only at a scheduling point with no local lock held.
 * Returns true if work ran.
 */
export function run_pending_work(ctx: KernelCtx, fn: (ctx: KernelCtx) => void): boolean {
  if (!drain_may_run(ctx)) throw new Error(`cpu ${ctx.cpu}: kworker would run inside a local-lock section`);
  // Claim the pending instance (the kernel clears PENDING before running the function).
  const seq = Atomics.exchange(ctx.w, ctx.base + C.WQ_PENDING, 0);
  if (seq === 0) return false;
  fn(ctx);
  if (ctx.hooks.deferCompletion) ctx.hooks.deferCompletion(ctx, seq);
  else work_complete(ctx, seq);
  return true;
}

/**
 * The work instance `seq` on this CPU has completed (process_one_work() after the function
 * returned): publish it, and complete the flusher's barrier, waking the task in flush_work() on
 * this work, if any. A drain-all caller waiting on another CPU's work sleeps on (no wake-up per
 * completed CPU).
 */
export function work_complete(ctx: KernelCtx, seq: number): void {
  Atomics.store(ctx.w, ctx.base + C.WQ_DONE_SEQ, seq);
  const flusher = Atomics.load(ctx.w, ctx.base + C.WQ_FLUSHER);
  if (flusher !== 0) ctx.hooks.wake(flusher - 1);
}
