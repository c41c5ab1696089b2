// The page cache of regular files (mm/filemap.c, mm/readahead.c; folio names of v5.16+ and
// page_cache_ra_order() of v5.18+): page-cache insertion (+nr PAGECACHE references, then the
// local lru_add batch), readahead that may allocate large folios, and the fault handler.
import { Holder, PG } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_nr_pages, folio_put, folio_ref_mod, folio_set, folio_test_locked, folio_trylock, folio_try_get, folio_unlock } from './folio.js';
import { O } from './layout.js';
import { folio_alloc } from './page_alloc.js';
import { folio_add_lru } from './swap.js';
import { filemap_get_entry, obj_field, obj_npages, obj_order, page_cache_set } from './vma.js';
import { wait_trylock } from './wait.js';

/** folio_lock() / __folio_lock() (mm/filemap.c): sleep until PG_locked is ours. */
export function* folio_lock(ctx: KernelCtx, folio: number): KGen<void> {
  if (folio_trylock(ctx, folio)) return;
  yield* wait_trylock(
    ctx,
    () => folio_trylock(ctx, folio),
    () => !folio_test_locked(ctx, folio),
    'folio_lock',
  );
}

/** Are the page-cache slots [index, index + nr) of `obj` all empty? */
export function filemap_range_empty(ctx: KernelCtx, obj: number, index: number, nr: number): boolean {
  for (let k = 0; k < nr; k++) if (filemap_get_entry(ctx, obj, index + k) >= 0) return false;
  return true;
}

/**
 * The page-cache hit path of __filemap_get_folio(FGP_LOCK) (mm/filemap.c, v5.16+; also
 * shmem_get_folio_gfp()): take a reference, lock the folio, recheck that it still caches
 * `index` (not truncated or migrated meanwhile). Returns false, holding nothing, when the
 * caller must look again. `getFn`/`putFn` name the caller in the reference trace.
 */
export function* filemap_lock_cached(ctx: KernelCtx, obj: number, index: number, folio: number, getFn: string, putFn: string): KGen<boolean> {
  if (!folio_try_get(ctx, folio, 1, Holder.TEMP, getFn)) return false;
  yield* folio_lock(ctx, folio);
  if (filemap_get_entry(ctx, obj, index) === folio) return true;
  folio_unlock(ctx, folio);
  folio_put(ctx, folio, Holder.TEMP, putFn);
  return false;
}

/**
 * filemap_add_folio() (mm/filemap.c, v5.16+; shmem_add_to_page_cache() for shmem, `fn`): lock
 * the new folio, insert it at `index` (its 2^order slots; +nr PAGECACHE references, mapping and
 * index set), then folio_add_lru() on this CPU. The caller keeps its allocation reference.
 * Returns false if the range is occupied.
 */
export function* filemap_add_folio(ctx: KernelCtx, obj: number, index: number, folio: number, fn = '__filemap_add_folio'): KGen<boolean> {
  const nr = folio_nr_pages(ctx, folio);
  if (!filemap_range_empty(ctx, obj, index, nr)) return false;
  folio_set(ctx, folio, PG.locked); // __folio_set_locked(): nobody else can see it yet
  folio_ref_mod(ctx, folio, nr, Holder.PAGECACHE, fn);
  page_cache_set(ctx, obj, index, folio);
  yield* folio_add_lru(ctx, folio);
  return true;
}

/** The order readahead uses at `index`: the object's order, shrunk until aligned and inside. */
function ra_order_at(ctx: KernelCtx, obj: number, index: number, end: number): number {
  let order = obj_order(ctx, obj);
  while (order > 0 && ((index & ((1 << order) - 1)) !== 0 || index + (1 << order) > end)) order--;
  return order;
}

/**
 * page_cache_ra_order() (mm/readahead.c, v5.18+): read `nrPages` pages from `index` into new
 * folios of the object's order (large folios when the object allows them, spec §5.3), each
 * inserted with filemap_add_folio() -> folio_add_lru(). A large folio makes that add process
 * this CPU's lru_add batch at once (spec §1.8 step B). Reading completes at once: the folio
 * becomes uptodate and unlocked and readahead drops its allocation reference.
 */
export function* page_cache_ra_order(ctx: KernelCtx, obj: number, index: number, nrPages: number): KGen<void> {
  const end = Math.min(obj_npages(ctx, obj), index + Math.max(1, nrPages));
  const mt = obj_field(ctx, obj, O.MT);
  const zone = obj_field(ctx, obj, O.ZONE);
  let i = index;
  while (i < end) {
    if (filemap_get_entry(ctx, obj, i) >= 0) {
      i++;
      continue;
    }
    let order = ra_order_at(ctx, obj, i, end);
    // Never overlap a folio already cached inside the range.
    while (order > 0 && !filemap_range_empty(ctx, obj, i, 1 << order)) order--;
    const folio = folio_alloc(ctx, order, true, mt, zone); // readahead_gfp_mask(): movable
    if (!(yield* filemap_add_folio(ctx, obj, i, folio))) {
      folio_put(ctx, folio, Holder.TEMP, 'page_cache_ra_order');
      i++;
      continue;
    }
    // read_pages(): ->readahead completes; the end_io marks it uptodate and unlocks it.
    folio_set(ctx, folio, PG.uptodate);
    folio_unlock(ctx, folio);
    folio_put(ctx, folio, Holder.TEMP, 'read_pages'); // readahead_folio() drops the ractl's ref
    i += 1 << order;
  }
}

/** Readahead window of a sync mmap fault (ra->ra_pages is 32 pages with the default 128 KiB). */
export const MMAP_RA_PAGES = 32;

/**
 * filemap_fault() (mm/filemap.c, v5.16+): find the folio caching `index`; on a miss run
 * do_sync_mmap_readahead() (page_cache_ra_order around the fault) and look again. Returns the
 * folio locked, with a TEMP reference the caller turns into the PTE's MAP reference.
 */
export function* filemap_fault(ctx: KernelCtx, obj: number, index: number): KGen<number> {
  for (;;) {
    let folio = filemap_get_entry(ctx, obj, index);
    if (folio < 0) {
      const order = obj_order(ctx, obj);
      const start = index & ~((1 << order) - 1);
      yield* page_cache_ra_order(ctx, obj, start, Math.max(MMAP_RA_PAGES, 1 << order));
      folio = filemap_get_entry(ctx, obj, index);
      if (folio < 0) continue;
    }
    // lock_folio_maybe_drop_mmap() then the recheck.
    if (yield* filemap_lock_cached(ctx, obj, index, folio, 'filemap_get_folio', 'filemap_fault')) return folio;
  }
}
