// The syscall half of mlock (mm/mlock.c mlock_fixup/mlock_vma_pages_range/mlock_pte_range,
// v6.8+; mm/gup.c populate_vma_page_range): setting VM_LOCKED on a VMA, mlocking or munlocking
// the folios it already maps between two local drains, and populating it unless MLOCK_ONFAULT
// (spec §5.1). The per-folio batch operations are in mlock.ts.
import { VM, VM_SPECIAL } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_nr_pages, folio_test_large } from './folio.js';
import { handle_mm_fault, follow_page_pte } from './memory.js';
import { mlock_folio, munlock_folio } from './mlock.js';
import { locked_maps_mod } from './rmap.js';
import { lru_add_drain } from './swap.js';
import { pte_get, pte_lock, pte_tables, pte_unlock, pte_walk_tables, vma_flags, vma_npages, vma_set_flags } from './vma.js';

/**
 * allow_mlock_munlock() (mm/mlock.c, v6.8+): munlock anything; mlock a large folio only if this
 * VMA maps all of it (`step` consecutive PTEs from its first page).
 */
function allow_mlock_munlock(ctx: KernelCtx, folio: number, vmaFlags: number, step: number): boolean {
  if (!(vmaFlags & VM.LOCKED)) return true;
  if (!folio_test_large(ctx, folio)) return true;
  return step === folio_nr_pages(ctx, folio);
}

/**
 * mlock_pte_range() (mm/mlock.c, v6.8+): under the PTL, mlock_folio() (VMA now VM_LOCKED) or
 * munlock_folio() each mapped folio once; a large folio counts once per run of its PTEs.
 */
function* mlock_pte_range(ctx: KernelCtx, vma: number): KGen<void> {
  const n = vma_npages(ctx, vma);
  // One page-table page at a time, under its lock (walk_page_range() calls it per PMD).
  yield* pte_walk_tables(ctx, vma, 0, n, function* (first, stop) {
    let page = first;
    while (page < stop) {
      const raw = pte_get(ctx, vma, page);
      if (raw <= 0) {
        page++;
        continue;
      } // none, or a migration entry: remap handles it
      const folio = raw - 1;
      let step = 1;
      if (folio_test_large(ctx, folio)) {
        // folio_mlock_step()
        while (page + step < stop && pte_get(ctx, vma, page + step) === raw) step++;
      }
      const flags = vma_flags(ctx, vma);
      if (allow_mlock_munlock(ctx, folio, flags, step)) {
        if (flags & VM.LOCKED) yield* mlock_folio(ctx, folio);
        else yield* munlock_folio(ctx, folio);
      }
      page += step;
    }
  });
}

/**
 * mlock_vma_pages_range() (mm/mlock.c, v6.2+): store the new flags (with VM_IO while mlocking,
 * so racing rmap adds skip mlock_vma_folio and nothing is counted twice), drain locally, walk
 * the page table, drain locally again, drop VM_IO. The syscall leaves nothing queued here.
 * The flags change and the LOCKED_MAPS adjustment of already-mapped folios are one step under
 * the PTL (the kernel holds mmap_lock for write, so no fault runs concurrently).
 */
function* mlock_vma_pages_range(ctx: KernelCtx, vma: number, newflags: number): KGen<void> {
  const locking = (newflags & VM.LOCKED) !== 0;
  const delta = locking ? 1 : -1;
  // Every page-table lock of the VMA, in order (nobody else holds two), so the flags and the
  // counts change in one section against every fault.
  const tables = pte_tables(0, vma_npages(ctx, vma));
  let held = 0;
  try {
    for (const table of tables) {
      yield* pte_lock(ctx, vma, table);
      held++;
    }
    vma_set_flags(ctx, vma, locking ? newflags | VM.IO : newflags);
    const n = vma_npages(ctx, vma);
    for (let p = 0; p < n; p++) {
      const raw = pte_get(ctx, vma, p);
      if (raw > 0) locked_maps_mod(ctx, raw - 1, delta);
    }
  } finally {
    for (let k = held - 1; k >= 0; k--) pte_unlock(ctx, vma, tables[k]!);
  }
  lru_add_drain(ctx);
  yield* mlock_pte_range(ctx, vma);
  lru_add_drain(ctx);
  if (locking) vma_set_flags(ctx, vma, newflags);
}

/**
 * mlock_fixup() (mm/mlock.c, v6.x) for a whole VMA: VM_SPECIAL VMAs are never locked; a VMA
 * that stays locked only has its flags replaced ("mlocking twice would be wrong"); otherwise
 * mlock_vma_pages_range().
 */
function* mlock_fixup(ctx: KernelCtx, vma: number, newflags: number): KGen<void> {
  const old = vma_flags(ctx, vma);
  if (newflags === old || old & VM_SPECIAL) return;
  if (old & VM.LOCKED && newflags & VM.LOCKED) {
    vma_set_flags(ctx, vma, newflags);
    return;
  }
  if (!(old & VM.LOCKED) && !(newflags & VM.LOCKED)) {
    vma_set_flags(ctx, vma, newflags);
    return;
  }
  yield* mlock_vma_pages_range(ctx, vma, newflags);
}

/**
 * populate_vma_page_range() (mm/gup.c, v6.x) as __mm_populate() uses it: fault every page in
 * (a write fault for private writable mappings, so COW is broken now), then lru_add_drain().
 * VM_LOCKONFAULT and VM_IO/VM_PFNMAP VMAs are skipped.
 */
export function* populate_vma_page_range(ctx: KernelCtx, vma: number): KGen<void> {
  const flags = vma_flags(ctx, vma);
  if (flags & (VM.LOCKONFAULT | VM.IO | VM.PFNMAP)) return;
  const write = (flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  const n = vma_npages(ctx, vma);
  for (let p = 0; p < n; p++) {
    if (follow_page_pte(ctx, vma, p, write) < 0) yield* handle_mm_fault(ctx, vma, p, write);
  }
  lru_add_drain(ctx);
}

/**
 * mlock(2) / mlock2(MLOCK_ONFAULT) on a whole VMA (mm/mlock.c do_mlock, v6.x): set VM_LOCKED
 * (+VM_LOCKONFAULT), mlock what is mapped, then populate unless on-fault.
 */
export function* do_mlock(ctx: KernelCtx, vma: number, flags: { onfault: boolean }): KGen<void> {
  const old = vma_flags(ctx, vma);
  const newflags = (old & ~VM.LOCKONFAULT) | VM.LOCKED | (flags.onfault ? VM.LOCKONFAULT : 0);
  yield* mlock_fixup(ctx, vma, newflags);
  if (!flags.onfault && !(old & VM_SPECIAL)) yield* populate_vma_page_range(ctx, vma);
}

/** munlock(2) on a whole VMA (mm/mlock.c, v6.x): clear VM_LOCKED|VM_LOCKONFAULT, munlock what is mapped. */
export function* do_munlock(ctx: KernelCtx, vma: number): KGen<void> {
  yield* mlock_fixup(ctx, vma, vma_flags(ctx, vma) & ~(VM.LOCKED | VM.LOCKONFAULT));
}
