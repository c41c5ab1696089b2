// The kernel's queued spinlock (kernel/locking/qspinlock.c, x86 and arm64 since v4.2 and v4.19)
// for the page-table locks (one per page-table page: vma.ts). What the model keeps of it: a CPU that finds
// the lock free and nobody queued takes it (the fast path, a cmpxchg of the whole lock word from
// 0); any other joins the tail of the queue, and the lock goes to the queue's head when it is
// released, so contenders get it in the order they came and a releasing CPU that wants it again
// queues behind them.
// The queue is a ticket queue (MCS nodes in the kernel): each waiter takes the next ticket, the
// head is the waiter whose ticket is `head`. The model holds the page-table lock across yield
// points (vma.ts), so a waiter that can yield sleeps (yields BLOCKED) instead of spinning.
// Not modelled: the pending bit (the first contender spins on the lock word before queueing: the
// same order) and, on free-run threads, the moment between a newcomer's look at the queue and
// its cmpxchg, in which a waiter queueing meanwhile is passed once.
import type { KernelCtx, KGen } from './context.js';
import { C, cpuBase } from './layout.js';
import { may_spin } from './locks.js';
import { find_waiter, wait_event, waiter_bit } from './wait.js';

/**
 * A kind of queued spinlock: where its words are in the record that holds it (owner: 0 free,
 * else cpu + 1; tickets taken; the head's ticket), and the global bitmap its sleepers register in
 * (shared by every lock of the kind: a CPU waits for one lock at a time, C.SPIN_LOCK says which).
 */
export interface QSpinlock {
  /** Its name in reports: the reason a waiter is blocked ('ptl'), and what a deadlock names. */
  name: string;
  what: string;
  owner: number;
  next: number;
  head: number;
  waiters: number;
}

/** queued_spin_trylock(): take the lock (in the record at `at`) if it is free and nobody is queued for it. */
export function queued_spin_trylock(ctx: KernelCtx, l: QSpinlock, at: number): boolean {
  const w = ctx.w;
  return Atomics.load(w, at + l.next) === Atomics.load(w, at + l.head) && Atomics.compareExchange(w, at + l.owner, 0, ctx.cpu + 1) === 0;
}

/**
 * Join the queue: this CPU's ticket, kept with the lock's owner word in its region for the unlock
 * to find it; registered as a sleeper, with preemption off as spin_lock() has it (no workqueue
 * drain work meanwhile). leave_queue() undoes the last two.
 */
function enqueue(ctx: KernelCtx, l: QSpinlock, at: number): number {
  const w = ctx.w;
  const t = Atomics.add(w, at + l.next, 1);
  const own = cpuBase(ctx.cpu);
  Atomics.store(w, own + C.SPIN_LOCK, at + l.owner);
  Atomics.store(w, own + C.SPIN_TICKET, t + 1);
  waiter_bit(ctx, l.waiters, true);
  ctx.preempt++;
  return t;
}
function leave_queue(ctx: KernelCtx, l: QSpinlock): void {
  ctx.preempt--;
  waiter_bit(ctx, l.waiters, false);
}

/** At the head of the queue with the lock free: take it, and the next waiter heads the queue. */
function take_at_head(ctx: KernelCtx, l: QSpinlock, at: number, t: number): boolean {
  const w = ctx.w;
  if (Atomics.load(w, at + l.head) !== t || Atomics.compareExchange(w, at + l.owner, 0, ctx.cpu + 1) !== 0) return false;
  Atomics.add(w, at + l.head, 1);
  Atomics.store(w, cpuBase(ctx.cpu) + C.SPIN_TICKET, 0);
  return true;
}

/**
 * spin_lock() (queued_spin_lock_slowpath()) for kernel code that can yield: the fast path, else
 * queue and wait (yielding, as a spinner: its CPU stays its own) until this CPU heads the queue
 * and the lock is free.
 */
export function* queued_spin_lock(ctx: KernelCtx, l: QSpinlock, at: number): KGen<void> {
  if (queued_spin_trylock(ctx, l, at)) return;
  const w = ctx.w;
  const t = enqueue(ctx, l, at);
  const head = at + l.head;
  const owner = at + l.owner;
  try {
    while (!take_at_head(ctx, l, at, t)) yield* wait_event(ctx, () => Atomics.load(w, head) === t && Atomics.load(w, owner) === 0, l.name, true);
  } finally {
    leave_queue(ctx, l);
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
export function queued_spin_lock_spin(ctx: KernelCtx, l: QSpinlock, at: number): void {
  if (queued_spin_trylock(ctx, l, at)) return;
  const w = ctx.w;
  const owner = at + l.owner;
  if (ctx.hooks.singleThreaded) {
    if (Atomics.compareExchange(w, owner, 0, ctx.cpu + 1) === 0) return;
    may_spin(ctx, `${l.what} held by cpu ${Atomics.load(w, owner) - 1}`);
  }
  // Threads wait in place (free-run CPUs have blockInPlace; no other threaded caller spins here).
  const block = ctx.hooks.blockInPlace;
  if (!block) throw new Error(`cpu ${ctx.cpu}: ${l.what} spun for without blockInPlace`);
  const t = enqueue(ctx, l, at);
  const head = at + l.head;
  const mine = () => Atomics.load(w, head) === t && Atomics.load(w, owner) === 0;
  try {
    while (!take_at_head(ctx, l, at, t)) block(mine);
  } finally {
    leave_queue(ctx, l);
  }
}

/** spin_unlock(): release, then wake the queue's head if it sleeps (the CPU queued on this lock with ticket `head`). */
export function queued_spin_unlock(ctx: KernelCtx, l: QSpinlock, at: number): void {
  const w = ctx.w;
  const owner = at + l.owner;
  Atomics.store(w, owner, 0);
  const head = Atomics.load(w, at + l.head);
  if (Atomics.load(w, at + l.next) === head) return; // nobody queued
  const cpu = find_waiter(ctx, l.waiters, (c, x) => {
    const b = cpuBase(x);
    return Atomics.load(c.w, b + C.SPIN_TICKET) === head + 1 && Atomics.load(c.w, b + C.SPIN_LOCK) === owner;
  });
  if (cpu >= 0) ctx.hooks.wake(cpu);
}
