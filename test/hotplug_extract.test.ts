import { describe, expect, it } from 'vitest';
import { Batch, Holder, Lru, MappingKind, MlockOp, PG, TOMBSTONE } from '../src/mm/constants.js';
import { YP } from '../src/mm/context.js';
import { C, F, Stat, cpuBase } from '../src/mm/layout.js';
import { folio_ref_count, folio_test, fw, ledger_get } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { cpu_online } from '../src/mm/cpumask.js';
import { lru_add_drain_all } from '../src/mm/lru_add_drain_all.js';
import { mlock_folio, munlock_folio } from '../src/mm/mlock.js';
import {
  cpu_needs_drain,
  deactivate_file_folio,
  folio_activate,
  folio_add_lru,
  folio_rotate_reclaimable,
  lru_add_drain,
  lru_add_drain_cpu,
} from '../src/mm/swap.js';
import { page_alloc_cpu_dead, set_cpu_online } from '../src/mm/swap_hotplug.js';
import { folio_extract_from_batches } from '../src/mm/extract.js';
import { folio_isolate_lru } from '../src/mm/vmscan.js';
import { makeFolio } from './helpers/folios.js';

const kernel = (policy: string, nCpus = 3) => new InlineKernel({ nCpus, policy: getPolicy(policy), dims: { nFolios: 512, nPtes: 16, nCacheSlots: 16 } });
const stat = (k: InlineKernel, cpu: number, s: number) => k.w[cpuBase(cpu) + C.STATS + s]!;
const nr = (k: InlineKernel, cpu: number, b: number) => folio_batch_count(k.ctx(cpu), cpu, b);
const has = (k: InlineKernel, f: number, bit: number) => folio_test(k.ctx(0), f, bit);
const ref = (k: InlineKernel, f: number) => folio_ref_count(k.ctx(0), f);
const led = (k: InlineKernel, f: number, h: number) => ledger_get(k.ctx(0), f, h);
const lru = (k: InlineKernel, f: number) => fw(k.ctx(0), f, F.LRU);
const count = (k: InlineKernel, f: number) => fw(k.ctx(0), f, F.MLOCK_COUNT);
const fileOnLru = (k: InlineKernel) => makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru'], holders: { PAGECACHE: 1 } });
const mappedOnLru = (k: InlineKernel) => makeFolio(k, { mapping: MappingKind.FILE, flags: ['lru'], holders: { PAGECACHE: 1, MAP: 1 } });
/** Will's folio: shmem in CMA, page cache + mapping. */
const willsFolio = (k: InlineKernel) => makeFolio(k, { mapping: MappingKind.SHMEM, flags: ['swapbacked'], holders: { PAGECACHE: 1, MAP: 1 }, mt: 4 });
const batchRefs = (k: InlineKernel, f: number) => led(k, f, Holder.LRU_BATCH) + led(k, f, Holder.MLOCK_BATCH);

describe('CPU hotplug: page_alloc_cpu_dead (spec §3.6, S10)', () => {
  it('an offline CPU is skipped by lru_add_drain_all; the dead callback processes each entry exactly once', () => {
    const k = kernel('v6.10');
    const a = willsFolio(k);
    const b = fileOnLru(k);
    const c = fileOnLru(k);
    k.run(1, folio_add_lru(k.ctx(1), a));
    k.run(1, mlock_folio(k.ctx(1), a));
    k.run(1, folio_activate(k.ctx(1), b));
    k.run(1, folio_rotate_reclaimable(k.ctx(1), c));
    expect(ref(k, a)).toBe(4);
    set_cpu_online(k.ctx(0), 1, false);
    expect(cpu_online(k.ctx(0), 1)).toBe(false);
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(stat(k, 0, Stat.DRAIN_ALL_CPUS_QUEUED)).toBe(0);
    expect(cpu_needs_drain(k.ctx(0), 1)).toBe(true);
    expect(ref(k, a)).toBe(4); // unreachable until the dead callback
    expect(() => lru_add_drain_cpu(k.ctx(2), 0)).toThrow(/online/);
    page_alloc_cpu_dead(k.ctx(0), 1);
    expect(cpu_needs_drain(k.ctx(0), 1)).toBe(false);
    expect(stat(k, 0, Stat.DEAD_CPU_DRAIN)).toBe(4);
    expect(has(k, a, PG.lru) && has(k, a, PG.unevictable)).toBe(true);
    expect(count(k, a)).toBe(1); // lru_add first, then the MLOCK
    expect(has(k, b, PG.active)).toBe(true);
    expect([a, b, c].map((f) => batchRefs(k, f))).toEqual([0, 0, 0]);
    expect([ref(k, a), ref(k, b), ref(k, c)]).toEqual([2, 1, 1]);
    // The locks of the dead CPU were released; a second callback finds nothing.
    for (const w of [C.LOCK, C.LOCK_IRQ, C.MLOCK_LOCK]) expect(k.w[cpuBase(1) + w]).toBe(0);
    page_alloc_cpu_dead(k.ctx(2), 1);
    expect(stat(k, 2, Stat.DEAD_CPU_DRAIN)).toBe(0);
    expect([ref(k, a), ref(k, b), ref(k, c)]).toEqual([2, 1, 1]);
    expect(k.ctx(0).preempt + k.ctx(2).preempt).toBe(0);
  });

  it('refuses an online CPU, or itself', () => {
    const k = kernel('v6.11');
    expect(() => page_alloc_cpu_dead(k.ctx(0), 1)).toThrow(/online/);
    set_cpu_online(k.ctx(0), 0, false);
    expect(() => page_alloc_cpu_dead(k.ctx(0), 0)).toThrow(/itself/);
    expect(() => set_cpu_online(k.ctx(0), 9, true)).toThrow(RangeError);
  });
});

describe('targeted extraction (spec §6.7)', () => {
  it("Will's S1: extracts the lru_add and the MLOCK entry from CPU 1, in drain order, on CPU 0", () => {
    const k = kernel('targeted-extraction');
    const other = fileOnLru(k);
    const f = willsFolio(k);
    const g = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), f));
    k.run(1, folio_add_lru(k.ctx(1), g));
    k.run(1, mlock_folio(k.ctx(1), other));
    k.run(1, mlock_folio(k.ctx(1), f));
    expect(ref(k, f)).toBe(4);
    const n = k.run(0, folio_extract_from_batches(k.ctx(0), f));
    expect(n).toBe(2);
    expect(stat(k, 0, Stat.EXTRACTED)).toBe(2);
    expect(ref(k, f)).toBe(2);
    expect(batchRefs(k, f)).toBe(0);
    expect(has(k, f, PG.lru) && has(k, f, PG.unevictable) && has(k, f, PG.mlocked)).toBe(true);
    expect(count(k, f)).toBe(1);
    // Tombstones keep their slots; everything else is untouched.
    expect(folio_batch_entries(k.ctx(0), 1, Batch.lru_add)).toEqual([TOMBSTONE, g]);
    expect(folio_batch_entries(k.ctx(0), 1, Batch.mlock)).toEqual([(other << 2) | MlockOp.LRU_FOLIO, TOMBSTONE]);
    for (const w of [C.LOCK, C.MLOCK_LOCK]) expect(k.w[cpuBase(1) + w]).toBe(0);
    // The owner's later drain skips the tombstones and processes the rest once.
    lru_add_drain(k.ctx(1));
    expect(nr(k, 1, Batch.lru_add) + nr(k, 1, Batch.mlock)).toBe(0);
    expect(ref(k, f)).toBe(2);
    expect(count(k, f)).toBe(1);
    expect(has(k, g, PG.lru) && ref(k, g) === 1).toBe(true);
    expect(has(k, other, PG.unevictable) && ref(k, other) === 1).toBe(true);
  });

  it('finds entries on every online CPU, skips offline ones', () => {
    const k = kernel('v6.10', 4);
    const f = mappedOnLru(k);
    k.run(0, folio_activate(k.ctx(0), f));
    k.run(1, deactivate_file_folio(k.ctx(1), f));
    k.run(1, mlock_folio(k.ctx(1), f));
    k.run(2, mlock_folio(k.ctx(2), f));
    k.run(3, mlock_folio(k.ctx(3), f));
    set_cpu_online(k.ctx(0), 3, false);
    expect(batchRefs(k, f)).toBe(5);
    expect(k.run(2, folio_extract_from_batches(k.ctx(2), f))).toBe(4);
    expect(batchRefs(k, f)).toBe(1);
    expect(led(k, f, Holder.MLOCK_BATCH)).toBe(1);
    expect(count(k, f)).toBe(2); // two MLOCKs applied here
    expect(has(k, f, PG.unevictable)).toBe(true);
    page_alloc_cpu_dead(k.ctx(0), 3);
    expect(count(k, f)).toBe(3);
    expect(ref(k, f)).toBe(2);
  });

  it('same PG_lru rules: a 6.11 entry owns PG_lru; a merged entry whose folio was isolated is skipped', () => {
    const k = kernel('v6.11');
    const f = fileOnLru(k);
    k.run(1, folio_activate(k.ctx(1), f));
    expect(has(k, f, PG.lru)).toBe(false);
    expect(k.run(0, folio_extract_from_batches(k.ctx(0), f))).toBe(1);
    expect(has(k, f, PG.lru) && has(k, f, PG.active)).toBe(true);
    expect(lru(k, f)).toBe(Lru.ACTIVE_FILE);
    expect(ref(k, f)).toBe(1);

    const m = kernel('merged');
    const g = fileOnLru(m);
    m.run(1, folio_activate(m.ctx(1), g));
    expect(folio_isolate_lru(m.ctx(2), g)).toBe(true);
    expect(m.run(0, folio_extract_from_batches(m.ctx(0), g))).toBe(1);
    expect(has(m, g, PG.active) || has(m, g, PG.lru)).toBe(false);
    expect(ref(m, g)).toBe(2); // PAGECACHE + ISOLATION
    expect(stat(m, 0, Stat.EXTRACTED)).toBe(1);
  });

  it('an add still before its append is missed (S6b: LRU get-before-lock window)', () => {
    const k = kernel('targeted-extraction');
    const f = fileOnLru(k);
    const g = folio_activate(k.ctx(1), f);
    expect(g.next().value).toBe(YP.LRU_ADD_AFTER_GET);
    expect(ref(k, f)).toBe(2);
    expect(k.run(0, folio_extract_from_batches(k.ctx(0), f))).toBe(0);
    expect(g.next().done).toBe(true);
    expect(nr(k, 1, Batch.lru_activate)).toBe(1);
    expect(k.run(0, folio_extract_from_batches(k.ctx(0), f))).toBe(1);
    expect(ref(k, f)).toBe(1);
  });

  it('waits (wait_event on trylock) for a lock held by a CPU parked in its mlock append window', () => {
    const k = kernel('targeted-extraction');
    const f = mappedOnLru(k);
    k.run(1, mlock_folio(k.ctx(1), f)); // an earlier MLOCK entry on CPU 1
    const parked = munlock_folio(k.ctx(1), f);
    expect(parked.next().value).toBe(YP.MLOCK_BEFORE_APPEND); // holds CPU 1's mlock lock
    const ex = folio_extract_from_batches(k.ctx(0), f);
    expect(ex.next().value).toBe(YP.BLOCKED);
    expect(k.ctx(0).blockReason).toBe('extract_lock');
    expect(ex.next().value).toBe(YP.BLOCKED); // still held
    expect(parked.next().done).toBe(true); // appends the MUNLOCK, unlocks
    const r = ex.next();
    expect(r.done && r.value).toBe(2);
    expect(k.ctx(0).blockedOn).toBe(null);
    // MLOCK then MUNLOCK, in slot order: culled with count 1, then munlocked and rescued.
    expect(has(k, f, PG.mlocked) || has(k, f, PG.unevictable)).toBe(false);
    expect(lru(k, f)).toBe(Lru.INACTIVE_FILE);
    expect(ref(k, f)).toBe(2);
    expect(folio_batch_entries(k.ctx(0), 1, Batch.mlock)).toEqual([TOMBSTONE, TOMBSTONE]);
    expect(k.w[cpuBase(1) + C.MLOCK_LOCK]).toBe(0);
    expect(k.ctx(0).preempt + k.ctx(1).preempt).toBe(0);
  });

  it('tombstones still occupy slots: the batch flushes at capacity, skipping them', () => {
    const k = kernel('v6.8');
    const f = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), f));
    expect(k.run(0, folio_extract_from_batches(k.ctx(0), f))).toBe(1);
    const rest = Array.from({ length: 13 }, () => makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } }));
    rest.forEach((x) => k.run(1, folio_add_lru(k.ctx(1), x)));
    expect(nr(k, 1, Batch.lru_add)).toBe(14);
    const last = makeFolio(k, { mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    k.run(1, folio_add_lru(k.ctx(1), last));
    expect(nr(k, 1, Batch.lru_add)).toBe(0);
    expect([...rest, last].every((x) => has(k, x, PG.lru) && ref(k, x) === 1)).toBe(true);
    expect(ref(k, f)).toBe(1);
  });
});
