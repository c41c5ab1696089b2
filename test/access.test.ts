// src/mm/access.ts: the plain accessors of single-thread runtimes behave exactly as the Atomics
// of free-run (values, old values, int32 wrap-around, out-of-range errors); and a failed slot
// claim moves no allocation cursor.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atomic_fetch_add, atomic_fetch_and, atomic_fetch_or, read_once, write_once } from '../src/mm/access.js';
import { createKernelMemory, DEFAULT_DIMS, makeCtx, NOOP_HOOKS } from '../src/mm/boot.js';
import type { KernelCtx } from '../src/mm/context.js';
import { G } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import { vma_create, vma_npages } from '../src/mm/vma.js';
import { anonVma, kernel } from './helpers/mm.js';

function ctxPair(): [KernelCtx, KernelCtx] {
  const policy = getPolicy('v6.11');
  const dims = { ...DEFAULT_DIMS, nCpus: 2 };
  const a = createKernelMemory(dims);
  const b = createKernelMemory(dims);
  return [makeCtx(a.w, a.lay, 0, policy, { ...NOOP_HOOKS, singleThreaded: true }), makeCtx(b.w, b.lay, 0, policy, NOOP_HOOKS)];
}

type Op = { kind: 'read' | 'write' | 'add' | 'or' | 'and'; idx: number; v: number };
function apply(ctx: KernelCtx, op: Op): number | undefined {
  switch (op.kind) {
    case 'read':
      return read_once(ctx, op.idx);
    case 'write':
      write_once(ctx, op.idx, op.v);
      return undefined;
    case 'add':
      return atomic_fetch_add(ctx, op.idx, op.v);
    case 'or':
      return atomic_fetch_or(ctx, op.idx, op.v);
    case 'and':
      return atomic_fetch_and(ctx, op.idx, op.v);
  }
}

describe('access.ts', () => {
  it('a context is plain exactly where its runtime is single-threaded', () => {
    const [plain, shared] = ctxPair();
    expect(plain.plain).toBe(true);
    expect(shared.plain).toBe(false);
  });

  it('plain and atomic accessors give the same values and leave the same memory', () => {
    const word = fc.integer({ min: 0, max: 15 }); // a few words, so operations meet
    const value = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 1, -1, 0));
    const op = fc.record({ kind: fc.constantFrom('read', 'write', 'add', 'or', 'and' as const), idx: word, v: value });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const [plain, shared] = ctxPair();
        const base = G.TRIAL_GEN + 1000; // in the region of CPU 2, absent with 2 CPUs: nothing else writes there
        for (const o of ops) expect(apply(plain, { ...o, idx: base + o.idx })).toBe(apply(shared, { ...o, idx: base + o.idx }));
        expect(Array.from(plain.w.subarray(base, base + 16))).toEqual(Array.from(shared.w.subarray(base, base + 16)));
      }),
    );
  });

  it('a plain access outside the memory throws a RangeError, as Atomics does', () => {
    const [plain, shared] = ctxPair();
    const past = plain.w.length + 7;
    for (const ctx of [plain, shared]) {
      expect(() => read_once(ctx, past)).toThrow(RangeError);
      expect(() => write_once(ctx, past, 1)).toThrow(RangeError);
      expect(() => atomic_fetch_add(ctx, past, 1)).toThrow(RangeError);
      expect(() => atomic_fetch_or(ctx, -1, 1)).toThrow(RangeError);
    }
    expect(() => read_once(plain, past)).toThrow(`word ${past} outside`);
  });
});

describe('slot claims', () => {
  it('a VMA that does not fit leaves the page-table cursor where it was', () => {
    const k = kernel('v6.11'); // 256 PTE-area words; a VMA of n pages takes n + 3 (its page-table lock, then its PTEs)
    const ctx = k.ctx(0);
    const first = anonVma(k, 200);
    const ptes = Atomics.load(k.w, G.NEXT_PTE);
    expect(ptes).toBe(203);
    expect(() => vma_create(ctx, { npages: 100, obj: -1, flags: 0 })).toThrow(/out of page-table entries \(nPtes\): 256 in all, 103 more wanted at 203/);
    expect(Atomics.load(k.w, G.NEXT_PTE)).toBe(ptes);
    // The rest still fits, and the failed VMA's id was never put in use.
    const second = anonVma(k, 50);
    expect(vma_npages(ctx, second)).toBe(50);
    expect(vma_npages(ctx, first)).toBe(200);
    expect(() => vma_npages(ctx, second - 1)).toThrow(/no such VMA/);
  });
});
