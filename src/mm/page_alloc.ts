// The page allocator, as far as folio placement matters (mm/page_alloc.c, include/linux/gfp.h,
// include/linux/sched/mm.h). Folio slots are handed out from a cursor and never reused within
// a trial; placement follows spec §1.6.
import { Holder, Lru, MappingKind, MigrateType, PG, Zone } from './constants.js';
import type { KernelCtx } from './context.js';
import { F, FOLIO_WORDS, FolioState, G, folioBase, gw } from './layout.js';

/** Fake PFN of a folio slot (16 pages apart, so large folios up to order 4 do not overlap). */
export function folio_default_pfn(folio: number): number {
  return 0x100000 + folio * 16;
}

/**
 * Where an allocation lands (current_gfp_context() + gfp_migratetype(), v5.13+ memalloc_pin):
 * __GFP_MOVABLE user allocations go wherever the scenario put user memory (CMA, ZONE_MOVABLE)
 * unless the task runs with PF_MEMALLOC_PIN, which strips __GFP_MOVABLE; GFP_USER (migration
 * targets) is never placed in CMA or ZONE_MOVABLE.
 */
function placement(ctx: KernelCtx, movable: boolean, mt?: number, zone?: number): { mt: number; zone: number } {
  // gfp_migratetype() of the mask left by current_gfp_context(): no __GFP_MOVABLE, UNMOVABLE.
  if (!movable || ctx.task.pfMemallocPin) return { mt: MigrateType.UNMOVABLE, zone: Zone.NORMAL };
  return { mt: mt ?? ctx.alloc.movableMt, zone: zone ?? ctx.alloc.movableZone };
}

/**
 * folio_alloc() / __folio_alloc() (mm/page_alloc.c, v5.16+): a fresh folio of `order` with one
 * reference, held by the caller (Holder.TEMP). `movable` = __GFP_MOVABLE (GFP_HIGHUSER_MOVABLE,
 * page cache); false = GFP_USER (migration targets). `mt`/`zone` override the scenario's
 * placement of movable allocations (a shmem object in CMA).
 */
export function folio_alloc(ctx: KernelCtx, order: number, movable: boolean, mt?: number, zone?: number): number {
  if (!Number.isInteger(order) || order < 0 || order > 9) throw new RangeError(`folio_alloc: order must be 0..9, got ${order}`);
  const folio = Atomics.add(ctx.w, gw(G.NEXT_FREE_FOLIO), 1);
  if (folio >= ctx.lay.dims.nFolios) {
    Atomics.sub(ctx.w, gw(G.NEXT_FREE_FOLIO), 1);
    throw new RangeError(`folio_alloc: out of folio slots (nFolios=${ctx.lay.dims.nFolios}); raise nFolios`);
  }
  const b = folioBase(folio);
  const w = ctx.w;
  // Plain stores into the fresh slot: no other CPU holds its index yet. Every way another CPU
  // learns it (a PTE, the page cache, a batch entry) is an atomic store made after these, which
  // publishes them; the seq-cst STATE store last orders them for racy scans as well.
  w.fill(0, b, b + FOLIO_WORDS);
  const where = placement(ctx, movable, mt, zone);
  w[b + F.FLAGS] = order > 0 ? PG.head : 0;
  w[b + F.MAPCOUNT] = -1;
  w[b + F.LRU] = Lru.NONE;
  w[b + F.ZONE] = where.zone;
  w[b + F.MT] = where.mt;
  w[b + F.ORDER] = order;
  w[b + F.MAPPING] = MappingKind.NONE;
  w[b + F.MAPPING_ID] = -1;
  w[b + F.PFN] = folio_default_pfn(folio);
  // set_page_refcounted(): the allocation reference belongs to the caller.
  w[b + F.LEDGER + Holder.TEMP] = 1;
  w[b + F.REF] = 1;
  Atomics.store(w, b + F.STATE, FolioState.ALLOCATED);
  if (ctx.trace) ctx.trace.pageRef(ctx, 'page_ref_set', folio, 1, Holder.TEMP, 'set_page_refcounted');
  return folio;
}
