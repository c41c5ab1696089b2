// Locks of the model (spec §2.3): per-CPU local locks (include/linux/local_lock.h) and the
// lruvec spinlock. Local locks disable preemption: while one is held (ctx.preempt > 0) the
// runtime never runs drain work at a yield point. Only the owner takes its local locks, except
// the hotplug-dead drain and targeted extraction, so they are compare-and-swap words.
import { Batch } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { KernelDeadlock } from './errno.js';
import { wait_trylock, waiter_bit, wake_waiters } from './wait.js';
import { COST, LOCK, charge, charge_on, lock_held } from './cost.js';
import { C, CPU_WORDS, G, GLOBAL_WORDS, Stat, cpuBase, gw } from './layout.js';

/** Which local lock: offsets in the CPU region. */
export const LocalLock = { fbatches: C.LOCK, fbatches_irq: C.LOCK_IRQ, mlock: C.MLOCK_LOCK } as const;

/**
 * The local lock guarding each batch, by Batch id (mm/swap.c cpu_fbatches: batches declared
 * after lock_irq, i.e. lru_move_tail, take it; pre-6.11 lru_rotate.lock; mm/mlock.c mlock_fbatch.lock).
 */
export const BATCH_LOCK: readonly number[] = (() => {
  const t: number[] = [];
  for (const id of Object.values(Batch)) t[id] = LocalLock.fbatches;
  t[Batch.lru_move_tail] = LocalLock.fbatches_irq;
  t[Batch.mlock] = LocalLock.mlock;
  return t;
})();

/**
 * About to spin for `lock`: in a single-thread runtime its holder is parked at a scheduling point
 * of this same thread and the spin would never end, so it is reported as a hang instead.
 */
export function may_spin(ctx: KernelCtx, lock: string): void {
  if (ctx.hooks.singleThreaded) throw new KernelDeadlock(`cpu ${ctx.cpu}: spins for ${lock}, whose holder cannot run meanwhile (a deadlock in the scenario)`);
}

function lockWord(ctx: KernelCtx, idx: number, owner: number): void {
  const w = ctx.w;
  // Uncontended except against a remote extractor/hotplug drain, which holds it briefly.
  if (Atomics.compareExchange(w, idx, 0, owner + 1) === 0) return;
  may_spin(ctx, `a local lock held by cpu ${Atomics.load(w, idx) - 1}`);
  Atomics.add(w, gw(G.LOCK_WAITING), 1);
  for (let spins = 0; Atomics.compareExchange(w, idx, 0, owner + 1) !== 0; spins++) {
    if (spins > 64) Atomics.wait(w, idx, Atomics.load(w, idx) || 1, 0.05);
  }
  Atomics.sub(w, gw(G.LOCK_WAITING), 1);
}
/** Release; wake whoever waits for a local lock (rare: one load when nobody does). */
function unlockWord(ctx: KernelCtx, idx: number): void {
  const w = ctx.w;
  Atomics.store(w, idx, 0);
  if (Atomics.load(w, gw(G.LOCK_WAITING)) === 0) return;
  Atomics.notify(w, idx);
  wake_waiters(ctx, G.LOCK_WAITERS);
}

/** local_lock() / local_lock_irqsave() on this CPU. */
export function local_lock(ctx: KernelCtx, which: number): void {
  ctx.preempt++;
  ctx.ipiBlocked++;
  lockWord(ctx, ctx.base + which, ctx.cpu);
}
export function local_unlock(ctx: KernelCtx, which: number): void {
  unlockWord(ctx, ctx.base + which);
  ctx.ipiBlocked--;
  ctx.preempt--;
}
/** The CPU whose region starts at `cpuBaseWord` (cpuBase()'s inverse). */
const cpuOfBase = (cpuBaseWord: number): number => (cpuBaseWord - GLOBAL_WORDS) / CPU_WORDS;
/** Take another CPU's local lock (QPW-style remote lock; hotplug-dead or extraction only). */
export function remote_lock(ctx: KernelCtx, cpuBaseWord: number, which: number): void {
  charge_on(ctx, COST.REMOTE_LOCK, cpuOfBase(cpuBaseWord));
  lockWord(ctx, cpuBaseWord + which, ctx.cpu);
}
export function remote_unlock(ctx: KernelCtx, cpuBaseWord: number, which: number): void {
  unlockWord(ctx, cpuBaseWord + which);
}
/** Take `cpu`'s local lock `which` without sleeping: ours as local_lock(), a dead CPU's remotely (hotplug). */
export function cpu_lock(ctx: KernelCtx, cpu: number, which: number): void {
  if (cpu === ctx.cpu) local_lock(ctx, which);
  else remote_lock(ctx, cpuBase(cpu), which);
}
/** Release what cpu_lock() took (also the own-CPU case of remote_lock_wait() plus preempt++). */
export function cpu_unlock(ctx: KernelCtx, cpu: number, which: number): void {
  if (cpu === ctx.cpu) local_unlock(ctx, which);
  else remote_unlock(ctx, cpuBase(cpu), which);
}
/** Does this CPU hold `cpu`'s local lock `which` (taken locally or remotely)? */
export function cpu_lock_held(ctx: KernelCtx, cpu: number, which: number): boolean {
  return Atomics.load(ctx.w, cpuBase(cpu) + which) === ctx.cpu + 1;
}
/** Try once to take another CPU's local lock. */
export function remote_trylock(ctx: KernelCtx, cpuBaseWord: number, which: number): boolean {
  charge_on(ctx, COST.REMOTE_LOCK, cpuOfBase(cpuBaseWord));
  return Atomics.compareExchange(ctx.w, cpuBaseWord + which, 0, ctx.cpu + 1) === 0;
}

/**
 * Take another CPU's local lock from a path that may sleep (remote drains, extraction): its
 * owner may hold it while parked at a scheduling point. The waiter registers, so the unlock
 * rings its doorbell, and sleeps (never spins forever in the single-thread runtime).
 */
export function* remote_lock_wait(ctx: KernelCtx, cpuBaseWord: number, which: number, reason: string): KGen<void> {
  if (remote_trylock(ctx, cpuBaseWord, which)) return;
  const w = ctx.w;
  waiter_bit(ctx, G.LOCK_WAITERS, true);
  Atomics.add(w, gw(G.LOCK_WAITING), 1);
  try {
    yield* wait_trylock(
      ctx,
      () => remote_trylock(ctx, cpuBaseWord, which),
      () => Atomics.load(w, cpuBaseWord + which) === 0,
      reason,
      true, // QPW's remote lock is a spinlock: the waiter keeps its CPU (not lazy for TLB flushes)
    );
  } finally {
    Atomics.sub(w, gw(G.LOCK_WAITING), 1);
    waiter_bit(ctx, G.LOCK_WAITERS, false);
  }
}

/**
 * remote_lock_wait() for `cpu`'s batch lock `which`, which may be this CPU's own: then a drain
 * IPI is blocked from the start of the wait, as local_lock_irqsave() blocks it (ctx.ipiBlocked;
 * the caller's unlock lowers it again), and not left blocked if the wait ends by an exception.
 */
export function* batch_lock_wait(ctx: KernelCtx, cpu: number, which: number, reason: string): KGen<void> {
  const own = cpu === ctx.cpu;
  if (own) ctx.ipiBlocked++;
  let locked = false;
  try {
    yield* remote_lock_wait(ctx, cpuBase(cpu), which, reason);
    locked = true;
  } finally {
    if (!locked && own) ctx.ipiBlocked--;
  }
}

/** spin_lock(&lruvec->lru_lock): a futex mutex (0 free, 1 held, 2 held with waiters). */
export function lruvec_lock(ctx: KernelCtx): void {
  count_event(ctx, Stat.LRUVEC_LOCK_TAKEN);
  lruvec_acquire(ctx, gw(G.LRUVEC_LOCK));
  lock_held(ctx, LOCK.LRUVEC, true);
}
function lruvec_acquire(ctx: KernelCtx, i: number): void {
  const w = ctx.w;
  if (Atomics.compareExchange(w, i, 0, 1) === 0) return;
  may_spin(ctx, 'the lruvec lock');
  for (let spin = 0; spin < 100; spin++) {
    if (Atomics.load(w, i) === 0 && Atomics.compareExchange(w, i, 0, 1) === 0) return;
  }
  while (Atomics.exchange(w, i, 2) !== 0) Atomics.wait(w, i, 2, 1);
}
export function lruvec_unlock(ctx: KernelCtx): void {
  lock_held(ctx, LOCK.LRUVEC, false);
  const i = gw(G.LRUVEC_LOCK);
  if (Atomics.exchange(ctx.w, i, 0) === 2) Atomics.notify(ctx.w, i, 1);
}

/** count_vm_event() and friends: per-CPU counters, written only by their CPU. */
export function count_event(ctx: KernelCtx, stat: number, n = 1): void {
  ctx.w[ctx.base + C.STATS + stat] += n;
}
