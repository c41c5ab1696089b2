// The reference ledger read-back and the invariant checker of spec §10: each invariant flagged on a
// hand-built bad state, silent on good ones, version-aware (permittedBy), message formats, and a
// mutation check through the real batch code (a move path that forgets its reference drop).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Batch, Holder, Lru, MappingKind, MigrateType, MlockOp, PG } from '../src/mm/constants.js';
import { C, F, FolioState, G, Stat, batchBase, cpuBase, folioBase } from '../src/mm/layout.js';
import { POLICIES, getPolicy, type Policy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { attributeRefs, describeHolders, describeFolioHolders, ledgerSummary } from '../src/check/ledger.js';
import { InvariantChecker, checkInvariants, emulatorBugs, type Violation } from '../src/check/invariants.js';
import { formatViolations, summarizeViolations } from '../src/check/report.js';
import { makeFolio } from './helpers/folios.js';

// Mutation switch: when on, folios_put_refs "forgets" to drop LRU batch references (the reference
// drop removed from the LRU move path). Off for every test but the mutation check.
const mutation = vi.hoisted(() => ({ dropLruBatchPut: false }));
vi.mock('../src/mm/folio.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../src/mm/folio.js')>();
  return {
    ...orig,
    folio_put: (ctx: Parameters<typeof orig.folio_put>[0], folio: number, holder: number, fn: string) => {
      if (mutation.dropLruBatchPut && holder === Holder.LRU_BATCH && fn === 'folios_put_refs') return false;
      return orig.folio_put(ctx, folio, holder, fn);
    },
  };
});
// Imported after the mock is declared (vi.mock is hoisted anyway).
const { folio_add_lru, lru_add_drain } = await import('../src/mm/swap.js');
const { mlock_folio } = await import('../src/mm/mlock.js');
const { pin_user_pages, FOLL } = await import('../src/mm/gup.js');
const { kernel, placeFolio } = await import('./helpers/gup.js');

const v610 = getPolicy('v6.10');
const v611 = getPolicy('v6.11');
const merged = getPolicy('merged');

function kern(policy: Policy, nCpus = 8): InlineKernel {
  return new InlineKernel({ nCpus, policy });
}
/** Append a raw entry to `cpu`'s batch (hand-built state; the ledger is the caller's business). */
function putEntry(k: InlineKernel, cpu: number, batch: number, entry: number): void {
  const b = batchBase(cpu, batch);
  const nr = k.w[b]!;
  k.w[b + 1 + nr] = entry;
  k.w[b] = nr + 1;
}
const mlockEntry = (folio: number, op: number) => (folio << 2) | op;
function setStat(k: InlineKernel, cpu: number, s: number, v: number): void {
  k.w[cpuBase(cpu) + C.STATS + s] = v;
}
function fset(k: InlineKernel, folio: number, field: number, v: number): void {
  k.w[folioBase(folio) + field] = v;
}
function fget(k: InlineKernel, folio: number, field: number): number {
  return k.w[folioBase(folio) + field]!;
}
function check(k: InlineKernel, policy: Policy, opts = {}): Violation[] {
  return checkInvariants(k.w, k.lay, policy, opts);
}
const ids = (vs: Violation[]) => vs.map((v) => v.id);

beforeEach(() => {
  mutation.dropLruBatchPut = false;
});

describe('attributeRefs / describeHolders', () => {
  it("names every holder of Will's folio after step A, including CPU 7's two batch entries", () => {
    const k = kern(v611);
    const f = makeFolio(k, {
      flags: ['locked', 'uptodate', 'swapbacked', 'mlocked'],
      mapping: MappingKind.SHMEM,
      mt: MigrateType.CMA,
      holders: { PAGECACHE: 1, MAP: 1, LRU_BATCH: 1, MLOCK_BATCH: 1 },
    });
    putEntry(k, 7, Batch.lru_add, f);
    putEntry(k, 7, Batch.mlock, mlockEntry(f, MlockOp.LRU_FOLIO));
    const a = attributeRefs(k.w, k.lay, f);
    expect(a.refcount).toBe(4);
    expect(a.ledgerSum).toBe(4);
    expect(a.holders).toEqual([
      { holder: 'PAGECACHE', refs: 1 },
      { holder: 'MAP', refs: 1 },
      { holder: 'LRU_BATCH', refs: 1, cpu: 7, batch: 'lru_add', slot: 0 },
      { holder: 'MLOCK_BATCH', refs: 1, cpu: 7, batch: 'mlock', slot: 0, op: 'MLOCK' },
    ]);
    expect(ledgerSummary(a)).toBe('PAGECACHE 1, MAP 1, LRU_BATCH 1 (cpu 7 lru_add), MLOCK_BATCH 1 (cpu 7 mlock MLOCK)');
    expect(describeHolders(a, { onlyBatches: true })).toEqual(['CPU 7 lru_add batch holds 1 ref', 'CPU 7 mlock batch (MLOCK) holds 1 ref']);
    expect(describeHolders(a)).toContain('page cache holds 1 ref');
  });

  it('works on a plain Int32Array copy, and reports pins, in-flight batch refs and offline CPUs', () => {
    const k = kern(v611);
    const f = makeFolio(k, { flags: ['lru', 'uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, GUP_PIN: 2048, MLOCK_BATCH: 2 } });
    putEntry(k, 3, Batch.mlock, mlockEntry(f, MlockOp.MUNLOCK));
    k.w[cpuBase(3) + C.ONLINE] = 0;
    const snap = Int32Array.from(k.w); // not shared
    const a = attributeRefs(snap, k.lay, f);
    expect(a.holders.find((h) => h.holder === 'GUP_PIN')).toEqual({ holder: 'GUP_PIN', refs: 2048, pins: 2 });
    expect(ledgerSummary(a)).toBe('PAGECACHE 1, MLOCK_BATCH 2 (cpu 3 mlock MUNLOCK, 1 not in any batch), GUP_PIN 2048 (2 pins)');
    expect(describeFolioHolders(snap, k.lay, f, { onlyBatches: true })).toEqual([
      'CPU 3 mlock batch (MUNLOCK) holds 1 ref (CPU offline: only the hotplug-dead drain reaches it)',
      "1 ref counted for an mlock batch entry not (yet) in any CPU's batch",
    ]);
  });

  it('skips tombstones and masks the forceOnFail unclaimed bit', () => {
    const k = kern(getPolicy('one-batch-mlock-force'));
    const f = makeFolio(k, { holders: { MAP: 1, MLOCK_BATCH: 1 } });
    putEntry(k, 0, Batch.mlock, -1);
    putEntry(k, 0, Batch.mlock, mlockEntry(f, MlockOp.LRU_FOLIO) | (1 << 30));
    const a = attributeRefs(k.w, k.lay, f);
    expect(a.entries).toEqual([{ cpu: 0, batch: 'mlock', slot: 1, op: 'MLOCK' }]);
  });
});

describe('good states: the checker stays silent', () => {
  for (const policy of [v610, v611, merged, getPolicy('one-batch-mlock'), getPolicy('v6.14-emptylist')]) {
    it(`under ${policy.id}`, () => {
      const k = kern(policy);
      // On the LRU, mapped, page cache.
      makeFolio(k, { flags: ['lru', 'uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, MAP: 1 } });
      // Fresh page-cache folio in CPU 2's lru_add batch.
      const fresh = makeFolio(k, { flags: ['uptodate', 'swapbacked'], mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1, MAP: 1, LRU_BATCH: 1 } });
      putEntry(k, 2, Batch.lru_add, fresh);
      // Mlocked, unevictable, counted once for its one locked mapping; an MLOCK entry pending on CPU 5.
      const ml = makeFolio(k, {
        flags: ['lru', 'unevictable', 'mlocked', 'swapbacked'],
        mapping: MappingKind.SHMEM,
        holders: { PAGECACHE: 1, MAP: 2, MLOCK_BATCH: 1 },
        mlockCount: 1,
        lockedMaps: 2,
      });
      putEntry(k, 5, Batch.mlock, mlockEntry(ml, MlockOp.LRU_FOLIO));
      // Isolated (migration in progress): off-list, PG_lru clear.
      makeFolio(k, { flags: ['uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, ISOLATION: 1 } });
      // Pinned large folio: refs and pincount agree.
      makeFolio(k, { order: 2, flags: ['lru', 'swapbacked'], mapping: MappingKind.ANON, holders: { MAP: 4, GUP_PIN: 1 }, pincount: 1 });
      // A freed folio.
      const gone = makeFolio(k, { holders: {} });
      fset(k, gone, F.STATE, FolioState.FREED);
      setStat(k, 0, Stat.NR_MLOCK, 1);
      setStat(k, 1, Stat.LRU_ADD_DRAIN_ALL, 3);
      setStat(k, 1, Stat.DRAIN_ALL_GEN_SKIP, 1);
      k.w[G.DRAIN_GEN] = 2;
      const vs = check(k, policy, {
        pins: [
          { cpu: 1, rc: 1, folios: [fresh] },
          { cpu: 2, rc: -12, folios: [], heldPins: 0 },
        ],
      });
      expect(vs).toEqual([]);
      expect(formatViolations(vs, { policy: policy.id })).toBe(`invariants: all hold (${policy.id})`);
    });
  }

  it('6.11+: on a list with PG_lru clear is fine while a non-add LRU entry owns it; v6.10 flags it (I4)', () => {
    for (const [policy, expected] of [
      [v611, []],
      [v610, ['I4']],
    ] as const) {
      const k = kern(policy);
      const f = makeFolio(k, {
        flags: ['active', 'uptodate'],
        mapping: MappingKind.FILE,
        holders: { PAGECACHE: 1, MAP: 1, LRU_BATCH: 1 },
        lru: Lru.ACTIVE_FILE,
      });
      putEntry(k, 0, Batch.lru_deactivate, f);
      expect(ids(check(k, policy))).toEqual(expected);
    }
  });

  it('v6.10/merged: several LRU entries for one folio are allowed (I6 is 6.11+ only)', () => {
    for (const policy of [v610, merged]) {
      const k = kern(policy);
      const f = makeFolio(k, { flags: ['lru', 'uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, LRU_BATCH: 3 } });
      putEntry(k, 0, Batch.lru_activate, f);
      putEntry(k, 1, Batch.lru_activate, f);
      putEntry(k, 1, Batch.lru_deactivate_file, f);
      expect(check(k, policy)).toEqual([]);
    }
  });
});

describe('each invariant flagged on a bad state', () => {
  it('I1: refcount != ledger sum; message names folio, pfn, holders with CPUs and counts', () => {
    const k = kern(v611);
    const f = makeFolio(k, {
      flags: ['locked', 'uptodate', 'swapbacked', 'mlocked'],
      mapping: MappingKind.SHMEM,
      holders: { PAGECACHE: 1, MAP: 1, LRU_BATCH: 1, MLOCK_BATCH: 1 },
    });
    fset(k, f, F.PFN, 0x9f83a8);
    putEntry(k, 7, Batch.lru_add, f);
    putEntry(k, 7, Batch.mlock, mlockEntry(f, MlockOp.LRU_FOLIO));
    setStat(k, 7, Stat.NR_MLOCK, 1);
    fset(k, f, F.REF, 3); // one reference too few
    const vs = check(k, v611);
    expect(vs).toEqual([
      {
        id: 'I1',
        folio: f,
        pfn: 0x9f83a8,
        message: `I1 folio ${f} (pfn 0x9f83a8): refcount 3 != ledger sum 4 (PAGECACHE 1, MAP 1, LRU_BATCH 1 (cpu 7 lru_add), MLOCK_BATCH 1 (cpu 7 mlock MLOCK))`,
      },
    ]);
  });

  it('I1: large folio pincount, small folio partial bias, negative holder, freed folio with references', () => {
    const k = kern(merged);
    const large = makeFolio(k, { order: 1, holders: { MAP: 2, GUP_PIN: 2 }, pincount: 1 });
    const small = makeFolio(k, { holders: { MAP: 1, GUP_PIN: 1000 } });
    const neg = makeFolio(k, { holders: { MAP: 2, TEMP: -1 } });
    const freed = makeFolio(k, { holders: { TEMP: 1 } });
    fset(k, freed, F.STATE, FolioState.FREED);
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I1', large],
      ['I1', small],
      ['I1', neg],
      ['I1', freed],
    ]);
    expect(vs[0]!.message).toMatch(/large folio _pincount 1 != GUP_PIN pins 2/);
    expect(vs[1]!.message).toMatch(/GUP_PIN holds 1000 refs, not a multiple of GUP_PIN_COUNTING_BIAS 1024/);
    expect(vs[2]!.message).toMatch(/holder TEMP holds -1 refs/);
    expect(vs[3]!.message).toMatch(/freed with refcount 1, ledger sum 1 \(TEMP 1\)/);
  });

  it('I2: batch ref without entry, entry without ref, entry naming a freed folio', () => {
    const k = kern(merged);
    const noEntry = makeFolio(k, { flags: ['lru'], holders: { MAP: 1, LRU_BATCH: 1 } });
    const noRef = makeFolio(k, { flags: ['lru'], holders: { MAP: 1 } });
    putEntry(k, 4, Batch.mlock, mlockEntry(noRef, MlockOp.MUNLOCK));
    const freed = makeFolio(k, { holders: {} });
    fset(k, freed, F.STATE, FolioState.FREED);
    putEntry(k, 6, Batch.lru_add, freed);
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I2', freed],
      ['I2', noEntry],
      ['I2', noRef],
    ]);
    expect(vs[0]!.message).toMatch(/cpu 6 lru_add slot 0 names a freed folio/);
    expect(vs[1]!.message).toBe(
      `I2 folio ${noEntry} (pfn 0x${fget(k, noEntry, F.PFN).toString(16)}): LRU_BATCH holds 1 ref but 0 LRU batch entries name it (refcount 2: MAP 1, LRU_BATCH 1 (1 not in any batch))`,
    );
    expect(vs[2]!.message).toMatch(
      /MLOCK_BATCH holds 0 refs but 1 mlock batch entry names it \(refcount 1: MAP 1, MLOCK_BATCH 0 \(cpu 4 mlock MUNLOCK, 1 entry unaccounted\)\)/,
    );
  });

  it('I3: PG_lru but on no list; on a list other than the flags select', () => {
    const k = kern(merged);
    const a = makeFolio(k, { flags: ['lru'], lru: Lru.NONE });
    const b = makeFolio(k, { flags: ['lru', 'active'], lru: Lru.INACTIVE_FILE });
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I3', a],
      ['I3', b],
    ]);
    expect(vs[1]!.message).toMatch(/linked on inactive_file but its flags \(lru\|active\) select active_file/);
  });

  it('I5: an lru_add entry for a folio already on the LRU', () => {
    const k = kern(merged);
    const f = makeFolio(k, { flags: ['lru'], holders: { PAGECACHE: 1, LRU_BATCH: 1 } });
    putEntry(k, 0, Batch.lru_add, f);
    expect(ids(check(k, merged))).toEqual(['I5']);
    const g = makeFolio(k, { flags: ['mlocked'], mapping: MappingKind.ANON, holders: { MAP: 1, MLOCK_BATCH: 1 }, lru: Lru.INACTIVE_ANON });
    putEntry(k, 1, Batch.mlock, mlockEntry(g, MlockOp.NEW_FOLIO));
    setStat(k, 1, Stat.NR_MLOCK, 1);
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I5', f],
      ['I4', g],
      ['I5', g],
    ]);
    expect(vs[2]!.message).toMatch(/in a NEW mlock batch entry but linked on inactive_anon/);
  });

  it('I6 (6.11+): two LRU entries, or one entry with PG_lru still set', () => {
    const k = kern(v611);
    const two = makeFolio(k, { flags: [], holders: { PAGECACHE: 1, LRU_BATCH: 2 }, lru: Lru.INACTIVE_FILE });
    putEntry(k, 0, Batch.lru_activate, two);
    putEntry(k, 3, Batch.lru_deactivate_file, two);
    const set = makeFolio(k, { flags: ['lru'], holders: { PAGECACHE: 1, LRU_BATCH: 1 } });
    putEntry(k, 1, Batch.lru_activate, set);
    const vs = check(k, v611);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I6', two],
      ['I6', set],
    ]);
    expect(vs[0]!.message).toMatch(/2 LRU batch entries with lruClearOnQueue/);
  });

  it('I7: mlocked on an evictable list -- permitted by lruClearOnQueue (6.11+), a known race elsewhere; not checked while entries are pending', () => {
    for (const [policy, permit] of [
      [v611, 'lruClearOnQueue=true'],
      [v610, /^race: /],
      [getPolicy('one-batch-mlock'), 'lruClearOnQueue=true'],
    ] as const) {
      const k = kern(policy);
      const f = makeFolio(k, { flags: ['lru', 'mlocked', 'uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, MAP: 1 }, lockedMaps: 1 });
      setStat(k, 0, Stat.NR_MLOCK, 1);
      const vs = check(k, policy);
      expect(ids(vs)).toEqual(['I7']);
      expect(vs[0]!.permittedBy).toMatch(permit);
      expect(vs[0]!.message).toMatch(new RegExp(`I7 folio ${f} \\(pfn 0x[0-9a-f]+\\): PG_mlocked on the evictable inactive_file list`));
      expect(emulatorBugs(vs)).toEqual([]);
    }
    // Pending MLOCK entry: the transient state mlock_folio() creates; only quiescent-all checks it.
    const k = kern(merged);
    makeFolio(k, { flags: ['lru', 'mlocked'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1 }, lockedMaps: 1 });
    putEntry(k, 2, Batch.mlock, mlockEntry(0, MlockOp.LRU_FOLIO));
    setStat(k, 2, Stat.NR_MLOCK, 1);
    expect(check(k, merged)).toEqual([]);
    expect(ids(check(k, merged, { quiescentAll: true }))).toEqual(['I7']);
  });

  it('I8: stranded unevictable folio -- permitted only by one-batch-mlock skipOnFail', () => {
    for (const [policy, permit] of [
      [getPolicy('one-batch-mlock'), 'mlockClearsLru=skipOnFail'],
      [v611, undefined],
      [merged, undefined],
    ] as const) {
      const k = kern(policy);
      makeFolio(k, { flags: ['lru', 'unevictable'], mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1 } });
      const vs = check(k, policy);
      expect(ids(vs)).toEqual(['I8']);
      expect(vs[0]!.permittedBy).toBe(permit);
      expect(vs[0]!.message).toMatch(/stranded on the unevictable list although evictable \(flags lru\|unevictable, mlock_count 0/);
    }
    // An unevictable mapping (ramfs, SHM_LOCK) justifies it.
    const k = kern(merged);
    makeFolio(k, { flags: ['lru', 'unevictable'], mapping: MappingKind.UNEVICTABLE_FILE, holders: { PAGECACHE: 1 } });
    expect(check(k, merged)).toEqual([]);
  });

  it('I9: a long-term pin returned on a CMA folio -- permitted by gupEmptyListSucceeds; I10: failed call holding pins', () => {
    for (const [policy, permit] of [
      [getPolicy('v6.14-emptylist'), 'gupEmptyListSucceeds=true'],
      [v611, undefined],
    ] as const) {
      const k = kern(policy);
      const f = makeFolio(k, { flags: ['lru'], mt: MigrateType.CMA, mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1, MAP: 1, GUP_PIN: 1024 } });
      const vs = check(k, policy, { pins: [{ id: 9, cpu: 2, rc: 1, folios: [f] }] });
      expect(ids(vs)).toEqual(['I9']);
      expect(vs[0]!.permittedBy).toBe(permit);
      expect(vs[0]!.message).toMatch(new RegExp(`I9 folio ${f} .*pin_user_pages call 9 on cpu 2 returned 1 .*mt=4`));
    }
    const k = kern(merged);
    const vs = check(k, merged, { pins: [{ cpu: 3, rc: -12, folios: [], heldPins: 1 }] });
    expect(vs).toEqual([{ id: 'I10', cpu: 3, message: 'I10 pin_user_pages call on cpu 3 returned -12 still holding 1 pin' }]);
  });

  it('I11: mlock_count above the locked mappings (overcount) -- permitted by one-batch-mlock', () => {
    for (const [policy, permit] of [
      [merged, undefined],
      [getPolicy('one-batch-mlock'), 'mlockClearsLru=skipOnFail'],
    ] as const) {
      const k = kern(policy);
      makeFolio(k, { flags: ['lru', 'unevictable', 'mlocked'], mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1, MAP: 1 }, mlockCount: 2, lockedMaps: 1 });
      setStat(k, 0, Stat.NR_MLOCK, 1);
      const vs = check(k, policy);
      expect(ids(vs)).toEqual(['I11']);
      expect(vs[0]!.permittedBy).toBe(permit);
      expect(vs[0]!.message).toMatch(/mlock_count 2 > 1 locked mapping \(overcount/);
    }
    // Undercount is allowed.
    const k = kern(merged);
    makeFolio(k, { flags: ['lru', 'unevictable', 'mlocked'], mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1, MAP: 2 }, mlockCount: 0, lockedMaps: 2 });
    setStat(k, 0, Stat.NR_MLOCK, 1);
    expect(check(k, merged)).toEqual([]);
  });

  it('I12: NR_MLOCK drift against the PG_mlocked folios (large folios count nr_pages)', () => {
    const k = kern(merged);
    makeFolio(k, { order: 2, flags: ['mlocked'], holders: { TEMP: 1 } });
    setStat(k, 0, Stat.NR_MLOCK, 3);
    setStat(k, 5, Stat.NR_MLOCK, 2);
    expect(check(k, merged)).toEqual([{ id: 'I12', message: 'I12 NR_MLOCK 5 (sum of per-CPU deltas) != 4 pages in PG_mlocked folios' }]);
  });

  it('I13: a full batch at rest, a large folio in a batch, entries while lru_cache_disable()d', () => {
    const k = kern(getPolicy('v6.8')); // capacity 15
    const fs: number[] = [];
    for (let i = 0; i < 15; i++) {
      const f = makeFolio(k, { holders: { PAGECACHE: 1, LRU_BATCH: 1 } });
      putEntry(k, 1, Batch.lru_add, f);
      fs.push(f);
    }
    let vs = check(k, getPolicy('v6.8'));
    expect(vs).toEqual([
      {
        id: 'I13',
        cpu: 1,
        message: 'I13 cpu 1 lru_add batch: 15 entries at rest > capacity 15 - 1 (a full batch must be processed by the add that filled it)',
      },
    ]);
    const k2 = kern(merged);
    const big = makeFolio(k2, { order: 4, holders: { PAGECACHE: 16, MLOCK_BATCH: 1 } });
    putEntry(k2, 0, Batch.mlock, mlockEntry(big, MlockOp.MUNLOCK));
    k2.w[G.LRU_DISABLE_COUNT] = 1;
    vs = check(k2, merged);
    expect(ids(vs)).toEqual(['I13', 'I13']);
    expect(vs[0]!.message).toMatch(/large folio \(order 4\) rests in cpu 0 mlock MUNLOCK slot 0/);
    expect(vs[1]!.message).toMatch(/cpu 0 mlock batch: 1 entry rests while lru_disable_count = 1/);
  });

  it('I16: negative mlock_count; mlock_count on an evictable list', () => {
    const k = kern(merged);
    const neg = makeFolio(k, { flags: ['lru', 'unevictable'], mapping: MappingKind.UNEVICTABLE_FILE, holders: { PAGECACHE: 1 }, mlockCount: -1 });
    const evict = makeFolio(k, { flags: ['lru'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1 }, mlockCount: 1 });
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I16', neg],
      ['I16', evict],
    ]);
    expect(vs[1]!.message).toMatch(/mlock_count 1 on a folio on inactive_file/);
  });

  it('I17: drainGen going backwards within a trial (across calls), and more bumps than drain-alls', () => {
    const k = kern(merged);
    const checker = new InvariantChecker(merged);
    setStat(k, 0, Stat.LRU_ADD_DRAIN_ALL, 10);
    k.w[G.DRAIN_GEN] = 5;
    expect(checker.check(k.w, k.lay)).toEqual([]);
    k.w[G.DRAIN_GEN] = 3;
    expect(checker.check(k.w, k.lay)).toEqual([{ id: 'I17', message: 'I17 drainGen went backwards: 5 -> 3 within trial 0' }]);
    // A new trial (memory reset) starts a new baseline.
    k.w[G.TRIAL_GEN] = 1;
    k.w[G.DRAIN_GEN] = 0;
    expect(checker.check(k.w, k.lay)).toEqual([]);
    k.w[G.DRAIN_GEN] = 11;
    expect(ids(checker.check(k.w, k.lay))).toEqual(['I17']);
  });

  it('I18: two isolation refs; isolated but still PG_lru / on a list', () => {
    const k = kern(merged);
    const two = makeFolio(k, { holders: { PAGECACHE: 1, ISOLATION: 2 } });
    const onList = makeFolio(k, { flags: ['lru'], holders: { PAGECACHE: 1, ISOLATION: 1 } });
    const vs = check(k, merged);
    expect(vs.map((v) => [v.id, v.folio])).toEqual([
      ['I18', two],
      ['I18', onList],
    ]);
    expect(vs[1]!.message).toMatch(/isolated \(ISOLATION 1\) but PG_lru set and still linked on inactive_file/);
  });

  it('limit caps the list', () => {
    const k = kern(merged);
    for (let i = 0; i < 10; i++) makeFolio(k, { flags: ['lru'], lru: Lru.NONE });
    expect(check(k, merged, { limit: 3 })).toHaveLength(3);
  });
});

describe('report formatting', () => {
  it('separates emulator bugs from findings about the variant', () => {
    const vs: Violation[] = [
      { id: 'I1', folio: 1, message: 'I1 folio 1 (pfn 0x10): refcount 2 != ledger sum 3 (MAP 3)' },
      { id: 'I7', folio: 2, message: 'I7 folio 2 (pfn 0x20): PG_mlocked on the evictable inactive_file list', permittedBy: 'lruClearOnQueue=true' },
    ];
    const s = summarizeViolations(vs);
    expect(s).toMatchObject({ total: 2, bugs: 1, findings: 1, byPermit: { 'lruClearOnQueue=true': 1 } });
    expect(formatViolations(vs, { policy: 'v6.11' })).toBe(
      [
        'emulator bugs under v6.11 (no variant permits these) (1):',
        '  I1 refcount conservation (refcount == sum of the ledger): 1',
        '    I1 folio 1 (pfn 0x10): refcount 2 != ledger sum 3 (MAP 3)',
        'findings about the kernel variant under v6.11 (permitted by its switches) (1):',
        '  I7 mlocked and on the LRU => unevictable: 1',
        '    I7 folio 2 (pfn 0x20): PG_mlocked on the evictable inactive_file list [permitted by lruClearOnQueue=true]',
      ].join('\n'),
    );
  });
});

describe('through the real batch code', () => {
  function addAndDrain(mutate: boolean): { k: InlineKernel; f: number; before: Violation[]; after: Violation[] } {
    const k = kern(v611, 4);
    const f = makeFolio(k, { flags: ['uptodate', 'swapbacked'], mapping: MappingKind.SHMEM, holders: { TEMP: 1, PAGECACHE: 1 } });
    const c = k.ctx(2);
    k.run(2, folio_add_lru(c, f));
    const before = check(k, v611);
    mutation.dropLruBatchPut = mutate;
    lru_add_drain(c);
    mutation.dropLruBatchPut = false;
    return { k, f, before, after: check(k, v611) };
  }

  it('folio_add_lru then lru_add_drain: every step satisfies the invariants', () => {
    const { k, f, before, after } = addAndDrain(false);
    expect(before).toEqual([]);
    expect(after).toEqual([]);
    expect(fget(k, f, F.REF)).toBe(2);
    expect(fget(k, f, F.FLAGS) & PG.lru).toBe(PG.lru);
  });

  it('mutation: the lru_add path without its reference drop fails with folio, holder and counts named', () => {
    const { k, f, before, after } = addAndDrain(true);
    expect(before).toEqual([]);
    const pfn = fget(k, f, F.PFN).toString(16);
    expect(after).toEqual([
      {
        id: 'I2',
        folio: f,
        pfn: fget(k, f, F.PFN),
        message: `I2 folio ${f} (pfn 0x${pfn}): LRU_BATCH holds 1 ref but 0 LRU batch entries name it (refcount 3: PAGECACHE 1, LRU_BATCH 1 (1 not in any batch), TEMP 1)`,
      },
    ]);
  });

  it('mlock_folio on another CPU: the stress report line names CPU 3 mlock batch (MLOCK)', () => {
    const k = kern(merged, 4);
    const f = makeFolio(k, { flags: ['lru', 'uptodate', 'swapbacked'], mapping: MappingKind.SHMEM, holders: { PAGECACHE: 1, MAP: 1 }, lockedMaps: 1 });
    k.run(3, mlock_folio(k.ctx(3), f));
    expect(check(k, merged)).toEqual([]);
    expect(describeFolioHolders(k.w, k.lay, f, { onlyBatches: true })).toEqual(['CPU 3 mlock batch (MLOCK) holds 1 ref']);
  });

  // S1 (spec §9) end to end: the pin fails (ENOMEM) or migrates, and the state stays consistent.
  for (const policy of POLICIES) {
    it(`S1 under ${policy.id}: no emulator bug after pin_user_pages; a failed pin names CPU 1's MLOCK entry`, () => {
      const k = kernel(policy, 4);
      const c1 = k.ctx(1);
      const f = placeFolio(c1, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
      k.run(1, mlock_folio(c1, f.folio));
      const pages: number[] = [];
      const rc = k.run(3, pin_user_pages(k.ctx(3), f.vma, 0, 1, FOLL.LONGTERM | FOLL.WRITE, pages));
      const vs = checkInvariants(k.w, k.lay, policy, { pins: [{ cpu: 3, rc, folios: pages }] });
      expect(emulatorBugs(vs)).toEqual([]);
      if (rc < 0) {
        expect(describeFolioHolders(k.w, k.lay, f.folio, { onlyBatches: true })).toContain('CPU 1 mlock batch (MLOCK) holds 1 ref');
      }
    });
  }
});
