// The footprint of one scheduling step (src/sched/footprint.ts), which partial-order reduction
// in `explore` uses to decide which steps commute: slots addressed, slots written (contents
// changed), global words changed.
import { describe, expect, test } from 'vitest';
import { createKernelMemory, makeCtx, NOOP_HOOKS } from '../src/mm/boot.js';
import { Batch } from '../src/mm/constants.js';
import { folio_batch_add, folio_batch_reinit, folio_batch_set_slot } from '../src/mm/folio_batch.js';
import { getPolicy } from '../src/mm/policy.js';
import { C, cpuBase, F, folioBase, G, gw, PTL, SLOT, SLOT_BITS, Stat, V, vmaBase, watchSlots } from '../src/mm/layout.js';
import { ptlBase, pte_lock, pte_unlock } from '../src/mm/vma.js';
import { FootprintRecorder, independent } from '../src/sched/footprint.js';
import { enter_lazy_tlb, switch_mm_irqs_off } from '../src/mm/tlb.js';
import { anonVma, kernel } from './helpers/mm.js';

const mem = createKernelMemory({ nCpus: 4, nFolios: 8, nPtes: 16, nCacheSlots: 8 });
const { w, lay } = mem;
// One VMA of 4 pages at PTE 0, mapping folio 0 at page 0.
w[vmaBase(0) + V.IN_USE] = 1;
w[vmaBase(0) + V.NPAGES] = 4;
w[vmaBase(0) + V.PTE_BASE] = 0;
w[lay.pteArea + 0] = 1;

/** The footprint of `body` run as one step of a thread on `cpu`, recorded by `r`. */
function recordStep(r: FootprintRecorder, cpu: number, body: () => void, carried: readonly number[] | null) {
  r.start(cpu, carried);
  watchSlots(r);
  try {
    body();
  } finally {
    watchSlots(null);
  }
  return r.finish(false);
}

/** The same with a fresh recorder (no copy kept from an earlier step). */
function step(cpu: number, body: () => void, carried: number[] | null = null) {
  const r = new FootprintRecorder();
  r.reset(w, lay);
  return recordStep(r, cpu, body, carried);
}

describe('footprints', () => {
  test('two readers of one VMA and its PTEs commute; a writer of a PTE does not commute with a reader', () => {
    const walk = () => w[lay.pteArea + w[vmaBase(0) + V.PTE_BASE]!]!;
    const a = step(0, () => void walk());
    const b = step(1, () => void walk());
    expect(a.writes).toEqual([]);
    expect(independent(a, b)).toBe(true);
    const zap = step(2, () => {
      w[lay.pteArea + w[vmaBase(0) + V.PTE_BASE]! + 2] = 5;
    });
    expect(zap.writes).toEqual([SLOT.VMA + (0 << SLOT_BITS)]);
    expect(independent(a, zap)).toBe(false);
    w[lay.pteArea + 2] = 0;
  });
  test('a folio written by one step and read by another: dependent; two different folios: independent', () => {
    const get = (f: number) => step(0, () => void Atomics.add(w, folioBase(f) + F.REF, 1));
    const peek = (f: number) => step(1, () => void Atomics.load(w, folioBase(f) + F.REF));
    expect(independent(get(0), peek(0))).toBe(false);
    expect(independent(get(0), peek(1))).toBe(true);
  });
  test('a value written back unchanged within the step is no write', () => {
    const fp = step(0, () => {
      const b = folioBase(3) + F.FLAGS;
      w[b] = w[b]! | 4;
      w[b] = w[b]! & ~4;
    });
    expect(fp.writes).toEqual([]);
  });
  test('the words that only price TLB flushes (mm_cpumask, LOADED_MM, tlb.ts) are no write: a task entering its mm commutes with a reader of that VMA and that CPU', () => {
    const cpu1 = makeCtx(w, lay, 1, getPolicy('v6.11'), { ...NOOP_HOOKS, singleThreaded: true });
    w[vmaBase(0) + V.MM_SLOT] = 1;
    const entering = step(1, () => {
      vmaBase(0); // the op resolves its VMA, as kernel code would
      switch_mm_irqs_off(cpu1, 0);
      cpuBase(1);
      enter_lazy_tlb(cpu1);
      switch_mm_irqs_off(cpu1, 0);
    });
    expect(w[vmaBase(0) + V.CPUMASK]).toBe(1 << 1);
    expect(w[cpuBase(1) + C.LOADED_MM]).toBe(1);
    expect(entering.writes).toEqual([]);
    const reader = step(2, () => void [w[vmaBase(0) + V.FLAGS], w[cpuBase(1) + C.ONLINE]]);
    expect(independent(entering, reader)).toBe(true);
    w[vmaBase(0) + V.MM_SLOT] = 0;
    w[vmaBase(0) + V.CPUMASK] = 0;
    w[cpuBase(1) + C.LOADED_MM] = 0;
  });
  test("a CPU's event counters and the runtime's CUR_OP are left out; its batches are compared", () => {
    const other = step(1, () => void w[cpuBase(0) + C.BATCHES]);
    const counting = step(0, () => {
      w[cpuBase(0) + C.STATS + Stat.PIN_CALLS]! += 1;
      w[cpuBase(0) + C.CUR_OP] = 7;
    });
    expect(counting.writes).toEqual([]);
    expect(independent(counting, other)).toBe(true);
    // Batch stores go through folio_batch.ts, which bumps BATCH_GEN in a single-thread runtime.
    const cpu0 = makeCtx(w, lay, 0, getPolicy('v6.11'), { ...NOOP_HOOKS, singleThreaded: true });
    const adding = step(0, () => void folio_batch_add(cpu0, Batch.lru_add, 3));
    expect(adding.writes).toEqual([SLOT.CPU + (0 << SLOT_BITS)]);
    expect(independent(adding, other)).toBe(false);
    // A tombstone written over an entry leaves the count as it was: BATCH_GEN tells the write.
    const tombstone = step(0, () => void folio_batch_set_slot(cpu0, 0, Batch.lru_add, 0, -1));
    expect(tombstone.writes).toEqual([SLOT.CPU + (0 << SLOT_BITS)]);
    const emptying = step(0, () => void folio_batch_reinit(cpu0, 0, Batch.lru_add));
    expect(emptying.writes).toEqual([SLOT.CPU + (0 << SLOT_BITS)]);
    // A count changed without folio_batch.ts (no kernel code does) is still a write.
    const raw = step(0, () => {
      w[cpuBase(0) + C.BATCHES] = 1;
    });
    expect(raw.writes).toEqual([SLOT.CPU + (0 << SLOT_BITS)]);
    w[cpuBase(0) + C.BATCHES] = 0;
  });
  test('slots carried from earlier steps of the op are compared too (an address kept across a yield point)', () => {
    const carriedFolio = SLOT.FOLIO + (5 << SLOT_BITS);
    const base = folioBase(5); // computed before the step, as kernel code computes it before a yield point
    const fp = step(0, () => void Atomics.add(w, base + F.REF, 1), [carriedFolio]);
    expect(fp.slots).toContain(carriedFolio);
    expect(fp.writes).toContain(carriedFolio);
  });
  test('global words are slots too: a drain generation moved conflicts with its readers only; a global changed without gw() conflicts with every step', () => {
    w[G.DRAIN_GEN] = 0;
    const bump = step(0, () => void Atomics.add(w, gw(G.DRAIN_GEN), 1));
    expect(bump.global).toBe(false);
    expect(bump.writes).toEqual([SLOT.GLOBAL + ((G.DRAIN_GEN >> 4) << SLOT_BITS)]);
    const sample = step(1, () => void Atomics.load(w, gw(G.DRAIN_GEN)));
    expect(independent(bump, sample)).toBe(false);
    const fault = step(2, () => void Atomics.add(w, folioBase(2) + F.REF, 1));
    expect(independent(bump, fault)).toBe(true);
    const sneaky = step(0, () => void Atomics.add(w, G.DRAIN_GEN, 1));
    expect(sneaky.global).toBe(true);
    expect(independent(sneaky, fault)).toBe(false);
  });
  test('a lock taken and released inside one step is no write; one left held is', () => {
    w[G.LRUVEC_LOCK] = 0;
    const inside = step(1, () => {
      Atomics.store(w, gw(G.LRUVEC_LOCK), 1);
      Atomics.store(w, gw(G.LRUVEC_LOCK), 0);
    });
    expect(inside.global).toBe(false);
    expect(inside.writes).toEqual([]);
    const held = step(0, () => void Atomics.store(w, gw(G.LRUVEC_LOCK), 1));
    expect(held.writes).toEqual([SLOT.GLOBAL + ((G.LRUVEC_LOCK >> 4) << SLOT_BITS)]);
    expect(independent(held, inside)).toBe(false);
    w[G.LRUVEC_LOCK] = 0;
  });
  test('copies are kept from step to step: a later write to a slot is still found, and the audit catches a change outside any step', () => {
    const r = new FootprintRecorder(true);
    r.reset(w, lay);
    const run = (cpu: number, body: () => void, carried: readonly number[] | null = null) => recordStep(r, cpu, body, carried);
    const f6 = SLOT.FOLIO + (6 << SLOT_BITS);
    const read = run(0, () => void Atomics.load(w, folioBase(6) + F.REF));
    expect(read.writes).toEqual([]);
    // Another CPU's step writes the folio: its copy, taken by the first step, is compared and renewed.
    const get = run(1, () => void Atomics.add(w, folioBase(6) + F.REF, 1));
    expect(get.writes).toEqual([f6]);
    // The first CPU carries the folio on and writes it through an address kept from before.
    const base = folioBase(6);
    const put = run(0, () => void Atomics.sub(w, base + F.REF, 1), read.slots);
    expect(put.writes).toEqual([f6]);
    // Equal footprints are one object.
    expect(run(1, () => void Atomics.load(w, folioBase(6) + F.REF))).toBe(run(1, () => void Atomics.load(w, folioBase(6) + F.REF)));
    // Memory changed between steps, outside any step: the next step's audit names the slot.
    w[folioBase(6) + F.REF]! += 1;
    expect(() => r.start(2, null)).toThrow(/folio 6 changed in a step that did not address it/);
    w[folioBase(6) + F.REF]! -= 1;
  });
  test('a waiter bitmap is one group over its two lines', () => {
    const a = step(0, () => void Atomics.or(w, gw(G.LOCK_WAITERS), 1));
    const b = step(1, () => void Atomics.load(w, gw(G.LOCK_WAITERS + 16)));
    expect(independent(a, b)).toBe(false);
    w[G.LOCK_WAITERS] = 0;
  });
});

describe('the page-table lock has its own waiter bitmap', () => {
  test('CPU 100 waiting for the PTL registers in G.PTL_WAITERS and leaves the VMA and object cursors alone', () => {
    const k = kernel('v6.11', 128);
    const holder = k.ctx(0);
    const waiter = k.ctx(100);
    const vma = anonVma(k, 1);
    const cursors = [G.NEXT_PTE, G.NEXT_CACHE_SLOT, G.NEXT_VMA, G.NEXT_OBJ].map((g) => k.w[g]);
    k.run(0, pte_lock(holder, vma, 0));
    const g = pte_lock(waiter, vma, 0);
    expect(g.next().done).toBe(false); // blocked behind CPU 0
    expect(k.w[G.PTL_WAITERS + (100 >> 5)]! & (1 << (100 & 31))).not.toBe(0);
    expect([G.NEXT_PTE, G.NEXT_CACHE_SLOT, G.NEXT_VMA, G.NEXT_OBJ].map((x) => k.w[x])).toEqual(cursors);
    pte_unlock(holder, vma, 0);
    for (let r = g.next(); !r.done; r = g.next()) {
      /* takes it now */
    }
    expect(k.w[ptlBase(holder, vma, 0) + PTL.OWNER]).toBe(101);
    expect(k.w[G.PTL_WAITERS + (100 >> 5)]).toBe(0);
    pte_unlock(waiter, vma, 0);
  });
});
