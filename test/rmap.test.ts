import { describe, expect, it } from 'vitest';
import { Batch, Holder, MigrateType, MlockOp, PG } from '../src/mm/constants.js';
import { folio_mapcount, folio_ref_count, folio_ref_mod, folio_test, fw } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { F, Stat } from '../src/mm/layout.js';
import { fork_vma, handle_mm_fault } from '../src/mm/memory.js';
import { mlock_entry_op } from '../src/mm/mlock.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { folio_add_file_rmap_ptes, folio_remove_rmap_ptes, remove_migration_ptes, try_to_migrate } from '../src/mm/rmap.js';
import { folio_add_lru, lru_add_drain } from '../src/mm/swap.js';
import { folio_isolate_lru } from '../src/mm/vmscan.js';
import { filemap_get_entry, folio_pte_mappings, page_cache_replace, pte_get } from '../src/mm/vma.js';
import type { InlineKernel } from '../src/runtime/inline.js';
import { LOCKED, anonVma, flagStr, kernel, ledger, ledgerBalanced, sharedVma, shmemObj, stat } from './helpers/mm.js';

const nr = (k: InlineKernel, cpu: number, b: number) => folio_batch_count(k.ctx(cpu), cpu, b);
const fault = (k: InlineKernel, cpu: number, vma: number, page: number, write = true) => k.run(cpu, handle_mm_fault(k.ctx(cpu), vma, page, write));

/** A shmem folio in CMA mapped by a locked and an unlocked VMA, batches drained: S12's F. */
function mappedTwice(policy: string) {
  const k = kernel(policy);
  const memfd = shmemObj(k, 2, MigrateType.CMA);
  const locked = sharedVma(k, memfd, 2, LOCKED);
  const plain = sharedVma(k, memfd, 2);
  const f = fault(k, 0, locked, 1);
  fault(k, 0, plain, 1, false);
  lru_add_drain(k.ctx(0));
  expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 2 });
  expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(1);
  expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(1);
  return { k, memfd, locked, plain, f };
}

describe('try_to_migrate / remove_migration_ptes (spec §3.8, §4.6, S12)', () => {
  for (const p of ['v6.11', 'merged']) {
    it(`${p}: unmap drains its own MUNLOCK (PG_mlocked cleared while isolated); remap to dst re-mlocks with count 1`, () => {
      const { k, memfd, locked, plain, f } = mappedTwice(p);
      const c = k.ctx(0);
      expect(folio_isolate_lru(c, f)).toBe(true);
      k.run(0, try_to_migrate(c, f, false));
      // Every PTE is a migration entry; MAP refs gone; no local mlock entry left behind.
      expect(pte_get(c, locked, 1)).toBe(-(f + 1));
      expect(pte_get(c, plain, 1)).toBe(-(f + 1));
      expect(ledger(k, f)).toEqual({ PAGECACHE: 1, ISOLATION: 1 });
      expect(folio_mapcount(c, f)).toBe(0);
      expect(fw(c, f, F.LOCKED_MAPS)).toBe(0);
      expect(nr(k, 0, Batch.mlock)).toBe(0);
      expect(folio_test(c, f, PG.mlocked)).toBe(false);
      expect(stat(k, 0, Stat.UNEVICTABLE_PGSTRANDED)).toBe(1); // off-LRU and unevictable
      expect(folio_pte_mappings(c, f)).toHaveLength(2);
      // The move, as migrate.ts does it: page cache slot and its reference go to dst.
      const dst = folio_alloc(c, 0, false);
      expect(page_cache_replace(c, memfd, 1, f, dst)).toBe(true);
      folio_ref_mod(c, dst, 1, Holder.PAGECACHE, '__folio_migrate_mapping');
      folio_ref_mod(c, f, -1, Holder.PAGECACHE, '__folio_migrate_mapping');
      expect(filemap_get_entry(c, memfd, 1)).toBe(dst);
      // migrate_folio_move(): dst to the local lru_add, drained since src was mlocked.
      k.run(0, folio_add_lru(c, dst));
      lru_add_drain(c);
      k.run(0, remove_migration_ptes(c, f, dst));
      expect(pte_get(c, locked, 1)).toBe(dst + 1);
      expect(pte_get(c, plain, 1)).toBe(dst + 1);
      expect(ledger(k, dst)).toEqual({ PAGECACHE: 1, MAP: 2, TEMP: 1 });
      expect(folio_mapcount(c, dst)).toBe(2);
      expect(fw(c, dst, F.LOCKED_MAPS)).toBe(1);
      expect(nr(k, 0, Batch.mlock)).toBe(0); // the remap drained its MLOCK locally
      expect(flagStr(k, dst)).toBe('lru|unevictable|mlocked');
      expect(fw(c, dst, F.MLOCK_COUNT)).toBe(1);
      expect(ledger(k, f)).toEqual({ ISOLATION: 1 });
      expect(ledgerBalanced(k, f) && ledgerBalanced(k, dst)).toBe(true);
    });
  }

  it('undo: remove_migration_ptes(src, src) restores the mappings; the isolated folio is re-mlocked but not counted', () => {
    const { k, locked, plain, f } = mappedTwice('merged');
    const c = k.ctx(0);
    folio_isolate_lru(c, f);
    k.run(0, try_to_migrate(c, f, false));
    k.run(0, remove_migration_ptes(c, f, f));
    expect(pte_get(c, locked, 1)).toBe(f + 1);
    expect(pte_get(c, plain, 1)).toBe(f + 1);
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 2, ISOLATION: 1 });
    expect(folio_test(c, f, PG.mlocked)).toBe(true);
    expect(folio_test(c, f, PG.lru)).toBe(false);
    expect(nr(k, 0, Batch.mlock)).toBe(0);
    expect(fw(c, f, F.LOCKED_MAPS)).toBe(1);
  });

  it('anon: exclusivity survives the migration; fork-shared pages stay shared', () => {
    const k = kernel('merged');
    const c = k.ctx(0);
    const solo = anonVma(k, 1);
    const shared = anonVma(k, 1);
    const a = fault(k, 0, solo, 0);
    const b = fault(k, 0, shared, 0);
    const child = fork_vma(c, shared, 1);
    lru_add_drain(c);
    for (const f of [a, b]) expect(folio_isolate_lru(c, f)).toBe(true);
    const moved = [a, b].map((f) => {
      k.run(0, try_to_migrate(c, f, false));
      expect(ledger(k, f)).toEqual({ ISOLATION: 1 });
      const dst = folio_alloc(c, 0, false);
      k.run(0, remove_migration_ptes(c, f, dst));
      return dst;
    });
    const [dstA, dstB] = moved as [number, number];
    expect(pte_get(c, solo, 0)).toBe(dstA + 1);
    expect(fw(c, dstA, F.ANON_EXCLUSIVE)).toBe(1);
    expect(ledger(k, dstA)).toEqual({ MAP: 1, TEMP: 1 });
    expect(pte_get(c, shared, 0)).toBe(dstB + 1);
    expect(pte_get(c, child, 0)).toBe(dstB + 1);
    expect(fw(c, dstB, F.ANON_EXCLUSIVE)).toBe(0);
    expect(folio_mapcount(c, dstB)).toBe(2);
    expect(fw(c, dstB, F.MAPPING)).toBe(fw(c, b, F.MAPPING));
    expect(ledger(k, dstB)).toEqual({ MAP: 2, TEMP: 1 });
  });
});

describe('rmap add/remove mlock hooks', () => {
  it('a large folio in a locked VMA is not mlocked on add; removal munlocks it at once (no resting entry)', () => {
    const k = kernel('v6.11');
    const c = k.ctx(0);
    const memfd = shmemObj(k, 16, MigrateType.MOVABLE, 2);
    const vma = sharedVma(k, memfd, 16, LOCKED);
    const f = fault(k, 1, vma, 0);
    expect(fw(c, f, F.ORDER)).toBe(2);
    expect(ledger(k, f)).toEqual({ PAGECACHE: 4, MAP: 4 });
    expect(folio_test(c, f, PG.mlocked)).toBe(false);
    k.run(1, folio_remove_rmap_ptes(k.ctx(1), f, 4, vma));
    expect(nr(k, 1, Batch.mlock)).toBe(0);
    expect(stat(k, 1, Stat.BATCH_FLUSH_LARGE)).toBeGreaterThan(0);
    expect(fw(c, f, F.LOCKED_MAPS)).toBe(0);
    expect(folio_mapcount(c, f)).toBe(0);
  });

  it('small folio: add in a locked VMA queues MLOCK, removal queues MUNLOCK; VM_SPECIAL suppresses the mlock', () => {
    const k = kernel('merged');
    const c = k.ctx(2);
    const memfd = shmemObj(k, 1);
    const vma = sharedVma(k, memfd, 1, LOCKED);
    const io = sharedVma(k, memfd, 1, LOCKED | 0x4000 /* VM_IO */);
    const f = folio_alloc(c, 0, true);
    k.run(2, folio_add_file_rmap_ptes(c, f, 1, vma));
    k.run(2, folio_add_file_rmap_ptes(c, f, 1, io));
    k.run(2, folio_remove_rmap_ptes(c, f, 1, vma));
    expect(folio_batch_entries(c, 2, Batch.mlock).map(mlock_entry_op)).toEqual([MlockOp.LRU_FOLIO, MlockOp.MUNLOCK]);
    expect(folio_mapcount(c, f)).toBe(1);
    expect(fw(c, f, F.LOCKED_MAPS)).toBe(1);
    expect(() => k.run(2, folio_remove_rmap_ptes(c, f, 2, vma))).toThrow(/mapcount went negative/);
    expect(folio_ref_count(c, f)).toBe(3);
  });
});
