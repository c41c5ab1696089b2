// Long-term GUP pinning: pin accounting, the drain rules of every variant on the spec §4.8
// cases, and scenarios S1, S2, S8, S9, S12 end to end on the inline kernel.
import { describe, expect, it } from 'vitest';
import { Batch, Errno, GUP_PIN_COUNTING_BIAS, Holder, MigrateType, PG } from '../src/mm/constants.js';
import { YP, type KernelCtx, type PinRecord, type TraceEvent, type TraceSink } from '../src/mm/context.js';
import { folio_flags, folio_is_longterm_pinnable, fw, ledger_get } from '../src/mm/folio.js';
import { folio_batch_count, folio_batch_entries } from '../src/mm/folio_batch.js';
import {
  collect_longterm_unpinnable_folios,
  FOLL,
  gup_drain_rule,
  gup_pin_refs,
  pin_user_pages,
  try_grab_folio,
  unpin_folio,
  unpin_user_pages,
} from '../src/mm/gup.js';
import { F, FolioState, Stat } from '../src/mm/layout.js';
import { folio_expected_ref_count } from '../src/mm/migrate.js';
import { mlock_folio, mlock_new_folio } from '../src/mm/mlock.js';
import type { GupDrainRule } from '../src/mm/policy.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { filemap_get_entry, pte_get } from '../src/mm/vma.js';
import { fakeRefs, kernel, ledger, ledgerSum, placeFolio, refcount, stat, statSum, Stepper, withSwitches } from './helpers/gup.js';

const LONGTERM = FOLL.LONGTERM | FOLL.WRITE;

function traceLog(): { sink: TraceSink; events: { ev: TraceEvent; folio: number; delta: number; holder: number; fn: string }[] } {
  const events: { ev: TraceEvent; folio: number; delta: number; holder: number; fn: string }[] = [];
  return {
    events,
    sink: {
      pageRef: (_c, ev, folio, delta, holder, fn) => events.push({ ev, folio, delta, holder, fn }),
      mark: () => {},
    },
  };
}

function pinRecords(ctx: KernelCtx): PinRecord[] {
  const recs: PinRecord[] = [];
  ctx.obs = { drainAll: () => {}, pin: (_c, r) => recs.push(r) };
  return recs;
}

describe('try_grab_folio / unpin_folio', () => {
  it('FOLL_PIN on a small folio adds GUP_PIN_COUNTING_BIAS (trace val=1024 from try_grab_folio)', () => {
    const t = traceLog();
    const k = kernel('merged', 2, t.sink);
    const c = k.ctx(0);
    const { folio } = placeFolio(c, { kind: 'shmem', mapped: true, onLru: true });
    t.events.length = 0;
    expect(try_grab_folio(c, folio, 1, FOLL.PIN)).toBe(0);
    expect(t.events).toEqual([{ ev: 'page_ref_mod', folio, delta: 1024, holder: Holder.GUP_PIN, fn: 'try_grab_folio' }]);
    expect(refcount(c, folio)).toBe(2 + GUP_PIN_COUNTING_BIAS);
    expect(fw(c, folio, F.PINCOUNT)).toBe(0);
    unpin_folio(c, folio);
    expect(refcount(c, folio)).toBe(2);
    expect(ledger_get(c, folio, Holder.GUP_PIN)).toBe(0);
  });

  it('FOLL_PIN on a large folio adds refs and _pincount; FOLL_GET adds plain refs', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(0);
    const { folio } = placeFolio(c, { kind: 'shmem', order: 4, mapped: true, onLru: true });
    expect(refcount(c, folio)).toBe(32);
    try_grab_folio(c, folio, 3, FOLL.PIN);
    expect(refcount(c, folio)).toBe(35);
    expect(fw(c, folio, F.PINCOUNT)).toBe(3);
    expect(ledger_get(c, folio, Holder.GUP_PIN)).toBe(3);
    try_grab_folio(c, folio, 2, FOLL.GET);
    expect(ledger_get(c, folio, Holder.GUP_GET)).toBe(2);
    const pages = [folio, folio, folio];
    unpin_user_pages(c, pages);
    expect(pages).toEqual([]);
    expect(fw(c, folio, F.PINCOUNT)).toBe(0);
    expect(refcount(c, folio)).toBe(34);
  });

  it('refuses a folio whose refcount is already 0', () => {
    const k = kernel('merged', 1);
    const c = k.ctx(0);
    const { folio } = placeFolio(c, { kind: 'anon' }); // no holder at all: freed
    expect(fw(c, folio, F.STATE)).toBe(FolioState.FREED);
    expect(try_grab_folio(c, folio, 1, FOLL.PIN)).toBe(Errno.ENOMEM);
  });
});

// ---- spec §4.8 table: what each rule decides, computed from state ---------------------------

const RULES: GupDrainRule[] = ['notLru', 'notLruOrMlocked', 'notLruOrMlockedNotUnevictable', 'refNeExpectedPlus1', 'refNeExpectedPlusPins', 'always', 'never'];

interface Case {
  name: string;
  build: (c: KernelCtx) => { folio: number; pages: number[] };
  refcount: number;
  expected: number;
  /** Decision per rule, from the spec table (and §7 rule definitions for the flag rules). */
  drains: Record<GupDrainRule, boolean>;
}

function pinned(c: KernelCtx, folio: number, n: number): { folio: number; pages: number[] } {
  const pages: number[] = [];
  for (let i = 0; i < n; i++) {
    try_grab_folio(c, folio, 1, FOLL.PIN);
    pages.push(folio);
  }
  return { folio, pages };
}

const CASES: Case[] = [
  {
    name: "Will's shmem folio, MLOCK entry pending on another CPU",
    build: (c) => {
      const { folio } = placeFolio(c, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
      fakeRefs(c, folio, Holder.MLOCK_BATCH, 1);
      return pinned(c, folio, 1);
    },
    refcount: 1027,
    expected: 2,
    drains: {
      notLru: false,
      notLruOrMlocked: true,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: true,
      refNeExpectedPlusPinBias: true,
      always: true,
      never: false,
    },
  },
  {
    name: 'same folio, no batch reference (false positive of expected+1)',
    build: (c) => pinned(c, placeFolio(c, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 1 }).folio, 1),
    refcount: 1026,
    expected: 2,
    drains: {
      notLru: false,
      notLruOrMlocked: true,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: false,
      refNeExpectedPlusPinBias: false,
      always: true,
      never: false,
    },
  },
  {
    name: 'anon folio mapped once, clean',
    build: (c) => pinned(c, placeFolio(c, { kind: 'anon', mapped: true, onLru: true }).folio, 1),
    refcount: 1025,
    expected: 1,
    drains: {
      notLru: false,
      notLruOrMlocked: false,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: false,
      refNeExpectedPlusPinBias: false,
      always: true,
      never: false,
    },
  },
  {
    name: 'anon folio in swap cache',
    build: (c) => pinned(c, placeFolio(c, { kind: 'anon', mapped: true, onLru: true, swapcache: true }).folio, 1),
    refcount: 1026,
    expected: 2,
    drains: {
      notLru: false,
      notLruOrMlocked: false,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: false,
      refNeExpectedPlusPinBias: false,
      always: true,
      never: false,
    },
  },
  {
    name: 'large order-4 shmem folio, fully mapped, 1 page pinned',
    build: (c) => pinned(c, placeFolio(c, { kind: 'shmem', order: 4, mapped: true, onLru: true }).folio, 1),
    refcount: 33,
    expected: 32,
    drains: {
      notLru: false,
      notLruOrMlocked: false,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: false,
      refNeExpectedPlusPins: false,
      refNeExpectedPlusPinBias: false,
      always: true,
      never: false,
    },
  },
  {
    name: 'large order-4 shmem folio, 16 pages pinned in one call',
    build: (c) => pinned(c, placeFolio(c, { kind: 'shmem', order: 4, mapped: true, onLru: true }).folio, 16),
    refcount: 48,
    expected: 32,
    drains: {
      notLru: false,
      notLruOrMlocked: false,
      notLruOrMlockedNotUnevictable: false,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: false,
      refNeExpectedPlusPinBias: true,
      always: true,
      never: false,
    },
  },
  {
    name: 'S2: anon folio with a NEW mlock entry (never on the LRU yet)',
    build: (c) => {
      const { folio } = placeFolio(c, { kind: 'anon', mapped: true, lockedVma: true, mlocked: true });
      fakeRefs(c, folio, Holder.MLOCK_BATCH, 1);
      return pinned(c, folio, 1);
    },
    refcount: 1026,
    expected: 1,
    drains: {
      notLru: true,
      notLruOrMlocked: true,
      notLruOrMlockedNotUnevictable: true,
      refNeExpectedPlus1: true,
      refNeExpectedPlusPins: true,
      refNeExpectedPlusPinBias: true,
      always: true,
      never: false,
    },
  },
];

describe('drain rules on the spec §4.8 cases', () => {
  for (const tc of CASES) {
    it(tc.name, () => {
      const k = kernel('v6.11', 2);
      const c = k.ctx(0);
      const { folio, pages } = tc.build(c);
      expect(refcount(c, folio)).toBe(tc.refcount);
      expect(ledgerSum(c, folio)).toBe(tc.refcount);
      expect(folio_expected_ref_count(c, folio)).toBe(tc.expected);
      const pinRefs = gup_pin_refs(c, folio, pages);
      for (const rule of RULES) {
        c.policy = withSwitches('v6.11', { gupDrainRule: rule });
        expect({ rule, drains: gup_drain_rule(c, folio, pinRefs) }).toEqual({ rule, drains: tc.drains[rule] });
      }
    });
  }
});

/** Run collect on a pinned folio; report the drains it made. */
function collectDrains(policy: string, caseIdx: number): { local: number; all: number; collected: number } {
  const k = kernel(policy, 2);
  const c = k.ctx(0);
  const { pages } = CASES[caseIdx]!.build(c);
  const list: number[] = [];
  const collected = k.run(0, collect_longterm_unpinnable_folios(c, list, pages));
  return { local: stat(k, 0, Stat.DRAIN_ALL_LOCAL_PIN), all: stat(k, 0, Stat.DRAIN_ALL_PIN), collected };
}

describe('collect_longterm_unpinnable_folios: drains per variant', () => {
  it("merged: local then global drain for Will's folio, and for the no-batch-ref false positive", () => {
    expect(collectDrains('merged', 0)).toEqual({ local: 1, all: 1, collected: 1 });
    expect(collectDrains('merged', 1)).toEqual({ local: 1, all: 1, collected: 1 });
  });
  it('pin-refs-fix: drains for the real batch reference only', () => {
    expect(collectDrains('pin-refs-fix', 0)).toEqual({ local: 1, all: 1, collected: 1 });
    expect(collectDrains('pin-refs-fix', 1)).toEqual({ local: 0, all: 0, collected: 1 });
  });
  it('v6.11 / hugh-unevictable miss it; will-v1 drains', () => {
    expect(collectDrains('v6.11', 0)).toEqual({ local: 0, all: 0, collected: 1 });
    expect(collectDrains('hugh-unevictable', 0)).toEqual({ local: 1, all: 0, collected: 1 });
    expect(collectDrains('will-v1', 0)).toEqual({ local: 0, all: 1, collected: 1 });
  });
  it('S8 large folios: merged skips (not cacheable); the portmanteau drains uselessly at 48, not at 33', () => {
    expect(collectDrains('merged', 4)).toEqual({ local: 0, all: 0, collected: 1 });
    expect(collectDrains('merged', 5)).toEqual({ local: 0, all: 0, collected: 1 });
    expect(collectDrains('hugh-portmanteau', 4)).toEqual({ local: 1, all: 0, collected: 1 });
    expect(collectDrains('hugh-portmanteau', 5)).toEqual({ local: 1, all: 1, collected: 1 });
  });
  it('S2: every rule but never drains the NEW entry', () => {
    for (const p of ['v6.10', 'v6.11', 'will-v1', 'hugh-unevictable', 'merged', 'pin-refs-fix', 'always-drain']) {
      expect({ p, all: collectDrains(p, 6).all }).toEqual({ p, all: 1 });
    }
  });
  it('drains at most once per collect call (two unpinnable folios)', () => {
    const k = kernel('merged', 2);
    const c = k.ctx(0);
    const a = pinned(c, placeFolio(c, { kind: 'anon', mapped: true, onLru: true }).folio, 1);
    const b = pinned(c, placeFolio(c, { kind: 'anon', mapped: true, onLru: true }).folio, 1);
    const list: number[] = [];
    expect(k.run(0, collect_longterm_unpinnable_folios(c, list, [...a.pages, ...b.pages]))).toBe(2);
    expect(list).toEqual([a.folio, b.folio]);
    expect(stat(k, 0, Stat.DRAIN_ALL_LOCAL_PIN)).toBe(1);
    expect(stat(k, 0, Stat.DRAIN_ALL_PIN)).toBe(1);
    expect(k.yields[0]!.filter((y) => y === YP.COLLECT_BEFORE_DRAIN).length).toBe(2);
  });
});

// ---- end to end -----------------------------------------------------------------------------

/** S1 at step 4: F on the unevictable LRU, mlocked, CPU1 holds a pending MLOCK entry. */
function s1(policy: string) {
  const k = kernel(policy, 4);
  const c1 = k.ctx(1);
  const f = placeFolio(c1, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 0 });
  k.run(1, mlock_folio(c1, f.folio));
  expect(ledger(c1, f.folio)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1 });
  return { k, ...f };
}

describe('S1: pin on CPU3 while CPU1 holds an MLOCK entry', () => {
  it('v6.11: no drain, 10 move attempts, -ENOMEM, no pins left, folio on CPU3 lru_add', () => {
    const { k, folio, vma } = s1('v6.11');
    const c3 = k.ctx(3);
    const recs = pinRecords(c3);
    const pages: number[] = [];
    expect(k.run(3, pin_user_pages(c3, vma, 0, 1, LONGTERM, pages))).toBe(Errno.ENOMEM);
    expect(pages).toEqual([]);
    expect(stat(k, 3, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(10);
    expect(stat(k, 3, Stat.PIN_ENOMEM)).toBe(1);
    expect(stat(k, 3, Stat.DRAIN_ALL_PIN)).toBe(0);
    expect(ledger(c3, folio)).toEqual({ PAGECACHE: 1, MAP: 1, MLOCK_BATCH: 1, LRU_BATCH: 1 });
    expect(fw(c3, folio, F.PINCOUNT)).toBe(0);
    expect(folio_batch_entries(c3, 3, Batch.lru_add)).toEqual([folio]);
    expect(pte_get(c3, vma, 0)).toBe(folio + 1);
    expect(c3.task.pfMemallocPin).toBe(false);
    expect(recs).toEqual([expect.objectContaining({ rc: Errno.ENOMEM, retries: 0, drainAlls: 0, migrateAttempts: 10, folios: [] })]);
  });

  for (const policy of ['will-v1', 'hugh-portmanteau', 'merged', 'merged-6.18', 'pin-refs-fix', 'always-drain', 'lru-cache-disable']) {
    it(`${policy}: the drain reaches CPU1, migration succeeds, the new folio is pinned and mlocked`, () => {
      const { k, folio, vma, obj } = s1(policy);
      const c3 = k.ctx(3);
      const recs = pinRecords(c3);
      const pages: number[] = [];
      expect(k.run(3, pin_user_pages(c3, vma, 0, 1, LONGTERM, pages))).toBe(1);
      const dst = pages[0]!;
      expect(dst).not.toBe(folio);
      expect(folio_is_longterm_pinnable(c3, dst)).toBe(true);
      expect(filemap_get_entry(c3, obj, 0)).toBe(dst);
      expect(fw(c3, folio, F.STATE)).toBe(FolioState.FREED);
      expect(ledger(c3, dst)).toEqual({ PAGECACHE: 1, MAP: 1, GUP_PIN: 1024 });
      expect(folio_flags(c3, dst) & (PG.mlocked | PG.unevictable | PG.lru)).toBe(PG.mlocked | PG.unevictable | PG.lru);
      expect(fw(c3, dst, F.MLOCK_COUNT)).toBe(1);
      expect(stat(k, 3, Stat.DRAIN_ALL_PIN)).toBe(1);
      expect(stat(k, 3, Stat.GUP_RETRY)).toBe(1);
      expect(folio_batch_count(c3, 1, Batch.mlock)).toBe(0);
      expect(recs[0]).toMatchObject({ rc: 1, retries: 1, drainAlls: 1, migrateAttempts: 1, folios: [dst] });
    });
  }

  it('targeted-extraction: CPU3 takes the entry out of CPU1 itself, no drain-all', () => {
    const { k, folio, vma } = s1('targeted-extraction');
    const c3 = k.ctx(3);
    const recs = pinRecords(c3);
    const pages: number[] = [];
    expect(k.run(3, pin_user_pages(c3, vma, 0, 1, LONGTERM, pages))).toBe(1);
    expect(pages[0]).not.toBe(folio);
    expect(statSum(k, Stat.DRAIN_ALL_PIN)).toBe(0);
    expect(statSum(k, Stat.DRAIN_WORK_RUN)).toBe(0);
    expect(stat(k, 3, Stat.EXTRACTED)).toBe(1);
    expect(recs[0]).toMatchObject({ rc: 1, drainAlls: 0, extractions: 1 });
  });

  it('unpinning the result leaves only the natural references', () => {
    const { k, vma } = s1('merged');
    const c3 = k.ctx(3);
    const pages: number[] = [];
    k.run(3, pin_user_pages(c3, vma, 0, 1, LONGTERM, pages));
    const dst = pages[0]!;
    unpin_user_pages(c3, pages);
    expect(ledger(c3, dst)).toEqual({ PAGECACHE: 1, MAP: 1 });
  });
});

describe('S2: anon folio with a NEW mlock entry on CPU1', () => {
  for (const policy of ['v6.11', 'merged']) {
    it(`${policy}: !PG_lru -> drain-all -> __mlock_new_folio on CPU1 -> isolated and migrated`, () => {
      const k = kernel(policy, 3);
      const c1 = k.ctx(1);
      const { folio, vma } = placeFolio(c1, { kind: 'anon', mapped: true, lockedVma: true });
      k.run(1, mlock_new_folio(c1, folio));
      expect(ledger(c1, folio)).toEqual({ MAP: 1, MLOCK_BATCH: 1 });
      expect(folio_flags(c1, folio) & (PG.lru | PG.mlocked)).toBe(PG.mlocked);
      const c2 = k.ctx(2);
      const pages: number[] = [];
      expect(k.run(2, pin_user_pages(c2, vma, 0, 1, LONGTERM, pages))).toBe(1);
      expect(pages[0]).not.toBe(folio);
      expect(folio_is_longterm_pinnable(c2, pages[0]!)).toBe(true);
      expect(stat(k, 2, Stat.DRAIN_ALL_PIN)).toBe(1);
      expect(ledger(c2, pages[0]!)).toEqual({ MAP: 1, GUP_PIN: 1024 });
      expect(fw(c2, folio, F.STATE)).toBe(FolioState.FREED);
    });
  }
});

describe('S12: the pinner mapped the folio itself, no foreign entries (merged)', () => {
  it('useless drains, one move attempt, dst mlocked with count 1, nothing left queued', () => {
    const k = kernel('merged', 2);
    const c0 = k.ctx(0);
    const { folio, vma } = placeFolio(c0, { kind: 'shmem', mapped: true, lockedVma: true, onLru: true, mlocked: true, mlockCount: 1 });
    const pages: number[] = [];
    expect(k.run(0, pin_user_pages(c0, vma, 0, 1, LONGTERM, pages))).toBe(1);
    expect(stat(k, 0, Stat.DRAIN_ALL_LOCAL_PIN)).toBe(1);
    expect(stat(k, 0, Stat.DRAIN_ALL_PIN)).toBe(1);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(1);
    const dst = pages[0]!;
    expect(fw(c0, folio, F.STATE)).toBe(FolioState.FREED);
    expect(fw(c0, dst, F.MLOCK_COUNT)).toBe(1);
    for (let b = 0; b <= Batch.mlock; b++) expect(folio_batch_count(c0, 0, b)).toBe(0);
  });
});

describe('S9: two pinners race on the same CMA folio', () => {
  /** F sits in CPU2's lru_add batch (!PG_lru), so both collects reach their drain yield. */
  function setup(policy: string | ReturnType<typeof withSwitches>) {
    const k = kernel(policy, 4);
    const c2 = k.ctx(2);
    const f = placeFolio(c2, { kind: 'shmem', mapped: true });
    k.run(2, folio_add_lru(c2, f.folio));
    const p1: number[] = [];
    const p3: number[] = [];
    const s1 = new Stepper(k, 1, pin_user_pages(k.ctx(1), f.vma, 0, 1, LONGTERM, p1));
    const s3 = new Stepper(k, 3, pin_user_pages(k.ctx(3), f.vma, 0, 1, LONGTERM, p3));
    const atDrain = (yp: number) => yp === YP.COLLECT_BEFORE_DRAIN;
    s1.until(atDrain);
    s3.until(atDrain);
    expect(refcount(k.ctx(0), f.folio)).toBe(1 + 1 + 1 + 2 * 1024);
    // C1 drains (CPU2's lru_add runs: PG_lru set), isolates, unpins, unmaps; stops before moving.
    s1.until((yp) => yp === YP.MIGRATE_STEP);
    expect(ledger_get(k.ctx(0), f.folio, Holder.ISOLATION)).toBe(1);
    return { k, ...f, p1, p3, s1, s3 };
  }

  for (const policy of ['v6.11', 'merged']) {
    it(`${policy}: the loser's isolation fails, it unpins and retries until the winner's migration ends`, () => {
      const { k, folio, p1, p3, s1, s3 } = setup(policy);
      s3.until(() => false);
      expect(s3.done).toBe(false);
      expect(s3.stuck).toBe(true); // waiting for the migration entry to go
      expect(stat(k, 3, Stat.ISOLATE_FAIL)).toBe(1);
      expect(stat(k, 3, Stat.GUP_RETRY)).toBe(1);
      expect(ledger_get(k.ctx(0), folio, Holder.GUP_PIN)).toBe(0); // I10 for the loser's pass
      expect(s1.finish()).toBe(1);
      expect(s3.finish()).toBe(1);
      expect(p1[0]).toBe(p3[0]);
      expect(p1[0]).not.toBe(folio);
      expect(ledger(k.ctx(0), p1[0]!)).toMatchObject({ GUP_PIN: 2048 });
      expect(fw(k.ctx(0), p1[0]!, F.MT)).not.toBe(MigrateType.CMA);
    });
  }

  it('gupEmptyListSucceeds (v6.14-emptylist): the loser returns holding a pin on the CMA folio; the winner fails', () => {
    const { k, folio, p3, s1, s3 } = setup('v6.14-emptylist');
    expect(s3.finish()).toBe(1);
    expect(p3).toEqual([folio]);
    expect(folio_is_longterm_pinnable(k.ctx(3), folio)).toBe(false); // I9 violated, as the revert says
    expect(s1.finish()).toBe(Errno.ENOMEM);
    expect(stat(k, 1, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(10);
    expect(ledger(k.ctx(0), folio)).toMatchObject({ GUP_PIN: 1024, PAGECACHE: 1, MAP: 1 });
  });
});

describe('PF_MEMALLOC_PIN', () => {
  it('S2b: a page GUP faults in itself is allocated pinnable, so nothing migrates', () => {
    const k = kernel('merged', 2);
    const c0 = k.ctx(0);
    c0.alloc.movableMt = MigrateType.CMA;
    const { vma, folio: other } = placeFolio(c0, { kind: 'anon', mapped: false });
    void other;
    const pages: number[] = [];
    expect(k.run(0, pin_user_pages(c0, vma, 0, 1, LONGTERM, pages))).toBe(1);
    expect(folio_is_longterm_pinnable(c0, pages[0]!)).toBe(true);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(0);
    expect(stat(k, 0, Stat.GUP_RETRY)).toBe(0);
    expect(c0.task.pfMemallocPin).toBe(false);
  });
});

describe('the unbounded -EAGAIN loop', () => {
  it('an unpinnable folio that can never be isolated hits the safety cap with an error naming it', () => {
    const k = kernel(withSwitches('v6.11', { gupDrainRule: 'never' }), 2);
    const c0 = k.ctx(0);
    // Isolated by someone who never puts it back: !PG_lru, no batch entry.
    const { folio, vma } = placeFolio(c0, { kind: 'shmem', mapped: true });
    expect(() => k.run(0, pin_user_pages(c0, vma, 0, 1, LONGTERM, []))).toThrow(new RegExp(`retried 10000 times .*folios ${folio}\\)`));
    expect(stat(k, 0, Stat.GUP_RETRY)).toBe(10000);
    expect(ledger_get(c0, folio, Holder.GUP_PIN)).toBe(0);
  });
});
