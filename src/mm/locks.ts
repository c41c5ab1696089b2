// Locks of the model (spec §2.3): per-CPU local locks (include/linux/local_lock.h) and the
// lruvec spinlock. Local locks disable preemption: while one is held (ctx.preempt > 0) the
// runtime never runs drain work at a yield point. Only the owner takes its local locks, except
// the hotplug-dead drain and targeted extraction, so they are compare-and-swap words.
import type { KernelCtx } from './context.js';
import { C, G } from './layout.js';
import { Stat } from './layout.js';

/** Which local lock: offsets in the CPU region. */
export const LocalLock = { fbatches: C.LOCK, fbatches_irq: C.LOCK_IRQ, mlock: C.MLOCK_LOCK } as const;

function lockWord(w: Int32Array, idx: number, owner: number): void {
  // Uncontended except against a remote extractor/hotplug drain, which holds it briefly.
  let spins = 0;
  while (Atomics.compareExchange(w, idx, 0, owner + 1) !== 0) {
    if (++spins > 64) Atomics.wait(w, idx, Atomics.load(w, idx) || 1, 0.05);
  }
}
function unlockWord(w: Int32Array, idx: number): void {
  Atomics.store(w, idx, 0);
  Atomics.notify(w, idx);
}

/** local_lock() / local_lock_irqsave() on this CPU. */
export function local_lock(ctx: KernelCtx, which: number): void {
  ctx.preempt++;
  lockWord(ctx.w, ctx.base + which, ctx.cpu);
}
export function local_unlock(ctx: KernelCtx, which: number): void {
  unlockWord(ctx.w, ctx.base + which);
  ctx.preempt--;
}
/** Take another CPU's local lock (QPW-style remote lock; hotplug-dead or extraction only). */
export function remote_lock(ctx: KernelCtx, cpuBaseWord: number, which: number): void {
  lockWord(ctx.w, cpuBaseWord + which, ctx.cpu);
}
export function remote_unlock(ctx: KernelCtx, cpuBaseWord: number, which: number): void {
  unlockWord(ctx.w, cpuBaseWord + which);
}
/** Try once to take another CPU's local lock (extraction waits on this instead of spinning). */
export function remote_trylock(ctx: KernelCtx, cpuBaseWord: number, which: number): boolean {
  return Atomics.compareExchange(ctx.w, cpuBaseWord + which, 0, ctx.cpu + 1) === 0;
}

/** spin_lock(&lruvec->lru_lock): a futex mutex (0 free, 1 held, 2 held with waiters). */
export function lruvec_lock(ctx: KernelCtx): void {
  const w = ctx.w;
  const i = G.LRUVEC_LOCK;
  ctx.w[ctx.base + C.STATS + Stat.LRUVEC_LOCK_TAKEN]++;
  if (Atomics.compareExchange(w, i, 0, 1) === 0) return;
  for (let spin = 0; spin < 100; spin++) {
    if (Atomics.load(w, i) === 0 && Atomics.compareExchange(w, i, 0, 1) === 0) return;
  }
  while (Atomics.exchange(w, i, 2) !== 0) Atomics.wait(w, i, 2, 1);
}
export function lruvec_unlock(ctx: KernelCtx): void {
  if (Atomics.exchange(ctx.w, G.LRUVEC_LOCK, 0) === 2) Atomics.notify(ctx.w, G.LRUVEC_LOCK, 1);
}

/** count_vm_event() and friends: per-CPU counters, written only by their CPU. */
export function count_event(ctx: KernelCtx, stat: number, n = 1): void {
  ctx.w[ctx.base + C.STATS + stat] += n;
}
