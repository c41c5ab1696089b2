// Folio migration as far as references are concerned (mm/migrate.c, 6.11/6.12-era structure;
// folio_expected_ref_count() from include/linux/mm.h, v6.16+). Spec §4.6-4.7.
//
// migrate_pages() -> migrate_pages_sync() (MIGRATE_SYNC: one batched MIGRATE_ASYNC pass of up to
// 3 move attempts, then each failed folio alone in MIGRATE_SYNC for up to 7) ->
// migrate_pages_batch() (unmap phase, then move passes) -> migrate_folio_unmap() /
// migrate_folio_move() -> move_to_new_folio() -> __migrate_folio() -> __folio_migrate_mapping().
//
// Invariant I15 lives in __migrate_folio() and __folio_migrate_mapping(): the move commits only
// when the source holds exactly folio_expected_ref_count() + 1 references (the +1 being our
// isolation reference), checked early and then by folio_ref_freeze().
import { Errno, Holder, MappingKind, PG } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import {
  folio_clear,
  folio_get,
  folio_mapcount,
  folio_mapped,
  folio_nr_pages,
  folio_order,
  folio_put,
  folio_ref_count,
  folio_ref_freeze,
  folio_ref_mod,
  folio_ref_unfreeze,
  folio_set,
  folio_test,
  folio_test_anon,
  folio_test_clear,
  folio_test_mlocked,
  folio_test_private,
  folio_test_swapcache,
  folio_test_writeback,
  folio_trylock,
  folio_unlock,
  fset,
  fw,
} from './folio.js';
import { F, Stat, folioBase } from './layout.js';
import { count_event } from './locks.js';
import { charge, COST } from './cost.js';
import { folio_alloc } from './page_alloc.js';
import { remove_migration_ptes, try_to_migrate } from './rmap.js';
import { folio_add_lru, lru_add_drain } from './swap.js';
import { page_cache_replace } from './vma.js';
import { wait_event } from './wait.js';
import { folio_lock } from './filemap.js';

/** enum migrate_mode (include/linux/migrate_mode.h). */
export const MigrateMode = { MIGRATE_ASYNC: 0, MIGRATE_SYNC_LIGHT: 1, MIGRATE_SYNC: 2 } as const;
export const { MIGRATE_ASYNC, MIGRATE_SYNC } = MigrateMode;

/** enum migrate_reason (include/linux/migrate_mode.h). */
export const MigrateReason = {
  MR_COMPACTION: 0,
  MR_MEMORY_FAILURE: 1,
  MR_MEMORY_HOTPLUG: 2,
  MR_SYSCALL: 3,
  MR_MEMPOLICY_MBIND: 4,
  MR_NUMA_MISPLACED: 5,
  MR_CONTIG_RANGE: 6,
  MR_LONGTERM_PIN: 7,
  MR_DEMOTION: 8,
} as const;
export const { MR_LONGTERM_PIN } = MigrateReason;

/** Retry limits (mm/migrate.c, v6.3+). */
export const NR_MAX_MIGRATE_PAGES_RETRY = 10;
export const NR_MAX_MIGRATE_ASYNC_RETRY = 3;
export const NR_MAX_MIGRATE_SYNC_RETRY = NR_MAX_MIGRATE_PAGES_RETRY - NR_MAX_MIGRATE_ASYNC_RETRY;
/** NR_MAX_BATCHED_MIGRATION = HPAGE_PMD_NR with 4K pages. */
export const NR_MAX_BATCHED_MIGRATION = 512;

export const MIGRATEPAGE_SUCCESS = 0;
export const MIGRATEPAGE_UNMAP = 1;
/** Old-state bits recorded in dst->private by migrate_folio_unmap() (v6.3+). */
export const PAGE_WAS_MAPPED = 1 << 0;
const PAGE_WAS_MLOCKED = 1 << 1;

/**
 * folio_expected_ref_count() (include/linux/mm.h, v6.16+): references the folio's "owners"
 * hold: swap cache (anon) or page cache + PG_private (file/shmem), plus one per mapping.
 * Batch references, PG_private_2 and the caller's own references are not counted. For the
 * unmapped folios migration sees, this equals the older folio_expected_refs() minus its +1.
 */
export function folio_expected_ref_count(ctx: KernelCtx, folio: number): number {
  const nr = folio_nr_pages(ctx, folio);
  let r = 0;
  if (folio_test_anon(ctx, folio) || ctx.policy.switches.expectedRefSwapCache === 'all') {
    r += folio_test_swapcache(ctx, folio) ? nr : 0;
  }
  if (!folio_test_anon(ctx, folio)) {
    r += fw(ctx, folio, F.MAPPING) !== MappingKind.NONE ? nr : 0;
    r += folio_test_private(ctx, folio) ? 1 : 0;
  }
  return r + folio_mapcount(ctx, folio);
}

/** The unmap-phase result for one folio: its destination and recorded old state. */
export interface Unmapped {
  src: number;
  dst: number;
  state: number;
}

/** Per-call accounting (struct migrate_pages_stats), in folios. */
export interface MigrateStats {
  nrSucceeded: number;
}

/** Drop `refs` ledger entries of `holder` without touching the refcount (it was set by unfreeze). */
function ledger_drop(ctx: KernelCtx, folio: number, holder: number, refs: number): void {
  Atomics.sub(ctx.w, folioBase(folio) + F.LEDGER + holder, refs);
}

/**
 * migrate_folio_done() (mm/migrate.c, v6.3+): the migrated (or freed-under-us) source loses its
 * isolation reference; normally the last one, so it is freed.
 */
function migrate_folio_done(ctx: KernelCtx, src: number): void {
  folio_put(ctx, src, Holder.ISOLATION, 'migrate_folio_done');
}

/** migrate_folio_undo_src() (mm/migrate.c, v6.3+): remap src to itself and unlock it. */
export function* migrate_folio_undo_src(ctx: KernelCtx, src: number, wasMapped: boolean, locked: boolean): KGen<void> {
  // remove_migration_ptes(src, src): re-adds rmaps; in a VM_LOCKED VMA that re-queues and
  // drains a local MLOCK, setting PG_mlocked again (spec §4.6 step 4).
  if (wasMapped) yield* remove_migration_ptes(ctx, src, src);
  if (locked) folio_unlock(ctx, src);
}

/** migrate_folio_undo_dst() (mm/migrate.c, v6.3+): the unused destination is freed. */
export function migrate_folio_undo_dst(ctx: KernelCtx, dst: number, locked: boolean): void {
  if (locked) folio_unlock(ctx, dst);
  folio_put(ctx, dst, Holder.TEMP, 'migrate_folio_undo_dst');
}

/**
 * migrate_folio_unmap() (mm/migrate.c, v6.3+): allocate dst (GFP_USER: pinnable), lock src,
 * record PAGE_WAS_MLOCKED / PAGE_WAS_MAPPED, and replace every PTE with a migration entry.
 * try_to_migrate() drops the MAP references and, in locked VMAs, queues and drains a local
 * MUNLOCK, which clears PG_mlocked on the isolated folio (spec §3.8).
 */
export function* migrate_folio_unmap(ctx: KernelCtx, src: number, mode: number, force = true): KGen<{ rc: number; u: Unmapped | null }> {
  if (folio_ref_count(ctx, src) === 1) {
    // Only our isolation reference is left: the folio was freed from under us.
    folio_clear(ctx, src, PG.active);
    folio_clear(ctx, src, PG.unevictable);
    migrate_folio_done(ctx, src);
    return { rc: MIGRATEPAGE_SUCCESS, u: null };
  }
  // alloc_migration_target() with GFP_USER: not movable, so never CMA / ZONE_MOVABLE.
  const dst = folio_alloc(ctx, folio_order(ctx, src), false);
  if (dst < 0) return { rc: Errno.ENOMEM, u: null };

  let state = 0;
  let rc: number = Errno.EAGAIN;
  let locked = false;
  let dstLocked = false;
  // biome-ignore lint/suspicious/noConfusingLabels: the kernel's `goto out` of migrate_folio_unmap()
  out: {
    if (!folio_trylock(ctx, src)) {
      // v6.3+: only MIGRATE_ASYNC gives up; 6.1 also gives up in passes 0-2 (`!force`).
      if (mode === MIGRATE_ASYNC || !force) break out;
      yield* folio_lock(ctx, src);
    }
    locked = true;
    if (folio_test_mlocked(ctx, src)) state |= PAGE_WAS_MLOCKED;
    if (folio_test_writeback(ctx, src)) {
      if (mode !== MIGRATE_SYNC) {
        rc = Errno.EBUSY;
        break out;
      }
      yield* wait_event(ctx, () => !folio_test_writeback(ctx, src), 'folio_wait_writeback');
    }
    if (!folio_trylock(ctx, dst)) break out;
    dstLocked = true;
    if (fw(ctx, src, F.MAPPING) === MappingKind.NONE) {
      // Orphaned page-cache folio with fs-private data: try_to_free_buffers(), not modelled.
      if (folio_test_private(ctx, src)) break out;
    } else if (folio_mapped(ctx, src)) {
      // v6.3+: MIGRATE_ASYNC defers the flush to one per batch (TTU_BATCH_FLUSH); 6.1.y flushes each PTE.
      yield* try_to_migrate(ctx, src, mode === MIGRATE_ASYNC && ctx.policy.switches.migrateStyle === 'batched');
      state |= PAGE_WAS_MAPPED;
    }
    if (!folio_mapped(ctx, src)) return { rc: MIGRATEPAGE_UNMAP, u: { src, dst, state } };
  }
  yield* migrate_folio_undo_src(ctx, src, (state & PAGE_WAS_MAPPED) !== 0, locked);
  migrate_folio_undo_dst(ctx, dst, dstLocked);
  return { rc, u: null };
}

/**
 * folio_migrate_flags() (mm/migrate.c, 6.x): carry the LRU-relevant flags to dst. Active moves;
 * otherwise PG_unevictable moves. PG_mlocked is not copied: the remap re-mlocks dst through
 * the rmap add in a VM_LOCKED VMA. The source loses PG_swapcache and PG_private.
 */
export function folio_migrate_flags(ctx: KernelCtx, dst: number, src: number): void {
  if (folio_test(ctx, src, PG.referenced)) folio_set(ctx, dst, PG.referenced);
  if (folio_test(ctx, src, PG.uptodate)) folio_set(ctx, dst, PG.uptodate);
  if (folio_test_clear(ctx, src, PG.active)) folio_set(ctx, dst, PG.active);
  else if (folio_test_clear(ctx, src, PG.unevictable)) folio_set(ctx, dst, PG.unevictable);
  if (folio_test(ctx, src, PG.workingset)) folio_set(ctx, dst, PG.workingset);
  // Dirty not already moved by __folio_migrate_mapping() (anon without swap cache).
  if (folio_test(ctx, src, PG.dirty)) folio_set(ctx, dst, PG.dirty);
  folio_clear(ctx, src, PG.swapcache);
  folio_clear(ctx, src, PG.private);
}

/**
 * __folio_migrate_mapping() (mm/migrate.c, 6.x): the commit point. Anon folios without swap
 * cache only compare the refcount; page-cache (and swap-cache) folios freeze src at exactly
 * `expectedCount`, hand the cache slot(s) and their nr references to dst, and unfreeze src at
 * expectedCount - nr (just the isolation reference, plus PG_private's if any).
 */
function __folio_migrate_mapping(ctx: KernelCtx, dst: number, src: number, expectedCount: number): number {
  const nr = folio_nr_pages(ctx, src);
  const anon = folio_test_anon(ctx, src);
  const swapcache = folio_test_swapcache(ctx, src);
  if (anon && !swapcache) {
    // No mapping: nobody can find the folio but through migration entries. I15: commit only at
    // refcount == expected + 1.
    if (folio_ref_count(ctx, src) !== expectedCount) return Errno.EAGAIN;
    fset(ctx, dst, F.MAPPING, MappingKind.ANON);
    fset(ctx, dst, F.MAPPING_ID, fw(ctx, src, F.MAPPING_ID));
    fset(ctx, dst, F.INDEX, fw(ctx, src, F.INDEX));
    if (folio_test(ctx, src, PG.swapbacked)) folio_set(ctx, dst, PG.swapbacked);
    return MIGRATEPAGE_SUCCESS;
  }
  // xas_lock_irq(): no scheduling point until the unfreeze. I15: the freeze succeeds only if
  // the refcount is exactly expected + 1 at this instant; any batch reference makes it fail.
  if (!folio_ref_freeze(ctx, src, expectedCount)) return Errno.EAGAIN;
  const holder = anon ? Holder.SWAPCACHE : Holder.PAGECACHE;
  fset(ctx, dst, F.MAPPING, fw(ctx, src, F.MAPPING));
  fset(ctx, dst, F.MAPPING_ID, fw(ctx, src, F.MAPPING_ID));
  fset(ctx, dst, F.INDEX, fw(ctx, src, F.INDEX));
  folio_ref_mod(ctx, dst, nr, holder, '__folio_migrate_mapping'); // the cache's references
  if (folio_test(ctx, src, PG.swapbacked)) folio_set(ctx, dst, PG.swapbacked);
  if (swapcache) folio_set(ctx, dst, PG.swapcache);
  if (folio_test_clear(ctx, src, PG.dirty)) folio_set(ctx, dst, PG.dirty);
  // Swap-cache slots are not modelled; page-cache slots move to dst.
  if (!anon && !page_cache_replace(ctx, fw(ctx, src, F.MAPPING_ID), fw(ctx, src, F.INDEX), src, dst)) {
    // Cannot happen while src is locked and frozen: the cache slot always holds it.
    throw new Error(`__folio_migrate_mapping: folio ${src} not in the page cache at its index`);
  }
  ledger_drop(ctx, src, holder, nr);
  folio_ref_unfreeze(ctx, src, expectedCount - nr);
  return MIGRATEPAGE_SUCCESS;
}

/**
 * __migrate_folio() (mm/migrate.c, v6.10+ with the early check; migrate_folio() /
 * filemap_migrate_folio() for anon, shmem and file folios). One move attempt = one refcount
 * check (Stat.MIGRATE_MOVE_ATTEMPT).
 */
function __migrate_folio(ctx: KernelCtx, dst: number, src: number): number {
  // v6.16: folio_expected_ref_count(src) + 1; 6.11/6.12: folio_expected_refs(), same value.
  const expectedCount = folio_expected_ref_count(ctx, src) + 1;
  count_event(ctx, Stat.MIGRATE_MOVE_ATTEMPT);
  // Check whether src has extra references before doing more work (I15): the 6.12 traces
  // show this early check failing, with no folio_ref_freeze attempted (spec §4.6). 6.1's
  // migrate_folio() has none: a page-cache folio goes straight to the freeze attempt.
  if (ctx.policy.switches.migrateEarlyRefCheck && folio_ref_count(ctx, src) !== expectedCount) return Errno.EAGAIN;
  // The copy's data is not modelled, its time is (migrateCopyNs per page). The early check's series
  // (Kefeng Wang, "support poison recover from migrate folio") copies before the mapping moves,
  // folio_mc_copy(), so a failed freeze has paid for it; 6.1.y's migrate_folio_extra() copies
  // after it moved (folio_migrate_copy()).
  const copyFirst = ctx.policy.switches.migrateEarlyRefCheck;
  if (copyFirst) charge(ctx, COST.MIGRATE_COPY, folio_nr_pages(ctx, src));
  const rc = __folio_migrate_mapping(ctx, dst, src, expectedCount);
  if (rc !== MIGRATEPAGE_SUCCESS) return rc;
  if (!copyFirst) charge(ctx, COST.MIGRATE_COPY, folio_nr_pages(ctx, src));
  if (!folio_test_anon(ctx, src) && folio_test_private(ctx, src)) {
    // folio_attach_private(dst, folio_detach_private(src)): the PRIVATE reference moves.
    folio_get(ctx, dst, Holder.PRIVATE, '__migrate_folio');
    folio_set(ctx, dst, PG.private);
    folio_clear(ctx, src, PG.private);
    folio_put(ctx, src, Holder.PRIVATE, '__migrate_folio');
  }
  folio_migrate_flags(ctx, dst, src);
  return MIGRATEPAGE_SUCCESS;
}

/** move_to_new_folio() (mm/migrate.c, 6.x): LRU folios only; clears src->mapping on success. */
function move_to_new_folio(ctx: KernelCtx, dst: number, src: number): number {
  const rc = __migrate_folio(ctx, dst, src);
  // Page-cache src->mapping is cleared before src is freed; anon keeps PAGE_MAPPING_ANON.
  if (rc === MIGRATEPAGE_SUCCESS && !folio_test_anon(ctx, src)) fset(ctx, src, F.MAPPING, MappingKind.NONE);
  return rc;
}

/**
 * migrate_folio_move() (mm/migrate.c, v6.3+): one move attempt. On success dst goes to this
 * CPU's lru_add batch (drained at once if src was mlocked, so the remap's mlock can count it),
 * the migration entries are pointed at dst, dst's allocation reference and src's isolation
 * reference are dropped (src is freed). -EAGAIN leaves the pair for the next pass; any other
 * error undoes both.
 */
export function* migrate_folio_move(ctx: KernelCtx, u: Unmapped): KGen<number> {
  const { src, dst, state } = u;
  const rc = move_to_new_folio(ctx, dst, src);
  if (rc === Errno.EAGAIN) return rc;
  if (rc !== MIGRATEPAGE_SUCCESS) {
    yield* migrate_folio_undo_src(ctx, src, (state & PAGE_WAS_MAPPED) !== 0, true);
    migrate_folio_undo_dst(ctx, dst, true);
    return rc;
  }
  yield* folio_add_lru(ctx, dst);
  if (state & PAGE_WAS_MLOCKED) lru_add_drain(ctx);
  if (state & PAGE_WAS_MAPPED) yield* remove_migration_ptes(ctx, src, dst);
  folio_unlock(ctx, dst);
  folio_put(ctx, dst, Holder.TEMP, 'migrate_folio_move'); // the allocation reference
  folio_unlock(ctx, src);
  migrate_folio_done(ctx, src);
  return MIGRATEPAGE_SUCCESS;
}
