// shmem / memfd page cache (mm/shmem.c, v6.x names): the fault-side lookup, and the miss path
// that allocates a folio, adds it to the page cache and queues it on the local lru_add batch
// (spec §1.8 step A0, §5.3).
import { Holder, PG } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_put, folio_set, folio_test } from './folio.js';
import { O } from './layout.js';
import { filemap_add_folio, filemap_lock_cached, filemap_range_empty } from './filemap.js';
import { folio_alloc } from './page_alloc.js';
import { filemap_get_entry, obj_field, obj_npages, obj_order } from './vma.js';

/** shmem_alloc_folio() order: the object's (huge=always-style) order, if aligned and inside. */
function shmem_order_at(ctx: KernelCtx, obj: number, index: number): number {
  let order = obj_order(ctx, obj);
  const n = obj_npages(ctx, obj);
  while (order > 0) {
    const start = index & ~((1 << order) - 1);
    if (start + (1 << order) <= n && filemap_range_empty(ctx, obj, start, 1 << order)) break;
    order--;
  }
  return order;
}

/**
 * shmem_alloc_and_add_folio() (mm/shmem.c, v6.8+): allocate (movable, placed like the object:
 * CMA for Will's memfd unless PF_MEMALLOC_PIN), lock, set swapbacked, add to the page cache
 * (+nr PAGECACHE), then folio_add_lru() on this CPU. Returns the locked folio with the
 * allocation reference (TEMP), or -1 if someone else filled the slot first.
 */
function* shmem_alloc_and_add_folio(ctx: KernelCtx, obj: number, index: number): KGen<number> {
  const order = shmem_order_at(ctx, obj, index);
  const start = index & ~((1 << order) - 1);
  const folio = folio_alloc(ctx, order, true, obj_field(ctx, obj, O.MT), obj_field(ctx, obj, O.ZONE));
  folio_set(ctx, folio, PG.swapbacked); // __folio_set_swapbacked()
  // __folio_set_locked(), shmem_add_to_page_cache() (fails if the range got populated
  // meanwhile), folio_add_lru(): the same steps as filemap_add_folio().
  if (!(yield* filemap_add_folio(ctx, obj, start, folio, 'shmem_add_to_page_cache'))) {
    folio_put(ctx, folio, Holder.TEMP, 'shmem_alloc_and_add_folio');
    return -1;
  }
  return folio;
}

/**
 * shmem_get_folio_gfp(SGP_CACHE) (mm/shmem.c, v6.x) as shmem_fault() uses it: a page-cache
 * hit is returned locked with a TEMP reference; a miss allocates and adds a new folio (locked,
 * swapbacked, in the page cache and the local lru_add batch), which is then cleared and marked
 * uptodate. No swap-in: swapped-out shmem is not modelled.
 */
export function* shmem_get_folio(ctx: KernelCtx, obj: number, index: number): KGen<number> {
  for (;;) {
    let folio = filemap_get_entry(ctx, obj, index);
    if (folio >= 0) {
      if (yield* filemap_lock_cached(ctx, obj, index, folio, 'filemap_get_entry', 'shmem_get_folio_gfp')) return folio;
      continue;
    }
    folio = yield* shmem_alloc_and_add_folio(ctx, obj, index);
    if (folio < 0) continue;
    // SGP_CACHE on a new folio: clear it, then folio_mark_uptodate().
    if (!folio_test(ctx, folio, PG.uptodate)) folio_set(ctx, folio, PG.uptodate);
    return folio;
  }
}

/** shmem_fault() (mm/shmem.c): vmf->page = the locked folio with the fault's reference. */
export function* shmem_fault(ctx: KernelCtx, obj: number, index: number): KGen<number> {
  return yield* shmem_get_folio(ctx, obj, index);
}
