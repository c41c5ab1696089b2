// Sleeping in the model: wait_event() and the waiter bitmaps that unlocks wake from (the kernel's
// mutex is mutex.ts, its queued spinlock spinlock.ts). A waiting CPU yields BLOCKED with the
// condition it waits for; the runtime keeps running that CPU's own kworker meanwhile (in the
// kernel the caller sleeps and its CPU runs other tasks).
import type { KernelCtx, KGen } from './context.js';
import { YP } from './context.js';
import { COORDINATOR, G, gw } from './layout.js';
import { tlb_switch_in, tlb_switch_out } from './tlb.js';

/**
 * wait_event(): yield BLOCKED until `cond()` holds. `cond` must have no side effects: runtimes
 * evaluate it as often as they like. The task sleeps, so its CPU turns lazy for TLB flushes
 * (it switches to idle or a kworker: tlb.ts) until it runs again; a spinlock's waiter (`spins`)
 * keeps its CPU.
 */
export function* wait_event(ctx: KernelCtx, cond: () => boolean, reason: string, spins = false): KGen<void> {
  if (cond()) return;
  ctx.blockReason = reason;
  ctx.blockedOn = cond;
  const tlb = spins ? -1 : tlb_switch_out(ctx);
  try {
    if (ctx.hooks.blockInPlace) ctx.hooks.blockInPlace(cond);
    while (!cond()) yield YP.BLOCKED;
  } finally {
    ctx.blockedOn = null;
    if (tlb >= 0) tlb_switch_in(ctx, tlb);
  }
}

/**
 * Sleep (or with `spins`, spin) until `trylock()` succeeds. The wait itself only watches
 * `isFree()` (no side effect), then the lock is tried again: a lock taken inside a wait
 * condition would be taken twice.
 */
export function* wait_trylock(ctx: KernelCtx, trylock: () => boolean, isFree: () => boolean, reason: string, spins = false): KGen<void> {
  while (!trylock()) yield* wait_event(ctx, isFree, reason, spins);
}

/**
 * Register this CPU in the waiter bitmap at `waitersIdx` (or, `on` false, leave it): whom an
 * unlock's find_waiter() or wake_waiters() can find. A waiter registers before it looks at the
 * lock, so an unlock either finds it or is seen by it.
 */
export function waiter_bit(ctx: KernelCtx, waitersIdx: number, on: boolean): void {
  const word = gw(waitersIdx + (ctx.cpu >> 5));
  const bit = 1 << (ctx.cpu & 31);
  if (on) Atomics.or(ctx.w, word, bit);
  else Atomics.and(ctx.w, word, ~bit);
}

/**
 * The first CPU registered in the waiter bitmap at `waitersIdx` (word by word, the
 * coordinator's last) for which `pick(ctx, cpu)` is true, or -1. Only the words that can hold a bit are read:
 * those of CPUs 0..nCpus-1 and the coordinator's, not all WAITER_WORDS (an unlock on 8 CPUs read
 * 17 words, 15 of which can never hold a bit).
 */
export function find_waiter(ctx: KernelCtx, waitersIdx: number, pick: (ctx: KernelCtx, cpu: number) => boolean): number {
  const waiters = gw(waitersIdx); // one slot for the whole bitmap
  const cpuWords = (ctx.nCpus + 31) >> 5;
  for (let k = 0; k < cpuWords; k++) {
    const cpu = find_in_word(ctx, waiters, k, pick);
    if (cpu >= 0) return cpu;
  }
  return COORDINATOR_WORD >= cpuWords ? find_in_word(ctx, waiters, COORDINATOR_WORD, pick) : -1;
}
const COORDINATOR_WORD = COORDINATOR >> 5;
function find_in_word(ctx: KernelCtx, waiters: number, k: number, pick: (ctx: KernelCtx, cpu: number) => boolean): number {
  let m = Atomics.load(ctx.w, waiters + k);
  while (m !== 0) {
    const b = 31 - Math.clz32(m);
    m &= ~(1 << b);
    if (pick(ctx, k * 32 + b)) return k * 32 + b;
  }
  return -1;
}

/** Wake every waiter registered in the bitmap at `waitersIdx`. */
export function wake_waiters(ctx: KernelCtx, waitersIdx: number): void {
  find_waiter(ctx, waitersIdx, wakeAndGoOn);
}
/** A module-level function, not a closure: wake_waiters runs at every page-table-lock unlock. */
const wakeAndGoOn = (ctx: KernelCtx, cpu: number): boolean => {
  ctx.hooks.wake(cpu);
  return false;
};

export const DRAIN_MUTEX = G.DRAIN_MUTEX;
export const DRAIN_MUTEX_WAITERS = G.DRAIN_MUTEX_WAITERS;
