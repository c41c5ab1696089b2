// migrate_pages() as 6.1.y runs it (mm/migrate.c, v5.18..v6.2 and every 6.1.y; the 6.1.116
// restructure into migrate_pages_batch() kept its shape): up to NR_MAX_MIGRATE_PAGES_RETRY (10)
// passes, and in each pass every folio is unmapped, moved and, if the move fails, remapped and
// its destination freed at once. So a folio that can never migrate goes through 10 full
// unmap -> freeze attempt -> remap cycles (10 munlocks, 10 re-mlocks), where v6.3+ does two.
// The source lock is only waited for from pass 3 on (`force = pass > 2`).
import { Errno } from './constants.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import { Stat } from './layout.js';
import { count_event } from './locks.js';
import {
  MIGRATEPAGE_SUCCESS,
  MIGRATEPAGE_UNMAP,
  NR_MAX_MIGRATE_PAGES_RETRY,
  PAGE_WAS_MAPPED,
  migrate_folio_move,
  migrate_folio_undo_dst,
  migrate_folio_undo_src,
  migrate_folio_unmap,
  type MigrateStats,
} from './migrate.js';

/**
 * migrate_pages_batch() of 6.1.116+ (before: the loop in migrate_pages(); mm/migrate.c, 6.1.y):
 * folios still failing with -EAGAIN after 10 passes, and permanent failures, end on `ret`.
 * Returns the number not migrated, or a negative errno.
 */
export function* migrate_pages_passes(ctx: KernelCtx, from: number[], mode: number, ret: number[], stats: MigrateStats): KGen<number> {
  let retry = 1;
  let nrFailed = 0;
  for (let pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++) {
    retry = 0;
    const force = pass > 2;
    if (pass > 0) yield YP.MIGRATE_STEP; // between passes
    count_event(ctx, Stat.MIGRATE_PASS);
    for (const folio of [...from]) {
      const { rc: urc, u } = yield* migrate_folio_unmap(ctx, folio, mode, force);
      let rc = urc;
      if (urc === MIGRATEPAGE_UNMAP) {
        // A scheduling point between unmap and move, as in the batched code (spec §8 point 5).
        yield YP.MIGRATE_STEP;
        rc = yield* migrate_folio_move(ctx, u!);
        if (rc === Errno.EAGAIN) {
          // __migrate_folio_move(): the failed move is undone at once: remap src, free dst.
          yield* migrate_folio_undo_src(ctx, u!.src, (u!.state & PAGE_WAS_MAPPED) !== 0, true);
          migrate_folio_undo_dst(ctx, u!.dst, true);
        }
      }
      if (rc === MIGRATEPAGE_SUCCESS) {
        stats.nrSucceeded++;
        from.splice(from.indexOf(folio), 1);
      } else if (rc === Errno.EAGAIN) {
        retry++;
      } else if (rc === Errno.ENOMEM) {
        nrFailed += from.length;
        ret.push(...from.splice(0));
        return rc;
      } else {
        nrFailed++; // permanent (-EBUSY ...): not retried
        from.splice(from.indexOf(folio), 1);
        ret.push(folio);
      }
    }
  }
  nrFailed += retry;
  ret.push(...from.splice(0));
  return nrFailed;
}
