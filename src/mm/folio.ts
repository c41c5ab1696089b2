// The shared folio table: kernel-named helpers over one record per folio in the
// SharedArrayBuffer (include/linux/page-flags.h, include/linux/page_ref.h, include/linux/mm.h;
// all versions). Every refcount change names its holder, which keeps the ledger (spec §1.3).
import { Holder, MappingKind, MigrateType, PG, Zone } from './constants.js';
import type { KernelCtx, TraceEvent } from './context.js';
import { F, FolioState, Stat, folioBase } from './layout.js';
import { count_event } from './locks.js';
import { atomic_fetch_add, atomic_fetch_and, atomic_fetch_or, read_once, write_once } from './access.js';

// ---- raw field access -------------------------------------------------------------------

export function fw(ctx: KernelCtx, folio: number, field: number): number {
  return read_once(ctx, folioBase(folio) + field);
}
export function fset(ctx: KernelCtx, folio: number, field: number, v: number): void {
  write_once(ctx, folioBase(folio) + field, v);
}

// ---- page flags (include/linux/page-flags.h; atomic bitops as in the kernel) ------------

export function folio_flags(ctx: KernelCtx, folio: number): number {
  return read_once(ctx, folioBase(folio) + F.FLAGS);
}
export function folio_test(ctx: KernelCtx, folio: number, bit: number): boolean {
  return (read_once(ctx, folioBase(folio) + F.FLAGS) & bit) !== 0;
}
export function folio_set(ctx: KernelCtx, folio: number, bit: number): void {
  atomic_fetch_or(ctx, folioBase(folio) + F.FLAGS, bit);
}
export function folio_clear(ctx: KernelCtx, folio: number, bit: number): void {
  atomic_fetch_and(ctx, folioBase(folio) + F.FLAGS, ~bit);
}
/** test_and_set_bit: true if the bit was already set. */
export function folio_test_set(ctx: KernelCtx, folio: number, bit: number): boolean {
  return (atomic_fetch_or(ctx, folioBase(folio) + F.FLAGS, bit) & bit) !== 0;
}
/** test_and_clear_bit: true if the bit was set (and this caller cleared it). */
export function folio_test_clear(ctx: KernelCtx, folio: number, bit: number): boolean {
  return (atomic_fetch_and(ctx, folioBase(folio) + F.FLAGS, ~bit) & bit) !== 0;
}

export const folio_test_lru = (c: KernelCtx, f: number) => folio_test(c, f, PG.lru);
export const folio_set_lru = (c: KernelCtx, f: number) => folio_set(c, f, PG.lru);
/** The "I own the LRU linkage now" handshake of isolation and batch processing. */
export const folio_test_clear_lru = (c: KernelCtx, f: number) => folio_test_clear(c, f, PG.lru);
export const folio_test_mlocked = (c: KernelCtx, f: number) => folio_test(c, f, PG.mlocked);
export const folio_set_mlocked = (c: KernelCtx, f: number) => folio_set(c, f, PG.mlocked);
export const folio_test_set_mlocked = (c: KernelCtx, f: number) => folio_test_set(c, f, PG.mlocked);
export const folio_test_clear_mlocked = (c: KernelCtx, f: number) => folio_test_clear(c, f, PG.mlocked);
export const folio_test_unevictable = (c: KernelCtx, f: number) => folio_test(c, f, PG.unevictable);
export const folio_set_unevictable = (c: KernelCtx, f: number) => folio_set(c, f, PG.unevictable);
export const folio_clear_unevictable = (c: KernelCtx, f: number) => folio_clear(c, f, PG.unevictable);
export const folio_test_clear_unevictable = (c: KernelCtx, f: number) => folio_test_clear(c, f, PG.unevictable);
export const folio_test_active = (c: KernelCtx, f: number) => folio_test(c, f, PG.active);
export const folio_set_active = (c: KernelCtx, f: number) => folio_set(c, f, PG.active);
export const folio_clear_active = (c: KernelCtx, f: number) => folio_clear(c, f, PG.active);
export const folio_test_locked = (c: KernelCtx, f: number) => folio_test(c, f, PG.locked);
export const folio_test_dirty = (c: KernelCtx, f: number) => folio_test(c, f, PG.dirty);
export const folio_test_writeback = (c: KernelCtx, f: number) => folio_test(c, f, PG.writeback);
export const folio_test_swapbacked = (c: KernelCtx, f: number) => folio_test(c, f, PG.swapbacked);
export const folio_test_swapcache = (c: KernelCtx, f: number) => folio_test(c, f, PG.swapcache);
export const folio_test_private = (c: KernelCtx, f: number) => folio_test(c, f, PG.private);
export const folio_test_large = (c: KernelCtx, f: number) => fw(c, f, F.ORDER) > 0;

/** folio_trylock(): PG_locked as a bit lock. */
export function folio_trylock(ctx: KernelCtx, folio: number): boolean {
  return !folio_test_set(ctx, folio, PG.locked);
}
export function folio_unlock(ctx: KernelCtx, folio: number): void {
  folio_clear(ctx, folio, PG.locked);
}

// ---- geometry and mapping ----------------------------------------------------------------

export function folio_order(ctx: KernelCtx, folio: number): number {
  return fw(ctx, folio, F.ORDER);
}
export function folio_nr_pages(ctx: KernelCtx, folio: number): number {
  return 1 << fw(ctx, folio, F.ORDER);
}
/** folio_test_anon(): the PAGE_MAPPING_ANON bit of folio->mapping. */
export function folio_test_anon(ctx: KernelCtx, folio: number): boolean {
  return fw(ctx, folio, F.MAPPING) === MappingKind.ANON;
}
/** folio_mapcount(): true number of mappings (raw _mapcount + 1). */
export function folio_mapcount(ctx: KernelCtx, folio: number): number {
  return fw(ctx, folio, F.MAPCOUNT) + 1;
}
export function folio_mapped(ctx: KernelCtx, folio: number): boolean {
  return folio_mapcount(ctx, folio) > 0;
}

/** folio_evictable() (mm/internal.h, all versions): mapping not unevictable && !PG_mlocked. */
export function folio_evictable(ctx: KernelCtx, folio: number): boolean {
  return evictable_of(fw(ctx, folio, F.MAPPING), folio_flags(ctx, folio));
}
/** folio_evictable() on raw (mapping kind, flags word) (pure: the checker uses it). */
export function evictable_of(mapping: number, flags: number): boolean {
  return mapping !== MappingKind.UNEVICTABLE_FILE && (flags & PG.mlocked) === 0;
}

/** folio_may_be_lru_cached() (include/linux/swap.h, v6.17-rc6+): small folios only. */
export function folio_may_be_lru_cached(ctx: KernelCtx, folio: number): boolean {
  return !folio_test_large(ctx, folio);
}

/** folio_is_longterm_pinnable() (include/linux/mm.h, 6.x): not CMA/isolate, not ZONE_MOVABLE, not device. */
export function folio_is_longterm_pinnable(ctx: KernelCtx, folio: number): boolean {
  return longterm_pinnable_of(fw(ctx, folio, F.MT), fw(ctx, folio, F.ZONE));
}
/** folio_is_longterm_pinnable() on raw (migratetype, zone) (pure: the checker uses it). */
export function longterm_pinnable_of(mt: number, zone: number): boolean {
  return mt !== MigrateType.CMA && mt !== MigrateType.ISOLATE && zone !== Zone.MOVABLE && zone !== Zone.DEVICE;
}

// ---- references (include/linux/page_ref.h) -----------------------------------------------

export function folio_ref_count(ctx: KernelCtx, folio: number): number {
  return read_once(ctx, folioBase(folio) + F.REF);
}

/** How many references `holder` holds on `folio` (the ledger). */
export function ledger_get(ctx: KernelCtx, folio: number, holder: number): number {
  return read_once(ctx, folioBase(folio) + F.LEDGER + holder);
}

/**
 * __page_ref_mod / folio_ref_add / folio_ref_sub: change the refcount by `delta` on behalf of
 * `holder`, keep the ledger, emit a page_ref trace event. Returns the count after the change.
 * `fn` names the emulated kernel function making the change (the top of the trace's stack).
 */
export function folio_ref_mod(ctx: KernelCtx, folio: number, delta: number, holder: number, fn: string, event: TraceEvent = 'page_ref_mod'): number {
  const b = folioBase(folio);
  atomic_fetch_add(ctx, b + F.LEDGER + holder, delta);
  const after = atomic_fetch_add(ctx, b + F.REF, delta) + delta;
  if (ctx.trace) ctx.trace.pageRef(ctx, event, folio, delta, holder, fn);
  return after;
}

/** folio_get(). */
export function folio_get(ctx: KernelCtx, folio: number, holder: number, fn: string): void {
  folio_ref_mod(ctx, folio, 1, holder, fn);
}

/**
 * folio_put() / folio_put_refs() / folios_put_refs(): drop references; the last one frees the
 * folio (__folio_put: off the LRU if still on it, mlock state cleared, slot marked freed).
 */
export function folio_put_refs(ctx: KernelCtx, folio: number, refs: number, holder: number, fn: string): boolean {
  const after = folio_ref_mod(ctx, folio, -refs, holder, fn, 'page_ref_mod_and_test');
  if (after === 0) {
    __folio_put(ctx, folio);
    return true;
  }
  if (after < 0) throw new Error(`folio ${folio}: refcount went negative (${after}) in ${fn}`);
  return false;
}
export function folio_put(ctx: KernelCtx, folio: number, holder: number, fn: string): boolean {
  return folio_put_refs(ctx, folio, 1, holder, fn);
}

/**
 * __folio_put (mm/swap.c, all versions): the folio is freed. __page_cache_release() clears a
 * PG_mlocked still set (truncation raced with munlock) and takes it out of NR_MLOCK.
 */
function __folio_put(ctx: KernelCtx, folio: number): void {
  const b = folioBase(folio);
  if (folio_test_clear(ctx, folio, PG.mlocked)) {
    const nr = 1 << Atomics.load(ctx.w, b + F.ORDER);
    count_event(ctx, Stat.NR_MLOCK, -nr);
    count_event(ctx, Stat.UNEVICTABLE_PGCLEARED, nr);
  }
  count_event(ctx, Stat.FOLIO_FREED);
  Atomics.store(ctx.w, b + F.LRU, -1);
  Atomics.store(ctx.w, b + F.FLAGS, 0);
  Atomics.store(ctx.w, b + F.STATE, FolioState.FREED);
}

/** try_get_folio / folio_try_get(): take a reference unless the folio is already free. */
export function folio_try_get(ctx: KernelCtx, folio: number, refs: number, holder: number, fn: string): boolean {
  const b = folioBase(folio);
  for (;;) {
    const c = Atomics.load(ctx.w, b + F.REF);
    if (c <= 0) return false;
    if (Atomics.compareExchange(ctx.w, b + F.REF, c, c + refs) === c) {
      Atomics.add(ctx.w, b + F.LEDGER + holder, refs);
      if (ctx.trace) ctx.trace.pageRef(ctx, 'page_ref_mod', folio, refs, holder, fn);
      return true;
    }
  }
}

/** folio_ref_freeze(): compare-and-set refcount from `count` to 0 (migration commit point). */
export function folio_ref_freeze(ctx: KernelCtx, folio: number, count: number): boolean {
  const ok = Atomics.compareExchange(ctx.w, folioBase(folio) + F.REF, count, 0) === count;
  // page_ref_freeze fires either way (ret=0 when the count was not `count`): 6.1's migrate_folio()
  // leaves one such line per pass for a folio with an extra reference.
  if (ctx.trace) ctx.trace.pageRef(ctx, 'page_ref_freeze', folio, -count, Holder.TEMP, 'folio_ref_freeze');
  return ok;
}
/** folio_ref_unfreeze(): set refcount back to `count`. */
export function folio_ref_unfreeze(ctx: KernelCtx, folio: number, count: number): void {
  Atomics.store(ctx.w, folioBase(folio) + F.REF, count);
  if (ctx.trace) ctx.trace.pageRef(ctx, 'page_ref_unfreeze', folio, count, Holder.TEMP, 'folio_ref_unfreeze');
}

/** Move `refs` references from one holder to another without touching the refcount. */
export function ledger_transfer(ctx: KernelCtx, folio: number, from: number, to: number, refs: number): void {
  const b = folioBase(folio) + F.LEDGER;
  Atomics.sub(ctx.w, b + from, refs);
  Atomics.add(ctx.w, b + to, refs);
}
