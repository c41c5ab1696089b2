// The kernel's sleeping mutex (kernel/locking/mutex.c, v4.10+: FIFO wait_list, first-waiter
// wake-up and the lock handoff of "locking/mutex: Add lock handoff to avoid starvation"), as
// __lru_add_drain_all()'s static mutex uses it. What the model keeps of it:
// - a task that finds the mutex free takes it (the fast path; a newcomer may so take it from
//   under a woken waiter: "stealing");
// - otherwise it joins the tail of the wait list and sleeps;
// - mutex_unlock() wakes the first waiter only; if that waiter had been woken before and found
//   the mutex taken again (MUTEX_FLAG_HANDOFF), the unlock hands the mutex to it directly
//   (__mutex_handoff(), MUTEX_FLAG_PICKUP): nobody can take it from under it a second time.
// Not modelled: optimistic spinning (the waiters here sleep at once) and signals (no waiter
// leaves the list before it gets the mutex), so waiters get the mutex in the order they came.
// The wait list is a ticket queue: each waiter takes the next place; the waiter whose place is
// `first` is the head (the others are not woken, as in the kernel).
import type { KernelCtx, KGen } from './context.js';
import { C, G, cpuBase, gw } from './layout.js';
import { find_waiter, wait_event, waiter_bit } from './wait.js';

/** A mutex's words (layout.ts G): owner (0 free, else cpu + 1), handoff flag, wait-list places, the waiter woken, waiter bitmap. */
export interface KMutex {
  owner: number;
  handoff: number;
  next: number;
  first: number;
  /** The place + 1 of the first waiter the last unlock woke (0: none pending). */
  woken: number;
  /** Bitmap of the CPUs (and the coordinator) on the wait list: whom an unlock can wake. */
  waiters: number;
}

/** The static mutex of __lru_add_drain_all() (mm/swap.c). */
export const LRU_DRAIN_MUTEX: KMutex = {
  owner: G.DRAIN_MUTEX,
  handoff: G.DRAIN_MUTEX_HANDOFF,
  next: G.DRAIN_MUTEX_NEXT,
  first: G.DRAIN_MUTEX_FIRST,
  woken: G.DRAIN_MUTEX_WOKEN,
  waiters: G.DRAIN_MUTEX_WAITERS,
};

/** mutex_trylock() (kernel/locking/mutex.c): take the mutex if it is free. */
export function mutex_trylock(ctx: KernelCtx, m: KMutex): boolean {
  return Atomics.compareExchange(ctx.w, gw(m.owner), 0, ctx.cpu + 1) === 0;
}

/**
 * mutex_lock() (kernel/locking/mutex.c, v4.10+): the fast path, else join the wait list and
 * sleep until this task heads it and the mutex is free, or the mutex was handed to it. A head
 * that was woken and found the mutex taken again sets the handoff flag.
 */
export function* mutex_lock(ctx: KernelCtx, m: KMutex): KGen<void> {
  if (mutex_trylock(ctx, m)) return;
  const w = ctx.w;
  const me = ctx.cpu + 1;
  const place = Atomics.add(w, gw(m.next), 1);
  const own = cpuBase(ctx.cpu) + C.MUTEX_PLACE;
  Atomics.store(w, own, place + 1);
  waiter_bit(ctx, m.waiters, true);
  const owner = gw(m.owner);
  const first = gw(m.first);
  const woken = gw(m.woken);
  // At the head, and woken by an unlock (which the task sees even if the mutex was taken again
  // before it ran), or finding the mutex free, or handed to it.
  const mine = () =>
    Atomics.load(w, first) === place && (Atomics.load(w, woken) === place + 1 || Atomics.load(w, owner) === 0 || Atomics.load(w, owner) === me);
  try {
    for (;;) {
      yield* wait_event(ctx, mine, 'mutex');
      Atomics.compareExchange(w, woken, place + 1, 0); // this wake-up is used
      // MUTEX_FLAG_PICKUP: handed over by the unlock; else try it like anyone.
      if (Atomics.load(w, owner) === me || Atomics.compareExchange(w, owner, 0, me) === 0) break;
      // Taken from under us after our wake-up: the next unlock must hand it over.
      Atomics.store(w, gw(m.handoff), 1);
    }
    // Off the wait list (__mutex_remove_waiter): the next waiter heads it. The flag was ours.
    Atomics.store(w, gw(m.handoff), 0);
    Atomics.add(w, first, 1);
  } finally {
    waiter_bit(ctx, m.waiters, false);
    Atomics.store(w, own, 0);
  }
}

/**
 * mutex_unlock() (kernel/locking/mutex.c, v4.10+): with the handoff flag set, give the mutex to
 * the first waiter (__mutex_handoff(); the flag is set only by a registered head); else release
 * it first, then look for the first waiter (a newcomer queueing meanwhile either sees the free
 * mutex or is found), as __mutex_unlock_slowpath() clears the owner before it takes wait_lock.
 * Either way wake the first waiter only.
 */
export function mutex_unlock(ctx: KernelCtx, m: KMutex): void {
  const w = ctx.w;
  if (Atomics.load(w, gw(m.handoff)) !== 0) {
    const head = first_waiter(ctx, m);
    if (head >= 0) {
      Atomics.store(w, gw(m.handoff), 0);
      Atomics.store(w, gw(m.owner), head + 1);
      wake_first(ctx, m, head);
      return;
    }
  }
  Atomics.store(w, gw(m.owner), 0);
  const head = first_waiter(ctx, m);
  if (head >= 0) wake_first(ctx, m, head);
}

/**
 * Say which waiter this unlock woke, then wake it. Places only grow, so `woken` only rises: an
 * unlock delayed between its scan and this store cannot take back a later unlock's wake-up.
 */
function wake_first(ctx: KernelCtx, m: KMutex, head: number): void {
  const w = ctx.w;
  const v = Atomics.load(w, cpuBase(head) + C.MUTEX_PLACE);
  const at = gw(m.woken);
  for (let cur = Atomics.load(w, at); cur < v; cur = Atomics.load(w, at)) if (Atomics.compareExchange(w, at, cur, v) === cur) break;
  ctx.hooks.wake(head);
}

/**
 * The CPU at the head of the wait list (the waiter whose place is `first`), or -1. A waiter that
 * has taken its place but not yet registered is not found: the mutex was freed before this scan,
 * so it sees it free before it sleeps.
 */
function first_waiter(ctx: KernelCtx, m: KMutex): number {
  const want = Atomics.load(ctx.w, gw(m.first)) + 1;
  return find_waiter(ctx, m.waiters, (c, cpu) => Atomics.load(c.w, cpuBase(cpu) + C.MUTEX_PLACE) === want);
}
