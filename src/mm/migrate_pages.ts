// migrate_pages() (mm/migrate.c): the entry GUP calls, and the v6.3+ batched loop
// (migrate_pages_batch: unmap a batch, then move it; migrate_pages_sync: the async pass then the
// synchronous retries). The 6.1.y loop is migrate_passes.ts; the per-folio steps they share
// (unmap, move, undo, the refcount freeze) are migrate.ts, so neither loop imports the other.
import { Errno } from './constants.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import { folio_nr_pages } from './folio.js';
import { Stat } from './layout.js';
import { count_event } from './locks.js';
import {
  MIGRATE_ASYNC,
  MIGRATEPAGE_SUCCESS,
  MIGRATEPAGE_UNMAP,
  NR_MAX_BATCHED_MIGRATION,
  NR_MAX_MIGRATE_ASYNC_RETRY,
  NR_MAX_MIGRATE_PAGES_RETRY,
  NR_MAX_MIGRATE_SYNC_RETRY,
  PAGE_WAS_MAPPED,
  migrate_folio_move,
  migrate_folio_undo_dst,
  migrate_folio_undo_src,
  migrate_folio_unmap,
  type MigrateStats,
  type Unmapped,
} from './migrate.js';
import { migrate_pages_passes } from './migrate_passes.js';
import { try_to_unmap_flush } from './tlb.js';

function remove(list: number[], folio: number): void {
  const i = list.indexOf(folio);
  if (i >= 0) list.splice(i, 1);
}

/**
 * migrate_pages_batch() (mm/migrate.c, v6.3+): unmap every folio of `from` (up to `nrPass`
 * unmap passes for -EAGAIN), then up to `nrPass` move passes over the unmapped ones; whatever
 * still fails is remapped to itself and moved to `ret`. Returns the number of folios not
 * migrated, or a negative errno (-ENOMEM from allocation).
 */
function* migrate_pages_batch(ctx: KernelCtx, from: number[], mode: number, ret: number[], stats: MigrateStats, nrPass: number): KGen<number> {
  let retry = 1;
  let nrFailed = 0;
  let rcSaved = 0;
  const unmapped: Unmapped[] = [];
  unmap: for (let pass = 0; pass < nrPass && retry; pass++) {
    retry = 0;
    for (const folio of [...from]) {
      // Large folios: split-on-ENOMEM (MR_LONGTERM_PIN retries the split) is not modelled;
      // folio_alloc() of the model does not fail for lack of memory.
      const { rc, u } = yield* migrate_folio_unmap(ctx, folio, mode);
      if (rc === Errno.ENOMEM) {
        nrFailed++;
        rcSaved = rc;
        retry = 0;
        break unmap;
      } else if (rc === Errno.EAGAIN) {
        retry++;
      } else if (rc === MIGRATEPAGE_SUCCESS) {
        stats.nrSucceeded++;
        remove(from, folio);
      } else if (rc === MIGRATEPAGE_UNMAP) {
        remove(from, folio);
        unmapped.push(u!);
      } else {
        // Permanent failure (-EBUSY, ...): not retried.
        nrFailed++;
        remove(from, folio);
        ret.push(folio);
      }
    }
  }
  nrFailed += retry;

  // The TLB flush: MIGRATE_ASYNC unmapped with TTU_BATCH_FLUSH and flushes once here; the
  // synchronous retries flushed as they unmapped (ptep_clear_flush()). Then the move passes.
  try_to_unmap_flush(ctx);
  retry = 1;
  for (let pass = 0; pass < nrPass && retry && unmapped.length > 0; pass++) {
    retry = 0;
    count_event(ctx, Stat.MIGRATE_PASS);
    for (const u of [...unmapped]) {
      // Spec §8 point 5: a scheduling point between the unmap phase and each move attempt,
      // hence also between passes. A remote drain can still rescue the move here.
      yield YP.MIGRATE_STEP;
      const rc = yield* migrate_folio_move(ctx, u);
      if (rc === Errno.EAGAIN) {
        retry++;
      } else if (rc === MIGRATEPAGE_SUCCESS) {
        stats.nrSucceeded++;
        unmapped.splice(unmapped.indexOf(u), 1);
      } else {
        nrFailed++;
        unmapped.splice(unmapped.indexOf(u), 1);
        ret.push(u.src);
      }
    }
  }
  nrFailed += retry;
  const rc = rcSaved !== 0 ? rcSaved : nrFailed;

  // Cleanup: folios still unmapped after the last pass go back to their own PTEs.
  for (const u of unmapped) {
    yield* migrate_folio_undo_src(ctx, u.src, (u.state & PAGE_WAS_MAPPED) !== 0, true);
    ret.push(u.src);
    migrate_folio_undo_dst(ctx, u.dst, true);
  }
  return rc;
}

/**
 * migrate_pages_sync() (mm/migrate.c, v6.3+): one batched MIGRATE_ASYNC pass (3 attempts),
 * then every folio that failed is retried alone in `mode` (7 attempts): at most 10 refcount
 * checks per folio across two unmap/undo cycles.
 */
function* migrate_pages_sync(ctx: KernelCtx, from: number[], mode: number, ret: number[], stats: MigrateStats): KGen<number> {
  const folios: number[] = [];
  let rc = yield* migrate_pages_batch(ctx, from, MIGRATE_ASYNC, folios, stats, NR_MAX_MIGRATE_ASYNC_RETRY);
  if (rc < 0) {
    ret.push(...folios);
    return rc;
  }
  // Fall back to migrating the failed folios one by one, synchronously.
  from.push(...folios);
  let nrFailed = 0;
  while (from.length > 0) {
    const one = [from.shift()!];
    yield YP.MIGRATE_STEP; // between passes
    rc = yield* migrate_pages_batch(ctx, one, mode, ret, stats, NR_MAX_MIGRATE_SYNC_RETRY);
    ret.push(...one);
    if (rc < 0) return rc;
    nrFailed += rc;
  }
  return nrFailed;
}

/**
 * migrate_pages() (mm/migrate.c; hugetlb not modelled): v6.3+ batched, or the 6.1 loop of
 * migrate_pages_passes() (policy switch migrateStyle): migrate the isolated folios of
 * `from` to new GFP_USER folios. On return `from` holds the folios that were not migrated
 * (still isolated: the caller puts them back with putback_movable_pages()). Returns the number
 * not migrated, or a negative errno.
 */
export function* migrate_pages(ctx: KernelCtx, from: number[], mode: number, reason: number): KGen<number> {
  void reason; // MR_LONGTERM_PIN only changes large-folio split retries, not modelled
  const ret: number[] = [];
  const stats: MigrateStats = { nrSucceeded: 0 };
  let rcGather = 0;
  while (from.length > 0) {
    // Take up to NR_MAX_BATCHED_MIGRATION base pages per round.
    let nrPages = 0;
    let k = 0;
    while (k < from.length && nrPages < NR_MAX_BATCHED_MIGRATION) nrPages += folio_nr_pages(ctx, from[k++]!);
    const folios = from.splice(0, k);
    const rc =
      ctx.policy.switches.migrateStyle === 'passes10'
        ? yield* migrate_pages_passes(ctx, folios, mode, ret, stats)
        : mode === MIGRATE_ASYNC
          ? yield* migrate_pages_batch(ctx, folios, mode, ret, stats, NR_MAX_MIGRATE_PAGES_RETRY)
          : yield* migrate_pages_sync(ctx, folios, mode, ret, stats);
    ret.push(...folios);
    if (rc < 0) {
      rcGather = rc;
      break;
    }
    rcGather += rc;
  }
  // Failed folios go back on the caller's list.
  from.unshift(...ret);
  if (from.length === 0) rcGather = 0;
  count_event(ctx, Stat.MIGRATE_SUCCEEDED, stats.nrSucceeded);
  count_event(ctx, Stat.MIGRATE_FAILED, from.length);
  return rcGather;
}
