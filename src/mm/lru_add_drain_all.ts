// __lru_add_drain_all() and its per-CPU work (mm/swap.c; generation skip since v5.8
// (eef1a429f234), local drain first in v6.18). Runs on whichever CPU calls it, over shared memory:
// the drain mutex, the generation counter, the racy cpu_needs_drain() scan of online CPUs, and
// per-CPU work items that each target CPU's kworker runs at its own scheduling points.
import { NR_BATCHES } from './constants.js';
import { YP, type DrainAllRecord, type KernelCtx, type KGen } from './context.js';
import { folio_batch_count } from './folio_batch.js';
import { C, G, Stat, cpuBase, gw } from './layout.js';
import { batch_lock_wait, count_event, LocalLock, remote_unlock } from './locks.js';
import { cpu_online } from './cpumask.js';
import { mlock_folio_batch, need_mlock_drain } from './mlock.js';
import { cpu_needs_drain, lru_add_drain, lru_add_drain_cpu, lru_add_drain_per_cpu } from './swap.js';
import { LRU_DRAIN_MUTEX, mutex_lock, mutex_trylock, mutex_unlock } from './mutex.js';
import { flush_work, queue_work_on, run_pending_work } from './workqueue.js';

/**
 * lru_add_drain_all() (mm/swap.c, v5.8+). The inner generator itself, not a wrapper around it:
 * a generator frame less to resume at each of its scheduling points.
 */
export function lru_add_drain_all(ctx: KernelCtx): KGen<void> {
  return __lru_add_drain_all(ctx, false);
}

/** __lru_add_drain_all(force_all_cpus) (mm/swap.c, v5.8+; local drain first from v6.18). */
export function* __lru_add_drain_all(ctx: KernelCtx, force: boolean): KGen<void> {
  const w = ctx.w;
  const startNs = ctx.hooks.nowNs();
  count_event(ctx, Stat.LRU_ADD_DRAIN_ALL);
  // Early boot: mm_percpu_wq does not exist yet, nothing is drained at all.
  if (Atomics.load(w, gw(G.WQ_READY)) === 0) return;
  // smp_mb() then READ_ONCE(lru_drain_gen): Atomics are sequentially consistent.
  const myGen = Atomics.load(w, gw(G.DRAIN_GEN));
  ctx.trace?.mark(ctx, 'lru_add_drain_all start', myGen, force ? 1 : 0);
  yield YP.DRAIN_ALL_AFTER_SAMPLE;
  if (ctx.policy.switches.drainAllLocalFirst) lru_add_drain(ctx);
  // The clock is read only for a contended mutex: two reads of a process-wide clock were a
  // quarter of an uncontended drain-all's own cost in free-run (~55 ns each).
  let mutexWaitNs = 0;
  if (!mutex_trylock(ctx, LRU_DRAIN_MUTEX)) {
    const lockStart = ctx.hooks.nowNs();
    yield* mutex_lock(ctx, LRU_DRAIN_MUTEX);
    mutexWaitNs = ctx.hooks.nowNs() - lockStart;
  }
  // Someone started a drain after our sample and finished it while we waited: it saw our adds
  // (eef1a429f234, v5.8; drainGenSkip false = the drain before it, every caller drains).
  if (myGen !== Atomics.load(w, gw(G.DRAIN_GEN)) && !force && ctx.policy.switches.drainGenSkip) {
    count_event(ctx, Stat.DRAIN_ALL_GEN_SKIP);
    mutex_unlock(ctx, LRU_DRAIN_MUTEX);
    ctx.trace?.mark(ctx, 'lru_add_drain_all genskip', myGen, 0);
    ctx.obs?.drainAll(ctx, { startNs, endNs: ctx.hooks.nowNs(), mutexWaitNs, cpusQueued: 0, genSkipped: true, forced: force });
    return;
  }
  Atomics.add(w, gw(G.DRAIN_GEN), 1); // WRITE_ONCE(lru_drain_gen, lru_drain_gen + 1); smp_mb()
  // QPW (spec §3.7): the caller processes each CPU's batches itself under that CPU's locks.
  const remote = ctx.policy.switches.drainMechanism === 'remote-locked';
  const queuedCpu: number[] = [];
  const queuedSeq: number[] = [];
  const phases = ctx.obs?.drainPhases === true;
  let queueNs = 0;
  for (let cpu = 0; cpu < ctx.nCpus; cpu++) {
    if (!cpu_online(ctx, cpu)) continue;
    // force_all_cpus (lru_cache_disable()) only bypasses the generation skip above: work is
    // queued where cpu_needs_drain() says so, as in every kernel since v5.13 (mm/swap.c).
    if (cpu_needs_drain(ctx, cpu)) {
      if (remote) yield* qpw_drain_cpu(ctx, cpu);
      else {
        if (phases && queuedSeq.length === 0) queueNs = ctx.hooks.nowNs();
        const seq = queue_work_on(ctx, cpu);
        ctx.trace?.mark(ctx, 'drain work queued', cpu, seq);
        queuedSeq.push(seq);
      }
      queuedCpu.push(cpu);
    }
    yield YP.DRAIN_ALL_SCAN;
  }
  for (let i = 0; i < queuedSeq.length; i++) yield* flush_work(ctx, queuedCpu[i]!, queuedSeq[i]!);
  const flushedNs = phases && queuedSeq.length > 0 ? ctx.hooks.nowNs() : 0;
  count_event(ctx, Stat.DRAIN_ALL_CPUS_QUEUED, queuedCpu.length);
  mutex_unlock(ctx, LRU_DRAIN_MUTEX);
  ctx.trace?.mark(ctx, 'lru_add_drain_all end', queuedCpu.length, remote ? 1 : 0);
  const rec: DrainAllRecord = { startNs, endNs: ctx.hooks.nowNs(), mutexWaitNs, cpusQueued: queuedCpu.length, genSkipped: false, forced: force };
  if (flushedNs !== 0) rec.phases = { queueNs, flushedNs };
  ctx.obs?.drainAll(ctx, rec);
}

/**
 * The kworker of this CPU runs pending lru_add_drain_per_cpu work. Called by runtimes at this
 * CPU's scheduling points (never inside a local-lock section).
 */
export function kworker_run_pending(ctx: KernelCtx): boolean {
  return run_pending_work(ctx, drain_work_fn);
}
function drain_work_fn(ctx: KernelCtx): void {
  const t0 = ctx.hooks.nowNs();
  const entries = batch_entries(ctx, ctx.cpu);
  ctx.trace?.mark(ctx, 'drain work start', ctx.cpu, Atomics.load(ctx.w, ctx.base + C.WQ_QUEUED_SEQ));
  ctx.trace?.mark(ctx, 'batch occupancy', ctx.cpu, entries);
  lru_add_drain_per_cpu(ctx);
  drain_work_done(ctx, ctx.cpu, entries, t0);
  ctx.trace?.mark(ctx, 'drain work end', ctx.cpu, entries);
}

/** The accounting of one run of drain work for `cpu` (by its kworker, or by a QPW caller). */
function drain_work_done(ctx: KernelCtx, cpu: number, entries: number, t0: number): void {
  ctx.trace?.mark(ctx, 'batch occupancy', cpu, batch_entries(ctx, cpu));
  count_event(ctx, Stat.DRAIN_WORK_RUN);
  count_event(ctx, Stat.DRAIN_WORK_FOLIOS, entries);
  const t1 = ctx.hooks.nowNs();
  count_event(ctx, Stat.DRAIN_WORK_NS, Math.round(t1 - t0));
  const b = cpuBase(cpu);
  ctx.w[b + C.DRAIN_WORK_START] = t0 & STAMP_MASK; // plain stores: the bench reads them after the flush
  ctx.w[b + C.DRAIN_WORK_END] = t1 & STAMP_MASK;
}

/** Drain work's time stamps keep the clock's low 30 bits: differences are taken modulo 2^30 (1.07 s). */
export const STAMP_MASK = (1 << 30) - 1;

/** b - a for two such stamps (the drain work's, the drain bench's floor's), across a wrap of the 30 bits. */
export function stampDiff(a: number, b: number): number {
  return (b - a) & STAMP_MASK;
}

/** Entries in all of `cpu`'s batches (LRU and mlock): racy reads, for measurement only. */
export function batch_entries(ctx: KernelCtx, cpu: number): number {
  let n = 0;
  for (let b = 0; b < NR_BATCHES; b++) n += folio_batch_count(ctx, cpu, b);
  return n;
}

/** Take `cpu`'s local lock `which` from here: sleep while the owner (or another drainer) holds it. */
function* qpw_lock(ctx: KernelCtx, cpu: number, which: number): KGen<void> {
  yield* batch_lock_wait(ctx, cpu, which, 'qpw_lock'); // our own batch lock: no drain IPI either
  ctx.preempt++; // a spinlock held: no scheduling point, no kworker on this CPU meanwhile
}
function qpw_unlock(ctx: KernelCtx, cpu: number, which: number): void {
  remote_unlock(ctx, cpuBase(cpu), which);
  if (cpu === ctx.cpu) ctx.ipiBlocked--;
  ctx.preempt--;
}

/**
 * lru_add_drain_per_cpu() run by the drain-all caller for `cpu` under its locks (QPW proposal,
 * spec §3.7; not mainline): lru_add_drain_cpu(cpu) and the mlock batch, with qpw_lock() standing
 * for local_lock() (`cpu` may be the caller itself; lru_add_drain_cpu() takes the lock_irq
 * itself). Work is charged to the caller (DRAIN_WORK_RUN/NS/FOLIOS), and DRAIN_REMOTE counts
 * the CPUs drained.
 */
export function* qpw_drain_cpu(ctx: KernelCtx, cpu: number): KGen<void> {
  const t0 = ctx.hooks.nowNs();
  const entries = batch_entries(ctx, cpu);
  ctx.trace?.mark(ctx, 'remote drain start', cpu, entries);
  yield* qpw_lock(ctx, cpu, LocalLock.fbatches);
  lru_add_drain_cpu(ctx, cpu);
  qpw_unlock(ctx, cpu, LocalLock.fbatches);
  yield* qpw_lock(ctx, cpu, LocalLock.mlock);
  if (need_mlock_drain(ctx, cpu)) mlock_folio_batch(ctx, cpu);
  qpw_unlock(ctx, cpu, LocalLock.mlock);
  drain_work_done(ctx, cpu, entries, t0);
  ctx.trace?.mark(ctx, 'remote drain end', cpu, entries);
  count_event(ctx, Stat.DRAIN_REMOTE);
}

/**
 * synchronize_rcu_expedited() (kernel/rcu): wait until every CPU has left any preempt-disabled
 * section begun before the call. Local-lock sections never span a scheduling point except the
 * mlock append window (which re-reads lru_disable_count after it), so one scheduling point is
 * enough: other CPUs may run meanwhile.
 */
function* synchronize_rcu_expedited(ctx: KernelCtx): KGen<void> {
  ctx.blockReason = 'synchronize_rcu_expedited';
  ctx.blockedOn = () => true;
  try {
    yield YP.BLOCKED;
  } finally {
    ctx.blockedOn = null;
  }
}

/** lru_cache_disable() (mm/swap.c, v5.13+): every later add flushes at once; drain all CPUs, forced. */
export function* lru_cache_disable(ctx: KernelCtx): KGen<void> {
  Atomics.add(ctx.w, gw(G.LRU_DISABLE_COUNT), 1);
  yield* synchronize_rcu_expedited(ctx);
  yield* __lru_add_drain_all(ctx, true);
}

/** lru_cache_enable() (include/linux/swap.h, v5.13+). */
export function lru_cache_enable(ctx: KernelCtx): void {
  if (Atomics.sub(ctx.w, gw(G.LRU_DISABLE_COUNT), 1) <= 0) {
    Atomics.add(ctx.w, gw(G.LRU_DISABLE_COUNT), 1);
    throw new Error(`cpu ${ctx.cpu}: lru_cache_enable without lru_cache_disable`);
  }
}
