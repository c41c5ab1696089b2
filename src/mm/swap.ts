// Per-CPU LRU batches (mm/swap.c, v5.18..v6.18; classic LRU only, MGLRU is out of scope).
// cpu_fbatches = { lock: lru_add, lru_deactivate_file, lru_deactivate, lru_lazyfree, lru_activate;
// lock_irq: lru_move_tail } (pre-6.11: the separate lru_rotate batch, same semantics).
// The one version difference that lives here is lruClearOnQueue (33dfe9204f29, 6.11..6.17-rc5):
// non-add batches claim PG_lru when queueing instead of when processing (spec §2.4-2.6).
import { Batch, Holder, PG, TOMBSTONE, VM, VM_SPECIAL } from './constants.js';
import { has_bh_in_lru, invalidate_bh_lrus_cpu } from './buffer.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import {
  folio_get,
  folio_clear,
  folio_clear_active,
  folio_evictable,
  folio_mapped,
  folio_nr_pages,
  folio_put,
  folio_set,
  folio_set_active,
  folio_set_lru,
  folio_set_unevictable,
  folio_test,
  folio_test_active,
  folio_test_anon,
  folio_test_clear_lru,
  folio_test_clear_unevictable,
  folio_test_dirty,
  folio_test_locked,
  folio_test_lru,
  folio_test_swapbacked,
  folio_test_swapcache,
  folio_test_unevictable,
  folio_test_writeback,
  fset,
} from './folio.js';
import { folio_batch_add, folio_batch_count, folio_batch_reinit, folio_batch_slot } from './folio_batch.js';
import { F, Stat } from './layout.js';
import { BATCH_LOCK, count_event, cpu_lock, cpu_lock_held, cpu_unlock, local_lock, local_unlock, LocalLock } from './locks.js';
import { cpu_online } from './cpumask.js';
import { batch_flush_reason, folio_lruvec_relock, lruvec_hold_begin, lruvec_hold_release, type LruvecHold } from './lruvec.js';
import { mlock_drain_local, mlock_new_folio, need_mlock_drain } from './mlock.js';
import { lruvec_add_folio, lruvec_add_folio_tail, lruvec_del_folio } from './mm_inline.js';
import { COST, charge } from './cost.js';

// ---- move functions (run under the lruvec lock with PG_lru clear) --------------------------

/** lru_add() (mm/swap.c; lru_add_fn before v6.11): first placement on an LRU, mlock_count = 0. */
export function lru_add(ctx: KernelCtx, folio: number): void {
  const wasUnevictable = folio_test_clear_unevictable(ctx, folio);
  const nr = folio_nr_pages(ctx, folio);
  if (folio_test_lru(ctx, folio)) throw new Error(`folio ${folio}: VM_BUG_ON lru_add with PG_lru set`);
  if (folio_evictable(ctx, folio)) {
    if (wasUnevictable) count_event(ctx, Stat.UNEVICTABLE_PGRESCUED, nr);
  } else {
    folio_clear_active(ctx, folio);
    folio_set_unevictable(ctx, folio);
    // Deliberate underestimate: __mlock_folio() cannot tell whether this mlock was counted.
    fset(ctx, folio, F.MLOCK_COUNT, 0);
    if (!wasUnevictable) count_event(ctx, Stat.UNEVICTABLE_PGCULLED, nr);
  }
  lruvec_add_folio(ctx, folio);
}

/** lru_move_tail() (mm/swap.c; lru_move_tail_fn before v6.11): rotate to the inactive tail. */
export function lru_move_tail(ctx: KernelCtx, folio: number): void {
  if (folio_test_unevictable(ctx, folio)) return;
  lruvec_del_folio(ctx, folio);
  folio_clear_active(ctx, folio);
  lruvec_add_folio_tail(ctx, folio);
  count_event(ctx, Stat.PGROTATED, folio_nr_pages(ctx, folio));
}

/** lru_activate() (mm/swap.c; folio_activate_fn before v6.11). */
export function lru_activate(ctx: KernelCtx, folio: number): void {
  if (folio_test_active(ctx, folio) || folio_test_unevictable(ctx, folio)) return;
  lruvec_del_folio(ctx, folio);
  folio_set_active(ctx, folio);
  lruvec_add_folio(ctx, folio);
  count_event(ctx, Stat.PGACTIVATE, folio_nr_pages(ctx, folio));
}

/** lru_deactivate_file() (mm/swap.c; lru_deactivate_file_fn before v6.11): failed invalidation. */
export function lru_deactivate_file(ctx: KernelCtx, folio: number): void {
  const active = folio_test_active(ctx, folio);
  const nr = folio_nr_pages(ctx, folio);
  if (folio_test_unevictable(ctx, folio)) return;
  if (folio_mapped(ctx, folio)) return; // some process is using it
  lruvec_del_folio(ctx, folio);
  folio_clear_active(ctx, folio);
  folio_clear(ctx, folio, PG.referenced);
  if (folio_test_writeback(ctx, folio) || folio_test_dirty(ctx, folio)) {
    // Head of the inactive list, reclaimed when writeback ends.
    lruvec_add_folio(ctx, folio);
    folio_set(ctx, folio, PG.reclaim);
  } else {
    lruvec_add_folio_tail(ctx, folio);
    count_event(ctx, Stat.PGROTATED, nr);
  }
  if (active) count_event(ctx, Stat.PGDEACTIVATE, nr);
}

/** lru_deactivate() (mm/swap.c; lru_deactivate_fn before v6.11): MADV_COLD and friends. */
export function lru_deactivate(ctx: KernelCtx, folio: number): void {
  if (folio_test_unevictable(ctx, folio) || !folio_test_active(ctx, folio)) return;
  lruvec_del_folio(ctx, folio);
  folio_clear_active(ctx, folio);
  folio_clear(ctx, folio, PG.referenced);
  lruvec_add_folio(ctx, folio);
  count_event(ctx, Stat.PGDEACTIVATE, folio_nr_pages(ctx, folio));
}

/** lru_lazyfree() (mm/swap.c; lru_lazyfree_fn before v6.11): MADV_FREE, to the inactive file list. */
export function lru_lazyfree(ctx: KernelCtx, folio: number): void {
  if (!folio_test_anon(ctx, folio) || !folio_test_swapbacked(ctx, folio) || folio_test_swapcache(ctx, folio) || folio_test_unevictable(ctx, folio)) return;
  lruvec_del_folio(ctx, folio);
  folio_clear_active(ctx, folio);
  folio_clear(ctx, folio, PG.referenced);
  // Lazyfree folios are clean anon folios without PG_swapbacked.
  folio_clear(ctx, folio, PG.swapbacked);
  lruvec_add_folio(ctx, folio);
  count_event(ctx, Stat.PGLAZYFREE, folio_nr_pages(ctx, folio));
}

/** move_fn of each LRU batch, indexed by Batch id. */
export const LRU_MOVE_FN: readonly ((ctx: KernelCtx, folio: number) => void)[] = [
  lru_add,
  lru_move_tail,
  lru_deactivate_file,
  lru_deactivate,
  lru_lazyfree,
  lru_activate,
];
/** The entry point that queues to each LRU batch (names the batch holder in traces). */
const BATCH_CALLER = [
  'folio_add_lru',
  'folio_rotate_reclaimable',
  'deactivate_file_folio',
  'folio_deactivate',
  'folio_mark_lazyfree',
  'folio_activate',
] as const;

// ---- processing ---------------------------------------------------------------------------

/**
 * One entry of folio_batch_move_lru() (mm/swap.c, all versions), also used by targeted
 * extraction. Pre-6.11 and merged: the processor claims PG_lru here (skipping the op if the
 * folio is isolated or being moved elsewhere); 6.11+ claimed it at queue time. Returns whether
 * the move function ran.
 */
export function folio_batch_move_one(ctx: KernelCtx, batch: number, folio: number, lv: LruvecHold): boolean {
  if (!ctx.policy.switches.lruClearOnQueue && batch !== Batch.lru_add && !folio_test_clear_lru(ctx, folio)) {
    return false;
  }
  folio_lruvec_relock(ctx, lv);
  LRU_MOVE_FN[batch]!(ctx, folio);
  folio_set_lru(ctx, folio);
  charge(ctx, COST.LRU_MOVE);
  return true;
}

/**
 * folio_batch_move_lru() (mm/swap.c, all versions): process `cpu`'s batch, then drop every
 * entry's reference (folios_put_refs, which may free). The caller holds that batch's lock:
 * its own local lock, or the dead CPU's lock taken remotely (hotplug). Tombstones left by
 * targeted extraction are skipped: their reference was already dropped.
 */
export function folio_batch_move_lru(ctx: KernelCtx, cpu: number, batch: number): void {
  // In place: nothing here appends to a batch, and extraction (the only other slot writer)
  // needs the lock our caller holds, so nr and the slots are stable until the reinit.
  const nr = folio_batch_count(ctx, cpu, batch);
  const lv = lruvec_hold_begin();
  for (let i = 0; i < nr; i++) {
    const folio = folio_batch_slot(ctx, cpu, batch, i);
    if (folio !== TOMBSTONE) folio_batch_move_one(ctx, batch, folio, lv);
  }
  lruvec_hold_release(ctx, lv);
  for (let i = 0; i < nr; i++) {
    const folio = folio_batch_slot(ctx, cpu, batch, i);
    if (folio !== TOMBSTONE) folio_put(ctx, folio, Holder.LRU_BATCH, 'folios_put_refs');
  }
  folio_batch_reinit(ctx, cpu, batch);
}

// ---- the generic add routine --------------------------------------------------------------

/**
 * __folio_batch_add_and_move() (mm/swap.c, v6.11+; open-coded per call site in v6.10, spec §2.4).
 * `onLru` is the 6.11 macro argument (true for every batch but lru_add); it matters only under
 * lruClearOnQueue, where a failed PG_lru claim drops the op before any reference is taken.
 * The reference is taken before the local lock: yield point (1) is the preemptible gap.
 */
export function* folio_batch_add_and_move(ctx: KernelCtx, folio: number, batch: number, onLru: boolean): KGen<void> {
  if (onLru && ctx.policy.switches.lruClearOnQueue && !folio_test_clear_lru(ctx, folio)) {
    count_event(ctx, Stat.LRU_OP_DROPPED);
    return;
  }
  folio_get(ctx, folio, Holder.LRU_BATCH, BATCH_CALLER[batch]!);
  yield YP.LRU_ADD_AFTER_GET;
  // Batches after lock_irq in struct cpu_fbatches are taken with IRQs off (lru_move_tail).
  const lock = BATCH_LOCK[batch]!;
  local_lock(ctx, lock);
  const why = batch_flush_reason(ctx, folio_batch_add(ctx, batch, folio), folio);
  if (why >= 0) {
    count_event(ctx, why);
    folio_batch_move_lru(ctx, ctx.cpu, batch);
  }
  local_unlock(ctx, lock);
}

/**
 * The caller-side PG_lru test of the non-add entry points (mm/swap.c, v5.18..v6.10 and merged):
 * a racy pre-check only. 6.11+ leaves it to the claim in folio_batch_add_and_move().
 */
function lru_precheck(ctx: KernelCtx, folio: number): boolean {
  return ctx.policy.switches.lruClearOnQueue || folio_test_lru(ctx, folio);
}

// ---- entry points (spec §2.5) -------------------------------------------------------------

/** folio_add_lru() (mm/swap.c, all versions): queue a never-on-LRU folio on the local lru_add batch. */
export function* folio_add_lru(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_test_active(ctx, folio) && folio_test_unevictable(ctx, folio)) {
    throw new Error(`folio ${folio}: VM_BUG_ON folio_add_lru of an active unevictable folio`);
  }
  if (folio_test_lru(ctx, folio)) throw new Error(`folio ${folio}: VM_BUG_ON folio_add_lru with PG_lru set`);
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_add, false);
}

/** folio_add_lru_vma() (mm/swap.c, v5.18+): new anon folios; a locked VMA goes the mlock way. */
export function* folio_add_lru_vma(ctx: KernelCtx, folio: number, vmaFlags: number): KGen<void> {
  if (folio_test_lru(ctx, folio)) throw new Error(`folio ${folio}: VM_BUG_ON folio_add_lru_vma with PG_lru set`);
  if ((vmaFlags & (VM.LOCKED | VM_SPECIAL)) === VM.LOCKED) yield* mlock_new_folio(ctx, folio);
  else yield* folio_add_lru(ctx, folio);
}

/** folio_activate() (mm/swap.c, SMP, all versions): queue on the local lru_activate batch. */
export function* folio_activate(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_test_active(ctx, folio) || folio_test_unevictable(ctx, folio)) return;
  if (!lru_precheck(ctx, folio)) return;
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_activate, true);
}

/**
 * __lru_cache_activate_folio() (mm/swap.c, all versions): a !PG_lru folio may sit in this CPU's
 * lru_add batch; if so mark it active so lru_add places it on the active list. Only the local
 * lru_add batch is searched (spec §2.8), newest entry first.
 */
export function __lru_cache_activate_folio(ctx: KernelCtx, folio: number): void {
  local_lock(ctx, LocalLock.fbatches);
  for (let i = folio_batch_count(ctx, ctx.cpu, Batch.lru_add) - 1; i >= 0; i--) {
    if (folio_batch_slot(ctx, ctx.cpu, Batch.lru_add, i) === folio) {
      folio_set_active(ctx, folio);
      break;
    }
  }
  local_unlock(ctx, LocalLock.fbatches);
}

/**
 * folio_mark_accessed() (mm/swap.c, classic LRU, all versions): inactive,unreferenced ->
 * inactive,referenced -> active,unreferenced (second chance); unevictable folios are left alone.
 */
export function* folio_mark_accessed(ctx: KernelCtx, folio: number): KGen<void> {
  if (!folio_test(ctx, folio, PG.referenced)) {
    folio_set(ctx, folio, PG.referenced);
  } else if (folio_test_unevictable(ctx, folio)) {
    // The unevictable "list" is never rotated: nothing to do.
  } else if (!folio_test_active(ctx, folio)) {
    if (folio_test_lru(ctx, folio)) yield* folio_activate(ctx, folio);
    else __lru_cache_activate_folio(ctx, folio);
    folio_clear(ctx, folio, PG.referenced);
  }
}

/**
 * deactivate_file_folio() (mm/swap.c, all versions): v5.18..v6.10 have no PG_lru pre-check
 * (an off-LRU folio is queued; the processor's claim then skips it); the merged revert checks;
 * 6.11+ claims PG_lru at queue time (deactivateFileChecksLru, spec §2.5).
 */
export function* deactivate_file_folio(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_test_unevictable(ctx, folio)) return; // will not accelerate reclaim
  if (ctx.policy.switches.deactivateFileChecksLru && !lru_precheck(ctx, folio)) return;
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_deactivate_file, true);
}

/** folio_deactivate() (mm/swap.c, all versions; classic LRU): only active folios. */
export function* folio_deactivate(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_test_unevictable(ctx, folio)) return;
  if (!lru_precheck(ctx, folio)) return;
  if (!folio_test_active(ctx, folio)) return;
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_deactivate, true);
}

/** folio_mark_lazyfree() (mm/swap.c, all versions): clean anon swapbacked folios only. */
export function* folio_mark_lazyfree(ctx: KernelCtx, folio: number): KGen<void> {
  if (!folio_test_anon(ctx, folio) || !folio_test_swapbacked(ctx, folio) || folio_test_swapcache(ctx, folio) || folio_test_unevictable(ctx, folio)) return;
  if (!lru_precheck(ctx, folio)) return;
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_lazyfree, true);
}

/** folio_rotate_reclaimable() (mm/swap.c, all versions): writeback end, IRQ-safe lru_move_tail. */
export function* folio_rotate_reclaimable(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_test_locked(ctx, folio) || folio_test_dirty(ctx, folio) || folio_test_unevictable(ctx, folio)) return;
  if (!lru_precheck(ctx, folio)) return;
  yield* folio_batch_add_and_move(ctx, folio, Batch.lru_move_tail, true);
}

// ---- draining -----------------------------------------------------------------------------

/** folio_activate_drain() (mm/swap.c, SMP, all versions). */
function folio_activate_drain(ctx: KernelCtx, cpu: number): void {
  if (folio_batch_count(ctx, cpu, Batch.lru_activate)) folio_batch_move_lru(ctx, cpu, Batch.lru_activate);
}

/**
 * lru_add_drain_cpu() (mm/swap.c, all versions): every non-empty LRU batch of `cpu` in the
 * kernel's order; not the mlock batch. `cpu` is this CPU with its local lock held, a dead CPU
 * whose lock the hotplug caller took remotely, or (QPW, spec §3.7) an online CPU whose lock the
 * drain-all caller took remotely.
 */
export function lru_add_drain_cpu(ctx: KernelCtx, cpu: number): void {
  if (cpu !== ctx.cpu && cpu_online(ctx, cpu) && !cpu_lock_held(ctx, cpu, LocalLock.fbatches)) {
    throw new Error(`cpu ${ctx.cpu}: lru_add_drain_cpu(${cpu}) of an online remote CPU without its lock`);
  }
  if (cpu === ctx.cpu && ctx.preempt === 0) {
    throw new Error(`cpu ${ctx.cpu}: lru_add_drain_cpu without the local lock held`);
  }
  if (folio_batch_count(ctx, cpu, Batch.lru_add)) folio_batch_move_lru(ctx, cpu, Batch.lru_add);
  // Racy count read, then the IRQ lock (pre-6.11: lru_rotate.lock).
  if (folio_batch_count(ctx, cpu, Batch.lru_move_tail)) {
    cpu_lock(ctx, cpu, BATCH_LOCK[Batch.lru_move_tail]!);
    folio_batch_move_lru(ctx, cpu, Batch.lru_move_tail);
    cpu_unlock(ctx, cpu, BATCH_LOCK[Batch.lru_move_tail]!);
  }
  if (folio_batch_count(ctx, cpu, Batch.lru_deactivate_file)) folio_batch_move_lru(ctx, cpu, Batch.lru_deactivate_file);
  if (folio_batch_count(ctx, cpu, Batch.lru_deactivate)) folio_batch_move_lru(ctx, cpu, Batch.lru_deactivate);
  if (folio_batch_count(ctx, cpu, Batch.lru_lazyfree)) folio_batch_move_lru(ctx, cpu, Batch.lru_lazyfree);
  folio_activate_drain(ctx, cpu);
}

/** This CPU's LRU batches, then its mlock batch (the body lru_add_drain() and the drain work share). */
function drain_local_batches(ctx: KernelCtx): void {
  local_lock(ctx, LocalLock.fbatches);
  lru_add_drain_cpu(ctx, ctx.cpu);
  local_unlock(ctx, LocalLock.fbatches);
  mlock_drain_local(ctx);
}

/**
 * lru_add_drain_per_cpu() -> lru_add_and_bh_lrus_drain() (mm/swap.c, v5.13+): the kworker's
 * drain work: this CPU's batches and its buffer-head LRU. Not counted as a caller drain (the
 * workqueue counts DRAIN_WORK_RUN).
 */
export function lru_add_drain_per_cpu(ctx: KernelCtx): void {
  drain_local_batches(ctx);
  invalidate_bh_lrus_cpu(ctx);
}

/** lru_add_drain() (mm/swap.c, all versions): a counted caller drain of this CPU; the bh LRU stays. */
export function lru_add_drain(ctx: KernelCtx): void {
  count_event(ctx, Stat.LRU_ADD_DRAIN);
  drain_local_batches(ctx);
}

/**
 * cpu_needs_drain() (mm/swap.c, all versions): racy folio_batch_count() reads of `cpu`'s LRU
 * batches, then need_mlock_drain() and has_bh_in_lru() (fs/buffer.c). A batch holding only tombstones still reads non-empty.
 */
export function cpu_needs_drain(ctx: KernelCtx, cpu: number): boolean {
  // Flat, wherever `cpu` is: lines its CPU has not written since this caller's last scan are still
  // cached here (idle CPUs' mostly), and the model does not track caches.
  charge(ctx, COST.DRAIN_SCAN);
  return (
    folio_batch_count(ctx, cpu, Batch.lru_add) !== 0 ||
    folio_batch_count(ctx, cpu, Batch.lru_move_tail) !== 0 ||
    folio_batch_count(ctx, cpu, Batch.lru_deactivate_file) !== 0 ||
    folio_batch_count(ctx, cpu, Batch.lru_deactivate) !== 0 ||
    folio_batch_count(ctx, cpu, Batch.lru_lazyfree) !== 0 ||
    folio_batch_count(ctx, cpu, Batch.lru_activate) !== 0 ||
    need_mlock_drain(ctx, cpu) ||
    has_bh_in_lru(ctx, cpu)
  );
}
