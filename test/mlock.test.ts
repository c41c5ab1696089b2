import { describe, expect, it } from 'vitest';
import { Batch, Holder, Lru, MappingKind, MlockOp, PG, VM } from '../src/mm/constants.js';
import { YP } from '../src/mm/context.js';
import { C, F, Stat, cpuBase } from '../src/mm/layout.js';
import { folio_clear, folio_set, folio_ref_count, folio_test, fw, ledger_get } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import {
  MLOCK_LRU_UNCLAIMED,
  mlock_drain_local,
  mlock_drain_remote,
  mlock_folio,
  mlock_new_folio,
  mlock_vma_folio,
  munlock_folio,
  munlock_vma_folio,
  need_mlock_drain,
} from '../src/mm/mlock.js';
import { folio_add_lru, folio_deactivate, lru_add_drain } from '../src/mm/swap.js';
import { makeFolio } from './helpers/folios.js';

const kernel = (policy: string, nCpus = 4) => new InlineKernel({ nCpus, policy: getPolicy(policy), dims: { nFolios: 512, nPtes: 16, nCacheSlots: 16 } });
const stat = (k: InlineKernel, cpu: number, s: number) => k.w[cpuBase(cpu) + C.STATS + s]!;
const total = (k: InlineKernel, s: number) => k.ctxs.reduce((a, c) => a + stat(k, c.cpu, s), 0);
const nr = (k: InlineKernel, cpu: number) => folio_batch_count(k.ctx(cpu), cpu, Batch.mlock);
const has = (k: InlineKernel, f: number, bit: number) => folio_test(k.ctx(0), f, bit);
const ref = (k: InlineKernel, f: number) => folio_ref_count(k.ctx(0), f);
const led = (k: InlineKernel, f: number, h: number) => ledger_get(k.ctx(0), f, h);
const lru = (k: InlineKernel, f: number) => fw(k.ctx(0), f, F.LRU);
const count = (k: InlineKernel, f: number) => fw(k.ctx(0), f, F.MLOCK_COUNT);
const drain = (k: InlineKernel, cpu: number) => lru_add_drain(k.ctx(cpu));
const mlock = (k: InlineKernel, cpu: number, f: number) => k.run(cpu, mlock_folio(k.ctx(cpu), f));
const munlock = (k: InlineKernel, cpu: number, f: number) => k.run(cpu, munlock_folio(k.ctx(cpu), f));
/** A mapped file folio on the inactive list. */
const mappedOnLru = (k: InlineKernel, extra: 'active'[] = []) =>
  makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', ...extra], holders: { PAGECACHE: 1, MAP: 1 } });
/** A file folio already mlocked and on the unevictable LRU with mlock_count `n`. */
const mlockedOnLru = (k: InlineKernel, n: number) =>
  makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru', 'unevictable', 'mlocked'], holders: { PAGECACHE: 1, MAP: n }, mlockCount: n });

describe('mlock_folio', () => {
  it('sets PG_mlocked and NR_MLOCK at queue time; placement and mlock_count at drain', () => {
    const k = kernel('v6.11');
    const f = mappedOnLru(k);
    mlock(k, 1, f);
    expect(has(k, f, PG.mlocked)).toBe(true);
    expect(stat(k, 1, Stat.NR_MLOCK)).toBe(1);
    expect(stat(k, 1, Stat.UNEVICTABLE_PGMLOCKED)).toBe(1);
    expect(has(k, f, PG.unevictable)).toBe(false);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(folio_batch_entries(k.ctx(0), 1, Batch.mlock)).toEqual([(f << 2) | MlockOp.LRU_FOLIO]);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(1);
    expect(ref(k, f)).toBe(3);
    drain(k, 1);
    expect(has(k, f, PG.unevictable) && has(k, f, PG.lru)).toBe(true);
    expect(lru(k, f)).toBe(Lru.UNEVICTABLE);
    expect(count(k, f)).toBe(1);
    expect(stat(k, 1, Stat.UNEVICTABLE_PGCULLED)).toBe(1);
    expect(ref(k, f)).toBe(2);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(0);
  });

  it('a second MLOCK of an mlocked unevictable folio raises the count, NR_MLOCK unchanged', () => {
    const k = kernel('merged');
    const f = mlockedOnLru(k, 1);
    mlock(k, 2, f);
    expect(stat(k, 2, Stat.NR_MLOCK)).toBe(0);
    drain(k, 2);
    expect(count(k, f)).toBe(2);
    expect(stat(k, 2, Stat.UNEVICTABLE_PGCULLED)).toBe(0);
  });

  it('MLOCK of an off-LRU folio is a no-op at drain (count unchanged, PG_mlocked stays)', () => {
    const k = kernel('v6.10');
    const f = mlockedOnLru(k, 1);
    folio_clear(k.ctx(0), f, PG.lru); // e.g. someone else is moving it
    mlock(k, 0, f);
    drain(k, 0);
    expect(count(k, f)).toBe(1);
    expect(has(k, f, PG.lru)).toBe(false);
    expect(has(k, f, PG.mlocked)).toBe(true);
    expect(ref(k, f)).toBe(2);
  });

  it('PG_mlocked cleared meanwhile: __mlock_folio rescues a folio left unevictable', () => {
    const k = kernel('v6.11');
    const f = mlockedOnLru(k, 1);
    mlock(k, 0, f);
    folio_clear(k.ctx(0), f, PG.mlocked); // another CPU munlocked it
    drain(k, 0);
    expect(has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGRESCUED)).toBe(1);
  });

  it("Will's sequence (spec §1.8): lru_add sets unevictable with count 0, the pending MLOCK raises it to 1", () => {
    const k = kernel('v6.11');
    // A0: shmem fault: page cache + lru_add on CPU 7's stand-in (CPU 3); the fault ref is the MAP ref.
    const f = makeFolio(k, { mapping: MappingKind.SHMEM, flags: ['swapbacked'], holders: { PAGECACHE: 1, MAP: 1 }, mt: 4 });
    k.run(3, folio_add_lru(k.ctx(3), f));
    // A: rmap add in the MLOCK_ONFAULT VMA.
    k.run(3, mlock_vma_folio(k.ctx(3), f, VM.LOCKED | VM.LOCKONFAULT | VM.SHARED));
    expect(ref(k, f)).toBe(4);
    expect(has(k, f, PG.mlocked) && !has(k, f, PG.lru) && !has(k, f, PG.unevictable)).toBe(true);
    // B: readahead adds a large folio on the same CPU: the lru_add batch is flushed, mlock is not.
    const big = makeFolio(k, { mapping: MappingKind.FILE, order: 2, holders: { PAGECACHE: 4 } });
    k.run(3, folio_add_lru(k.ctx(3), big));
    expect(has(k, f, PG.lru) && has(k, f, PG.unevictable) && has(k, f, PG.mlocked)).toBe(true);
    expect(count(k, f)).toBe(0);
    expect(ref(k, f)).toBe(3);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(1);
    expect(need_mlock_drain(k.ctx(0), 3)).toBe(true);
    mlock_drain_local(k.ctx(3));
    expect(count(k, f)).toBe(1);
    expect(ref(k, f)).toBe(2);
  });

  it('the append window (yield point 2): PG_mlocked and ref set, nr still 0, mlock lock held', () => {
    const k = kernel('merged');
    const f = mappedOnLru(k);
    const ctx = k.ctx(1);
    const g = mlock_folio(ctx, f);
    expect(g.next().value).toBe(YP.MLOCK_BEFORE_APPEND);
    expect(has(k, f, PG.mlocked)).toBe(true);
    expect(ref(k, f)).toBe(3);
    expect(need_mlock_drain(k.ctx(0), 1)).toBe(false);
    expect(ctx.preempt).toBe(1);
    expect(k.w[cpuBase(1) + C.MLOCK_LOCK]).toBe(2);
    expect(g.next().done).toBe(true);
    expect(need_mlock_drain(k.ctx(0), 1)).toBe(true);
    expect(ctx.preempt).toBe(0);
    expect(k.w[cpuBase(1) + C.MLOCK_LOCK]).toBe(0);
  });
});

describe('mlock_new_folio', () => {
  it('NEW entry: PG_mlocked unconditionally, then unevictable with count 1 and PG_lru', () => {
    const k = kernel('v6.11');
    const f = makeFolio(k, { mapping: MappingKind.ANON, holders: { MAP: 1 } });
    k.run(0, mlock_new_folio(k.ctx(0), f));
    expect(folio_batch_entries(k.ctx(0), 0, Batch.mlock)).toEqual([(f << 2) | MlockOp.NEW_FOLIO]);
    expect(has(k, f, PG.mlocked) && !has(k, f, PG.lru)).toBe(true);
    expect(stat(k, 0, Stat.NR_MLOCK)).toBe(1);
    expect(ref(k, f)).toBe(2);
    drain(k, 0);
    expect(lru(k, f)).toBe(Lru.UNEVICTABLE);
    expect(count(k, f)).toBe(1);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(ref(k, f)).toBe(1);
  });
});

describe('munlock_folio', () => {
  it('does not touch PG_mlocked at queue; untagged entry', () => {
    const k = kernel('v6.11');
    const f = mlockedOnLru(k, 1);
    munlock(k, 0, f);
    expect(folio_batch_entries(k.ctx(0), 0, Batch.mlock)).toEqual([f << 2]);
    expect(has(k, f, PG.mlocked)).toBe(true);
    expect(ref(k, f)).toBe(3);
  });

  it('on the unevictable LRU: only the count drops until it reaches 0, then munlock + rescue', () => {
    const k = kernel('v6.10');
    const f = mlockedOnLru(k, 2);
    munlock(k, 0, f);
    drain(k, 0);
    expect(count(k, f)).toBe(1);
    expect(has(k, f, PG.mlocked) && has(k, f, PG.unevictable) && has(k, f, PG.lru)).toBe(true);
    expect(stat(k, 0, Stat.NR_MLOCK)).toBe(0);
    munlock(k, 0, f);
    drain(k, 0);
    expect(has(k, f, PG.mlocked) || has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(stat(k, 0, Stat.NR_MLOCK)).toBe(-1);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGMUNLOCKED)).toBe(1);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGRESCUED)).toBe(1);
    expect(ref(k, f)).toBe(3);
  });

  it('off-LRU: munlocks unconditionally, whatever mlock_count says (STRANDED if left unevictable)', () => {
    const k = kernel('v6.11');
    const f = mlockedOnLru(k, 2);
    folio_clear(k.ctx(0), f, PG.lru); // e.g. queued in a 6.11 LRU batch
    munlock(k, 0, f);
    drain(k, 0);
    expect(has(k, f, PG.mlocked)).toBe(false);
    expect(count(k, f)).toBe(2);
    expect(has(k, f, PG.unevictable)).toBe(true);
    expect(has(k, f, PG.lru)).toBe(false);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGSTRANDED)).toBe(1);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGMUNLOCKED)).toBe(0);
    expect(stat(k, 0, Stat.NR_MLOCK)).toBe(-1);
    // Off-LRU and evictable-accounted: plain MUNLOCKED.
    const g = makeFolio(k, { mapping: MappingKind.FILE, flags: ['mlocked'], holders: { PAGECACHE: 1, ISOLATION: 1 } });
    munlock(k, 0, g);
    drain(k, 0);
    expect(has(k, g, PG.mlocked)).toBe(false);
    expect(stat(k, 0, Stat.UNEVICTABLE_PGMUNLOCKED)).toBe(1);
  });

  it('one batch keeps arrival order across op kinds: MLOCK then MUNLOCK nets out', () => {
    const k = kernel('v6.11');
    const f = mappedOnLru(k);
    mlock(k, 0, f);
    munlock(k, 0, f);
    expect(nr(k, 0)).toBe(2);
    drain(k, 0);
    expect(has(k, f, PG.mlocked) || has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(total(k, Stat.NR_MLOCK)).toBe(0);
    expect(ref(k, f)).toBe(2);
  });
});

describe('flushing', () => {
  for (const [p, cap] of [
    ['v6.8', 15],
    ['v6.11', 31],
  ] as const) {
    it(`${p}: the ${cap}th mlock op processes the batch`, () => {
      const k = kernel(p);
      const fs = Array.from({ length: cap }, () => mappedOnLru(k));
      fs.slice(0, cap - 1).forEach((f) => mlock(k, 0, f));
      expect(nr(k, 0)).toBe(cap - 1);
      expect(fs.some((f) => has(k, f, PG.unevictable))).toBe(false);
      mlock(k, 0, fs[cap - 1]!);
      expect(nr(k, 0)).toBe(0);
      expect(stat(k, 0, Stat.BATCH_FLUSH_FULL)).toBe(1);
      expect(fs.every((f) => has(k, f, PG.unevictable) && count(k, f) === 1 && ref(k, f) === 2)).toBe(true);
    });
  }

  it('large folios never rest in the mlock batch', () => {
    const k = kernel('merged');
    const big = makeFolio(k, { mapping: MappingKind.FILE, order: 3, flags: ['lru'], holders: { PAGECACHE: 8, MAP: 8 } });
    mlock(k, 0, big);
    expect(nr(k, 0)).toBe(0);
    expect(stat(k, 0, Stat.BATCH_FLUSH_LARGE)).toBe(1);
    expect(stat(k, 0, Stat.NR_MLOCK)).toBe(8);
    expect(has(k, big, PG.unevictable)).toBe(true);
    munlock(k, 0, big);
    expect(nr(k, 0)).toBe(0);
    expect(has(k, big, PG.mlocked)).toBe(false);
    expect(total(k, Stat.NR_MLOCK)).toBe(0);
  });

  it('mlockBatching off: every op processed at once', () => {
    for (const [p, rest] of [
      ['no-mlock-batching', 0],
      ['v6.11', 1],
    ] as const) {
      const k = kernel(p);
      const f = mappedOnLru(k);
      mlock(k, 0, f);
      expect(nr(k, 0)).toBe(rest);
      expect(has(k, f, PG.unevictable)).toBe(rest === 0);
      const a = makeFolio(k, { mapping: MappingKind.ANON, holders: { MAP: 1 } });
      k.run(0, mlock_new_folio(k.ctx(0), a));
      expect(nr(k, 0)).toBe(2 * rest);
    }
  });

  it('PF_MEMALLOC_PIN shortcuts: hubbard flushes NEW only, hubbard-fixed MLOCK too, neither MUNLOCK', () => {
    const cases = [
      ['v6.11', 1, 1],
      ['hubbard-memalloc-pin', 0, 1],
      ['hubbard-fixed', 0, 0],
    ] as const;
    for (const [p, newRests, mlockRests] of cases) {
      const k = kernel(p);
      const ctx = k.ctx(0);
      ctx.task.pfMemallocPin = true;
      const a = makeFolio(k, { mapping: MappingKind.ANON, holders: { MAP: 1 } });
      k.run(0, mlock_new_folio(ctx, a));
      expect(nr(k, 0)).toBe(newRests);
      mlock_drain_local(ctx);
      const f = mappedOnLru(k);
      mlock(k, 0, f);
      expect(nr(k, 0)).toBe(mlockRests);
      mlock_drain_local(ctx);
      munlock(k, 0, f);
      expect(nr(k, 0)).toBe(1);
      // Without the task flag nothing is special.
      ctx.task.pfMemallocPin = false;
      const b = makeFolio(k, { mapping: MappingKind.ANON, holders: { MAP: 1 } });
      k.run(0, mlock_new_folio(ctx, b));
      expect(nr(k, 0)).toBe(2);
    }
  });
});

describe('mlock_vma_folio / munlock_vma_folio gates', () => {
  it('mlock only for locked, non-VM_SPECIAL VMAs and small folios; munlock for any VM_LOCKED', () => {
    const k = kernel('v6.11');
    const f = mappedOnLru(k);
    k.run(0, mlock_vma_folio(k.ctx(0), f, VM.WRITE));
    k.run(0, mlock_vma_folio(k.ctx(0), f, VM.LOCKED | VM.IO));
    k.run(0, mlock_vma_folio(k.ctx(0), f, VM.LOCKED | VM.PFNMAP));
    const big = makeFolio(k, { mapping: MappingKind.FILE, order: 2, flags: ['lru'], holders: { PAGECACHE: 4, MAP: 4 } });
    k.run(0, mlock_vma_folio(k.ctx(0), big, VM.LOCKED));
    expect(has(k, f, PG.mlocked) || has(k, big, PG.mlocked)).toBe(false);
    expect(nr(k, 0)).toBe(0);
    k.run(0, mlock_vma_folio(k.ctx(0), f, VM.LOCKED));
    expect(nr(k, 0)).toBe(1);
    k.run(0, munlock_vma_folio(k.ctx(0), f, VM.WRITE));
    expect(nr(k, 0)).toBe(1);
    k.run(0, munlock_vma_folio(k.ctx(0), f, VM.LOCKED | VM.IO));
    expect(nr(k, 0)).toBe(2);
    k.run(0, munlock_vma_folio(k.ctx(0), big, VM.LOCKED)); // large: the whole batch processed at once
    expect(nr(k, 0)).toBe(0);
    expect(has(k, f, PG.mlocked)).toBe(false); // its MLOCK then MUNLOCK
    expect(led(k, big, Holder.MLOCK_BATCH)).toBe(0);
  });
});

describe('drains', () => {
  it('mlock_drain_remote refuses an online CPU and drains a dead one', () => {
    const k = kernel('v6.11');
    const f = mappedOnLru(k);
    mlock(k, 1, f);
    expect(() => mlock_drain_remote(k.ctx(0), 1)).toThrow(/online/);
    k.w[cpuBase(1) + C.ONLINE] = 0;
    mlock_drain_remote(k.ctx(0), 1);
    expect(nr(k, 1)).toBe(0);
    expect(count(k, f)).toBe(1);
    expect(ref(k, f)).toBe(2);
  });
});

describe('S7a (spec §9): MLOCK while the folio sits in a 6.11 LRU batch', () => {
  const run = (p: string) => {
    const k = kernel(p);
    const f = mappedOnLru(k, ['active']); // mapped by an unlocked VMA U
    k.run(0, folio_deactivate(k.ctx(0), f)); // MADV_COLD through U
    mlock(k, 1, f); // fault maps F in locked VMA A
    mlock(k, 2, f); // ... and in locked VMA B
    drain(k, 1);
    drain(k, 2);
    drain(k, 0);
    const afterDrains = { unevictable: has(k, f, PG.unevictable), count: count(k, f), list: lru(k, f) };
    munlock(k, 3, f); // munmap A
    drain(k, 3);
    return { k, f, afterDrains };
  };
  for (const p of ['v6.10', 'merged']) {
    it(`${p}: both mlocks counted; still mlocked after one munmap`, () => {
      const { k, f, afterDrains } = run(p);
      expect(afterDrains).toEqual({ unevictable: true, count: 2, list: Lru.UNEVICTABLE });
      expect(has(k, f, PG.mlocked)).toBe(true);
      expect(count(k, f)).toBe(1);
    });
  }
  it('v6.11: both mlocks missed, deactivate puts an mlocked folio on an evictable list, munlock too soon', () => {
    const { k, f, afterDrains } = run('v6.11');
    expect(afterDrains.unevictable).toBe(false);
    expect(afterDrains.list).toBe(Lru.INACTIVE_FILE); // I7 violated: PG_mlocked on an evictable list
    expect(has(k, f, PG.mlocked)).toBe(false); // still mapped in locked VMA B
    expect(total(k, Stat.NR_MLOCK)).toBe(0);
  });
});

describe('one-batch-mlock (mlockClearsLru, spec §6.4 / S7b)', () => {
  it('queueing an MLOCK claims PG_lru; the folio stays linked while queued', () => {
    const k = kernel('one-batch-mlock');
    const f = mlockedOnLru(k, 1);
    mlock(k, 1, f);
    expect(has(k, f, PG.lru)).toBe(false);
    expect(lru(k, f)).toBe(Lru.UNEVICTABLE);
    drain(k, 1);
    expect(has(k, f, PG.lru)).toBe(true);
    expect(count(k, f)).toBe(2);
  });

  it('skipOnFail: MUNLOCK dropped while an MLOCK is queued -> stranded mlocked with no locked mapping (too late)', () => {
    const k = kernel('one-batch-mlock');
    const f = mlockedOnLru(k, 1); // locked VMA A only
    mlock(k, 1, f); // fault maps F in locked VMA B
    munlock(k, 2, f); // munmap A: claim fails -> dropped
    expect(nr(k, 2)).toBe(0);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(1);
    expect(stat(k, 2, Stat.LRU_OP_DROPPED)).toBe(1);
    drain(k, 2);
    drain(k, 1);
    expect(count(k, f)).toBe(2);
    munlock(k, 3, f); // munmap B
    drain(k, 3);
    expect(count(k, f)).toBe(1);
    expect(has(k, f, PG.mlocked) && has(k, f, PG.unevictable) && has(k, f, PG.lru)).toBe(true);
    expect(ref(k, f)).toBe(2);
  });

  it('forceOnFail: the MUNLOCK is queued unclaimed, munlocks without the count; the MLOCK then rescues (too soon)', () => {
    const k = kernel('one-batch-mlock-force');
    const f = mlockedOnLru(k, 1);
    mlock(k, 1, f);
    munlock(k, 2, f);
    expect(folio_batch_entries(k.ctx(0), 2, Batch.mlock)).toEqual([(f << 2) | MLOCK_LRU_UNCLAIMED]);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(2);
    drain(k, 2);
    expect(has(k, f, PG.mlocked)).toBe(false);
    expect(has(k, f, PG.lru)).toBe(false); // still claimed by C1's MLOCK
    expect(stat(k, 2, Stat.UNEVICTABLE_PGSTRANDED)).toBe(1);
    drain(k, 1);
    expect(has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE); // mapped in locked VMA B, not mlocked
    expect(has(k, f, PG.lru)).toBe(true);
    expect(stat(k, 1, Stat.UNEVICTABLE_PGRESCUED)).toBe(1);
    expect(ref(k, f)).toBe(2);
  });

  it('forceOnFail: an unclaimed MLOCK applies nothing at drain even if the folio is back on the LRU', () => {
    const k = kernel('one-batch-mlock-force');
    const f = mlockedOnLru(k, 1);
    folio_clear(k.ctx(0), f, PG.lru);
    mlock(k, 1, f);
    // Back on the LRU before C1 drains (e.g. the other batch was processed).
    folio_set(k.ctx(0), f, PG.lru);
    drain(k, 1);
    expect(count(k, f)).toBe(1);
    expect(ref(k, f)).toBe(2);
  });
});
