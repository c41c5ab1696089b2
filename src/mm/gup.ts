// Long-term GUP pinning (mm/gup.c): pin_user_pages(FOLL_LONGTERM) -> __gup_longterm_locked()
// with its unbounded -EAGAIN retry loop, try_grab_folio()'s pin accounting, and
// check_and_migrate_movable_folios(): collect the unpinnable folios (with each kernel
// variant's drain rule, spec §4.4 / §7), isolate them, drop every pin, migrate. Spec §4.1-4.5.
//
// Pages are addressed as (vma, page index); `pages[]` holds the folio of each pinned page.
import { Errno, GUP_PIN_COUNTING_BIAS, Holder, PG } from './constants.js';
import { YP, type KernelCtx, type KGen, type PinRecord } from './context.js';
import { KernelLivelock } from './errno.js';
import { folio_expected_ref_count, MIGRATE_SYNC, MR_LONGTERM_PIN } from './migrate.js';
import { migrate_pages } from './migrate_pages.js';
import { folio_extract_from_batches } from './extract.js';
import {
  folio_is_longterm_pinnable,
  folio_may_be_lru_cached,
  folio_put_refs,
  folio_ref_count,
  folio_ref_mod,
  folio_set,
  folio_test,
  folio_test_large,
  folio_test_lru,
  folio_test_mlocked,
  folio_test_unevictable,
} from './folio.js';
import { C, F, Stat, folioBase } from './layout.js';
import { count_event } from './locks.js';
import { lru_add_drain_all } from './lru_add_drain_all.js';
import { follow_page_pte, handle_mm_fault } from './memory.js';
import { gup_fast } from './gup_fast.js';
import { FOLL } from './gup_flags.js';
import { lru_cache_disable, lru_cache_enable } from './lru_add_drain_all.js';
import { folio_mark_accessed, lru_add_drain } from './swap.js';
import { folio_isolate_lru, putback_movable_pages } from './vmscan.js';

/** gup_flags (include/linux/mm_types.h enum + mm/internal.h internal flags). */
export { FOLL } from './gup_flags.js';

/** Safety net for the unbounded retry loop: the emulator reports instead of hanging. */
export const GUP_RETRY_CAP = 10000;

/**
 * try_grab_folio() (mm/gup.c, v6.10+; try_grab_page() before): take `refs` references of the
 * kind `flags` asks for. FOLL_PIN on a small folio adds GUP_PIN_COUNTING_BIAS (1024) per pin
 * (Will's trace: val=1024); a large folio gets +refs and _pincount += refs. Returns 0 or
 * -ENOMEM (refcount already 0).
 */
export function try_grab_folio(ctx: KernelCtx, folio: number, refs: number, flags: number): number {
  if (folio_ref_count(ctx, folio) <= 0) return Errno.ENOMEM;
  if (flags & FOLL.GET) {
    folio_ref_mod(ctx, folio, refs, Holder.GUP_GET, 'try_grab_folio');
  } else if (flags & FOLL.PIN) {
    if (folio_test_large(ctx, folio)) {
      folio_ref_mod(ctx, folio, refs, Holder.GUP_PIN, 'try_grab_folio');
      Atomics.add(ctx.w, folioBase(folio) + F.PINCOUNT, refs);
    } else {
      folio_ref_mod(ctx, folio, refs * GUP_PIN_COUNTING_BIAS, Holder.GUP_PIN, 'try_grab_folio');
    }
    // NR_FOLL_PIN_ACQUIRED += refs: not kept.
  }
  return 0;
}

/** gup_put_folio() (mm/gup.c, 6.x): the reverse of try_grab_folio(). */
export function gup_put_folio(ctx: KernelCtx, folio: number, refs: number, flags: number): void {
  if (flags & FOLL.PIN) {
    if (folio_test_large(ctx, folio)) {
      Atomics.sub(ctx.w, folioBase(folio) + F.PINCOUNT, refs);
      folio_put_refs(ctx, folio, refs, Holder.GUP_PIN, 'gup_put_folio');
    } else {
      folio_put_refs(ctx, folio, refs * GUP_PIN_COUNTING_BIAS, Holder.GUP_PIN, 'gup_put_folio');
    }
  } else {
    folio_put_refs(ctx, folio, refs, Holder.GUP_GET, 'gup_put_folio');
  }
}

/** unpin_folio() (mm/gup.c, v6.11+): drop one FOLL_PIN. */
export function unpin_folio(ctx: KernelCtx, folio: number): void {
  gup_put_folio(ctx, folio, 1, FOLL.PIN);
}
/** unpin_user_page() (mm/gup.c): drop the pin of one page (we address pages by their folio). */
export function unpin_user_page(ctx: KernelCtx, folio: number): void {
  unpin_folio(ctx, folio);
}
/** unpin_user_pages() (mm/gup.c): drop one pin per entry; empties `pages`. */
export function unpin_user_pages(ctx: KernelCtx, pages: number[]): void {
  for (const f of pages) if (f >= 0) unpin_folio(ctx, f);
  pages.length = 0;
}

/** Per-call bookkeeping for the PinRecord. */
interface PinCall {
  extractions: number;
}

/** The counters a PinRecord reports as per-call deltas (retries, local drains, drain-alls, moves). */
const PIN_RECORD_STATS = [Stat.GUP_RETRY, Stat.DRAIN_ALL_LOCAL_PIN, Stat.DRAIN_ALL_PIN, Stat.MIGRATE_MOVE_ATTEMPT] as const;

function stat(ctx: KernelCtx, s: number): number {
  return ctx.w[ctx.base + C.STATS + s]!;
}

/**
 * pin_user_pages(FOLL_LONGTERM) (mm/gup.c): pin `n` pages of `vma` from page `page`. Fills
 * `pages` with the folio of each pinned page. Returns the number pinned or a negative errno
 * (then `pages` is empty and no pin is held: I10).
 */
export function* pin_user_pages(ctx: KernelCtx, vma: number, page: number, n: number, flags: number, pages: number[] = [], fast = false): KGen<number> {
  const startNs = ctx.hooks.nowNs();
  const s0 = ctx.obs ? PIN_RECORD_STATS.map((s) => stat(ctx, s)) : null;
  const call: PinCall = { extractions: 0 };
  count_event(ctx, Stat.PIN_CALLS);
  pages.length = 0;
  // is_valid_gup_args(): pin_user_pages() sets FOLL_PIN; FOLL_GET is not allowed with it.
  const pinFlags = (flags & ~FOLL.GET) | FOLL.PIN;
  let rc: number;
  if (fast) {
    // pin_user_pages_fast() -> gup_fast_fallback(): the lockless walk, then the slow path for
    // the pages it could not pin (6.12 adds FOLL_TOUCH there).
    const nrFast = yield* gup_fast(ctx, vma, page, n, pinFlags, pages);
    const slowFlags = pinFlags | (ctx.policy.switches.gupFastTouch ? FOLL.TOUCH : 0);
    const slow: number[] = [];
    rc = nrFast === n ? 0 : yield* __gup_longterm_locked(ctx, vma, page + nrFast, n - nrFast, slowFlags, slow, call);
    if (rc < 0) {
      unpin_user_pages(ctx, pages); // the fast pins are dropped when the slow path fails (and pages emptied)
    } else {
      pages.push(...slow);
      rc = nrFast + rc;
    }
  } else {
    rc = yield* __gup_longterm_locked(ctx, vma, page, n, pinFlags, pages, call);
  }
  if (rc >= 0) count_event(ctx, Stat.PIN_OK);
  else if (rc === Errno.ENOMEM) count_event(ctx, Stat.PIN_ENOMEM);
  else count_event(ctx, Stat.PIN_OTHER_ERR);
  if (ctx.obs && s0) {
    const d = PIN_RECORD_STATS.map((s, i) => stat(ctx, s) - s0[i]!);
    const r: PinRecord = {
      startNs,
      endNs: ctx.hooks.nowNs(),
      rc,
      retries: d[0]!,
      localDrains: d[1]!,
      drainAlls: d[2]!,
      migrateAttempts: d[3]!,
      folios: [...pages],
      extractions: call.extractions,
    };
    ctx.obs.pin(ctx, r);
  }
  return rc;
}

/**
 * __gup_longterm_locked() (mm/gup.c, v6.x): with PF_MEMALLOC_PIN set (memalloc_pin_save()),
 * pin, check, and start again from scratch while the check says -EAGAIN. The kernel loop is
 * unbounded; ours stops at GUP_RETRY_CAP with a KernelLivelock naming the folios.
 */
function* __gup_longterm_locked(ctx: KernelCtx, vma: number, page: number, n: number, flags: number, pages: number[], call: PinCall): KGen<number> {
  if (!(flags & FOLL.LONGTERM)) return yield* __get_user_pages(ctx, vma, page, n, flags, pages);
  const saved = ctx.task.pfMemallocPin;
  ctx.task.pfMemallocPin = true;
  try {
    let nr = 0;
    let rc = 0;
    let last: number[] = [];
    for (let iter = 0; ; iter++) {
      if (iter >= GUP_RETRY_CAP) {
        throw new KernelLivelock(
          `pin_user_pages: __gup_longterm_locked retried ${iter} times on cpu ${ctx.cpu} ` +
            `(vma ${vma} pages ${page}..${page + n - 1}, folios ${[...new Set(last)].join(',')}): unbounded -EAGAIN loop`,
        );
      }
      pages.length = 0;
      nr = yield* __get_user_pages(ctx, vma, page, n, flags, pages);
      if (nr <= 0) {
        rc = nr;
        break;
      }
      if (iter === GUP_RETRY_CAP - 1) last = [...pages]; // for the livelock report only
      rc = yield* check_and_migrate_movable_folios(ctx, pages, call);
      if (rc !== Errno.EAGAIN) break;
      count_event(ctx, Stat.GUP_RETRY);
    }
    if (rc !== 0) pages.length = 0; // the check dropped every pin before failing
    return rc !== 0 ? rc : nr;
  } finally {
    ctx.task.pfMemallocPin = saved; // memalloc_pin_restore()
  }
}

/**
 * __get_user_pages() (mm/gup.c, 6.x), model level (spec §4.2): per page, look the PTE up; if
 * absent, fault it in (handle_mm_fault, under PF_MEMALLOC_PIN so new folios are pinnable) and
 * look again; then try_grab_folio(). Returns pages pinned, or an errno if none was.
 */
function* __get_user_pages(ctx: KernelCtx, vma: number, page: number, n: number, flags: number, pages: number[]): KGen<number> {
  const write = (flags & FOLL.WRITE) !== 0;
  for (let i = 0; i < n; i++) {
    let folio = follow_page_pte(ctx, vma, page + i, write);
    for (let tries = 0; folio < 0; tries++) {
      // faultin_page(): a migration entry makes the fault wait for that migration.
      if (tries >= 100) throw new Error(`__get_user_pages: page ${page + i} of vma ${vma} still absent after ${tries} faults`);
      const r = yield* handle_mm_fault(ctx, vma, page + i, write);
      if (r < 0) return i > 0 ? i : Errno.EFAULT;
      folio = follow_page_pte(ctx, vma, page + i, write);
    }
    const e = try_grab_folio(ctx, folio, 1, flags);
    if (e !== 0) return i > 0 ? i : e;
    if (flags & FOLL.TOUCH) {
      // follow_page_pte() with FOLL_TOUCH: dirty on a write to a clean folio, then accessed.
      if (write && !folio_test(ctx, folio, PG.dirty)) folio_set(ctx, folio, PG.dirty);
      yield* folio_mark_accessed(ctx, folio);
    }
    pages.push(folio);
  }
  return n;
}

/**
 * check_and_migrate_movable_folios() (mm/gup.c, v6.11+
 * check_and_migrate_movable_pages_or_folios()): 0 = every folio pinnable (pins kept);
 * -EAGAIN = migrated (pins dropped, retry); other < 0 = failed (pins dropped).
 */
export function* check_and_migrate_movable_folios(ctx: KernelCtx, pages: number[], call?: PinCall): KGen<number> {
  const sw = ctx.policy.switches;
  // Hypothetical policy: GUP behaves like the CMA allocator and disables the LRU caches around
  // collect + migrate, which forces a drain-all first (spec §3.5). Only when there is work.
  const wrap = sw.gupUsesLruCacheDisable && pages.some((f) => !folio_is_longterm_pinnable(ctx, f));
  if (wrap) {
    count_event(ctx, Stat.DRAIN_ALL_PIN);
    yield* lru_cache_disable(ctx);
  }
  try {
    const list: number[] = [];
    const collected = yield* collect_longterm_unpinnable_folios(ctx, list, pages, call);
    if (sw.gupEmptyListSucceeds) {
      // 1aaf8c122918 (~v6.14, reverted June 2025): nothing isolated => success, even though
      // unpinnable folios (merely off-LRU at the moment) stay long-term pinned (I9).
      if (list.length === 0) return 0;
    } else if (collected === 0) {
      return 0;
    }
    return yield* migrate_longterm_unpinnable_folios(ctx, list, pages);
  } finally {
    if (wrap) lru_cache_enable(ctx);
  }
}

/**
 * The drain test of the variant (spec §7 "Definitions of the rules"), evaluated per
 * unpinnable, non-hugetlb folio. `pinRefs` = the references this call's pins put on the folio
 * (1024 per pin if small, 1 per pin if large). Pure: reads flags and counts only.
 */
export function gup_drain_rule(ctx: KernelCtx, folio: number, pinRefs: number): boolean {
  switch (ctx.policy.switches.gupDrainRule) {
    case 'notLru': // v5.1 .. v6.17-rc5
      return !folio_test_lru(ctx, folio);
    case 'notLruOrMlocked': // Will's v1
      return !folio_test_lru(ctx, folio) || folio_test_mlocked(ctx, folio);
    case 'notLruOrMlockedNotUnevictable': // Hugh's first idea
      return !folio_test_lru(ctx, folio) || (folio_test_mlocked(ctx, folio) && !folio_test_unevictable(ctx, folio));
    case 'refNeExpectedPlus1': // 98c6d259319e (v6.17-rc6)
      return folio_ref_count(ctx, folio) !== folio_expected_ref_count(ctx, folio) + 1;
    case 'refNeExpectedPlusPins': // 2026 mm.git follow-up (formula inferred, spec §4.8)
      return folio_ref_count(ctx, folio) !== folio_expected_ref_count(ctx, folio) + pinRefs;
    case 'refNeExpectedPlusPinBias': // 6.12.111+: pin_refs = folio_has_pincount() ? 1 : GUP_PIN_COUNTING_BIAS
      return folio_ref_count(ctx, folio) !== folio_expected_ref_count(ctx, folio) + (folio_test_large(ctx, folio) ? 1 : GUP_PIN_COUNTING_BIAS);
    case 'always':
      return true;
    case 'never':
      return false;
  }
}

/** References the pins of this call put on `folio` (spec §7 refNeExpectedPlusPins). */
export function gup_pin_refs(ctx: KernelCtx, folio: number, pages: readonly number[]): number {
  let pins = 0;
  for (const f of pages) if (f === folio) pins++;
  return folio_test_large(ctx, folio) ? pins : pins * GUP_PIN_COUNTING_BIAS;
}

/**
 * collect_longterm_unpinnable_folios() (mm/gup.c; iteration per folio as in a03db236aebf):
 * for each folio that is not long-term pinnable, count it, apply the variant's drain rule,
 * then try to isolate it onto `list`. Returns the number of unpinnable folios (isolated or
 * not). The drain state is local to the call, so it resets on every retry of the loop.
 */
export function* collect_longterm_unpinnable_folios(ctx: KernelCtx, list: number[], pages: readonly number[], call?: PinCall): KGen<number> {
  const sw = ctx.policy.switches;
  let collected = 0;
  // 0: nothing yet; 1: local lru_add_drain() done; 2: lru_add_drain_all() done.
  let drained = 0;
  if (sw.gupPreLocalDrain === 'always') {
    // Hugh's suggestion and 28-Aug test patch: unconditional local drain at the top.
    count_event(ctx, Stat.DRAIN_ALL_LOCAL_PIN);
    lru_add_drain(ctx);
    drained = 1;
  }
  let prev = -1;
  for (const folio of pages) {
    if (folio === prev) continue; // further pages of the same folio
    prev = folio;
    if (folio_is_longterm_pinnable(ctx, folio)) continue;
    collected++;
    // Device-coherent (migrate_device_coherent_folio) and hugetlb (isolate_hugetlb) folios
    // are not modelled.
    // folio_may_be_lru_cached() (2da6de30e60d): large folios never rest in a per-CPU cache.
    const cacheable = !sw.gupSkipLarge || folio_may_be_lru_cached(ctx, folio);
    // Only refNeExpectedPlusPins reads the pin count: do not scan `pages` for the others.
    const pinRefs = sw.gupDrainRule === 'refNeExpectedPlusPins' ? gup_pin_refs(ctx, folio, pages) : 0;
    if (sw.gupPreLocalDrain === 'onMismatch' && drained === 0 && cacheable && gup_drain_rule(ctx, folio, pinRefs)) {
      // a09a8a1fbb37: try the cheap local drain first.
      yield YP.COLLECT_BEFORE_DRAIN;
      count_event(ctx, Stat.DRAIN_ALL_LOCAL_PIN);
      lru_add_drain(ctx);
      drained = 1;
    }
    const stage2Allowed = sw.gupPreLocalDrain === 'onMismatch' ? drained === 1 : drained < 2;
    if (cacheable && gup_drain_rule(ctx, folio, pinRefs)) {
      if (sw.targetedExtraction) {
        // Hugh's wish (spec §6.7): take exactly this folio's entries out of whichever CPU's
        // batches hold them, instead of queueing drain work everywhere. Per folio.
        yield YP.COLLECT_BEFORE_DRAIN;
        if (call) call.extractions++;
        yield* folio_extract_from_batches(ctx, folio);
      } else if (stage2Allowed) {
        yield YP.COLLECT_BEFORE_DRAIN;
        count_event(ctx, Stat.DRAIN_ALL_PIN);
        yield* lru_add_drain_all(ctx);
        drained = 2;
      }
    }
    if (!folio_isolate_lru(ctx, folio)) continue; // stays pinned, counted in `collected`
    list.push(folio);
  }
  return collected;
}

/**
 * migrate_longterm_unpinnable_folios() (mm/gup.c, v6.11+): drop every pin of the call (the
 * isolation references keep the collected folios alive), migrate the list with MIGRATE_SYNC /
 * MR_LONGTERM_PIN, put back leftovers. Any migration failure is -ENOMEM; success is -EAGAIN so
 * the caller pins the range again.
 */
export function* migrate_longterm_unpinnable_folios(ctx: KernelCtx, list: number[], pages: number[]): KGen<number> {
  for (const folio of pages) unpin_folio(ctx, folio);
  pages.length = 0; // pofs_clear_entry() of every entry
  if (list.length > 0) {
    const rc = yield* migrate_pages(ctx, list, MIGRATE_SYNC, MR_LONGTERM_PIN);
    if (rc !== 0) {
      // err: pofs_unpin() (nothing left pinned), putback, -ENOMEM whatever the cause.
      ctx.obs?.migrateFailed?.(ctx, list);
      yield* putback_movable_pages(ctx, list);
      return Errno.ENOMEM;
    }
  }
  yield* putback_movable_pages(ctx, list);
  return Errno.EAGAIN;
}
