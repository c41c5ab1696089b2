import { describe, expect, it } from 'vitest';
import { Batch, Holder, Lru, MigrateType, PG, VM, Zone } from '../src/mm/constants.js';
import { YP, type KernelCtx, type TraceSink } from '../src/mm/context.js';
import { folio_flags, folio_is_longterm_pinnable, folio_mapcount, folio_ref_count, folio_test, fw } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { F, Stat } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import { fork_vma, handle_mm_fault, unmap_vma, wp_can_reuse_anon_folio } from '../src/mm/memory.js';
import { mlock_entry_op } from '../src/mm/mlock.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { filemap_fault } from '../src/mm/filemap.js';
import { folio_activate, folio_deactivate, lru_add_drain } from '../src/mm/swap.js';
import { pte_folio, pte_get, pte_set, vma_flags, vma_in_use } from '../src/mm/vma.js';
import { InlineKernel } from '../src/runtime/inline.js';
import {
  LOCKED,
  LOCKED_ONFAULT,
  anonVma,
  fileObj,
  flagStr,
  flagWordStr,
  kernel,
  kernelWith,
  ledger,
  ledgerBalanced,
  sharedVma,
  shmemObj,
  stat,
} from './helpers/mm.js';
import { MlockOp } from '../src/mm/constants.js';

const nr = (k: InlineKernel, cpu: number, b: number) => folio_batch_count(k.ctx(cpu), cpu, b);
const has = (k: InlineKernel, f: number, bit: number) => folio_test(k.ctx(0), f, bit);
const fault = (k: InlineKernel, cpu: number, vma: number, page: number, write = true) => k.run(cpu, handle_mm_fault(k.ctx(cpu), vma, page, write));

interface RefEvent {
  fn: string;
  holder: number;
  delta: number;
  count: number;
  flags: string;
  mapcount: number;
  mt: number;
}
function recorder(): { sink: TraceSink; events: RefEvent[] } {
  const events: RefEvent[] = [];
  const sink: TraceSink = {
    pageRef(ctx: KernelCtx, _e, folio, delta, holder, fn) {
      events.push({
        fn,
        holder,
        delta,
        count: folio_ref_count(ctx, folio),
        flags: flagWordStr(folio_flags(ctx, folio)),
        mapcount: fw(ctx, folio, F.MAPCOUNT),
        mt: fw(ctx, folio, F.MT),
      });
    },
    mark() {},
  };
  return { sink, events };
}

describe('do_anonymous_page (spec §5.2)', () => {
  it('unlocked VMA: MAP1 + LRU_BATCH(lru_add)1, !PG_lru, !PG_mlocked; the drain puts it on the anon LRU', () => {
    const k = kernel('v6.11');
    const vma = anonVma(k, 4);
    const f = fault(k, 1, vma, 2);
    expect(pte_folio(k.ctx(0), vma, 2)).toBe(f);
    expect(ledger(k, f)).toEqual({ MAP: 1, LRU_BATCH: 1 });
    expect(flagStr(k, f)).toBe('uptodate|swapbacked');
    expect(folio_mapcount(k.ctx(0), f)).toBe(1);
    expect(fw(k.ctx(0), f, F.ANON_EXCLUSIVE)).toBe(1);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(0);
    expect(nr(k, 1, Batch.lru_add)).toBe(1);
    expect(nr(k, 1, Batch.mlock)).toBe(0);
    lru_add_drain(k.ctx(1));
    expect(ledger(k, f)).toEqual({ MAP: 1 });
    expect(fw(k.ctx(0), f, F.LRU)).toBe(Lru.INACTIVE_ANON);
  });

  it('locked VMA: MAP1 + MLOCK_BATCH(NEW)1, PG_mlocked, !PG_unevictable; __mlock_new_folio later gives mlock_count 1', () => {
    const k = kernel('v6.11');
    const vma = anonVma(k, 4, LOCKED_ONFAULT);
    const f = fault(k, 1, vma, 0);
    expect(ledger(k, f)).toEqual({ MAP: 1, MLOCK_BATCH: 1 });
    expect(flagStr(k, f)).toBe('uptodate|swapbacked|mlocked');
    expect(nr(k, 1, Batch.lru_add)).toBe(0);
    expect(folio_batch_entries(k.ctx(1), 1, Batch.mlock).map(mlock_entry_op)).toEqual([MlockOp.NEW_FOLIO]);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(1);
    lru_add_drain(k.ctx(1));
    expect(ledger(k, f)).toEqual({ MAP: 1 });
    expect(flagStr(k, f)).toBe('uptodate|lru|swapbacked|unevictable|mlocked');
    expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(1);
  });

  it('a second fault on a present PTE maps nothing new', () => {
    const k = kernel('merged');
    const vma = anonVma(k, 1);
    const f = fault(k, 0, vma, 0);
    expect(fault(k, 0, vma, 0, false)).toBe(f);
    expect(fault(k, 0, vma, 0, true)).toBe(f); // anon-exclusive: writable, no COW
    expect(ledger(k, f)).toEqual({ MAP: 1, LRU_BATCH: 1 });
    expect(stat(k, 0, Stat.COW_COPY) + stat(k, 0, Stat.COW_REUSE)).toBe(0);
  });
});

describe('placement (spec §1.6)', () => {
  it('user faults land where the scenario puts movable memory; PF_MEMALLOC_PIN makes them pinnable', () => {
    const k = kernel('merged');
    k.ctx(1).alloc = { movableMt: MigrateType.CMA, movableZone: Zone.NORMAL };
    k.ctx(2).alloc = { movableMt: MigrateType.MOVABLE, movableZone: Zone.MOVABLE };
    const vma = anonVma(k, 4);
    const a = fault(k, 1, vma, 0);
    expect(fw(k.ctx(0), a, F.MT)).toBe(MigrateType.CMA);
    expect(folio_is_longterm_pinnable(k.ctx(0), a)).toBe(false);
    const b = fault(k, 2, vma, 1);
    expect(fw(k.ctx(0), b, F.ZONE)).toBe(Zone.MOVABLE);
    expect(folio_is_longterm_pinnable(k.ctx(0), b)).toBe(false);
    k.ctx(1).task.pfMemallocPin = true;
    const c = fault(k, 1, vma, 2);
    expect([fw(k.ctx(0), c, F.MT), fw(k.ctx(0), c, F.ZONE)]).toEqual([MigrateType.UNMOVABLE, Zone.NORMAL]);
    expect(folio_is_longterm_pinnable(k.ctx(0), c)).toBe(true);
  });

  it('shmem misses use the object placement unless PF_MEMALLOC_PIN; GFP_USER is always pinnable', () => {
    const k = kernel('merged');
    const obj = shmemObj(k, 4, MigrateType.CMA);
    const vma = sharedVma(k, obj, 4);
    const f = fault(k, 0, vma, 0);
    expect(fw(k.ctx(0), f, F.MT)).toBe(MigrateType.CMA);
    k.ctx(0).task.pfMemallocPin = true;
    const g = fault(k, 0, vma, 1);
    expect(folio_is_longterm_pinnable(k.ctx(0), g)).toBe(true);
    k.ctx(0).task.pfMemallocPin = false;
    k.ctx(0).alloc = { movableMt: MigrateType.CMA, movableZone: Zone.MOVABLE };
    const dst = folio_alloc(k.ctx(0), 0, false);
    expect(fw(k.ctx(0), dst, F.MT)).toBe(MigrateType.UNMOVABLE);
    expect(folio_is_longterm_pinnable(k.ctx(0), dst)).toBe(true);
    expect(ledger(k, dst)).toEqual({ TEMP: 1 });
    expect(fw(k.ctx(0), dst, F.PFN)).toBe(0x100000 + dst * 16);
  });

  it('running out of folio slots names nFolios', () => {
    const k = new InlineKernel({ nCpus: 1, policy: getPolicy('merged'), dims: { nFolios: 2, nPtes: 8, nCacheSlots: 8 } });
    folio_alloc(k.ctx(0), 0, true);
    folio_alloc(k.ctx(0), 0, true);
    expect(() => folio_alloc(k.ctx(0), 0, true)).toThrow(/nFolios=2/);
  });
});

describe("Will's sequence, S1 steps 1-2 (spec §1.8)", () => {
  for (const p of ['v6.11', 'merged']) {
    it(`${p}: shmem fault into a locked VMA: PAGECACHE1 + MAP1 + LRU_BATCH1 + MLOCK_BATCH1 = 4, then readahead of a large folio flushes lru_add`, () => {
      const { sink, events } = recorder();
      const k = new InlineKernel({ nCpus: 8, policy: getPolicy(p), trace: sink, dims: { nFolios: 256, nPtes: 256, nCacheSlots: 256 } });
      const memfd = shmemObj(k, 8, MigrateType.CMA);
      const guest = sharedVma(k, memfd, 8, LOCKED_ONFAULT);
      const F0 = fault(k, 7, guest, 3);
      expect(k.yields[7]).toContain(YP.FAULT_BEFORE_RMAP);
      expect(k.yields[7]).toContain(YP.MLOCK_BEFORE_APPEND);
      // Trace line A: page_ref_mod val=1 count=4 from mlock_folio, flags as Will printed them.
      const a = events.filter((e) => e.fn === 'mlock_folio');
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ delta: 1, count: 4, flags: 'locked|uptodate|swapbacked|mlocked', mapcount: 0, mt: MigrateType.CMA });
      expect(ledger(k, F0)).toEqual({ PAGECACHE: 1, MAP: 1, LRU_BATCH: 1, MLOCK_BATCH: 1 });
      expect(flagStr(k, F0)).toBe('uptodate|dirty|swapbacked|mlocked'); // unlocked, dirtied by the write
      expect(nr(k, 7, Batch.lru_add)).toBe(1);
      expect(nr(k, 7, Batch.mlock)).toBe(1);
      expect(fw(k.ctx(0), F0, F.LOCKED_MAPS)).toBe(1);
      // Step 2 (trace line B): instruction fault in a code file -> readahead of an order-4 folio.
      const code = fileObj(k, 16, 4);
      const G0 = k.run(7, filemap_fault(k.ctx(7), code, 5));
      expect(fw(k.ctx(0), G0, F.ORDER)).toBe(4);
      const b = events.filter((e) => e.fn === 'folios_put_refs' || (e.holder === Holder.LRU_BATCH && e.delta < 0));
      expect(b.some((e) => e.count === 3)).toBe(true);
      expect(ledger(k, F0)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1 });
      expect(flagStr(k, F0)).toBe('uptodate|dirty|lru|swapbacked|unevictable|mlocked');
      expect(fw(k.ctx(0), F0, F.MLOCK_COUNT)).toBe(0);
      expect(nr(k, 7, Batch.lru_add)).toBe(0);
      expect(nr(k, 7, Batch.mlock)).toBe(1); // the stranded MLOCK entry
      expect(stat(k, 7, Stat.BATCH_FLUSH_LARGE)).toBeGreaterThan(0);
      // The readahead folio: in the page cache, on the LRU; filemap_fault holds it locked with TEMP.
      expect(ledger(k, G0)).toEqual({ PAGECACHE: 16, TEMP: 1 });
      expect(has(k, G0, PG.lru)).toBe(true);
      expect(has(k, G0, PG.locked)).toBe(true);
      // When C7 finally drains, mlock_count becomes 1.
      lru_add_drain(k.ctx(7));
      expect(ledger(k, F0)).toEqual({ PAGECACHE: 1, MAP: 1 });
      expect(fw(k.ctx(0), F0, F.MLOCK_COUNT)).toBe(1);
    });
  }

  it('readahead of small folios that fill the batch also flushes it (v6.8: capacity 15)', () => {
    const k = kernel('v6.8');
    const memfd = shmemObj(k, 4);
    const guest = sharedVma(k, memfd, 4, LOCKED_ONFAULT);
    const F0 = fault(k, 7, guest, 0);
    const code = fileObj(k, 64);
    k.run(7, filemap_fault(k.ctx(7), code, 0));
    expect(stat(k, 7, Stat.BATCH_FLUSH_FULL)).toBeGreaterThan(0);
    expect(flagStr(k, F0)).toBe('uptodate|dirty|lru|swapbacked|unevictable|mlocked');
    expect(ledger(k, F0)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1 });
  });

  it('page-cache hit in a locked VMA (folio already on the LRU) adds only an MLOCK entry', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 2);
    const u = sharedVma(k, memfd, 2);
    const l = sharedVma(k, memfd, 2, LOCKED);
    const f = fault(k, 0, u, 0, false);
    lru_add_drain(k.ctx(0));
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 1 });
    expect(fault(k, 7, l, 0, false)).toBe(f);
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 2, MLOCK_BATCH: 1 });
    expect(has(k, f, PG.lru)).toBe(true);
    expect(nr(k, 7, Batch.lru_add)).toBe(0);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(1);
    expect(has(k, f, PG.dirty)).toBe(false); // read faults do not dirty
  });

  it('S8: an order-4 shmem folio is fully PTE-mapped: PAGECACHE16 + MAP16, no resting entry, not mlocked', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 32, MigrateType.CMA, 4);
    const vma = sharedVma(k, memfd, 32, LOCKED_ONFAULT);
    const f = fault(k, 1, vma, 19);
    expect(fw(k.ctx(0), f, F.ORDER)).toBe(4);
    expect(fw(k.ctx(0), f, F.INDEX)).toBe(16);
    for (let p = 16; p < 32; p++) expect(pte_folio(k.ctx(0), vma, p)).toBe(f);
    expect(pte_get(k.ctx(0), vma, 15)).toBe(0);
    expect(ledger(k, f)).toEqual({ PAGECACHE: 16, MAP: 16 });
    expect(folio_mapcount(k.ctx(0), f)).toBe(16);
    expect(nr(k, 1, Batch.lru_add) + nr(k, 1, Batch.mlock)).toBe(0);
    expect(has(k, f, PG.mlocked)).toBe(false);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(16);
  });
});

describe('munmap (spec §5.4)', () => {
  it('munmap of a locked VMA queues a MUNLOCK on this CPU and drops MAP after the flush', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 2);
    const l = sharedVma(k, memfd, 2, LOCKED);
    const f = fault(k, 3, l, 1);
    lru_add_drain(k.ctx(3));
    expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(1);
    // Something unrelated in C3's lru_add: unmap_region() drains it first.
    const other = fault(k, 3, anonVma(k, 1), 0);
    expect(nr(k, 3, Batch.lru_add)).toBe(1);
    k.run(3, unmap_vma(k.ctx(3), l));
    expect(vma_in_use(k.ctx(0), l)).toBe(false);
    expect(ledger(k, other)).toEqual({ MAP: 1 });
    expect(folio_batch_entries(k.ctx(3), 3, Batch.mlock).map(mlock_entry_op)).toEqual([MlockOp.MUNLOCK]);
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MLOCK_BATCH: 1 });
    expect(folio_mapcount(k.ctx(0), f)).toBe(0);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(0);
    expect(has(k, f, PG.mlocked)).toBe(true); // until the MUNLOCK is processed
    lru_add_drain(k.ctx(3));
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1 });
    // The zap saw a young PTE of a file folio: folio_mark_accessed().
    expect(flagStr(k, f)).toBe('referenced|uptodate|dirty|lru|swapbacked');
  });

  it('zap marks a file folio accessed (young PTE): the second zap activates it', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 1);
    const a = sharedVma(k, memfd, 1, 0);
    const b = sharedVma(k, memfd, 1, 0);
    const f = fault(k, 1, a, 0);
    fault(k, 1, b, 0);
    lru_add_drain(k.ctx(1));
    expect(has(k, f, PG.referenced)).toBe(false);
    k.run(1, unmap_vma(k.ctx(1), a));
    expect(has(k, f, PG.referenced)).toBe(true);
    k.run(1, unmap_vma(k.ctx(1), b));
    lru_add_drain(k.ctx(1));
    expect(has(k, f, PG.active)).toBe(true);
    expect(has(k, f, PG.referenced)).toBe(false);
  });

  it('munmap of an unlocked VMA queues nothing; the last MAP reference frees an anon folio', () => {
    const k = kernel('v6.11');
    const vma = anonVma(k, 1);
    const f = fault(k, 0, vma, 0);
    lru_add_drain(k.ctx(0));
    k.run(2, unmap_vma(k.ctx(2), vma));
    expect(nr(k, 2, Batch.mlock)).toBe(0);
    expect(folio_ref_count(k.ctx(0), f)).toBe(0);
    expect(ledger(k, f)).toEqual({});
  });

  it('a fault on a migration entry waits for the remap', () => {
    const k = kernel('merged');
    const vma = anonVma(k, 1);
    const f = fault(k, 0, vma, 0);
    pte_set(k.ctx(0), vma, 0, -(f + 1)); // as try_to_migrate leaves it
    const g = handle_mm_fault(k.ctx(1), vma, 0, true);
    expect(g.next().value).toBe(YP.BLOCKED);
    expect(k.ctx(1).blockReason).toBe('migration_entry_wait');
    pte_set(k.ctx(0), vma, 0, f + 1);
    expect(g.next()).toEqual({ done: true, value: f });
  });
});

describe('COW reuse: wp_can_reuse_anon_folio (spec §6.1, S4)', () => {
  /** S4 setup: locked (on-fault) anon VMA, write fault on C0, fork, child exits on C2. */
  function s4(policy: string, locked: boolean) {
    const k = kernel(policy);
    const parent = anonVma(k, 1, locked ? LOCKED_ONFAULT : 0, 1);
    const f = fault(k, 0, parent, 0);
    const child = fork_vma(k.ctx(0), parent, 2);
    expect(vma_flags(k.ctx(0), child) & (VM.LOCKED | VM.LOCKONFAULT)).toBe(0);
    expect(folio_mapcount(k.ctx(0), f)).toBe(2);
    expect(fw(k.ctx(0), f, F.ANON_EXCLUSIVE)).toBe(0);
    expect(ledger(k, f)).toEqual(locked ? { MAP: 2, MLOCK_BATCH: 1 } : { MAP: 2, LRU_BATCH: 1 });
    k.run(2, unmap_vma(k.ctx(2), child));
    expect(folio_mapcount(k.ctx(0), f)).toBe(1);
    expect(folio_ref_count(k.ctx(0), f)).toBe(2);
    return { k, parent, f };
  }

  for (const p of ['v6.10', 'v6.11', 'merged']) {
    it(`${p} S4: C0's NEW entry pending, parent writes on C1 -> local drain is useless -> copy`, () => {
      const { k, parent, f } = s4(p, true);
      const drainsBefore = stat(k, 1, Stat.LRU_ADD_DRAIN);
      const g = fault(k, 1, parent, 0);
      expect(g).not.toBe(f);
      expect(stat(k, 1, Stat.LRU_ADD_DRAIN)).toBe(drainsBefore + 1); // !PG_lru -> local drain
      expect(stat(k, 1, Stat.COW_COPY)).toBe(1);
      expect(stat(k, 1, Stat.COW_REUSE)).toBe(0);
      expect(ledger(k, g)).toEqual({ MAP: 1, MLOCK_BATCH: 1 }); // NEW entry on C1
      expect(flagStr(k, g)).toBe('uptodate|swapbacked|mlocked');
      // The old folio: unmapped, C0's NEW entry and C1's MUNLOCK entry remain.
      expect(ledger(k, f)).toEqual({ MLOCK_BATCH: 2 });
      expect(folio_mapcount(k.ctx(0), f)).toBe(0);
      lru_add_drain(k.ctx(0));
      lru_add_drain(k.ctx(1));
      expect(folio_ref_count(k.ctx(0), f)).toBe(0);
      expect(ledgerBalanced(k, g)).toBe(true);
    });
  }

  it('S4 with C0 drained first -> reuse', () => {
    const { k, parent, f } = s4('v6.11', true);
    lru_add_drain(k.ctx(0));
    expect(fault(k, 1, parent, 0)).toBe(f);
    expect(stat(k, 1, Stat.COW_REUSE)).toBe(1);
    expect(fw(k.ctx(0), f, F.ANON_EXCLUSIVE)).toBe(1);
    expect(ledger(k, f)).toEqual({ MAP: 1 });
  });

  /** S4b/S4c: not mlocked; F active on the LRU, then MADV_COLD queues it in C0's lru_deactivate. */
  function s4c(policy: string) {
    const { k, parent, f } = s4(policy, false);
    lru_add_drain(k.ctx(0));
    k.run(0, folio_activate(k.ctx(0), f));
    lru_add_drain(k.ctx(0));
    expect(has(k, f, PG.active)).toBe(true);
    k.run(0, folio_deactivate(k.ctx(0), f));
    expect(nr(k, 0, Batch.lru_deactivate)).toBe(1);
    expect(ledger(k, f)).toEqual({ MAP: 1, LRU_BATCH: 1 });
    return { k, parent, f };
  }

  it('S4c v6.11: PG_lru cleared at queue time -> local drain on C0 removes the entry -> reuse', () => {
    const { k, parent, f } = s4c('v6.11');
    expect(has(k, f, PG.lru)).toBe(false);
    expect(fault(k, 0, parent, 0)).toBe(f);
    expect(stat(k, 0, Stat.COW_REUSE)).toBe(1);
    expect(ledger(k, f)).toEqual({ MAP: 1 });
  });

  for (const p of ['v6.10', 'merged']) {
    it(`S4c ${p}: PG_lru still set -> no drain -> 2 refs -> copy`, () => {
      const { k, parent, f } = s4c(p);
      expect(has(k, f, PG.lru)).toBe(true);
      const drains = stat(k, 0, Stat.LRU_ADD_DRAIN);
      expect(fault(k, 0, parent, 0)).not.toBe(f);
      expect(stat(k, 0, Stat.LRU_ADD_DRAIN)).toBe(drains);
      expect(stat(k, 0, Stat.COW_COPY)).toBe(1);
    });
  }

  it('S4b v6.11: parent on C1 -> drain on C1 is useless -> copy', () => {
    const { k, parent, f } = s4c('v6.11');
    expect(fault(k, 1, parent, 0)).not.toBe(f);
    expect(stat(k, 1, Stat.COW_COPY)).toBe(1);
  });

  it('fails fast above 3 references without draining', () => {
    const k = kernel('v6.11');
    const vma = anonVma(k, 1);
    const f = fault(k, 0, vma, 0);
    fork_vma(k.ctx(0), vma, 1);
    fork_vma(k.ctx(0), vma, 2);
    expect(folio_ref_count(k.ctx(0), f)).toBe(4);
    const drains = stat(k, 0, Stat.LRU_ADD_DRAIN);
    expect(wp_can_reuse_anon_folio(k.ctx(0), f, vma)).toBe(false);
    expect(stat(k, 0, Stat.LRU_ADD_DRAIN)).toBe(drains);
    expect(nr(k, 0, Batch.lru_add)).toBe(1);
  });
});

describe('racing faults (yield point 6, the PTL)', () => {
  it('two CPUs fault the same shmem page: one maps it, the other backs off and drops its reference', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 1);
    const vma = sharedVma(k, memfd, 1, LOCKED);
    const g0 = handle_mm_fault(k.ctx(0), vma, 0, false);
    let y = g0.next();
    while (!y.done && y.value !== YP.FAULT_BEFORE_RMAP) y = g0.next();
    expect(y.value).toBe(YP.FAULT_BEFORE_RMAP); // C0: inserted, locked, not yet mapped
    // C1 must wait for the folio lock that C0's fault holds.
    const g1 = handle_mm_fault(k.ctx(1), vma, 0, false);
    expect(g1.next().value).toBe(YP.BLOCKED);
    expect(k.ctx(1).blockReason).toBe('folio_lock');
    let r0 = g0.next();
    while (!r0.done) r0 = g0.next();
    const f = r0.value;
    let r1 = g1.next();
    while (!r1.done) r1 = g1.next();
    expect(r1.value).toBe(f); // found C0's PTE, no second mapping
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, MAP: 1, LRU_BATCH: 1, MLOCK_BATCH: 1 });
    expect(folio_mapcount(k.ctx(0), f)).toBe(1);
  });

  it('C1 waits on the PTL while C0 sits inside mlock_folio (yield point 2) with it held', () => {
    const k = kernel('merged');
    const memfd = shmemObj(k, 1);
    const vma = sharedVma(k, memfd, 1, LOCKED);
    const g0 = handle_mm_fault(k.ctx(0), vma, 0, true);
    let y = g0.next();
    while (!y.done && y.value !== YP.MLOCK_BEFORE_APPEND) y = g0.next();
    expect(k.ctx(0).preempt).toBeGreaterThan(0);
    const z = unmap_vma(k.ctx(1), vma);
    expect(z.next().value).toBe(YP.BLOCKED);
    expect(k.ctx(1).blockReason).toBe('ptl');
    let r0 = g0.next();
    while (!r0.done) r0 = g0.next();
    expect(k.ctx(0).preempt).toBe(0);
    let r1 = z.next();
    while (!r1.done) r1 = z.next();
    const f = r0.value;
    expect(ledger(k, f)).toEqual({ PAGECACHE: 1, LRU_BATCH: 1, MLOCK_BATCH: 2 }); // C0 lru_add + MLOCK, C1 MUNLOCK
    expect(folio_mapcount(k.ctx(0), f)).toBe(0);
    expect(fw(k.ctx(0), f, F.LOCKED_MAPS)).toBe(0);
  });
});

describe('the TLB-flush free path (tlbFreeDrains)', () => {
  it('where free_pages_and_swap_cache() drains (6.1.y, 6.12.y), munmap of a locked VMA leaves no MUNLOCK entry', async () => {
    const { releasePolicy, releaseFor } = await import('../src/policy/releases.js');
    for (const [v, left] of [
      ['6.1.192', 0],
      ['6.12.117', 0],
      ['v6.18', 1],
    ] as const) {
      const k = kernelWith(releasePolicy(releaseFor(v)));
      const memfd = shmemObj(k, 1);
      const plain = sharedVma(k, memfd, 1, 0);
      const l = sharedVma(k, memfd, 1, LOCKED);
      const f = fault(k, 1, plain, 0);
      lru_add_drain(k.ctx(1));
      fault(k, 1, l, 0);
      lru_add_drain(k.ctx(1));
      k.run(1, unmap_vma(k.ctx(1), l));
      expect(nr(k, 1, Batch.mlock), v).toBe(left);
      expect(has(k, f, PG.mlocked), v).toBe(left === 1);
    }
  });
});
