// Page faults, copy-on-write, zap/munmap and fork (mm/memory.c, mm/vma.c, kernel/fork.c; folio
// names of v6.8+): the paths that feed the per-CPU batches (spec §5) and the COW reuse test
// (spec §6.1). References: a fault's allocation or lookup reference (TEMP) becomes the PTE's
// MAP reference; zap drops MAP references after the TLB flush.
import { Holder, MappingKind, PG, VM } from './constants.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import {
  folio_get,
  folio_nr_pages,
  folio_put,
  folio_put_refs,
  folio_ref_count,
  folio_ref_mod,
  folio_set,
  folio_test_anon,
  folio_test_large,
  folio_test_lru,
  folio_test_swapcache,
  folio_trylock,
  folio_unlock,
  fset,
  fw,
  ledger_transfer,
} from './folio.js';
import { filemap_fault } from './filemap.js';
import { F, PTRS_PER_PTE, Stat } from './layout.js';
import { count_event } from './locks.js';
import { folio_alloc } from './page_alloc.js';
import { folio_add_file_rmap_ptes, folio_add_new_anon_rmap, folio_dup_file_rmap_ptes, folio_remove_rmap_ptes, folio_try_dup_anon_rmap_ptes } from './rmap.js';
import { shmem_fault } from './shmem.js';
import { folio_add_lru_vma, folio_mark_accessed, lru_add_drain } from './swap.js';
import {
  is_migration_entry,
  obj_kind,
  pte_get,
  pte_lock,
  pte_lock_spin,
  pte_table_end,
  pte_tables,
  pte_walk_tables,
  pte_none,
  pte_set,
  pte_unlock,
  vma_create,
  vma_destroy,
  vma_flags,
  vma_npages,
  vma_obj,
  vma_pgoff,
} from './vma.js';
import { flush_tlb_mm, tlb_flush_freed_tables } from './tlb.js';
import { wait_event } from './wait.js';

/** A fault handler's "nothing mapped, go round again" (VM_FAULT_NOPAGE / VM_FAULT_RETRY). */
const RETRY = -1;

// ---- the fault entry point ----------------------------------------------------------------

/**
 * handle_mm_fault() -> handle_pte_fault() (mm/memory.c, all versions): fault page `page` of
 * `vma` in; returns the folio now mapped there. A migration entry is waited out
 * (migration_entry_wait) and the fault retried. Read faults on anonymous memory allocate like
 * write faults (the shared zero page is not modelled).
 */
export function* handle_mm_fault(ctx: KernelCtx, vma: number, page: number, write: boolean): KGen<number> {
  for (;;) {
    const raw = pte_get(ctx, vma, page);
    let r: number;
    if (is_migration_entry(raw)) {
      yield* wait_event(ctx, () => !is_migration_entry(pte_get(ctx, vma, page)), 'migration_entry_wait');
      continue;
    } else if (pte_none(raw)) {
      r = vma_obj(ctx, vma) < 0 ? yield* do_anonymous_page(ctx, vma, page) : yield* do_fault(ctx, vma, page, write);
    } else if (!write) {
      return raw - 1;
    } else {
      r = yield* do_wp_page(ctx, vma, page);
    }
    if (r !== RETRY) return r;
  }
}

/**
 * follow_page_pte() (mm/gup.c, v6.x) for GUP: the folio mapped at `page`, or -1 when GUP must
 * fault first: no PTE, a migration entry, or (`write`, FOLL_WRITE) a PTE that is not writable
 * without COW: an anon page that is not anon-exclusive (also gup_must_unshare() for FOLL_PIN),
 * or a page-cache page in a private mapping.
 */
export function follow_page_pte(ctx: KernelCtx, vma: number, page: number, write = false): number {
  const raw = pte_get(ctx, vma, page);
  if (raw <= 0) return -1;
  const folio = raw - 1;
  if (write && !(vma_flags(ctx, vma) & VM.SHARED)) {
    if (!folio_test_anon(ctx, folio) || fw(ctx, folio, F.ANON_EXCLUSIVE) === 0) return -1;
  }
  return folio;
}

// ---- anonymous faults (spec §5.2) ---------------------------------------------------------

/**
 * Install a new anon folio at an empty PTE, as do_anonymous_page() and do_cow_fault() end
 * (mm/memory.c, v6.8+): under the PTL, folio_add_new_anon_rmap(), folio_add_lru_vma() (an
 * mlock NEW entry in a locked VMA, else an lru_add entry), set the PTE; the allocation
 * reference becomes the MAP reference. Returns false (nothing installed) if the PTE is taken.
 */
function* map_new_anon_folio(ctx: KernelCtx, vma: number, page: number, folio: number): KGen<boolean> {
  yield* pte_lock(ctx, vma, page);
  try {
    if (!pte_none(pte_get(ctx, vma, page))) return false; // raced with another fault
    folio_add_new_anon_rmap(ctx, folio, vma, page);
    yield* folio_add_lru_vma(ctx, folio, vma_flags(ctx, vma));
    ledger_transfer(ctx, folio, Holder.TEMP, Holder.MAP, 1);
    pte_set(ctx, vma, page, folio + 1);
    return true;
  } finally {
    pte_unlock(ctx, vma, page);
  }
}

/**
 * do_anonymous_page() (mm/memory.c, v6.8+; small folios): allocate (GFP_HIGHUSER_MOVABLE:
 * CMA/ZONE_MOVABLE unless PF_MEMALLOC_PIN), mark uptodate, map. Ledger after: MAP1 +
 * LRU_BATCH1 (unlocked VMA) or MAP1 + MLOCK_BATCH1 with PG_mlocked (locked VMA).
 */
export function* do_anonymous_page(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  const folio = folio_alloc(ctx, 0, true);
  folio_set(ctx, folio, PG.uptodate); // __folio_mark_uptodate()
  if (yield* map_new_anon_folio(ctx, vma, page, folio)) return folio;
  folio_put(ctx, folio, Holder.TEMP, 'do_anonymous_page');
  return RETRY;
}

// ---- file and shmem faults (spec §5.3) ----------------------------------------------------

/** do_fault() (mm/memory.c): read, private-write (COW) or shared-write fault on an empty PTE. */
export function* do_fault(ctx: KernelCtx, vma: number, page: number, write: boolean): KGen<number> {
  if (!write) return yield* do_read_fault(ctx, vma, page);
  if (!(vma_flags(ctx, vma) & VM.SHARED)) return yield* do_cow_fault(ctx, vma, page);
  return yield* do_shared_fault(ctx, vma, page);
}

/**
 * __do_fault() (mm/memory.c): vma->vm_ops->fault (shmem_fault or filemap_fault): the folio,
 * locked, with the fault's TEMP reference. A page-cache miss has by now inserted it and queued
 * it on this CPU's lru_add batch; the rmap add has not happened yet (yield point 6, spec §8).
 */
export function* __do_fault(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  const obj = vma_obj(ctx, vma);
  const index = vma_pgoff(ctx, vma) + page;
  const folio = obj_kind(ctx, obj) === MappingKind.SHMEM ? yield* shmem_fault(ctx, obj, index) : yield* filemap_fault(ctx, obj, index);
  yield YP.FAULT_BEFORE_RMAP;
  return folio;
}

/**
 * set_pte_range() (mm/memory.c, v6.8+) for a page-cache folio: the fault's references become
 * the PTEs' MAP references, folio_add_file_rmap_ptes() (mlock_folio for a small folio in a
 * locked VMA, with PG_locked still held), then the PTEs. Caller holds the PTL.
 */
export function* set_pte_range(ctx: KernelCtx, vma: number, folio: number, page: number, nr: number): KGen<void> {
  ledger_transfer(ctx, folio, Holder.TEMP, Holder.MAP, nr);
  yield* folio_add_file_rmap_ptes(ctx, folio, nr, vma);
  for (let i = 0; i < nr; i++) pte_set(ctx, vma, page + i, folio + 1);
}

/**
 * finish_fault() (mm/memory.c, v6.12+): map the whole folio when it lies inside the VMA and one
 * page table and all its PTEs are empty (so a large shmem folio is fully PTE-mapped, spec S8), else just `page`.
 * Takes nr - 1 more references first (folio_ref_add). Returns false if the PTE got populated.
 */
export function* finish_fault(ctx: KernelCtx, vma: number, page: number, folio: number): KGen<boolean> {
  const nrPages = folio_nr_pages(ctx, folio);
  const first = page - (vma_pgoff(ctx, vma) + page - fw(ctx, folio, F.INDEX));
  yield* pte_lock(ctx, vma, page);
  try {
    if (!pte_none(pte_get(ctx, vma, page))) return false;
    let start = page;
    let nr = 1;
    // The run must lie in the VMA and in one page table, whose lock is held (the kernel's bounds
    // on vma_off and pte_off; else nr_pages = 1).
    const oneTable = Math.floor(first / PTRS_PER_PTE) === Math.floor((first + nrPages - 1) / PTRS_PER_PTE);
    if (nrPages > 1 && first >= 0 && first + nrPages <= vma_npages(ctx, vma) && oneTable) {
      let allNone = true;
      for (let i = 0; i < nrPages && allNone; i++) allNone = pte_none(pte_get(ctx, vma, first + i));
      if (allNone) {
        start = first;
        nr = nrPages;
      }
    }
    // 6.12: folio_ref_add(folio, nr - 1) whatever nr is (traced as val=0 for one page).
    if (nr > 1 || ctx.policy.switches.finishFaultRefAdd) folio_ref_mod(ctx, folio, nr - 1, Holder.TEMP, 'finish_fault');
    yield* set_pte_range(ctx, vma, folio, start, nr);
    return true;
  } finally {
    pte_unlock(ctx, vma, page);
  }
}

/** do_read_fault() (mm/memory.c; fault-around not modelled): map the page-cache folio. */
export function* do_read_fault(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  const folio = yield* __do_fault(ctx, vma, page);
  const ok = yield* finish_fault(ctx, vma, page, folio);
  folio_unlock(ctx, folio);
  if (ok) return folio;
  folio_put(ctx, folio, Holder.TEMP, 'do_read_fault');
  return RETRY;
}

/**
 * do_shared_fault() (mm/memory.c): as a read fault, then fault_dirty_shared_page() marks the
 * folio dirty and unlocks it (Will's folio: dirty appears after the mlock_folio trace line).
 */
export function* do_shared_fault(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  const folio = yield* __do_fault(ctx, vma, page);
  const ok = yield* finish_fault(ctx, vma, page, folio);
  if (!ok) {
    folio_unlock(ctx, folio);
    folio_put(ctx, folio, Holder.TEMP, 'do_shared_fault');
    return RETRY;
  }
  folio_set(ctx, folio, PG.dirty); // folio_mark_dirty()
  folio_unlock(ctx, folio);
  return folio;
}

/**
 * do_cow_fault() (mm/memory.c): write fault on an empty PTE of a private file mapping: copy the
 * page-cache folio into a new anon folio and map that (as do_anonymous_page).
 */
export function* do_cow_fault(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  const copy = folio_alloc(ctx, 0, true);
  const folio = yield* __do_fault(ctx, vma, page);
  folio_set(ctx, copy, PG.uptodate); // copy_user_highpage + __folio_mark_uptodate
  const ok = yield* map_new_anon_folio(ctx, vma, page, copy);
  folio_unlock(ctx, folio);
  folio_put(ctx, folio, Holder.TEMP, 'do_cow_fault');
  if (ok) return copy;
  folio_put(ctx, copy, Holder.TEMP, 'do_cow_fault');
  return RETRY;
}

// ---- write-protect faults (spec §6.1) -----------------------------------------------------

/**
 * wp_can_reuse_anon_folio() (mm/memory.c, v6.5+; small folios): fail fast above 3 references
 * (mapping + swapcache + one LRU-cache reference), drain the local batches if !PG_lru, then
 * reuse only if the mapping's is the only reference. Local drain only: a batch reference on
 * another CPU forces a copy (spec S4). Large folios are always copied here.
 */
export function wp_can_reuse_anon_folio(ctx: KernelCtx, folio: number, vma: number): boolean {
  if (folio_test_large(ctx, folio)) return false;
  if (folio_ref_count(ctx, folio) > 3) return false;
  if (!folio_test_lru(ctx, folio)) lru_add_drain(ctx); // it may be in this CPU's LRU cache
  if (folio_ref_count(ctx, folio) > 1 + (folio_test_swapcache(ctx, folio) ? 1 : 0)) return false;
  if (!folio_trylock(ctx, folio)) return false;
  if (folio_ref_count(ctx, folio) !== 1) {
    // folio_free_swap() not modelled
    folio_unlock(ctx, folio);
    return false;
  }
  fset(ctx, folio, F.MAPPING_ID, vma); // folio_move_anon_rmap()
  folio_unlock(ctx, folio);
  return true;
}

/**
 * do_wp_page() (mm/memory.c, v6.x): write to a present PTE. Shared mapping: dirty it
 * (wp_page_shared). Anon-exclusive page: already writable. Other anon: reuse if
 * wp_can_reuse_anon_folio() (Stat.COW_REUSE), else copy (Stat.COW_COPY), as for page-cache
 * pages in a private mapping.
 */
export function* do_wp_page(ctx: KernelCtx, vma: number, page: number): KGen<number> {
  yield* pte_lock(ctx, vma, page);
  let folio: number;
  try {
    const raw = pte_get(ctx, vma, page);
    if (raw <= 0) return RETRY;
    folio = raw - 1;
    if (vma_flags(ctx, vma) & VM.SHARED) {
      folio_set(ctx, folio, PG.dirty);
      return folio;
    }
    if (folio_test_anon(ctx, folio)) {
      if (fw(ctx, folio, F.ANON_EXCLUSIVE) !== 0) return folio;
      if (wp_can_reuse_anon_folio(ctx, folio, vma)) {
        // wp_page_reuse(): the PTE becomes writable, the page exclusive again.
        fset(ctx, folio, F.ANON_EXCLUSIVE, 1);
        folio_set(ctx, folio, PG.dirty);
        count_event(ctx, Stat.COW_REUSE);
        return folio;
      }
    }
    count_event(ctx, Stat.COW_COPY);
    folio_get(ctx, folio, Holder.TEMP, 'do_wp_page');
  } finally {
    pte_unlock(ctx, vma, page);
  }
  return yield* wp_page_copy(ctx, vma, page, folio);
}

/**
 * wp_page_copy() (mm/memory.c, v6.8+): copy into a new anon folio; under the PTL add its rmap,
 * folio_add_lru_vma() (NEW entry in a locked VMA), switch the PTE, then remove the old folio's
 * rmap (a MUNLOCK entry in a locked VMA). The old PTE's MAP reference and do_wp_page's TEMP
 * reference are dropped after the PTL is released.
 */
export function* wp_page_copy(ctx: KernelCtx, vma: number, page: number, old: number): KGen<number> {
  const folio = folio_alloc(ctx, 0, true);
  folio_set(ctx, folio, PG.uptodate);
  let copied = false;
  yield* pte_lock(ctx, vma, page);
  try {
    if (pte_get(ctx, vma, page) === old + 1) {
      folio_add_new_anon_rmap(ctx, folio, vma, page);
      yield* folio_add_lru_vma(ctx, folio, vma_flags(ctx, vma));
      ledger_transfer(ctx, folio, Holder.TEMP, Holder.MAP, 1);
      pte_set(ctx, vma, page, folio + 1); // ptep_clear_flush() + set_pte_at()
      yield* folio_remove_rmap_ptes(ctx, old, 1, vma);
      copied = true;
    }
  } finally {
    pte_unlock(ctx, vma, page);
  }
  if (copied) folio_put(ctx, old, Holder.MAP, 'wp_page_copy');
  else folio_put(ctx, folio, Holder.TEMP, 'wp_page_copy');
  folio_put(ctx, old, Holder.TEMP, 'wp_page_copy');
  return copied ? folio : RETRY;
}

// ---- unmap (spec §5.4) --------------------------------------------------------------------

/**
 * zap_pte_range() (mm/memory.c, v6.8+): clear PTEs [start, end). Consecutive PTEs of one folio
 * go together (folio_pte_batch) into one folio_remove_rmap_ptes(), which queues one MUNLOCK
 * entry per folio in a locked VMA. Migration entries are just cleared. The MAP references are
 * dropped after the TLB flush (tlb_finish_mmu -> free_pages_and_swap_cache -> folios_put_refs).
 * A file folio whose PTE is young is marked accessed first (zap_present_folio_ptes() v6.10+;
 * zap_pte_range() before, once per PTE, which differs only for a large folio mapped by several):
 * PTE young bits are not modelled, and every present PTE was made by an access, so all count as
 * young. Found by `folio-race kernel S7b` on 6.1.192 (pgactivate 1 per trial, emulator 0).
 */
export function* zap_pte_range(ctx: KernelCtx, vma: number, start: number, end: number): KGen<void> {
  const gather: { folio: number; nr: number }[] = [];
  let cleared = false;
  // One page-table page at a time, under its lock (zap_pmd_range() -> zap_pte_range()).
  yield* pte_walk_tables(ctx, vma, start, end, function* (first, stop) {
    let page = first;
    while (page < stop) {
      const raw = pte_get(ctx, vma, page);
      if (raw === 0) {
        page++;
        continue;
      }
      cleared = true;
      if (raw < 0) {
        pte_set(ctx, vma, page, 0);
        page++;
        continue;
      }
      let nr = 1;
      while (page + nr < stop && pte_get(ctx, vma, page + nr) === raw) nr++;
      for (let i = 0; i < nr; i++) pte_set(ctx, vma, page + i, 0); // ptep_get_and_clear_full()
      if (!folio_test_anon(ctx, raw - 1)) yield* folio_mark_accessed(ctx, raw - 1);
      yield* folio_remove_rmap_ptes(ctx, raw - 1, nr, vma);
      gather.push({ folio: raw - 1, nr });
      page += nr;
    }
  });
  // tlb_finish_mmu(): the TLB flush (the only caller is munmap, whose free_pgtables() freed the
  // tables), then free_pages_and_swap_cache(): a local drain first where the kernel has it.
  if (cleared) tlb_flush_freed_tables(ctx, vma);
  if (gather.length > 0 && ctx.policy.switches.tlbFreeDrains) lru_add_drain(ctx);
  for (const g of gather) folio_put_refs(ctx, g.folio, g.nr, Holder.MAP, 'tlb_finish_mmu');
}

/**
 * munmap of a whole VMA: unmap_region() (mm/vma.c, v6.12; mm/mmap.c before): a local
 * lru_add_drain() first, then zap the page table, then the VMA is gone. In a locked VMA the
 * zap leaves MUNLOCK entries in this CPU's mlock batch.
 */
export function* unmap_vma(ctx: KernelCtx, vma: number): KGen<void> {
  lru_add_drain(ctx);
  yield* zap_pte_range(ctx, vma, 0, vma_npages(ctx, vma));
  vma_destroy(ctx, vma);
}

// ---- fork (spec S4) -----------------------------------------------------------------------

/**
 * dup_mmap() -> copy_page_range() -> copy_present_ptes() (kernel/fork.c, mm/memory.c, v6.8+):
 * the child's VMA, without VM_LOCKED/VM_LOCKONFAULT (not inherited). A VMA holding anon
 * pages has its PTEs copied: +1 MAP reference and +1 mapcount each; anon pages become
 * write-protected and shared (not anon-exclusive) in both. Migration entries are copied as
 * they are. Other VMAs are left to fault in the child. Returns the child's VMA.
 */
export function fork_vma(ctx: KernelCtx, vma: number, childMm: number): number {
  const child = copy_vma(ctx, vma, childMm);
  flush_tlb_mm(ctx, vma); // dup_mmap() ends with flush_tlb_mm(oldmm): its anon PTEs are write-protected now
  return child;
}

/** dup_mmap()'s copy of one VMA (vm_area_dup(), copy_page_range()), before the flush. */
function copy_vma(ctx: KernelCtx, vma: number, childMm: number): number {
  const obj = vma_obj(ctx, vma);
  const npages = vma_npages(ctx, vma);
  const child = vma_create(ctx, {
    npages,
    obj,
    pgoff: vma_pgoff(ctx, vma),
    mm: childMm,
    flags: vma_flags(ctx, vma) & ~(VM.LOCKED | VM.LOCKONFAULT),
  });
  let hasAnon = obj < 0; // vma_needs_copy(): src_vma->anon_vma
  for (let p = 0; p < npages && !hasAnon; p++) {
    const raw = pte_get(ctx, vma, p);
    if (raw > 0 && folio_test_anon(ctx, raw - 1)) hasAnon = true;
  }
  if (!hasAnon) return child;
  // copy_pte_range(), one page-table page at a time: the child's lock, then the parent's (spin_lock_nested()).
  for (const table of pte_tables(0, npages)) {
    pte_lock_spin(ctx, child, table);
    try {
      pte_lock_spin(ctx, vma, table);
      try {
        const stop = pte_table_end(table, npages);
        for (let p = table; p < stop; p++) {
          const raw = pte_get(ctx, vma, p);
          if (raw === 0) continue;
          if (raw > 0) {
            const folio = raw - 1;
            folio_get(ctx, folio, Holder.MAP, 'copy_present_ptes');
            if (folio_test_anon(ctx, folio)) folio_try_dup_anon_rmap_ptes(ctx, folio, 1, child);
            else folio_dup_file_rmap_ptes(ctx, folio, 1, child);
          }
          pte_set(ctx, child, p, raw);
        }
      } finally {
        pte_unlock(ctx, vma, table);
      }
    } finally {
      pte_unlock(ctx, child, table);
    }
  }
  return child;
}
