// Isolation, putback and migrate_pages() refcount behaviour (spec §4.4, §4.6-4.7, I15).
import { describe, expect, it } from 'vitest';
import { Batch, Errno, Holder, Lru, MigrateType, PG } from '../src/mm/constants.js';
import { YP } from '../src/mm/context.js';
import { folio_flags, folio_set, folio_test, fw } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { F, FolioState, Stat } from '../src/mm/layout.js';
import { folio_expected_ref_count, MIGRATE_SYNC, MR_LONGTERM_PIN } from '../src/mm/migrate.js';
import { migrate_pages } from '../src/mm/migrate_pages.js';
import { mlock_drain_local, mlock_folio } from '../src/mm/mlock.js';
import { filemap_get_entry, pte_get } from '../src/mm/vma.js';
import { folio_isolate_lru, folio_putback_lru, putback_movable_pages } from '../src/mm/vmscan.js';
import { resolvePolicySpec } from '../src/policy/resolve.js';
import { fakeRefs, kernel, ledger, ledgerSum, placeFolio, refcount, stat, Stepper } from './helpers/gup.js';

describe('folio_expected_ref_count (v6.16+)', () => {
  it('counts page cache + mappings for shmem, swap cache + mappings for anon, not batch refs', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(0);
    const shmem = placeFolio(c, { kind: 'shmem', mapped: true, onLru: true });
    expect(folio_expected_ref_count(c, shmem.folio)).toBe(2);
    fakeRefs(c, shmem.folio, Holder.MLOCK_BATCH, 1);
    expect(folio_expected_ref_count(c, shmem.folio)).toBe(2);
    const anon = placeFolio(c, { kind: 'anon', mapped: true, onLru: true });
    expect(folio_expected_ref_count(c, anon.folio)).toBe(1);
    const swp = placeFolio(c, { kind: 'anon', mapped: true, onLru: true, swapcache: true });
    expect(folio_expected_ref_count(c, swp.folio)).toBe(2);
    const large = placeFolio(c, { kind: 'shmem', order: 4, mapped: true, onLru: true });
    expect(folio_expected_ref_count(c, large.folio)).toBe(32);
  });
});

describe('folio_expected_ref_count: swap cache of non-anon folios (expectedRefSwapCache)', () => {
  it.each([
    ['6.12.64', 'anon', 2],
    ['6.12.65', 'all', 3],
    ['6.1.159', 'anon', 2],
    ['6.1.160', 'all', 3],
  ])('%s (%s): a shmem folio in the swap cache expects %d', (rel, mode, want) => {
    const p = resolvePolicySpec(rel)[0]!;
    expect(p.switches.expectedRefSwapCache).toBe(mode);
    const k = kernel(p, 1);
    const c = k.ctx(0);
    const { folio } = placeFolio(c, { kind: 'shmem', mapped: true, onLru: true });
    folio_set(c, folio, PG.swapcache);
    expect(folio_expected_ref_count(c, folio)).toBe(want); // page cache + PTE (+ swap cache with f183663901f2)
  });
});

describe('folio_isolate_lru / folio_putback_lru', () => {
  it('isolates a PG_lru folio: +1 ISOLATION, off its list, mlock_count lost', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(0);
    const { folio } = placeFolio(c, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 1 });
    expect(fw(c, folio, F.LRU)).toBe(Lru.UNEVICTABLE);
    expect(folio_isolate_lru(c, folio)).toBe(true);
    expect(folio_test(c, folio, PG.lru)).toBe(false);
    expect(fw(c, folio, F.LRU)).toBe(Lru.NONE);
    expect(fw(c, folio, F.MLOCK_COUNT)).toBe(0);
    expect(ledger(c, folio)).toEqual({ PAGECACHE: 1, MAP: 1, ISOLATION: 1 });
    expect(refcount(c, folio)).toBe(3);
    expect(stat(k, 0, Stat.ISOLATE_OK)).toBe(1);
    // A second isolator fails without touching anything (I18).
    expect(folio_isolate_lru(k.ctx(1), folio)).toBe(false);
    expect(refcount(c, folio)).toBe(3);
    expect(stat(k, 1, Stat.ISOLATE_FAIL)).toBe(1);
  });

  it('putback queues on the local lru_add batch, then drops the isolation ref', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(1);
    const { folio } = placeFolio(c, { kind: 'shmem', mapped: true, onLru: true });
    folio_isolate_lru(c, folio);
    k.run(1, folio_putback_lru(c, folio));
    expect(ledger(c, folio)).toEqual({ PAGECACHE: 1, MAP: 1, LRU_BATCH: 1 });
    expect(folio_batch_entries(c, 1, Batch.lru_add)).toEqual([folio]);
    expect(folio_test(c, folio, PG.lru)).toBe(false);
    // putback_movable_pages() puts back every folio of a migration list and empties it.
    const other = placeFolio(c, { kind: 'anon', mapped: true, onLru: true }).folio;
    expect(folio_isolate_lru(c, other)).toBe(true);
    const list = [other];
    k.run(1, putback_movable_pages(c, list));
    expect(ledger(c, other)).toEqual({ MAP: 1, LRU_BATCH: 1 });
    expect(folio_batch_entries(c, 1, Batch.lru_add)).toEqual([folio, other]);
    expect(list).toEqual([]);
  });
});

describe('migrate_pages (MIGRATE_SYNC, MR_LONGTERM_PIN)', () => {
  it('commits at refcount == expected + 1: page cache and PTE move to dst, src freed', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(0);
    const { folio: src, vma, obj } = placeFolio(c, { kind: 'shmem', mapped: true, onLru: true, dirty: true });
    expect(folio_isolate_lru(c, src)).toBe(true);
    const list = [src];
    const rc = k.run(0, migrate_pages(c, list, MIGRATE_SYNC, MR_LONGTERM_PIN));
    expect(rc).toBe(0);
    expect(list).toEqual([]);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(1);
    expect(stat(k, 0, Stat.MIGRATE_SUCCEEDED)).toBe(1);
    expect(fw(c, src, F.STATE)).toBe(FolioState.FREED);
    expect(refcount(c, src)).toBe(0);
    expect(ledgerSum(c, src)).toBe(0);
    const dst = filemap_get_entry(c, obj, 0);
    expect(dst).not.toBe(src);
    expect(pte_get(c, vma, 0)).toBe(dst + 1);
    expect(fw(c, dst, F.MT)).not.toBe(MigrateType.CMA);
    expect(ledger(c, dst)).toEqual({ PAGECACHE: 1, MAP: 1, LRU_BATCH: 1 });
    expect(refcount(c, dst)).toBe(3);
    expect(folio_flags(c, dst) & (PG.uptodate | PG.dirty)).toBe(PG.uptodate | PG.dirty);
    expect(folio_test(c, dst, PG.swapbacked)).toBe(true);
    expect(folio_test(c, dst, PG.locked)).toBe(false);
    expect(folio_batch_entries(c, 0, Batch.lru_add)).toEqual([dst]);
  });

  it.each([
    ['merged (v6.3+ batched)', 'merged', { attempts: 10, freezes: 0, mlocked: 2, stranded: 2 }],
    ['6.1.192 (10 passes)', '6.1.192', { attempts: 10, freezes: 10, mlocked: 10, stranded: 10 }],
  ])('one foreign batch ref under %s: unmap/remap cycles, freeze attempts and vmstat', (_name, spec, want) => {
    const policy = resolvePolicySpec(spec)[0]!;
    const freezes: number[] = [];
    const k = kernel(policy, 2, {
      pageRef: (_c: unknown, ev: string, _f: number, delta: number) => {
        if (ev === 'page_ref_freeze') freezes.push(delta);
      },
      mark: () => {},
    } as never);
    const c0 = k.ctx(0);
    const { folio: src, vma } = placeFolio(c0, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
    k.run(1, mlock_folio(k.ctx(1), src));
    expect(folio_isolate_lru(c0, src)).toBe(true);
    const before = [Stat.UNEVICTABLE_PGMLOCKED, Stat.UNEVICTABLE_PGSTRANDED].map((s) => stat(k, 0, s));
    const list = [src];
    expect(k.run(0, migrate_pages(c0, list, MIGRATE_SYNC, MR_LONGTERM_PIN))).toBe(1);
    expect(list).toEqual([src]);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(want.attempts);
    // 6.1's migrate_folio() tries the freeze with no early check; v6.10+ bail before it.
    expect(freezes.length).toBe(want.freezes);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGMLOCKED) - before[0]!).toBe(want.mlocked);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGSTRANDED) - before[1]!).toBe(want.stranded);
    expect(stat(k, 0, Stat.MIGRATE_FAILED)).toBe(1);
    // Either way the folio ends remapped, unlocked, still isolated, with the foreign ref intact.
    expect(pte_get(c0, vma, 0)).toBe(src + 1);
    expect(folio_test(c0, src, PG.locked)).toBe(false);
    expect(ledger(c0, src)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1, ISOLATION: 1 });
  });

  it('one foreign batch ref: 3 async + 7 sync attempts, then undone and left on the list', () => {
    const k = kernel('merged', 2);
    const c0 = k.ctx(0);
    // Will's folio after step B: on the unevictable LRU, mlocked, MLOCK entry pending on CPU1.
    const { folio: src, vma, obj } = placeFolio(c0, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
    k.run(1, mlock_folio(k.ctx(1), src));
    expect(ledger(c0, src)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1 });
    expect(folio_isolate_lru(c0, src)).toBe(true);
    const list = [src];
    const rc = k.run(0, migrate_pages(c0, list, MIGRATE_SYNC, MR_LONGTERM_PIN));
    expect(rc).toBe(1);
    expect(list).toEqual([src]);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(10);
    expect(stat(k, 0, Stat.MIGRATE_PASS)).toBe(10);
    expect(stat(k, 0, Stat.MIGRATE_FAILED)).toBe(1);
    // Undone: mapped again by src, still isolated, PG_mlocked set again by the remap.
    expect(pte_get(c0, vma, 0)).toBe(src + 1);
    expect(filemap_get_entry(c0, obj, 0)).toBe(src);
    expect(folio_test(c0, src, PG.mlocked)).toBe(true);
    expect(folio_test(c0, src, PG.locked)).toBe(false);
    expect(ledger(c0, src)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1, ISOLATION: 1 });
    // The two unused destinations were freed (one per unmap/undo cycle).
    k.run(0, putback_movable_pages(c0, list));
    expect(ledger(c0, src)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1, LRU_BATCH: 1 });
    expect(folio_batch_entries(c0, 0, Batch.lru_add)).toEqual([src]);
    expect(folio_batch_count(c0, 1, Batch.mlock)).toBe(1);
    expect(Errno.ENOMEM).toBe(-12);
  });

  it('the 10 attempts are 3 async in one unmap cycle, then 7 sync after an undo and a new unmap', () => {
    const k = kernel('merged', 2);
    const c0 = k.ctx(0);
    const { folio: src, vma } = placeFolio(c0, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
    k.run(1, mlock_folio(k.ctx(1), src));
    folio_isolate_lru(c0, src);
    const s = new Stepper(k, 0, migrate_pages(c0, [src], MIGRATE_SYNC, MR_LONGTERM_PIN));
    // At each migration yield: [move attempts so far, PTE maps src (not a migration entry)].
    const seen: [number, boolean][] = [];
    while (!s.until((yp) => yp === YP.MIGRATE_STEP).done) {
      seen.push([stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT), pte_get(c0, vma, 0) === src + 1]);
    }
    expect(seen).toEqual([
      [0, false],
      [1, false],
      [2, false], // MIGRATE_ASYNC batch: 3 passes
      [3, true], // undone; between the async batch and the sync retry of this folio
      [3, false],
      [4, false],
      [5, false],
      [6, false],
      [7, false],
      [8, false],
      [9, false], // MIGRATE_SYNC: 7
    ]);
    expect(s.value).toBe(1);
  });

  it('a remote drain between two move attempts rescues the migration', () => {
    const k = kernel('merged', 2);
    const c0 = k.ctx(0);
    const { folio: src, obj } = placeFolio(c0, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
    k.run(1, mlock_folio(k.ctx(1), src));
    folio_isolate_lru(c0, src);
    const list = [src];
    const s = new Stepper(k, 0, migrate_pages(c0, list, MIGRATE_SYNC, MR_LONGTERM_PIN));
    // Let two attempts fail, then CPU1 drains its mlock batch (the isolated folio: no-op but
    // the reference goes).
    let steps = 0;
    s.until((yp) => yp === YP.MIGRATE_STEP && ++steps === 3);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(2);
    mlock_drain_local(k.ctx(1));
    expect(s.finish()).toBe(0);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(3);
    const dst = filemap_get_entry(c0, obj, 0);
    expect(dst).not.toBe(src);
    expect(fw(c0, src, F.STATE)).toBe(FolioState.FREED);
    // The remap re-mlocked dst after the local lru_add_drain put it on the LRU.
    expect(folio_flags(c0, dst) & (PG.mlocked | PG.lru | PG.unevictable)).toBe(PG.mlocked | PG.lru | PG.unevictable);
    expect(fw(c0, dst, F.MLOCK_COUNT)).toBe(1);
    expect(ledger(c0, dst)).toEqual({ PAGECACHE: 1, MAP: 1 });
  });
});
