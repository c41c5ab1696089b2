// The kernel's queued spinlock (kernel/locking/qspinlock.c, x86 and arm64 since v4.2 and v4.19)
// for the page-table lock. What the model keeps of it: a CPU that finds the lock free and nobody
// queued takes it (the fast path, a cmpxchg of the whole lock word from 0); any other joins the
// tail of the queue, and the lock goes to the queue's head when it is released, so contenders
// get it in the order they came and a releasing CPU that wants it again queues behind them.
// The queue is a ticket queue (MCS nodes in the kernel): each waiter takes the next ticket, the
// head is the waiter whose ticket is `head`. The model holds the page-table lock across yield
// points (vma.ts), so a waiter that can yield sleeps (yields BLOCKED) instead of spinning.
// Not modelled: the pending bit (the first contender spins on the lock word before queueing: the
// same order) and, on free-run threads, the moment between a newcomer's look at the queue and
// its cmpxchg, in which a waiter queueing meanwhile is passed once.
import type { KernelCtx, KGen } from './context.js';
import { C, cpuBase, gw } from './layout.js';
import { may_spin } from './locks.js';
import { find_waiter, wait_event } from './wait.js';

/** A queued spinlock's words (layout.ts G): owner (0 free, else cpu + 1), tickets taken, head ticket, waiter bitmap. */
export interface QSpinlock {
  /** Its name in reports: the reason a waiter is blocked ('ptl'), and what a deadlock names. */
  name: string;
  what: string;
  owner: number;
  next: number;
  head: number;
  /** Bitmap of the CPUs sleeping in the queue: whom an unlock can wake. */
  waiters: number;
}

/** queued_spin_trylock(): take the lock if it is free and nobody is queued for it. */
export function queued_spin_trylock(ctx: KernelCtx, l: QSpinlock): boolean {
  const w = ctx.w;
  return Atomics.load(w, gw(l.next)) === Atomics.load(w, gw(l.head)) && Atomics.compareExchange(w, gw(l.owner), 0, ctx.cpu + 1) === 0;
}

/** Join the queue: this CPU's ticket (also kept in its SPIN_TICKET word, + 1, for the unlock to find it). */
function enqueue(ctx: KernelCtx, l: QSpinlock): number {
  const t = Atomics.add(ctx.w, gw(l.next), 1);
  Atomics.store(ctx.w, cpuBase(ctx.cpu) + C.SPIN_TICKET, t + 1);
  return t;
}

/** At the head of the queue with the lock free: take it, and the next waiter heads the queue. */
function take_at_head(ctx: KernelCtx, l: QSpinlock, t: number): boolean {
  const w = ctx.w;
  if (Atomics.load(w, gw(l.head)) !== t || Atomics.compareExchange(w, gw(l.owner), 0, ctx.cpu + 1) !== 0) return false;
  Atomics.add(w, gw(l.head), 1);
  Atomics.store(w, cpuBase(ctx.cpu) + C.SPIN_TICKET, 0);
  return true;
}

/**
 * spin_lock() (queued_spin_lock_slowpath()) for kernel code that can yield: the fast path, else
 * queue and sleep until this CPU heads the queue and the lock is free.
 */
export function* queued_spin_lock(ctx: KernelCtx, l: QSpinlock): KGen<void> {
  if (queued_spin_trylock(ctx, l)) return;
  const w = ctx.w;
  const t = enqueue(ctx, l);
  // Registered before it looks: an unlock either finds this CPU or is seen by it (as mutex.ts).
  const word = gw(l.waiters + (ctx.cpu >> 5));
  const bit = 1 << (ctx.cpu & 31);
  Atomics.or(w, word, bit);
  const head = gw(l.head);
  const owner = gw(l.owner);
  try {
    while (!take_at_head(ctx, l, t)) yield* wait_event(ctx, () => Atomics.load(w, head) === t && Atomics.load(w, owner) === 0, l.name);
  } finally {
    Atomics.and(w, word, ~bit);
  }
}

/**
 * spin_lock() for code without scheduling points: queue and wait in place until this CPU heads
 * the queue and the lock is free (free-run: blockInPlace, which sees a stopped trial), with
 * preemption off as spin_lock() has it (no drain work meanwhile). On one thread the queue's head
 * cannot run while this plain function waits, so there it takes the lock if it is free, ahead of
 * the queue (the head takes it at this CPU's unlock); held, its holder is parked on this thread:
 * a deadlock, reported before a ticket is taken.
 */
export function queued_spin_lock_spin(ctx: KernelCtx, l: QSpinlock): void {
  if (queued_spin_trylock(ctx, l)) return;
  const w = ctx.w;
  const owner = gw(l.owner);
  if (ctx.hooks.singleThreaded) {
    if (Atomics.compareExchange(w, owner, 0, ctx.cpu + 1) === 0) return;
    may_spin(ctx, `${l.what} held by cpu ${Atomics.load(w, owner) - 1}`);
  }
  const t = enqueue(ctx, l);
  const word = gw(l.waiters + (ctx.cpu >> 5));
  const bit = 1 << (ctx.cpu & 31);
  Atomics.or(w, word, bit);
  const head = gw(l.head);
  const mine = () => Atomics.load(w, head) === t && Atomics.load(w, owner) === 0;
  const block = ctx.hooks.blockInPlace;
  ctx.preempt++;
  try {
    for (let spins = 0; !take_at_head(ctx, l, t); spins++) {
      if (block) block(mine);
      else if (spins > 2_000_000) throw new Error(`cpu ${ctx.cpu}: ${l.what} held by cpu ${Atomics.load(w, owner) - 1} for too long`);
      else if (spins > 64) Atomics.wait(w, owner, Atomics.load(w, owner) || 1, 0.01);
    }
  } finally {
    ctx.preempt--;
    Atomics.and(w, word, ~bit);
  }
}

/** spin_unlock(): release, then wake the queue's head if it sleeps (its ticket is `head`). */
export function queued_spin_unlock(ctx: KernelCtx, l: QSpinlock): void {
  const w = ctx.w;
  Atomics.store(w, gw(l.owner), 0);
  const head = Atomics.load(w, gw(l.head));
  if (Atomics.load(w, gw(l.next)) === head) return; // nobody queued
  const cpu = find_waiter(ctx, l.waiters, (c, x) => Atomics.load(c.w, cpuBase(x) + C.SPIN_TICKET) === head + 1);
  if (cpu >= 0) ctx.hooks.wake(cpu);
  else Atomics.notify(w, gw(l.owner)); // a spinner without blockInPlace waits on the owner word
}
