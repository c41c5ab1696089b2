// LRU isolation and putback (mm/vmscan.c, mm/migrate.c putback_movable_pages; v5.18+ folio
// names). Isolation is the PG_lru test-and-clear handshake plus one ISOLATION reference
// (spec §4.4, invariant I18); putback re-queues through the local lru_add batch (spec §3.8).
import { Holder } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_get, folio_put, folio_ref_count, folio_test_clear_lru } from './folio.js';
import { Stat } from './layout.js';
import { count_event, lruvec_lock, lruvec_unlock } from './locks.js';
import { lruvec_del_folio } from './mm_inline.js';
import { folio_add_lru } from './swap.js';

/**
 * folio_isolate_lru() (mm/vmscan.c, v5.18+): take the folio off its LRU if PG_lru could be
 * cleared by us. The caller must hold a reference (refcount > 0). Returns true on success, with
 * one ISOLATION reference taken; false leaves the folio untouched.
 */
export function folio_isolate_lru(ctx: KernelCtx, folio: number): boolean {
  if (folio_ref_count(ctx, folio) <= 0) throw new Error(`folio ${folio}: folio_isolate_lru with refcount 0`);
  if (!folio_test_clear_lru(ctx, folio)) {
    // Someone else owns the LRU linkage: a batch being processed, another isolator, or (6.11+)
    // a queued non-add LRU op that cleared PG_lru at queue time.
    count_event(ctx, Stat.ISOLATE_FAIL);
    return false;
  }
  folio_get(ctx, folio, Holder.ISOLATION, 'folio_isolate_lru');
  lruvec_lock(ctx);
  lruvec_del_folio(ctx, folio); // mlock_count (lru.prev overlay) is lost here
  lruvec_unlock(ctx);
  count_event(ctx, Stat.ISOLATE_OK);
  return true;
}

/**
 * folio_putback_lru() (mm/vmscan.c, v5.18+): queue the isolated folio on this CPU's lru_add
 * batch, then drop the isolation reference. The folio rests in the local batch with PG_lru
 * clear until this CPU drains (spec §3.8).
 */
export function* folio_putback_lru(ctx: KernelCtx, folio: number): KGen<void> {
  yield* folio_add_lru(ctx, folio);
  folio_put(ctx, folio, Holder.ISOLATION, 'folio_putback_lru');
}

/**
 * putback_movable_pages() (mm/migrate.c, v5.x+): return every isolated folio left on a
 * migration list to the LRU. Hugetlb and non-LRU movable pages are not modelled. Empties `list`.
 */
export function* putback_movable_pages(ctx: KernelCtx, list: number[]): KGen<void> {
  while (list.length > 0) {
    const folio = list.shift()!;
    yield* folio_putback_lru(ctx, folio);
  }
}
