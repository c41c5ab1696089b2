// The per-CPU buffer-head LRU (fs/buffer.c bh_lrus, all versions): __find_get_block() installs
// recently used buffer heads in this CPU's small LRU, and cpu_needs_drain() counts a CPU holding
// any (has_bh_in_lru), so lru_add_drain_all() queues drain work there even with empty folio
// batches. Modelled as a count per CPU: which buffers they are does not matter to the drain.
import type { KernelCtx } from './context.js';
import { C, cpuBase } from './layout.js';

/** BH_LRU_SIZE (fs/buffer.c). */
export const BH_LRU_SIZE = 16;

/** bh_lru_install() (fs/buffer.c, all versions): `n` buffer heads enter this CPU's LRU (at most BH_LRU_SIZE stay). */
export function bh_lru_install(ctx: KernelCtx, n = 1): void {
  const idx = cpuBase(ctx.cpu) + C.BH_LRU;
  Atomics.store(ctx.w, idx, Math.min(BH_LRU_SIZE, Atomics.load(ctx.w, idx) + n));
}

/** has_bh_in_lru() (fs/buffer.c, v5.13+): a racy look at another CPU's bh LRU. */
export function has_bh_in_lru(ctx: KernelCtx, cpu: number): boolean {
  return Atomics.load(ctx.w, cpuBase(cpu) + C.BH_LRU) !== 0;
}

/** invalidate_bh_lrus_cpu() (fs/buffer.c, v5.13+): this CPU's bh LRU is emptied (by the drain work). */
export function invalidate_bh_lrus_cpu(ctx: KernelCtx): void {
  Atomics.store(ctx.w, cpuBase(ctx.cpu) + C.BH_LRU, 0);
}
