// Shared-word accessors for the hottest kernel helpers (READ_ONCE/WRITE_ONCE,
// include/asm-generic/rwonce.h; atomic_fetch_add/or/and, include/linux/atomic; all versions).
// Free-run CPUs race on the SharedArrayBuffer, so these are Atomics there. Where one thread runs
// every CPU (the deterministic, logical and inline runtimes: ctx.plain) a plain access is exactly
// the atomic one, and Node 20 does not inline Atomics: each is a builtin call of 6-8 ns against
// under 1 ns, and a scheduling decision made some 20 of them.
import type { KernelCtx } from './context.js';

export function read_once(ctx: KernelCtx, idx: number): number {
  return ctx.plain ? plain(ctx, idx) : Atomics.load(ctx.w, idx);
}

export function write_once(ctx: KernelCtx, idx: number, v: number): void {
  if (!ctx.plain) Atomics.store(ctx.w, idx, v);
  else {
    plain(ctx, idx);
    ctx.w[idx] = v;
  }
}

/** atomic_fetch_add(): the old value (int32 wrap-around either way). */
export function atomic_fetch_add(ctx: KernelCtx, idx: number, delta: number): number {
  if (!ctx.plain) return Atomics.add(ctx.w, idx, delta);
  const old = plain(ctx, idx);
  ctx.w[idx] = old + delta;
  return old;
}

/** atomic_fetch_or() (set_bit, test_and_set_bit): the old value. */
export function atomic_fetch_or(ctx: KernelCtx, idx: number, bits: number): number {
  if (!ctx.plain) return Atomics.or(ctx.w, idx, bits);
  const old = plain(ctx, idx);
  ctx.w[idx] = old | bits;
  return old;
}

/** atomic_fetch_and() (clear_bit, test_and_clear_bit): the old value. */
export function atomic_fetch_and(ctx: KernelCtx, idx: number, mask: number): number {
  if (!ctx.plain) return Atomics.and(ctx.w, idx, mask);
  const old = plain(ctx, idx);
  ctx.w[idx] = old & mask;
  return old;
}

/**
 * A plain read that fails as Atomics does: an index outside the memory (an undecoded batch
 * entry used as a folio, say) throws a RangeError instead of reading undefined, so an emulator
 * bug crashes the same way in every runtime.
 */
function plain(ctx: KernelCtx, idx: number): number {
  const v = ctx.w[idx];
  if (v === undefined) throw new RangeError(`kernel memory: word ${idx} outside 0..${ctx.w.length - 1} (cpu ${ctx.cpu})`);
  return v;
}
