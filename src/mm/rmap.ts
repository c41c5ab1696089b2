// Reverse mapping (mm/rmap.c, mm/internal.h; folio names of v6.8+): mapcount changes when a
// PTE is set or cleared, the mlock/munlock hooks of the rmap add/remove paths, and the
// migration unmap/remap walks (try_to_migrate, remove_migration_ptes) with their local mlock
// drains (spec §3.8, §4.6). F.LOCKED_MAPS counts PTEs in VM_LOCKED VMAs alongside mapcount, the
// number the kernel would get by walking the rmap (invariant I11).
import { Holder, MappingKind, PG, VM } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_get, folio_nr_pages, folio_put, folio_set, folio_test_anon, folio_test_large, fset, fw } from './folio.js';
import { F, folioBase } from './layout.js';
import { mlock_drain_local, mlock_vma_folio, munlock_vma_folio } from './mlock.js';
import { folio_pte_mappings, make_migration_entry, pte_get, pte_lock, pte_set, pte_unlock, vma_flags, vma_pgoff } from './vma.js';
import { flush_tlb_page, set_tlb_ubc_flush_pending, should_defer_flush } from './tlb.js';

/** Add `nr` to _mapcount (and to LOCKED_MAPS when the VMA is VM_LOCKED). */
function mapcount_mod(ctx: KernelCtx, folio: number, nr: number, vmaFlags: number, fn: string): void {
  const raw = Atomics.add(ctx.w, folioBase(folio) + F.MAPCOUNT, nr) + nr;
  if (raw < -1) throw new Error(`folio ${folio}: mapcount went negative (raw _mapcount ${raw}) in ${fn}`);
  if (vmaFlags & VM.LOCKED) locked_maps_mod(ctx, folio, nr, fn);
}

/** Adjust LOCKED_MAPS only: a VMA holding `nr` of the folio's PTEs became (un)locked (mlock_fixup). */
export function locked_maps_mod(ctx: KernelCtx, folio: number, nr: number, fn = 'mlock_fixup'): void {
  const l = Atomics.add(ctx.w, folioBase(folio) + F.LOCKED_MAPS, nr) + nr;
  if (l < 0) throw new Error(`folio ${folio}: locked mappings went negative in ${fn}`);
}

/**
 * folio_add_new_anon_rmap() (mm/rmap.c, v6.8+, RMAP_EXCLUSIVE): first mapping of a new anon
 * folio: anon mapping, PG_swapbacked, all pages mapped once and anon-exclusive. No mlock here:
 * new anon folios reach mlock through folio_add_lru_vma() -> mlock_new_folio().
 */
export function folio_add_new_anon_rmap(ctx: KernelCtx, folio: number, vma: number, page: number): void {
  const nr = folio_nr_pages(ctx, folio);
  folio_set(ctx, folio, PG.swapbacked);
  fset(ctx, folio, F.MAPPING, MappingKind.ANON);
  fset(ctx, folio, F.MAPPING_ID, vma);
  fset(ctx, folio, F.INDEX, vma_pgoff(ctx, vma) + page); // linear_page_index()
  fset(ctx, folio, F.ANON_EXCLUSIVE, 1);
  mapcount_mod(ctx, folio, nr, vma_flags(ctx, vma), 'folio_add_new_anon_rmap');
}

/**
 * folio_add_anon_rmap_ptes() (mm/rmap.c, v6.8+): map `nr` pages of an existing anon folio
 * (migration remap). Small folios in a locked VMA are mlocked; large ones are left to reclaim
 * (v6.8..v6.18; later kernels mlock a large folio mapped whole).
 */
export function* folio_add_anon_rmap_ptes(ctx: KernelCtx, folio: number, nr: number, vma: number, exclusive: boolean): KGen<void> {
  const flags = vma_flags(ctx, vma);
  mapcount_mod(ctx, folio, nr, flags, 'folio_add_anon_rmap_ptes');
  if (exclusive) fset(ctx, folio, F.ANON_EXCLUSIVE, 1);
  if (!folio_test_large(ctx, folio)) yield* mlock_vma_folio(ctx, folio, flags);
}

/**
 * folio_add_file_rmap_ptes() (mm/rmap.c, v6.8+; page_add_file_rmap before): mapcount += nr;
 * a small folio in a locked VMA is mlocked (mlock_vma_folio -> mlock_folio, an MLOCK entry on
 * this CPU). Large folios are left to reclaim (v6.8..v6.18).
 */
export function* folio_add_file_rmap_ptes(ctx: KernelCtx, folio: number, nr: number, vma: number): KGen<void> {
  const flags = vma_flags(ctx, vma);
  mapcount_mod(ctx, folio, nr, flags, 'folio_add_file_rmap_ptes');
  if (!folio_test_large(ctx, folio)) yield* mlock_vma_folio(ctx, folio, flags);
}

/**
 * folio_remove_rmap_ptes() (mm/rmap.c, v6.8+): mapcount -= nr, then munlock_vma_folio() for
 * any folio size: in a VM_LOCKED VMA a MUNLOCK entry is queued on this CPU ("always munlock,
 * reclaim corrects it"). The caller drops the MAP references (after the TLB flush).
 */
export function* folio_remove_rmap_ptes(ctx: KernelCtx, folio: number, nr: number, vma: number): KGen<void> {
  const flags = vma_flags(ctx, vma);
  mapcount_mod(ctx, folio, -nr, flags, 'folio_remove_rmap_ptes');
  yield* munlock_vma_folio(ctx, folio, flags);
}

/**
 * folio_try_dup_anon_rmap_ptes() (include/linux/rmap.h, v6.8+) as fork's copy_present_ptes()
 * uses it: the child maps the same pages, both PTEs are write-protected, the pages stop being
 * anon-exclusive. `dstVma` is the child's VMA (never VM_LOCKED: not inherited).
 */
export function folio_try_dup_anon_rmap_ptes(ctx: KernelCtx, folio: number, nr: number, dstVma: number): void {
  fset(ctx, folio, F.ANON_EXCLUSIVE, 0);
  mapcount_mod(ctx, folio, nr, vma_flags(ctx, dstVma), 'folio_try_dup_anon_rmap_ptes');
}
/** folio_dup_file_rmap_ptes() (include/linux/rmap.h, v6.8+): fork copies a file PTE. */
export function folio_dup_file_rmap_ptes(ctx: KernelCtx, folio: number, nr: number, dstVma: number): void {
  mapcount_mod(ctx, folio, nr, vma_flags(ctx, dstVma), 'folio_dup_file_rmap_ptes');
}

/**
 * try_to_migrate() / try_to_migrate_one() (mm/rmap.c, v5.18+): replace every PTE mapping the
 * folio with a migration entry. Per PTE, under the PTL: the TLB flush (ptep_clear_flush(), or with
 * TTU_BATCH_FLUSH, `batch`, deferred to try_to_unmap_flush()), remove the rmap (MUNLOCK queued in
 * a VM_LOCKED VMA), mlock_drain_local() if VM_LOCKED, drop the mapping's reference. So the unmap
 * never leaves a local mlock-batch reference behind (spec §3.8). The caller holds the folio lock
 * and an isolation reference.
 */
export function* try_to_migrate(ctx: KernelCtx, folio: number, batch: boolean): KGen<void> {
  const present = folio + 1;
  for (const m of folio_pte_mappings(ctx, folio)) {
    if (m.raw !== present) continue;
    yield* pte_lock(ctx, m.vma, m.page);
    try {
      if (pte_get(ctx, m.vma, m.page) !== present) continue; // zapped meanwhile
      // The anon-exclusive bit travels in the migration entry; F.ANON_EXCLUSIVE of the source
      // keeps it for remove_migration_ptes().
      pte_set(ctx, m.vma, m.page, make_migration_entry(folio));
      if (batch && should_defer_flush(ctx, m.vma)) set_tlb_ubc_flush_pending(ctx, m.vma);
      else flush_tlb_page(ctx, m.vma);
      yield* folio_remove_rmap_ptes(ctx, folio, 1, m.vma);
      if (vma_flags(ctx, m.vma) & VM.LOCKED) mlock_drain_local(ctx);
      folio_put(ctx, folio, Holder.MAP, 'try_to_migrate_one');
    } finally {
      pte_unlock(ctx, m.vma, m.page);
    }
  }
}

/**
 * remove_migration_ptes() / remove_migration_pte() (mm/migrate.c, v5.18+): turn every
 * migration entry for `src` into a PTE mapping `dst` (dst == src when migration is undone).
 * Per entry, under the PTL: take a MAP reference on dst, re-add the rmap (an MLOCK entry for a
 * small folio in a locked VMA), mlock_drain_local() if VM_LOCKED (spec §3.8).
 */
export function* remove_migration_ptes(ctx: KernelCtx, src: number, dst: number): KGen<void> {
  const entry = make_migration_entry(src);
  const anon = folio_test_anon(ctx, src);
  if (anon && fw(ctx, dst, F.MAPPING) === MappingKind.NONE) {
    // folio_migrate_mapping() moves ->mapping/->index before the remap; keep the rmap walkable
    // if the caller has not done so.
    fset(ctx, dst, F.MAPPING, MappingKind.ANON);
    fset(ctx, dst, F.MAPPING_ID, fw(ctx, src, F.MAPPING_ID));
    fset(ctx, dst, F.INDEX, fw(ctx, src, F.INDEX));
  }
  const exclusive = anon && fw(ctx, src, F.ANON_EXCLUSIVE) !== 0;
  for (const m of folio_pte_mappings(ctx, src)) {
    if (m.raw !== entry) continue;
    yield* pte_lock(ctx, m.vma, m.page);
    try {
      if (pte_get(ctx, m.vma, m.page) !== entry) continue;
      folio_get(ctx, dst, Holder.MAP, 'remove_migration_pte');
      if (anon) yield* folio_add_anon_rmap_ptes(ctx, dst, 1, m.vma, exclusive);
      else yield* folio_add_file_rmap_ptes(ctx, dst, 1, m.vma);
      pte_set(ctx, m.vma, m.page, dst + 1);
      if (vma_flags(ctx, m.vma) & VM.LOCKED) mlock_drain_local(ctx);
    } finally {
      pte_unlock(ctx, m.vma, m.page);
    }
  }
}
