import { describe, expect, it } from 'vitest';
import { Batch, MigrateType, PG, VM } from '../src/mm/constants.js';
import { folio_test, fw } from '../src/mm/folio.js';
import { folio_batch_count } from '../src/mm/folio_batch.js';
import { F, Stat } from '../src/mm/layout.js';
import { handle_mm_fault } from '../src/mm/memory.js';
import { do_mlock, do_munlock } from '../src/mm/mlock_range.js';
import { lru_add_drain } from '../src/mm/swap.js';
import { pte_folio, pte_get, vma_flags } from '../src/mm/vma.js';
import type { InlineKernel } from '../src/runtime/inline.js';
import { anonVma, flagStr, kernel, ledger, sharedVma, shmemObj, stat } from './helpers/mm.js';

const nr = (k: InlineKernel, cpu: number, b: number) => folio_batch_count(k.ctx(cpu), cpu, b);
const fault = (k: InlineKernel, cpu: number, vma: number, page: number, write = true) => k.run(cpu, handle_mm_fault(k.ctx(cpu), vma, page, write));

describe('mlock(2) / munlock(2) on a VMA (spec §5.1)', () => {
  for (const p of ['v6.10', 'v6.11', 'merged']) {
    it(`${p}: mlock of a mapped VMA mlocks what is mapped, populates the rest, leaves nothing queued`, () => {
      const k = kernel(p);
      const memfd = shmemObj(k, 3, MigrateType.CMA);
      const vma = sharedVma(k, memfd, 3);
      const f = fault(k, 2, vma, 0);
      lru_add_drain(k.ctx(2));
      const drains = stat(k, 2, Stat.LRU_ADD_DRAIN);
      k.run(2, do_mlock(k.ctx(2), vma, { onfault: false }));
      expect(vma_flags(k.ctx(0), vma) & (VM.LOCKED | VM.LOCKONFAULT | VM.IO)).toBe(VM.LOCKED);
      expect(stat(k, 2, Stat.LRU_ADD_DRAIN)).toBe(drains + 3); // before/after the walk, after populate
      expect(nr(k, 2, Batch.mlock) + nr(k, 2, Batch.lru_add)).toBe(0);
      expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 1 });
      expect(flagStr(k, f)).toBe('uptodate|dirty|lru|swapbacked|unevictable|mlocked');
      expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(1);
      expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(1);
      // Populated pages: shared mapping -> read faults; mlocked through the rmap add.
      for (const page of [1, 2]) {
        const g = pte_folio(k.ctx(0), vma, page);
        expect(g).toBeGreaterThanOrEqual(0);
        expect(flagStr(k, g)).toBe('uptodate|lru|swapbacked|unevictable|mlocked');
        expect(fw(k.ctx(0), g, F.MLOCK_COUNT)).toBe(1);
        expect(ledger(k, g)).toEqual({ PAGECACHE: 1, MAP: 1 });
      }
      // munlock: MUNLOCK processed by the trailing drain, count 0 -> evictable again.
      k.run(2, do_munlock(k.ctx(2), vma));
      expect(vma_flags(k.ctx(0), vma) & (VM.LOCKED | VM.LOCKONFAULT)).toBe(0);
      expect(nr(k, 2, Batch.mlock)).toBe(0);
      expect(flagStr(k, f)).toBe('uptodate|dirty|lru|swapbacked');
      expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(0);
      expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 1 });
    });
  }

  it('MLOCK_ONFAULT: flags only, no population; later faults mlock on the faulting CPU and stay queued there', () => {
    const k = kernel('merged');
    const vma = anonVma(k, 2);
    k.run(0, do_mlock(k.ctx(0), vma, { onfault: true }));
    expect(vma_flags(k.ctx(0), vma) & (VM.LOCKED | VM.LOCKONFAULT)).toBe(VM.LOCKED | VM.LOCKONFAULT);
    expect(pte_get(k.ctx(0), vma, 0)).toBe(0);
    expect(pte_get(k.ctx(0), vma, 1)).toBe(0);
    const f = fault(k, 5, vma, 1);
    expect(ledger(k, f)).toEqual({ MAP: 1, MLOCK_BATCH: 1 });
    expect(nr(k, 5, Batch.mlock)).toBe(1);
    // mlock() without ONFAULT on the already-locked VMA: flags change, no double count, populate.
    k.run(0, do_mlock(k.ctx(0), vma, { onfault: false }));
    expect(vma_flags(k.ctx(0), vma) & (VM.LOCKED | VM.LOCKONFAULT)).toBe(VM.LOCKED);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(1);
    expect(nr(k, 5, Batch.mlock)).toBe(1); // C5's NEW entry is untouched by C0's syscall
    const g = pte_folio(k.ctx(0), vma, 0);
    expect(ledger(k, g)).toEqual({ MAP: 1 }); // populated on C0 and drained there
    expect(folio_test(k.ctx(0), g, PG.mlocked)).toBe(true);
  });

  it('mlock of a VMA mapping a whole large folio mlocks it once; munlock undoes it', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 8, MigrateType.MOVABLE, 2);
    const vma = sharedVma(k, memfd, 8);
    const f = fault(k, 1, vma, 5);
    expect(fw(k.ctx(0), f, F.ORDER)).toBe(2);
    k.run(1, do_mlock(k.ctx(1), vma, { onfault: true }));
    expect(flagStr(k, f)).toBe('uptodate|dirty|lru|head|swapbacked|unevictable|mlocked');
    expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(1);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(4);
    expect(stat(k, 1, Stat.UNEVICTABLE_PGMLOCKED)).toBe(4);
    k.run(1, do_munlock(k.ctx(1), vma));
    expect(folio_test(k.ctx(0), f, PG.mlocked)).toBe(false);
    expect(folio_test(k.ctx(0), f, PG.unevictable)).toBe(false);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(0);
  });

  it('VM_SPECIAL VMAs are never locked', () => {
    const k = kernel('merged');
    const vma = anonVma(k, 1, VM.IO);
    k.run(0, do_mlock(k.ctx(0), vma, { onfault: false }));
    expect(vma_flags(k.ctx(0), vma) & VM.LOCKED).toBe(0);
    expect(pte_get(k.ctx(0), vma, 0)).toBe(0);
  });
});
