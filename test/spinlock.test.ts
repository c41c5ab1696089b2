// A VMA's page-table lock is the kernel's queued spinlock (src/mm/spinlock.ts): FIFO. Each kernel
// function on one thread, deterministically: generators of pte_lock() stepped by hand, as the
// deterministic runtime steps CPUs.
import { describe, expect, test } from 'vitest';
import { C, cpuBase, V, vmaBase } from '../src/mm/layout.js';
import { pte_lock, pte_lock_spin, pte_unlock } from '../src/mm/vma.js';
import { anonVma, kernel } from './helpers/mm.js';

/** Step a waiter's pte_lock(): true once it holds the lock, false while it stays blocked (a few turns). */
function advance(g: Generator<unknown, void>): boolean {
  for (let turn = 0; turn < 3; turn++) if (g.next().done) return true;
  return false;
}

describe('queued_spin_lock() for the page-table lock (kernel/locking/qspinlock.c)', () => {
  test('uncontended: taken and released leave the queue words as they were', () => {
    const k = kernel('v6.11', 4);
    const vma = anonVma(k, 1);
    const at = vmaBase(vma);
    const before = [V.PTL, V.PTL_NEXT, V.PTL_HEAD].map((f) => k.w[at + f]);
    const a = k.ctx(0);
    k.run(0, pte_lock(a, vma));
    expect(k.w[at + V.PTL]).toBe(1);
    pte_unlock(a, vma);
    expect([V.PTL, V.PTL_NEXT, V.PTL_HEAD].map((f) => k.w[at + f])).toEqual(before);
  });

  test('the page-table locks of two VMAs are two locks: a CPU holding one does not hold up a CPU taking the other', () => {
    const k = kernel('v6.11', 2);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    const [v1, v2] = [anonVma(k, 1), anonVma(k, 1)];
    k.run(0, pte_lock(a!, v1));
    expect(advance(pte_lock(b!, v2))).toBe(true);
    expect([k.w[vmaBase(v1) + V.PTL], k.w[vmaBase(v2) + V.PTL]]).toEqual([1, 2]);
    pte_unlock(b!, v2);
    pte_unlock(a!, v1);
  });

  test('waiters get the lock in the order they queued, whichever of them runs first after an unlock', () => {
    const k = kernel('v6.11', 4);
    const vma = anonVma(k, 1);
    const at = vmaBase(vma);
    const [holder, w1, w2, w3] = [0, 1, 2, 3].map((c) => k.ctx(c));
    k.run(0, pte_lock(holder!, vma));
    const g1 = pte_lock(w1!, vma);
    const g2 = pte_lock(w2!, vma);
    const g3 = pte_lock(w3!, vma);
    expect([advance(g1), advance(g2), advance(g3)]).toEqual([false, false, false]);
    expect(k.w[cpuBase(2) + C.SPIN_TICKET]).toBe(k.w[at + V.PTL_HEAD]! + 2); // CPU 2 holds the second ticket
    pte_unlock(holder!, vma);
    // CPU 3 and CPU 2 run before CPU 1: they stay queued, and CPU 1 takes it.
    expect([advance(g3), advance(g2)]).toEqual([false, false]);
    expect(advance(g1)).toBe(true);
    expect(k.w[at + V.PTL]).toBe(2);
    pte_unlock(w1!, vma);
    expect(advance(g3)).toBe(false);
    expect(advance(g2)).toBe(true);
    pte_unlock(w2!, vma);
    expect(advance(g3)).toBe(true);
    pte_unlock(w3!, vma);
    expect(k.w[at + V.PTL]).toBe(0);
    expect(k.w[at + V.PTL_NEXT]).toBe(k.w[at + V.PTL_HEAD]);
  });

  test('a releasing CPU that wants the lock again queues behind the waiter instead of retaking it', () => {
    const k = kernel('v6.11', 2);
    const vma = anonVma(k, 1);
    const at = vmaBase(vma);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    k.run(0, pte_lock(a!, vma));
    const gb = pte_lock(b!, vma);
    expect(advance(gb)).toBe(false);
    pte_unlock(a!, vma);
    const again = pte_lock(a!, vma);
    expect(advance(again)).toBe(false); // the lock is free, but CPU 1 is queued ahead
    expect(advance(gb)).toBe(true);
    pte_unlock(b!, vma);
    expect(advance(again)).toBe(true);
    pte_unlock(a!, vma);
  });

  test('on one thread, a CPU that cannot sleep (pte_lock_spin) takes the free lock ahead of a woken waiter, which takes it at its unlock', () => {
    const k = kernel('v6.11', 3);
    const vma = anonVma(k, 1);
    const at = vmaBase(vma);
    const [a, b, c] = [0, 1, 2].map((x) => k.ctx(x));
    k.run(0, pte_lock(a!, vma));
    const gb = pte_lock(b!, vma);
    expect(advance(gb)).toBe(false);
    pte_unlock(a!, vma); // free, CPU 1 at the queue's head but not run yet
    expect(() => pte_lock_spin(c!, vma)).not.toThrow();
    expect(k.w[at + V.PTL]).toBe(3);
    expect(advance(gb)).toBe(false);
    pte_unlock(c!, vma);
    expect(advance(gb)).toBe(true);
    pte_unlock(b!, vma);
  });

  test('a CPU that cannot sleep (pte_lock_spin) behind a holder parked on this thread is reported as a deadlock before it queues', () => {
    const k = kernel('v6.11', 2);
    const vma = anonVma(k, 1);
    const at = vmaBase(vma);
    const [a, b] = [0, 1].map((c) => k.ctx(c));
    k.run(0, pte_lock(a!, vma));
    const next = k.w[at + V.PTL_NEXT];
    expect(() => pte_lock_spin(b!, vma)).toThrow(/page-table lock held by cpu 0/);
    expect(k.w[at + V.PTL_NEXT]).toBe(next); // no ticket left behind for nobody to serve
    pte_unlock(a!, vma);
  });
});
