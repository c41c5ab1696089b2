// The per-CPU mlock batch (mm/mlock.c, v5.18+ since 2fbb0c10d1e8; spec §2.7). One batch holds
// three kinds of entry in arrival order: entry = folio << 2 | tag, tag LRU_FOLIO (mlock_folio),
// NEW_FOLIO (mlock_new_folio) or none (munlock_folio). PG_mlocked and NR_MLOCK change at queue
// time; unevictable placement and mlock_count change when the batch is processed.
// Hypothetical policies read here: mlockBatching (off = process at once), the PF_MEMALLOC_PIN
// shortcuts (Hubbard), and mlockClearsLru (one-batch-mlock, spec §6.4).
import { Batch, Holder, MlockOp, TOMBSTONE, VM, VM_SPECIAL } from './constants.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import {
  folio_clear_active,
  folio_clear_unevictable,
  folio_evictable,
  folio_get,
  folio_nr_pages,
  folio_put,
  folio_set_lru,
  folio_set_mlocked,
  folio_set_unevictable,
  folio_test_clear_lru,
  folio_test_clear_mlocked,
  folio_test_large,
  folio_test_lru,
  folio_test_mlocked,
  folio_test_set_mlocked,
  folio_test_unevictable,
  fset,
  fw,
} from './folio.js';
import { folio_batch_add, folio_batch_count, folio_batch_reinit, folio_batch_slot } from './folio_batch.js';
import { F, Stat } from './layout.js';
import { count_event, local_lock, local_unlock, LocalLock } from './locks.js';
import { cpu_online } from './cpumask.js';
import { lruvec_add_folio, lruvec_del_folio } from './mm_inline.js';
import { batch_flush_reason, folio_lruvec_relock, lruvec_hold_begin, lruvec_hold_release, type LruvecHold } from './lruvec.js';
import { COST, charge } from './cost.js';

// ---- entry encoding -----------------------------------------------------------------------

const MLOCK_TAG_MASK = 3;
/**
 * Emulator-only entry bit, used only under mlockClearsLru=forceOnFail: the queue-time PG_lru
 * claim failed, so processing must not touch the LRU (it applies the op without the count).
 */
export const MLOCK_LRU_UNCLAIMED = 1 << 30;

/** mlock_lru() (mm/mlock.c): entry of an MLOCK op. */
export function mlock_lru(folio: number): number {
  return (folio << 2) | MlockOp.LRU_FOLIO;
}
/** mlock_new() (mm/mlock.c): entry of a NEW op. */
export function mlock_new(folio: number): number {
  return (folio << 2) | MlockOp.NEW_FOLIO;
}
/** munlock_folio()'s entry: the untagged folio. */
export function munlock_entry(folio: number): number {
  return folio << 2;
}
/** The folio an mlock batch entry names (not for TOMBSTONE). */
export function mlock_entry_folio(entry: number): number {
  return (entry & ~MLOCK_LRU_UNCLAIMED) >>> 2;
}
/** The op of an mlock batch entry (MlockOp). */
export function mlock_entry_op(entry: number): number {
  return entry & MLOCK_TAG_MASK;
}

// ---- PG_lru ownership of MLOCK / MUNLOCK ops ----------------------------------------------

/**
 * How an MLOCK/MUNLOCK entry gets the LRU linkage when processed: 'test' = the kernel's own
 * folio_test_clear_lru() at processing time; 'owned' = claimed at queue time (one-batch-mlock);
 * 'unclaimed' = forceOnFail entry whose queue-time claim failed: treated as off-LRU.
 */
export type LruClaim = 'test' | 'owned' | 'unclaimed';

function mlock_entry_claim(ctx: KernelCtx, entry: number): LruClaim {
  if (ctx.policy.switches.mlockClearsLru === 'off' || mlock_entry_op(entry) === MlockOp.NEW_FOLIO) return 'test';
  return entry & MLOCK_LRU_UNCLAIMED ? 'unclaimed' : 'owned';
}

/** The folio_test_clear_lru() at the top of __mlock_folio()/__munlock_folio(), per claim. */
function mlock_isolate_lru(ctx: KernelCtx, folio: number, claim: LruClaim): boolean {
  if (claim === 'test') return folio_test_clear_lru(ctx, folio);
  return claim === 'owned';
}

/**
 * one-batch-mlock (spec §6.4, hypothetical; off in every real kernel): MLOCK and MUNLOCK claim
 * PG_lru at queue time, as 6.11's LRU batches do. Returns the extra entry bits, or -1 when the
 * claim failed under skipOnFail (the op is dropped: no reference, no entry).
 */
function mlock_queue_claim_lru(ctx: KernelCtx, folio: number): number {
  const mode = ctx.policy.switches.mlockClearsLru;
  if (mode === 'off' || folio_test_clear_lru(ctx, folio)) return 0;
  if (mode === 'skipOnFail') {
    count_event(ctx, Stat.LRU_OP_DROPPED);
    return -1;
  }
  return MLOCK_LRU_UNCLAIMED;
}

// ---- processing (caller holds the batch's lock; lruvec lock taken lazily) -----------------

/** __mlock_folio() (mm/mlock.c, v5.18+): count one more mlock, or move to unevictable. */
export function __mlock_folio(ctx: KernelCtx, folio: number, lv: LruvecHold, claim: LruClaim = 'test'): void {
  // Off-LRU (isolated, or in a 6.11+ LRU batch): nothing can be done now.
  if (!mlock_isolate_lru(ctx, folio, claim)) return;
  folio_lruvec_relock(ctx, lv);
  const nr = folio_nr_pages(ctx, folio);
  if (folio_evictable(ctx, folio)) {
    // PG_mlocked was cleared meanwhile by another CPU: rescue if it was left unevictable.
    if (folio_test_unevictable(ctx, folio)) {
      lruvec_del_folio(ctx, folio);
      folio_clear_unevictable(ctx, folio);
      lruvec_add_folio(ctx, folio);
      count_event(ctx, Stat.UNEVICTABLE_PGRESCUED, nr);
    }
  } else if (folio_test_unevictable(ctx, folio)) {
    if (folio_test_mlocked(ctx, folio)) fset(ctx, folio, F.MLOCK_COUNT, fw(ctx, folio, F.MLOCK_COUNT) + 1);
  } else {
    lruvec_del_folio(ctx, folio);
    folio_clear_active(ctx, folio);
    folio_set_unevictable(ctx, folio);
    fset(ctx, folio, F.MLOCK_COUNT, folio_test_mlocked(ctx, folio) ? 1 : 0);
    lruvec_add_folio(ctx, folio);
    count_event(ctx, Stat.UNEVICTABLE_PGCULLED, nr);
  }
  folio_set_lru(ctx, folio);
}

/** __mlock_new_folio() (mm/mlock.c, v5.18+): first LRU placement of a new folio of a locked VMA. */
export function __mlock_new_folio(ctx: KernelCtx, folio: number, lv: LruvecHold): void {
  if (folio_test_lru(ctx, folio)) throw new Error(`folio ${folio}: VM_BUG_ON __mlock_new_folio with PG_lru set`);
  folio_lruvec_relock(ctx, lv);
  if (!folio_evictable(ctx, folio)) {
    folio_set_unevictable(ctx, folio);
    fset(ctx, folio, F.MLOCK_COUNT, folio_test_mlocked(ctx, folio) ? 1 : 0);
    count_event(ctx, Stat.UNEVICTABLE_PGCULLED, folio_nr_pages(ctx, folio));
  }
  lruvec_add_folio(ctx, folio);
  folio_set_lru(ctx, folio);
}

/**
 * __munlock_folio() (mm/mlock.c, v5.18+): one mlock fewer. On the LRU and unevictable, only the
 * count drops until it reaches 0. Off the LRU, PG_mlocked is cleared without consulting the
 * count (STRANDED if the folio was left unevictable); reclaim re-mlocks if that was wrong.
 */
export function __munlock_folio(ctx: KernelCtx, folio: number, lv: LruvecHold, claim: LruClaim = 'test'): void {
  const nr = folio_nr_pages(ctx, folio);
  const isolated = mlock_isolate_lru(ctx, folio, claim);
  if (isolated) {
    folio_lruvec_relock(ctx, lv);
    if (folio_test_unevictable(ctx, folio)) {
      // mlock_count is maintained here, but may undercount.
      let count = fw(ctx, folio, F.MLOCK_COUNT);
      if (count > 0) fset(ctx, folio, F.MLOCK_COUNT, --count);
      if (count > 0) {
        folio_set_lru(ctx, folio);
        return;
      }
    }
    // Else assume that was the last mlock: reclaim fixes it if not.
  }
  if (folio_test_clear_mlocked(ctx, folio)) {
    count_event(ctx, Stat.NR_MLOCK, -nr);
    if (isolated || !folio_test_unevictable(ctx, folio)) count_event(ctx, Stat.UNEVICTABLE_PGMUNLOCKED, nr);
    else count_event(ctx, Stat.UNEVICTABLE_PGSTRANDED, nr);
  }
  // folio_evictable() only after PG_mlocked is cleared.
  if (isolated && folio_test_unevictable(ctx, folio) && folio_evictable(ctx, folio)) {
    lruvec_del_folio(ctx, folio);
    folio_clear_unevictable(ctx, folio);
    lruvec_add_folio(ctx, folio);
    count_event(ctx, Stat.UNEVICTABLE_PGRESCUED, nr);
  }
  if (isolated) folio_set_lru(ctx, folio);
}

/** The loop body of mlock_folio_batch() (mm/mlock.c, v5.18+); also used by targeted extraction. */
export function mlock_folio_batch_entry(ctx: KernelCtx, entry: number, lv: LruvecHold): void {
  const folio = mlock_entry_folio(entry);
  charge(ctx, COST.LRU_MOVE);
  const claim = mlock_entry_claim(ctx, entry);
  switch (mlock_entry_op(entry)) {
    case MlockOp.LRU_FOLIO:
      __mlock_folio(ctx, folio, lv, claim);
      break;
    case MlockOp.NEW_FOLIO:
      __mlock_new_folio(ctx, folio, lv);
      break;
    default:
      __munlock_folio(ctx, folio, lv, claim);
      break;
  }
}

/**
 * mlock_folio_batch() (mm/mlock.c, v5.18+): apply every entry of `cpu`'s mlock batch in order,
 * then drop their references. Caller holds that batch's lock (or the CPU is dead). Tombstones
 * left by targeted extraction are skipped.
 */
export function mlock_folio_batch(ctx: KernelCtx, cpu: number): void {
  // In place, as folio_batch_move_lru(): no append and no extraction while the lock is held.
  const nr = folio_batch_count(ctx, cpu, Batch.mlock);
  const lv = lruvec_hold_begin();
  for (let i = 0; i < nr; i++) {
    const e = folio_batch_slot(ctx, cpu, Batch.mlock, i);
    if (e !== TOMBSTONE) mlock_folio_batch_entry(ctx, e, lv);
  }
  lruvec_hold_release(ctx, lv);
  for (let i = 0; i < nr; i++) {
    const e = folio_batch_slot(ctx, cpu, Batch.mlock, i);
    if (e !== TOMBSTONE) folio_put(ctx, mlock_entry_folio(e), Holder.MLOCK_BATCH, 'folios_put_refs');
  }
  folio_batch_reinit(ctx, cpu, Batch.mlock);
}

// ---- queueing -----------------------------------------------------------------------------

/**
 * The append-and-maybe-flush tail shared by the three entry points (mm/mlock.c, v5.18+):
 * flush when full, large, or LRU caches disabled; and in the hypothetical policies, always
 * (mlockBatching off) or under PF_MEMALLOC_PIN (`pinShortcut`, Hubbard).
 */
function mlock_fbatch_add(ctx: KernelCtx, folio: number, entry: number, pinShortcut: boolean): void {
  const why = batch_flush_reason(ctx, folio_batch_add(ctx, Batch.mlock, entry), folio);
  if (why >= 0) count_event(ctx, why);
  if (why >= 0 || !ctx.policy.switches.mlockBatching || (pinShortcut && ctx.task.pfMemallocPin)) {
    mlock_folio_batch(ctx, ctx.cpu);
  }
}

/**
 * mlock_folio() (mm/mlock.c, v5.18+): set PG_mlocked now (NR_MLOCK if newly set), queue an MLOCK
 * entry. The reference is taken inside the mlock lock; yield point (2) sits between it and the
 * append, where a remote reader sees the raised refcount but nr not yet counting the entry.
 */
export function* mlock_folio(ctx: KernelCtx, folio: number): KGen<void> {
  local_lock(ctx, LocalLock.mlock);
  if (!folio_test_set_mlocked(ctx, folio)) {
    const nr = folio_nr_pages(ctx, folio);
    count_event(ctx, Stat.NR_MLOCK, nr);
    count_event(ctx, Stat.UNEVICTABLE_PGMLOCKED, nr);
  }
  const claim = mlock_queue_claim_lru(ctx, folio);
  if (claim < 0) {
    local_unlock(ctx, LocalLock.mlock);
    return;
  }
  folio_get(ctx, folio, Holder.MLOCK_BATCH, 'mlock_folio');
  yield YP.MLOCK_BEFORE_APPEND;
  mlock_fbatch_add(ctx, folio, mlock_lru(folio) | claim, ctx.policy.switches.mlockImmediateIfPin);
  local_unlock(ctx, LocalLock.mlock);
}

/**
 * mlock_new_folio() (mm/mlock.c, v5.18+): a new folio of a locked VMA, not yet on any LRU: set
 * PG_mlocked unconditionally, queue a NEW entry (no PG_lru to claim in any policy).
 */
export function* mlock_new_folio(ctx: KernelCtx, folio: number): KGen<void> {
  const nr = folio_nr_pages(ctx, folio);
  local_lock(ctx, LocalLock.mlock);
  folio_set_mlocked(ctx, folio);
  count_event(ctx, Stat.NR_MLOCK, nr);
  count_event(ctx, Stat.UNEVICTABLE_PGMLOCKED, nr);
  folio_get(ctx, folio, Holder.MLOCK_BATCH, 'mlock_new_folio');
  yield YP.MLOCK_BEFORE_APPEND;
  mlock_fbatch_add(ctx, folio, mlock_new(folio), ctx.policy.switches.mlockNewImmediateIfPin);
  local_unlock(ctx, LocalLock.mlock);
}

/**
 * munlock_folio() (mm/mlock.c, v5.18+): queue a MUNLOCK entry. PG_mlocked is left to
 * __munlock_folio(), which knows whether the folio is still mlocked by another VMA.
 */
export function* munlock_folio(ctx: KernelCtx, folio: number): KGen<void> {
  local_lock(ctx, LocalLock.mlock);
  const claim = mlock_queue_claim_lru(ctx, folio);
  if (claim < 0) {
    local_unlock(ctx, LocalLock.mlock);
    return;
  }
  folio_get(ctx, folio, Holder.MLOCK_BATCH, 'munlock_folio');
  yield YP.MLOCK_BEFORE_APPEND;
  mlock_fbatch_add(ctx, folio, munlock_entry(folio) | claim, false);
  local_unlock(ctx, LocalLock.mlock);
}

// ---- draining -----------------------------------------------------------------------------

/** mlock_drain_local() (mm/mlock.c, v5.18+). */
export function mlock_drain_local(ctx: KernelCtx): void {
  local_lock(ctx, LocalLock.mlock);
  if (folio_batch_count(ctx, ctx.cpu, Batch.mlock)) mlock_folio_batch(ctx, ctx.cpu);
  local_unlock(ctx, LocalLock.mlock);
}

/**
 * mlock_drain_remote() (mm/mlock.c, v5.18+): a dead CPU's mlock batch, from the hotplug
 * callback. The kernel WARNs for an online CPU; the model refuses (it would race the owner).
 */
export function mlock_drain_remote(ctx: KernelCtx, cpu: number): void {
  if (cpu_online(ctx, cpu)) throw new Error(`cpu ${ctx.cpu}: mlock_drain_remote(${cpu}) of an online CPU`);
  if (folio_batch_count(ctx, cpu, Batch.mlock)) mlock_folio_batch(ctx, cpu);
}

/** need_mlock_drain() (mm/mlock.c, v5.18+): racy read of `cpu`'s mlock batch count. */
export function need_mlock_drain(ctx: KernelCtx, cpu: number): boolean {
  return folio_batch_count(ctx, cpu, Batch.mlock) !== 0;
}

// ---- rmap-side wrappers (mm/internal.h) ---------------------------------------------------

/**
 * mlock_vma_folio() (mm/internal.h, v5.18+): mlock on rmap add in a locked, non-VM_SPECIAL VMA.
 * Small folios only: the rmap callers leave PTE-mapped large folios to reclaim (spec §5.3; the
 * v6.18-era "fully mapped large folio" case is not modelled).
 */
export function* mlock_vma_folio(ctx: KernelCtx, folio: number, vmaFlags: number): KGen<void> {
  if ((vmaFlags & (VM.LOCKED | VM_SPECIAL)) !== VM.LOCKED) return;
  if (folio_test_large(ctx, folio)) return;
  yield* mlock_folio(ctx, folio);
}

/**
 * munlock_vma_folio() (mm/internal.h, v6.7+): munlock on rmap removal from any VM_LOCKED VMA,
 * whatever the folio size (a partially unmapped mlocked large folio is munlocked; reclaim fixes
 * it if wrong). Large folios flush at once, so nothing rests in the batch.
 */
export function* munlock_vma_folio(ctx: KernelCtx, folio: number, vmaFlags: number): KGen<void> {
  if ((vmaFlags & VM.LOCKED) === 0) return;
  yield* munlock_folio(ctx, folio);
}
