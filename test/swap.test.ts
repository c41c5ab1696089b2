import { describe, expect, it } from 'vitest';
import { Batch, Holder, Lru, MappingKind, PG, VM } from '../src/mm/constants.js';
import { YP } from '../src/mm/context.js';
import { F, C, FolioState, Stat, cpuBase } from '../src/mm/layout.js';
import { folio_put, folio_ref_count, folio_test, fw, ledger_get } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import {
  cpu_needs_drain,
  deactivate_file_folio,
  folio_activate,
  folio_add_lru,
  folio_add_lru_vma,
  folio_deactivate,
  folio_mark_accessed,
  folio_mark_lazyfree,
  folio_rotate_reclaimable,
  lru_add_drain,
  lru_add_drain_cpu,
  lru_add_drain_per_cpu,
} from '../src/mm/swap.js';
import { lru_cache_disabled } from '../src/mm/lruvec.js';
import { mlock_folio } from '../src/mm/mlock.js';
import { folio_isolate_lru } from '../src/mm/vmscan.js';
import { makeFolio } from './helpers/folios.js';
import { bh_lru_install, has_bh_in_lru } from '../src/mm/buffer.js';
import { lru_add_drain_all, lru_cache_disable, lru_cache_enable } from '../src/mm/lru_add_drain_all.js';

const kernel = (policy: string, nCpus = 2) => new InlineKernel({ nCpus, policy: getPolicy(policy), dims: { nFolios: 512, nPtes: 16, nCacheSlots: 16 } });
const stat = (k: InlineKernel, cpu: number, s: number) => k.w[cpuBase(cpu) + C.STATS + s]!;
const nr = (k: InlineKernel, cpu: number, b: number) => folio_batch_count(k.ctx(cpu), cpu, b);
const has = (k: InlineKernel, f: number, bit: number) => folio_test(k.ctx(0), f, bit);
const ref = (k: InlineKernel, f: number) => folio_ref_count(k.ctx(0), f);
const led = (k: InlineKernel, f: number, h: number) => ledger_get(k.ctx(0), f, h);
const lru = (k: InlineKernel, f: number) => fw(k.ctx(0), f, F.LRU);
/** A clean, unmapped page-cache folio on the inactive file list. */
const fileOnLru = (k: InlineKernel, extra: ('active' | 'dirty' | 'referenced' | 'locked' | 'writeback')[] = []) =>
  makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', ...extra], holders: { PAGECACHE: 1 } });
const drain = (k: InlineKernel, cpu: number) => lru_add_drain(k.ctx(cpu));

describe('folio_add_lru / lru_add', () => {
  for (const p of ['v6.10', 'v6.11', 'merged']) {
    it(`${p}: queues on the local lru_add batch with one LRU_BATCH ref; drain places it`, () => {
      const k = kernel(p);
      const f = makeFolio(k, { mapping: MappingKind.SHMEM, flags: ['swapbacked'], holders: { TEMP: 1, PAGECACHE: 1 } });
      k.run(1, folio_add_lru(k.ctx(1), f));
      expect(nr(k, 1, Batch.lru_add)).toBe(1);
      expect(folio_batch_entries(k.ctx(0), 1, Batch.lru_add)).toEqual([f]);
      expect(ref(k, f)).toBe(3);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(1);
      expect(has(k, f, PG.lru)).toBe(false);
      expect(lru(k, f)).toBe(Lru.NONE);
      drain(k, 1);
      expect(nr(k, 1, Batch.lru_add)).toBe(0);
      expect(has(k, f, PG.lru)).toBe(true);
      expect(lru(k, f)).toBe(Lru.INACTIVE_ANON); // shmem is swapbacked
      expect(ref(k, f)).toBe(2);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(0);
    });
  }

  it('the batch drop of the last reference frees the folio on the draining CPU (FOLIO_FREED)', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.SHMEM, flags: ['swapbacked'], holders: { TEMP: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), f));
    expect(folio_put(k.ctx(1), f, Holder.TEMP, 'test')).toBe(false);
    expect(stat(k, 1, Stat.FOLIO_FREED)).toBe(0);
    drain(k, 1);
    expect(ref(k, f)).toBe(0);
    expect(fw(k.ctx(0), f, F.STATE)).toBe(FolioState.FREED);
    expect(stat(k, 1, Stat.FOLIO_FREED)).toBe(1);
    expect(stat(k, 0, Stat.FOLIO_FREED)).toBe(0);
  });

  it('BUGs on a folio that already has PG_lru', () => {
    const k = kernel('v6.11');
    const f = fileOnLru(k);
    expect(() => k.run(0, folio_add_lru(k.ctx(0), f))).toThrow(/PG_lru/);
  });

  it('lru_add of an mlocked folio: unevictable, active cleared, mlock_count reset to 0, CULLED', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.SHMEM, flags: ['mlocked', 'active'], holders: { PAGECACHE: 1 }, mlockCount: 7 });
    k.run(0, folio_add_lru(k.ctx(0), f));
    drain(k, 0);
    expect(has(k, f, PG.unevictable)).toBe(true);
    expect(has(k, f, PG.active)).toBe(false);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(fw(k.ctx(0), f, F.MLOCK_COUNT)).toBe(0);
    expect(lru(k, f)).toBe(Lru.UNEVICTABLE);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGCULLED)).toBe(1);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGRESCUED)).toBe(0);
  });

  it('lru_add of a folio left PG_unevictable but now evictable: RESCUED onto an evictable list', () => {
    const k = kernel('merged');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['unevictable'], holders: { PAGECACHE: 1 } });
    k.run(0, folio_add_lru(k.ctx(0), f));
    drain(k, 0);
    expect(has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGRESCUED)).toBe(1);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGCULLED)).toBe(0);
  });
});

describe('folio_add_lru_vma', () => {
  it('locked VMA -> mlock_new_folio (NEW entry, PG_mlocked); VM_SPECIAL or unlocked -> lru_add', () => {
    const k = kernel('v6.11');
    const anon = () => makeFolio(k, { mapping: MappingKind.ANON, holders: { MAP: 1 } });
    const a = anon();
    k.run(0, folio_add_lru_vma(k.ctx(0), a, VM.LOCKED | VM.WRITE));
    expect(nr(k, 0, Batch.mlock)).toBe(1);
    expect(nr(k, 0, Batch.lru_add)).toBe(0);
    expect(has(k, a, PG.mlocked)).toBe(true);
    expect(led(k, a, Holder.MLOCK_BATCH)).toBe(1);
    const b = anon();
    k.run(0, folio_add_lru_vma(k.ctx(0), b, VM.LOCKED | VM.IO));
    const c = anon();
    k.run(0, folio_add_lru_vma(k.ctx(0), c, VM.WRITE));
    expect(nr(k, 0, Batch.lru_add)).toBe(2);
    expect(has(k, b, PG.mlocked) || has(k, c, PG.mlocked)).toBe(false);
    drain(k, 0);
    expect(lru(k, a)).toBe(Lru.UNEVICTABLE);
    expect(fw(k.ctx(0), a, F.MLOCK_COUNT)).toBe(1);
    expect(lru(k, b)).toBe(Lru.INACTIVE_ANON);
    expect(ref(k, a) + ref(k, b) + ref(k, c)).toBe(3);
  });
});

describe('folio_activate by version', () => {
  it('v6.10 / merged: queued with PG_lru still set; the processor claims it', () => {
    for (const p of ['v6.10', 'merged']) {
      const k = kernel(p);
      const f = fileOnLru(k);
      k.run(0, folio_activate(k.ctx(0), f));
      expect(nr(k, 0, Batch.lru_activate)).toBe(1);
      expect(has(k, f, PG.lru)).toBe(true);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(1);
      drain(k, 0);
      expect(has(k, f, PG.active)).toBe(true);
      expect(has(k, f, PG.lru)).toBe(true);
      expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
      expect(ref(k, f)).toBe(1);
      expect(stat(k, 0, Stat.PGACTIVATE)).toBe(1);
    }
  });

  it('v6.11: PG_lru cleared at queue time, folio stays linked on its list until processed', () => {
    const k = kernel('v6.11');
    const f = fileOnLru(k);
    k.run(0, folio_activate(k.ctx(0), f));
    expect(has(k, f, PG.lru)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(ref(k, f)).toBe(2);
    drain(k, 0);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
    expect(ref(k, f)).toBe(1);
  });

  it('off-LRU folio: v6.10/merged pre-check returns quietly; v6.11 drops the op and counts it', () => {
    for (const [p, dropped] of [
      ['v6.10', 0],
      ['merged', 0],
      ['v6.11', 1],
    ] as const) {
      const k = kernel(p);
      const f = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1, ISOLATION: 1 } });
      k.run(0, folio_activate(k.ctx(0), f));
      expect(nr(k, 0, Batch.lru_activate)).toBe(0);
      expect(ref(k, f)).toBe(2);
      expect(stat(k, 0, Stat.LRU_OP_DROPPED)).toBe(dropped);
    }
  });

  it('active or unevictable folios are never queued', () => {
    for (const p of ['v6.10', 'v6.11']) {
      const k = kernel(p);
      const a = fileOnLru(k, ['active']);
      const u = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', 'unevictable', 'mlocked'], holders: { PAGECACHE: 1 } });
      k.run(0, folio_activate(k.ctx(0), a));
      k.run(0, folio_activate(k.ctx(0), u));
      expect(nr(k, 0, Batch.lru_activate)).toBe(0);
      expect(has(k, a, PG.lru) && has(k, u, PG.lru)).toBe(true);
    }
  });

  it('v6.10: an op whose folio was isolated meanwhile is skipped at processing, ref still dropped', () => {
    const k = kernel('v6.10');
    const f = fileOnLru(k);
    k.run(0, folio_activate(k.ctx(0), f));
    expect(folio_isolate_lru(k.ctx(1), f)).toBe(true);
    drain(k, 0);
    expect(has(k, f, PG.active)).toBe(false);
    expect(has(k, f, PG.lru)).toBe(false);
    expect(lru(k, f)).toBe(Lru.NONE);
    expect(led(k, f, Holder.LRU_BATCH)).toBe(0);
    expect(ref(k, f)).toBe(2); // PAGECACHE + ISOLATION
  });

  it('the get-before-lock window: ref raised, nr not yet, no local lock held (yield point 1)', () => {
    const k = kernel('merged');
    const f = fileOnLru(k);
    const ctx = k.ctx(1);
    const g = folio_activate(ctx, f);
    expect(g.next().value).toBe(YP.LRU_ADD_AFTER_GET);
    expect(ref(k, f)).toBe(2);
    expect(nr(k, 1, Batch.lru_activate)).toBe(0);
    expect(cpu_needs_drain(k.ctx(0), 1)).toBe(false);
    expect(ctx.preempt).toBe(0);
    expect(g.next().done).toBe(true);
    expect(nr(k, 1, Batch.lru_activate)).toBe(1);
    expect(cpu_needs_drain(k.ctx(0), 1)).toBe(true);
  });
});

describe('folio_mark_accessed', () => {
  it('second chance: referenced first, then activate (PG_referenced cleared)', () => {
    const k = kernel('merged');
    const f = fileOnLru(k);
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    expect(has(k, f, PG.referenced)).toBe(true);
    expect(nr(k, 0, Batch.lru_activate)).toBe(0);
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    expect(has(k, f, PG.referenced)).toBe(false);
    expect(nr(k, 0, Batch.lru_activate)).toBe(1);
    drain(k, 0);
    expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
  });

  it('!PG_lru folio in the local lru_add batch: marked active directly, lands on the active list', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['referenced'], holders: { PAGECACHE: 1 } });
    k.run(0, folio_add_lru(k.ctx(0), f));
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    expect(has(k, f, PG.active)).toBe(true);
    expect(nr(k, 0, Batch.lru_activate)).toBe(0);
    drain(k, 0);
    expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
  });

  it('only the local lru_add batch is searched: a remote one is not found', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['referenced'], holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), f));
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    expect(has(k, f, PG.active)).toBe(false);
    expect(has(k, f, PG.referenced)).toBe(false);
    drain(k, 1);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
  });

  it('unevictable folios are left alone', () => {
    const k = kernel('v6.10');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', 'unevictable', 'mlocked', 'referenced'], holders: { PAGECACHE: 1 } });
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    expect(has(k, f, PG.referenced)).toBe(true);
    expect(nr(k, 0, Batch.lru_activate)).toBe(0);
  });
});

describe('deactivate / lazyfree / rotate', () => {
  it('deactivate_file_folio: clean -> tail (PGROTATED, PGDEACTIVATE if it was active)', () => {
    for (const p of ['v6.10', 'v6.11', 'merged']) {
      const k = kernel(p);
      const f = fileOnLru(k, ['active', 'referenced']);
      k.run(0, deactivate_file_folio(k.ctx(0), f));
      expect(nr(k, 0, Batch.lru_deactivate_file)).toBe(1);
      expect(has(k, f, PG.lru)).toBe(p !== 'v6.11');
      drain(k, 0);
      expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
      expect(has(k, f, PG.active) || has(k, f, PG.referenced) || has(k, f, PG.reclaim)).toBe(false);
      expect(stat(k, 0, Stat.PGROTATED)).toBe(1);
      expect(stat(k, 0, Stat.PGDEACTIVATE)).toBe(1);
      expect(ref(k, f)).toBe(1);
    }
  });

  it('deactivate_file_folio of an isolated folio: v6.10/v6.8 queue it (ref held until the drain skips it); merged and v6.11 do not', () => {
    for (const p of ['v6.10', 'v6.8', 'merged', 'v6.11']) {
      const k = kernel(p);
      const f = fileOnLru(k, ['active']);
      expect(folio_isolate_lru(k.ctx(1), f)).toBe(true);
      expect(ref(k, f)).toBe(2); // PAGECACHE + ISOLATION
      k.run(0, deactivate_file_folio(k.ctx(0), f));
      const queued = p === 'v6.10' || p === 'v6.8';
      expect(nr(k, 0, Batch.lru_deactivate_file)).toBe(queued ? 1 : 0);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(queued ? 1 : 0);
      expect(ref(k, f)).toBe(queued ? 3 : 2);
      expect(stat(k, 0, Stat.LRU_OP_DROPPED)).toBe(p === 'v6.11' ? 1 : 0);
      drain(k, 0);
      // The processor's PG_lru claim fails: the op is skipped, the batch ref dropped.
      expect(nr(k, 0, Batch.lru_deactivate_file)).toBe(0);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(0);
      expect(ref(k, f)).toBe(2);
      expect(has(k, f, PG.lru)).toBe(false);
      expect(has(k, f, PG.active)).toBe(true);
      expect(lru(k, f)).toBe(Lru.NONE);
      expect(stat(k, 0, Stat.PGROTATED) + stat(k, 0, Stat.PGDEACTIVATE)).toBe(0);
    }
  });

  it('deactivate_file_folio: dirty -> head with PG_reclaim; mapped -> untouched', () => {
    const k = kernel('merged');
    const d = fileOnLru(k, ['dirty']);
    const m = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', 'active'], holders: { PAGECACHE: 1, MAP: 1 } });
    k.run(0, deactivate_file_folio(k.ctx(0), d));
    k.run(0, deactivate_file_folio(k.ctx(0), m));
    drain(k, 0);
    expect(has(k, d, PG.reclaim)).toBe(true);
    expect(stat(k, 0, Stat.PGROTATED)).toBe(0);
    expect(lru(k, m)).toBe(Lru.ACTIVE_FILE);
    expect(has(k, m, PG.lru)).toBe(true);
    expect(ref(k, m)).toBe(2);
  });

  it('folio_deactivate: active only; v6.11 claims PG_lru at queue', () => {
    for (const p of ['v6.10', 'v6.11']) {
      const k = kernel(p);
      const i = fileOnLru(k);
      const a = fileOnLru(k, ['active', 'referenced']);
      k.run(0, folio_deactivate(k.ctx(0), i));
      k.run(0, folio_deactivate(k.ctx(0), a));
      expect(nr(k, 0, Batch.lru_deactivate)).toBe(1);
      expect(has(k, a, PG.lru)).toBe(p === 'v6.10');
      drain(k, 0);
      expect(lru(k, a)).toBe(Lru.INACTIVE_FILE);
      expect(has(k, a, PG.referenced)).toBe(false);
      expect(stat(k, 0, Stat.PGDEACTIVATE)).toBe(1);
    }
  });

  it('folio_mark_lazyfree: anon swapbacked -> inactive file list without PG_swapbacked; swapcache refused', () => {
    for (const p of ['v6.10', 'v6.11']) {
      const k = kernel(p);
      const f = makeFolio(k, { mapping: MappingKind.ANON, flags: ['lru', 'active'], holders: { MAP: 1 } });
      const s = makeFolio(k, { mapping: MappingKind.ANON, flags: ['lru', 'swapcache'], holders: { MAP: 1, SWAPCACHE: 1 } });
      expect(lru(k, f)).toBe(Lru.ACTIVE_ANON);
      k.run(0, folio_mark_lazyfree(k.ctx(0), f));
      k.run(0, folio_mark_lazyfree(k.ctx(0), s));
      expect(nr(k, 0, Batch.lru_lazyfree)).toBe(1);
      drain(k, 0);
      expect(has(k, f, PG.swapbacked)).toBe(false);
      expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
      expect(stat(k, 0, Stat.PGLAZYFREE)).toBe(1);
      expect(lru(k, s)).toBe(Lru.INACTIVE_ANON);
    }
  });

  it('folio_rotate_reclaimable: lru_move_tail batch under the IRQ lock; dirty or locked refused', () => {
    for (const p of ['v6.10', 'v6.11']) {
      const k = kernel(p);
      const f = fileOnLru(k, ['active']);
      const d = fileOnLru(k, ['dirty']);
      const l = fileOnLru(k, ['locked']);
      for (const x of [f, d, l]) k.run(0, folio_rotate_reclaimable(k.ctx(0), x));
      expect(nr(k, 0, Batch.lru_move_tail)).toBe(1);
      expect(k.w[cpuBase(0) + C.LOCK_IRQ]).toBe(0);
      drain(k, 0);
      expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
      expect(stat(k, 0, Stat.PGROTATED)).toBe(1);
      expect(ref(k, f)).toBe(1);
    }
  });
});

describe('batch capacity and immediate flushes', () => {
  for (const [p, cap] of [
    ['v6.8', 15],
    ['v6.11', 31],
  ] as const) {
    it(`${p}: flush at the ${cap}th add, at most ${cap - 1} at rest`, () => {
      const k = kernel(p);
      const fs: number[] = [];
      for (let i = 0; i < cap - 1; i++) {
        const f = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
        fs.push(f);
        k.run(0, folio_add_lru(k.ctx(0), f));
      }
      expect(nr(k, 0, Batch.lru_add)).toBe(cap - 1);
      expect(stat(k, 0, Stat.BATCH_FLUSH_FULL)).toBe(0);
      expect(fs.every((f) => !has(k, f, PG.lru))).toBe(true);
      const last = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
      k.run(0, folio_add_lru(k.ctx(0), last));
      expect(nr(k, 0, Batch.lru_add)).toBe(0);
      expect(stat(k, 0, Stat.BATCH_FLUSH_FULL)).toBe(1);
      expect([...fs, last].every((f) => has(k, f, PG.lru) && ref(k, f) === 1)).toBe(true);
    });
  }

  it('a large folio flushes the batch at once (and everything queued before it)', () => {
    const k = kernel('merged');
    const small = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    const big = makeFolio(k, { mapping: MappingKind.FILE, order: 2, holders: { PAGECACHE: 4 } });
    k.run(0, folio_add_lru(k.ctx(0), small));
    expect(nr(k, 0, Batch.lru_add)).toBe(1);
    k.run(0, folio_add_lru(k.ctx(0), big));
    expect(nr(k, 0, Batch.lru_add)).toBe(0);
    expect(stat(k, 0, Stat.BATCH_FLUSH_LARGE)).toBe(1);
    expect(has(k, small, PG.lru) && has(k, big, PG.lru)).toBe(true);
    expect(ref(k, big)).toBe(4);
  });

  it('lru_cache_disable drains the CPUs that need it (force only bypasses the generation skip) and keeps every batch empty until enable', () => {
    const k = kernel('v6.11', 3);
    const a = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    const b = fileOnLru(k);
    const c = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru'], holders: { PAGECACHE: 1, MAP: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), a));
    k.run(2, folio_activate(k.ctx(2), b));
    k.run(2, mlock_folio(k.ctx(2), c));
    k.run(0, lru_cache_disable(k.ctx(0)));
    expect(lru_cache_disabled(k.ctx(1))).toBe(true);
    for (let cpu = 0; cpu < 3; cpu++) expect(cpu_needs_drain(k.ctx(0), cpu)).toBe(false);
    // CPU 0 had nothing queued: no work there (cpu_needs_drain() alone decides, v5.13+).
    expect(stat(k, 0, Stat.DRAIN_ALL_CPUS_QUEUED)).toBe(2);
    expect(has(k, a, PG.lru) && has(k, b, PG.active) && has(k, c, PG.unevictable)).toBe(true);
    // While disabled, every add processes its batch at once.
    const d = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), d));
    k.run(1, folio_activate(k.ctx(1), a));
    k.run(1, mlock_folio(k.ctx(1), b));
    for (let cpu = 0; cpu < 3; cpu++) expect(cpu_needs_drain(k.ctx(0), cpu)).toBe(false);
    expect(stat(k, 1, Stat.BATCH_FLUSH_DISABLED)).toBe(3);
    expect(has(k, d, PG.lru) && has(k, a, PG.active) && has(k, b, PG.unevictable)).toBe(true);
    lru_cache_enable(k.ctx(0));
    expect(lru_cache_disabled(k.ctx(1))).toBe(false);
    const e = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), e));
    expect(nr(k, 1, Batch.lru_add)).toBe(1);
    expect(() => {
      lru_cache_enable(k.ctx(0));
      lru_cache_enable(k.ctx(0));
    }).toThrow(/without/);
  });
});

describe('buffer-head LRUs (has_bh_in_lru)', () => {
  it('a CPU with buffer heads needs a drain; the drain work empties its bh LRU, a local lru_add_drain() does not', () => {
    const k = kernel('v6.11', 3);
    expect(cpu_needs_drain(k.ctx(0), 2)).toBe(false);
    bh_lru_install(k.ctx(2), 3);
    expect(has_bh_in_lru(k.ctx(0), 2)).toBe(true);
    expect(cpu_needs_drain(k.ctx(0), 2)).toBe(true);
    drain(k, 2); // lru_add_drain(): batches only
    expect(has_bh_in_lru(k.ctx(0), 2)).toBe(true);
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(stat(k, 0, Stat.DRAIN_ALL_CPUS_QUEUED)).toBe(1); // CPU 2 only: its batches are empty
    expect(has_bh_in_lru(k.ctx(0), 2)).toBe(false);
    expect(cpu_needs_drain(k.ctx(0), 2)).toBe(false);
  });
  it('lru_cache_disable() with nothing queued anywhere queues no work', () => {
    const k = kernel('v6.11', 4);
    k.run(0, lru_cache_disable(k.ctx(0)));
    expect(stat(k, 0, Stat.LRU_ADD_DRAIN_ALL)).toBe(1);
    expect(stat(k, 0, Stat.DRAIN_ALL_CPUS_QUEUED)).toBe(0);
    lru_cache_enable(k.ctx(0));
  });
});

describe('draining', () => {
  it('lru_add_drain_cpu order: lru_move_tail is processed before lru_activate', () => {
    const k = kernel('v6.10');
    const f = fileOnLru(k);
    k.run(0, folio_activate(k.ctx(0), f));
    k.run(0, folio_rotate_reclaimable(k.ctx(0), f));
    expect(ref(k, f)).toBe(3);
    drain(k, 0);
    // move_tail first (inactive tail), then activate: active. The reverse order would end inactive.
    expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
    expect(ref(k, f)).toBe(1);
  });

  it('lru_add_drain counts a caller drain and empties the mlock batch; the kworker function does not count', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru'], holders: { PAGECACHE: 1, MAP: 1 } });
    k.run(0, mlock_folio(k.ctx(0), f));
    lru_add_drain_per_cpu(k.ctx(0));
    expect(nr(k, 0, Batch.mlock)).toBe(0);
    expect(stat(k, 0, Stat.LRU_ADD_DRAIN)).toBe(0);
    drain(k, 0);
    expect(stat(k, 0, Stat.LRU_ADD_DRAIN)).toBe(1);
    expect(k.ctx(0).preempt).toBe(0);
  });

  it('lru_add_drain_cpu leaves the mlock batch, refuses an online remote CPU and an unlocked caller', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru'], holders: { PAGECACHE: 1, MAP: 1 } });
    k.run(1, mlock_folio(k.ctx(1), f));
    expect(() => lru_add_drain_cpu(k.ctx(0), 1)).toThrow(/online/);
    expect(() => lru_add_drain_cpu(k.ctx(1), 1)).toThrow(/local lock/);
    expect(nr(k, 1, Batch.mlock)).toBe(1);
  });

  it('cpu_needs_drain sees every batch kind', () => {
    const k = kernel('v6.10');
    const ctx = k.ctx(1);
    expect(cpu_needs_drain(k.ctx(0), 1)).toBe(false);
    const steps: [() => ReturnType<typeof folio_activate>, number][] = [
      [() => folio_add_lru(ctx, makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } })), Batch.lru_add],
      [() => folio_activate(ctx, fileOnLru(k)), Batch.lru_activate],
      [() => deactivate_file_folio(ctx, fileOnLru(k)), Batch.lru_deactivate_file],
      [() => folio_deactivate(ctx, fileOnLru(k, ['active'])), Batch.lru_deactivate],
      [() => folio_mark_lazyfree(ctx, makeFolio(k, { mapping: MappingKind.ANON, flags: ['lru'], holders: { MAP: 1 } })), Batch.lru_lazyfree],
      [() => folio_rotate_reclaimable(ctx, fileOnLru(k)), Batch.lru_move_tail],
      [() => mlock_folio(ctx, fileOnLru(k)), Batch.mlock],
    ];
    for (const [op, b] of steps) {
      k.run(1, op());
      expect(nr(k, 1, b)).toBe(1);
      expect(cpu_needs_drain(k.ctx(0), 1)).toBe(true);
      drain(k, 1);
      expect(cpu_needs_drain(k.ctx(0), 1)).toBe(false);
    }
  });
});

describe('one LRU batch per folio (spec §6.2)', () => {
  const queueEverywhere = (k: InlineKernel, f: number) => {
    k.run(0, folio_activate(k.ctx(0), f));
    k.run(0, folio_activate(k.ctx(0), f));
    k.run(1, deactivate_file_folio(k.ctx(1), f));
    k.run(1, folio_rotate_reclaimable(k.ctx(1), f));
  };
  it('v6.10 / merged: the same folio sits in several LRU batches, even twice in one', () => {
    for (const p of ['v6.10', 'merged']) {
      const k = kernel(p);
      const f = fileOnLru(k);
      queueEverywhere(k, f);
      expect(led(k, f, Holder.LRU_BATCH)).toBe(4);
      expect(nr(k, 0, Batch.lru_activate)).toBe(2);
      expect(nr(k, 1, Batch.lru_deactivate_file) + nr(k, 1, Batch.lru_move_tail)).toBe(2);
      expect(stat(k, 0, Stat.LRU_OP_DROPPED) + stat(k, 1, Stat.LRU_OP_DROPPED)).toBe(0);
      drain(k, 0);
      drain(k, 1);
      expect(ref(k, f)).toBe(1);
      expect(has(k, f, PG.lru)).toBe(true);
    }
  });
  it('v6.11: at most one LRU-batch entry, with PG_lru clear; the rest are dropped', () => {
    const k = kernel('v6.11');
    const f = fileOnLru(k);
    queueEverywhere(k, f);
    expect(led(k, f, Holder.LRU_BATCH)).toBe(1);
    expect(has(k, f, PG.lru)).toBe(false);
    expect(stat(k, 0, Stat.LRU_OP_DROPPED) + stat(k, 1, Stat.LRU_OP_DROPPED)).toBe(3);
    // mlock entries are not bound by it.
    k.run(1, mlock_folio(k.ctx(1), f));
    k.run(0, mlock_folio(k.ctx(0), f));
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(2);
  });
});

describe('OPX/OPY reorder (spec §6.3, S3)', () => {
  /** deactivate-file on C1, then activate on C0 (two mark_accessed), C0 drains, C1 drains last. */
  const deactivateThenActivate = (p: string) => {
    const k = kernel(p);
    const f = fileOnLru(k);
    k.run(1, deactivate_file_folio(k.ctx(1), f));
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    k.run(0, folio_mark_accessed(k.ctx(0), f));
    drain(k, 0);
    const midActive = has(k, f, PG.active);
    drain(k, 1);
    return { k, f, midActive };
  };
  /** mirror: activate on C0 first, deactivate-file on C1 later, C1 drains, C0 drains last. */
  const activateThenDeactivate = (p: string) => {
    const k = kernel(p);
    const f = fileOnLru(k);
    k.run(0, folio_activate(k.ctx(0), f));
    k.run(1, deactivate_file_folio(k.ctx(1), f));
    drain(k, 1);
    drain(k, 0);
    return { k, f };
  };

  for (const p of ['v6.10', 'merged']) {
    it(`${p}: the last CPU to drain wins, whatever the request order`, () => {
      const a = deactivateThenActivate(p);
      expect(a.midActive).toBe(true); // the activate was visible ...
      expect(lru(a.k, a.f)).toBe(Lru.INACTIVE_FILE); // ... then undone by the stranded earlier op
      const b = activateThenDeactivate(p);
      expect(lru(b.k, b.f)).toBe(Lru.ACTIVE_FILE); // the later deactivate lost
      for (const { k, f } of [a, b]) {
        expect(ref(k, f)).toBe(1);
        expect(stat(k, 0, Stat.LRU_OP_DROPPED) + stat(k, 1, Stat.LRU_OP_DROPPED)).toBe(0);
      }
    });
  }

  it('v6.11: the first queued op wins, the later one is dropped', () => {
    const a = deactivateThenActivate('v6.11');
    expect(a.midActive).toBe(false); // activate swallowed: PG_lru clear, not in C0's lru_add
    expect(lru(a.k, a.f)).toBe(Lru.INACTIVE_FILE);
    const b = activateThenDeactivate('v6.11');
    expect(lru(b.k, b.f)).toBe(Lru.ACTIVE_FILE);
    expect(stat(b.k, 1, Stat.LRU_OP_DROPPED)).toBe(1);
    for (const { k, f } of [a, b]) expect(ref(k, f)).toBe(1);
  });
});
