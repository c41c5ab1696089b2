// A VMA's page-table lock is the kernel's queued spinlock (src/mm/spinlock.ts): FIFO. Each kernel
// function on one thread, deterministically: generators of pte_lock() stepped by hand, as the
// deterministic runtime steps CPUs.
import { describe, expect, test } from 'vitest';
import { C, cpuBase, PTL, PTRS_PER_PTE } from '../src/mm/layout.js';
import { MigrateType, VM } from '../src/mm/constants.js';
import { handle_mm_fault } from '../src/mm/memory.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { ptlBase, pte_get, pte_lock, pte_lock_spin, pte_unlock, vma_create } from '../src/mm/vma.js';
import { anonVma, kernel, kernelWith, shmemObj } from './helpers/mm.js';
import { LocalLock, local_lock, local_unlock } from '../src/mm/locks.js';
import { drain_may_run } from '../src/mm/workqueue.js';

/** Step a waiter's pte_lock(): true once it holds the lock, false while it stays blocked (a few turns). */
function advance(g: Generator<unknown, void>): boolean {
  for (let turn = 0; turn < 3; turn++) if (g.next().done) return true;
  return false;
}

describe('queued_spin_lock() for the page-table lock (kernel/locking/qspinlock.c)', () => {
  test('uncontended: taken and released leave the queue words as they were', () => {
    const k = kernel('v6.11', 4);
    const vma = anonVma(k, 1);
    const at = ptlBase(k.ctx(0), vma, 0);
    const before = [PTL.OWNER, PTL.NEXT, PTL.HEAD].map((f) => k.w[at + f]);
    const a = k.ctx(0);
    k.run(0, pte_lock(a, vma, 0));
    expect(k.w[at + PTL.OWNER]).toBe(1);
    pte_unlock(a, vma, 0);
    expect([PTL.OWNER, PTL.NEXT, PTL.HEAD].map((f) => k.w[at + f])).toEqual(before);
  });

  test('the page-table locks of two VMAs are two locks: a CPU holding one does not hold up a CPU taking the other', () => {
    const k = kernel('v6.11', 2);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    const [v1, v2] = [anonVma(k, 1), anonVma(k, 1)];
    k.run(0, pte_lock(a!, v1, 0));
    expect(advance(pte_lock(b!, v2, 0))).toBe(true);
    expect([k.w[ptlBase(a!, v1, 0) + PTL.OWNER], k.w[ptlBase(a!, v2, 0) + PTL.OWNER]]).toEqual([1, 2]);
    pte_unlock(b!, v2, 0);
    pte_unlock(a!, v1, 0);
  });

  test('a VMA has a page-table lock per page-table page (PTRS_PER_PTE pages): two pages of one table contend, pages of two tables do not', () => {
    const k = kernel('v6.11', 3, 4 * PTRS_PER_PTE);
    const [a, b, c] = [0, 1, 2].map((x) => k.ctx(x));
    const vma = anonVma(k, 2 * PTRS_PER_PTE);
    k.run(0, pte_lock(a!, vma, 0));
    const sameTable = pte_lock(b!, vma, PTRS_PER_PTE - 1);
    expect(advance(sameTable)).toBe(false);
    expect(advance(pte_lock(c!, vma, PTRS_PER_PTE))).toBe(true);
    expect(ptlBase(c!, vma, PTRS_PER_PTE)).not.toBe(ptlBase(a!, vma, 0));
    pte_unlock(c!, vma, PTRS_PER_PTE);
    pte_unlock(a!, vma, 0);
    expect(advance(sameTable)).toBe(true);
    pte_unlock(b!, vma, PTRS_PER_PTE - 1);
  });

  test('waiters get the lock in the order they queued, whichever of them runs first after an unlock', () => {
    const k = kernel('v6.11', 4);
    const vma = anonVma(k, 1);
    const at = ptlBase(k.ctx(0), vma, 0);
    const [holder, w1, w2, w3] = [0, 1, 2, 3].map((c) => k.ctx(c));
    k.run(0, pte_lock(holder!, vma, 0));
    const g1 = pte_lock(w1!, vma, 0);
    const g2 = pte_lock(w2!, vma, 0);
    const g3 = pte_lock(w3!, vma, 0);
    expect([advance(g1), advance(g2), advance(g3)]).toEqual([false, false, false]);
    // spin_lock() turns preemption off before it waits: a waiting CPU's kworker runs no drain work.
    expect([w1!.preempt, w2!.preempt, w3!.preempt]).toEqual([1, 1, 1]);
    expect(k.w[cpuBase(2) + C.SPIN_TICKET]).toBe(k.w[at + PTL.HEAD]! + 2); // CPU 2 holds the second ticket
    pte_unlock(holder!, vma, 0);
    // CPU 3 and CPU 2 run before CPU 1: they stay queued, and CPU 1 takes it.
    expect([advance(g3), advance(g2)]).toEqual([false, false]);
    expect(advance(g1)).toBe(true);
    expect(k.w[at + PTL.OWNER]).toBe(2);
    pte_unlock(w1!, vma, 0);
    expect(advance(g3)).toBe(false);
    expect(advance(g2)).toBe(true);
    pte_unlock(w2!, vma, 0);
    expect(advance(g3)).toBe(true);
    pte_unlock(w3!, vma, 0);
    expect(k.w[at + PTL.OWNER]).toBe(0);
    expect(k.w[at + PTL.NEXT]).toBe(k.w[at + PTL.HEAD]);
  });

  test('a drain IPI may land while a CPU holds or waits for a page-table lock (interrupts stay on under spin_lock), workqueue drain work may not; inside a local lock or gup_fast neither', () => {
    const v611 = getPolicy('v6.11');
    for (const mech of ['ipi', 'workqueue'] as const) {
      const k = kernelWith({ ...v611, switches: { ...v611.switches, drainMechanism: mech } }, 2);
      const vma = anonVma(k, 1);
      const [a, b] = [0, 1].map((c) => k.ctx(c));
      k.run(0, pte_lock(a!, vma, 0));
      const waiter = pte_lock(b!, vma, 0);
      expect(advance(waiter)).toBe(false);
      expect([drain_may_run(a!), drain_may_run(b!)], mech).toEqual(mech === 'ipi' ? [true, true] : [false, false]);
      local_lock(a!, LocalLock.fbatches);
      expect(drain_may_run(a!), mech).toBe(false);
      local_unlock(a!, LocalLock.fbatches);
      pte_unlock(a!, vma, 0);
      expect(advance(waiter)).toBe(true);
      pte_unlock(b!, vma, 0);
      expect([drain_may_run(a!), drain_may_run(b!)], mech).toEqual([true, true]);
    }
  });

  test('a releasing CPU that wants the lock again queues behind the waiter instead of retaking it', () => {
    const k = kernel('v6.11', 2);
    const vma = anonVma(k, 1);
    const at = ptlBase(k.ctx(0), vma, 0);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    k.run(0, pte_lock(a!, vma, 0));
    const gb = pte_lock(b!, vma, 0);
    expect(advance(gb)).toBe(false);
    pte_unlock(a!, vma, 0);
    const again = pte_lock(a!, vma, 0);
    expect(advance(again)).toBe(false); // the lock is free, but CPU 1 is queued ahead
    expect(advance(gb)).toBe(true);
    pte_unlock(b!, vma, 0);
    expect(advance(again)).toBe(true);
    pte_unlock(a!, vma, 0);
  });

  test('on one thread, a CPU that cannot sleep (pte_lock_spin) takes the free lock ahead of a woken waiter, which takes it at its unlock', () => {
    const k = kernel('v6.11', 3);
    const vma = anonVma(k, 1);
    const at = ptlBase(k.ctx(0), vma, 0);
    const [a, b, c] = [0, 1, 2].map((x) => k.ctx(x));
    k.run(0, pte_lock(a!, vma, 0));
    const gb = pte_lock(b!, vma, 0);
    expect(advance(gb)).toBe(false);
    pte_unlock(a!, vma, 0); // free, CPU 1 at the queue's head but not run yet
    expect(() => pte_lock_spin(c!, vma, 0)).not.toThrow();
    expect(k.w[at + PTL.OWNER]).toBe(3);
    expect(advance(gb)).toBe(false);
    pte_unlock(c!, vma, 0);
    expect(advance(gb)).toBe(true);
    pte_unlock(b!, vma, 0);
  });

  test('a CPU that cannot sleep (pte_lock_spin) behind a holder parked on this thread is reported as a deadlock before it queues', () => {
    const k = kernel('v6.11', 2);
    const vma = anonVma(k, 1);
    const at = ptlBase(k.ctx(0), vma, 0);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    k.run(0, pte_lock(a!, vma, 0));
    const next = k.w[at + PTL.NEXT];
    expect(() => pte_lock_spin(b!, vma, 0)).toThrow(/page-table lock held by cpu 0/);
    expect(k.w[at + PTL.NEXT]).toBe(next); // no ticket left behind for nobody to serve
    pte_unlock(a!, vma, 0);
  });
});

describe('finish_fault() maps a large folio only within one page table (the lock it holds)', () => {
  test('an order-2 shmem folio whose pages would straddle two tables is mapped one page at a time', () => {
    const k = new InlineKernel({ nCpus: 2, policy: getPolicy('v6.11'), dims: { nFolios: 256, nPtes: 4 * PTRS_PER_PTE, nCacheSlots: 4 * PTRS_PER_PTE } });
    const ctx = k.ctx(0);
    const obj = shmemObj(k, 2 * PTRS_PER_PTE + 8, MigrateType.MOVABLE, 2);
    // VMA page p maps object index p + 2: the folio of indices 512..515 sits at VMA pages 510..513.
    const vma = vma_create(ctx, { npages: 2 * PTRS_PER_PTE, obj, pgoff: 2, flags: VM.READ | VM.WRITE | VM.SHARED });
    k.run(0, handle_mm_fault(ctx, vma, PTRS_PER_PTE - 2, false));
    const mapped = [PTRS_PER_PTE - 2, PTRS_PER_PTE - 1, PTRS_PER_PTE, PTRS_PER_PTE + 1].map((p) => pte_get(ctx, vma, p) !== 0);
    expect(mapped).toEqual([true, false, false, false]);
    // One that fits in a table is mapped whole.
    k.run(0, handle_mm_fault(ctx, vma, 2, false));
    expect([2, 3, 4, 5].map((p) => pte_get(ctx, vma, p) !== 0)).toEqual([true, true, true, true]);
  });
});

// The deterministic search reaches a drain IPI landing inside a fault's page-table-lock section
// (the task stopped at yield point 1, after folio_get and before the local lock, with the PTL
// held): under 'ipi' some interleaving runs CPU 0's kworker there; as workqueue work, none does.
describe('a drain IPI inside a page-table-lock section (exhaustive search)', () => {
  test('CPU 0 faults while CPU 1 drains all: only the IPI drain runs on CPU 0 while its fault holds the PTL', async () => {
    const { parseScenarioText } = await import('../src/scenario/load.js');
    const { DetSession } = await import('../src/sched/session.js');
    const { explore } = await import('../src/sched/explore.js');
    const { YP } = await import('../src/mm/context.js');
    const s = parseScenarioText(
      [
        'id: ipi-under-ptl',
        'title: a fault on CPU 0, a drain-all on CPU 1',
        'description: a write fault on an anonymous page while another CPU drains all.',
        'raceWindow: CPU 0 between folio_get and the local lock in folio_add_lru, its PTL held.',
        'cpus: 2',
        'vmas:',
        '  - { name: heap, pages: 2 }',
        'steps:',
        '  0:',
        '    - fault: { vma: heap, page: 0 }',
        '    - fault: { vma: heap, page: 1 }',
        '  1:',
        '    - lru_add_drain_all: {}',
      ].join('\n'),
      'ipi-under-ptl.yaml',
    );
    const v611 = getPolicy('v6.11');
    const insidePtl = (mech: 'ipi' | 'workqueue') => {
      const session = new DetSession({ scenario: s, policy: { ...v611, switches: { ...v611.switches, drainMechanism: mech } }, cpus: 2 });
      let found = 0;
      const r = explore(session, {
        preemptionBound: 2,
        visit: (run) => {
          const ds = run.decisions;
          for (let i = 0; i + 1 < ds.length; i++) {
            // CPU 0's task stopped after folio_get in folio_add_lru (the fault's PTL held), and CPU 0's kworker runs next.
            if (ds[i]!.cpu === 0 && !ds[i]!.kw && ds[i]!.yp === YP.LRU_ADD_AFTER_GET && ds[i + 1]!.cpu === 0 && ds[i + 1]!.kw) found++;
          }
        },
      });
      expect(r.complete, mech).toBe(true);
      expect(r.failures, mech).toEqual([]);
      return found;
    };
    expect(insidePtl('ipi')).toBeGreaterThan(0);
    expect(insidePtl('workqueue')).toBe(0);
  });
});
