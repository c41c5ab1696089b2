// Units of kernel work the logical-time model prices (src/cost/, src/runtime/logical.ts). The
// emulated kernel reports them where the real code spends its time on the drain paths; runtimes
// that keep wall time (free-run) or count steps (the deterministic runtime) ignore them.
import type { KernelCtx } from './context.js';

export const COST = {
  /** folio_batch_add() under the local lock: one entry appended to a per-CPU batch. */
  BATCH_ADD: 0,
  /** folio_lruvec_relock_irq[save](): the lruvec spinlock taken by a batch walk. */
  LRUVEC_LOCK: 1,
  /** One batch entry processed under the lruvec lock and its reference dropped (lru_add_fn .. folios_put_refs). */
  LRU_MOVE: 2,
  /** cpu_needs_drain() on one CPU: racy reads of that CPU's batch counters (remote cache lines). */
  DRAIN_SCAN: 3,
  /** queue_work_on() by the drain-all caller (the wake-up of the target's kworker is the runtime's). */
  QUEUE_WORK: 4,
  /** Another CPU's local lock taken remotely (QPW drains, targeted extraction, hotplug). */
  REMOTE_LOCK: 5,
  /** folio_mc_copy() in __migrate_folio(): one base page of a migrating folio copied. */
  MIGRATE_COPY: 6,
  /** A TLB flush after migration entries replaced PTEs that reaches other CPUs (tlb.ts): the first of them. */
  TLB_FLUSH: 7,
  /** Each further CPU that flush interrupts (x86: an IPI each, and the wait for each acknowledgement). */
  TLB_FLUSH_CPU: 8,
  /** A TLB flush no other CPU needs (the mm runs nowhere else): this CPU's own TLB. */
  TLB_FLUSH_LOCAL: 9,
} as const;
export type CostEvent = (typeof COST)[keyof typeof COST];
export const COST_EVENT_NAMES = [
  'batch_add',
  'lruvec_lock',
  'lru_move',
  'drain_scan',
  'queue_work',
  'remote_lock',
  'migrate_copy',
  'tlb_flush',
  'tlb_flush_cpu',
  'tlb_flush_local',
] as const;

/** Report `n` units of kernel work to the runtime's clock (a no-op where time is wall time). */
export function charge(ctx: KernelCtx, ev: CostEvent, n = 1): void {
  ctx.hooks.charge?.(ev, n);
}
/** One unit of work on CPU `cpu`'s per-CPU data (its work item, a local lock), which that CPU wrote last: dearer from another node. */
export function charge_on(ctx: KernelCtx, ev: CostEvent, cpu: number): void {
  ctx.hooks.charge?.(ev, 1, cpu);
}

/** Spinlocks every CPU shares, whose hold times the logical-time runtime serialises. */
export const LOCK = {
  /** lruvec->lru_lock (one lruvec in this model: one node, no memcg). */
  LRUVEC: 0,
} as const;
export const N_LOCKS = 1;

/** Tell the runtime a shared spinlock was taken or released (a no-op where time is wall time). */
export function lock_held(ctx: KernelCtx, lock: number, held: boolean): void {
  ctx.hooks.lockHeld?.(lock, held);
}
