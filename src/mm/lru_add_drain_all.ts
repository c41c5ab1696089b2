// __lru_add_drain_all() and its per-CPU work (mm/swap.c; generation skip since v5.8
// (eef1a429f234), local drain first in v6.18). Runs on whichever CPU calls it, over shared memory:
// the drain mutex, the generation counter, the racy cpu_needs_drain() scan of online CPUs, and
// per-CPU work items that each target CPU's kworker runs at its own scheduling points.
import { YP, type KernelCtx, type KGen } from './context.js';
import { C, G, Stat, cpuBase } from './layout.js';
import { count_event } from './locks.js';
import { cpu_needs_drain, lru_add_drain, lru_add_drain_per_cpu } from './swap.js';
import { mutex_lock, mutex_unlock, DRAIN_MUTEX, DRAIN_MUTEX_WAITERS } from './wait.js';
import { flush_work, queue_work_on, run_pending_work } from './workqueue.js';

export function cpu_online(ctx: KernelCtx, cpu: number): boolean {
  return Atomics.load(ctx.w, cpuBase(cpu) + C.ONLINE) !== 0;
}

/** lru_add_drain_all() (mm/swap.c, v5.8+). */
export function* lru_add_drain_all(ctx: KernelCtx): KGen<void> {
  yield* __lru_add_drain_all(ctx, false);
}

/** __lru_add_drain_all(force_all_cpus) (mm/swap.c, v5.8+; local drain first from v6.18). */
export function* __lru_add_drain_all(ctx: KernelCtx, force: boolean): KGen<void> {
  const w = ctx.w;
  const startNs = ctx.hooks.nowNs();
  count_event(ctx, Stat.LRU_ADD_DRAIN_ALL);
  // Early boot: mm_percpu_wq does not exist yet, nothing is drained at all.
  if (Atomics.load(w, G.WQ_READY) === 0) return;
  // smp_mb() then READ_ONCE(lru_drain_gen): Atomics are sequentially consistent.
  const myGen = Atomics.load(w, G.DRAIN_GEN);
  yield YP.DRAIN_ALL_AFTER_SAMPLE;
  if (ctx.policy.switches.drainAllLocalFirst) lru_add_drain(ctx);
  const lockStart = ctx.hooks.nowNs();
  yield* mutex_lock(ctx, DRAIN_MUTEX, DRAIN_MUTEX_WAITERS);
  const mutexWaitNs = ctx.hooks.nowNs() - lockStart;
  // Someone started a drain after our sample and finished it while we waited: it saw our adds.
  if (myGen !== Atomics.load(w, G.DRAIN_GEN) && !force) {
    count_event(ctx, Stat.DRAIN_ALL_GEN_SKIP);
    mutex_unlock(ctx, DRAIN_MUTEX, DRAIN_MUTEX_WAITERS);
    ctx.obs?.drainAll(ctx, { startNs, endNs: ctx.hooks.nowNs(), mutexWaitNs, cpusQueued: 0, genSkipped: true, forced: force });
    return;
  }
  Atomics.add(w, G.DRAIN_GEN, 1); // WRITE_ONCE(lru_drain_gen, lru_drain_gen + 1); smp_mb()
  Atomics.store(w, G.DRAIN_OWNER, ctx.cpu);
  const queuedCpu: number[] = [];
  const queuedSeq: number[] = [];
  for (let cpu = 0; cpu < ctx.nCpus; cpu++) {
    if (!cpu_online(ctx, cpu)) continue;
    if (force || cpu_needs_drain(ctx, cpu)) {
      queuedSeq.push(queue_work_on(ctx, cpu));
      queuedCpu.push(cpu);
    }
    yield YP.DRAIN_ALL_SCAN;
  }
  for (let i = 0; i < queuedCpu.length; i++) yield* flush_work(ctx, queuedCpu[i]!, queuedSeq[i]!);
  count_event(ctx, Stat.DRAIN_ALL_CPUS_QUEUED, queuedCpu.length);
  Atomics.store(w, G.DRAIN_OWNER, -1);
  mutex_unlock(ctx, DRAIN_MUTEX, DRAIN_MUTEX_WAITERS);
  ctx.obs?.drainAll(ctx, { startNs, endNs: ctx.hooks.nowNs(), mutexWaitNs, cpusQueued: queuedCpu.length, genSkipped: false, forced: force });
}

/**
 * The kworker of this CPU runs pending lru_add_drain_per_cpu work. Called by runtimes at this
 * CPU's scheduling points (never inside a local-lock section).
 */
export function kworker_run_pending(ctx: KernelCtx): boolean {
  if (!run_pending_work(ctx, drain_work_fn)) return false;
  return true;
}
function drain_work_fn(ctx: KernelCtx): void {
  count_event(ctx, Stat.DRAIN_WORK_RUN);
  lru_add_drain_per_cpu(ctx);
}
