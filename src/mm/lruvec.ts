// The lruvec lock as the batch code holds it, and the immediate-flush test every batch add runs
// (mm/swap.c, mm/mlock.c, include/linux/memcontrol.h; all modelled versions). Shared by the LRU
// batches (swap.ts), the mlock batches (mlock.ts) and targeted extraction, so none of them has to
// import another for these helpers.
import type { KernelCtx } from './context.js';
import { folio_may_be_lru_cached } from './folio.js';
import { G, Stat, gw } from './layout.js';
import { lruvec_lock, lruvec_unlock } from './locks.js';
import { COST, charge } from './cost.js';

// ---- lruvec lock held across batch entries (folio_lruvec_relock_irqsave) -------------------

/** The lruvec lock as a batch walk holds it: taken at the first entry that needs it. */
export interface LruvecHold {
  held: boolean;
}

// Batch walks never nest and never reach a scheduling point, so one holder serves them all.
const LV: LruvecHold = { held: false };
/** Start a batch walk with the lruvec lock not yet taken (a walk that threw left it stale). */
export function lruvec_hold_begin(): LruvecHold {
  LV.held = false;
  return LV;
}

/** folio_lruvec_relock_irq[save]() (include/linux/memcontrol.h): one lruvec in this model. */
export function folio_lruvec_relock(ctx: KernelCtx, lv: LruvecHold): void {
  if (!lv.held) {
    lruvec_lock(ctx);
    charge(ctx, COST.LRUVEC_LOCK);
    lv.held = true;
  }
}
/** unlock_page_lruvec_irq[restore]() at the end of a batch walk, if it was taken. */
export function lruvec_hold_release(ctx: KernelCtx, lv: LruvecHold): void {
  if (lv.held) {
    lruvec_unlock(ctx);
    lv.held = false;
  }
}

// ---- lru_disable_count (mm/swap.c, v5.13+) -----------------------------------------------

/** lru_cache_disabled() (include/linux/swap.h, v5.13+): lru_disable_count != 0. */
export function lru_cache_disabled(ctx: KernelCtx): boolean {
  return Atomics.load(ctx.w, gw(G.LRU_DISABLE_COUNT)) !== 0;
}

/**
 * The immediate-flush test after an add (mm/swap.c and mm/mlock.c, v5.18+; spec §2.2): batch
 * full, large folio (merged spells it !folio_may_be_lru_cached, the same test), or LRU caches
 * disabled. Returns the Stat counter naming the reason, or -1 to leave the batch resting.
 */
export function batch_flush_reason(ctx: KernelCtx, space: number, folio: number): number {
  if (space === 0) return Stat.BATCH_FLUSH_FULL;
  if (!folio_may_be_lru_cached(ctx, folio)) return Stat.BATCH_FLUSH_LARGE;
  if (lru_cache_disabled(ctx)) return Stat.BATCH_FLUSH_DISABLED;
  return -1;
}
