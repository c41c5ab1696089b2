// LRU list linkage (include/linux/mm_inline.h, all versions): which list a folio belongs on,
// and adding/removing it under the lruvec lock. The emulator keeps only "which list" per folio:
// the order within a list (head or tail) is recorded as the last placement.
import { Lru, PG } from './constants.js';
import type { KernelCtx } from './context.js';
import { folio_flags, fset, fw } from './folio.js';
import { F } from './layout.js';

/** folio_lru_list(): unevictable, else (anon|file) x (active|inactive) by PG_swapbacked/PG_active. */
export function folio_lru_list(ctx: KernelCtx, folio: number): number {
  return lru_list_of_flags(folio_flags(ctx, folio));
}
/** folio_lru_list() on a flags word (pure: the checker uses it on copied memory). */
export function lru_list_of_flags(fl: number): number {
  if (fl & PG.unevictable) return Lru.UNEVICTABLE;
  const base = fl & PG.swapbacked ? Lru.INACTIVE_ANON : Lru.INACTIVE_FILE;
  return fl & PG.active ? base + 1 : base;
}

/** lruvec_add_folio(): link at the head of its list (unevictable: counted, not linked). */
export function lruvec_add_folio(ctx: KernelCtx, folio: number): void {
  if (fw(ctx, folio, F.LRU) !== Lru.NONE) throw new Error(`folio ${folio}: lruvec_add_folio while already on list ${fw(ctx, folio, F.LRU)}`);
  fset(ctx, folio, F.LRU, folio_lru_list(ctx, folio));
}
/** lruvec_add_folio_tail(). */
export function lruvec_add_folio_tail(ctx: KernelCtx, folio: number): void {
  lruvec_add_folio(ctx, folio);
}
/** lruvec_del_folio(): unlink (for unevictable folios the list pointers hold mlock_count: lost). */
export function lruvec_del_folio(ctx: KernelCtx, folio: number): void {
  if (fw(ctx, folio, F.LRU) === Lru.UNEVICTABLE) fset(ctx, folio, F.MLOCK_COUNT, 0);
  fset(ctx, folio, F.LRU, Lru.NONE);
}
