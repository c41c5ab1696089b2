// Test helpers for GUP / migration tests: build folios in a chosen state directly (as if the
// fault and LRU code had run), and step kernel generators on several CPUs by hand.
import { Holder, MappingKind, MigrateType, PG, VM, Zone } from '../../src/mm/constants.js';
import { YP, type KernelCtx, type KGen, type TraceSink } from '../../src/mm/context.js';
import { folio_put, folio_ref_mod, folio_set, fset, fw, ledger_get } from '../../src/mm/folio.js';
import { C, F, folioBase, Stat } from '../../src/mm/layout.js';
import { count_event } from '../../src/mm/locks.js';
import { kworker_run_pending } from '../../src/mm/lru_add_drain_all.js';
import { lruvec_add_folio } from '../../src/mm/mm_inline.js';
import { folio_alloc } from '../../src/mm/page_alloc.js';
import { getPolicy, type Policy, type PolicySwitches } from '../../src/mm/policy.js';
import { object_create, page_cache_set, pte_set, vma_create } from '../../src/mm/vma.js';
import { InlineKernel } from '../../src/runtime/inline.js';

export function kernel(policy: string | Policy, nCpus = 4, trace?: TraceSink): InlineKernel {
  const p = typeof policy === 'string' ? getPolicy(policy) : policy;
  return new InlineKernel({ nCpus, policy: p, trace: trace ?? null });
}

/** A policy with some switches overridden (for switch-by-switch tests). */
export function withSwitches(base: string, sw: Partial<PolicySwitches>): Policy {
  const p = getPolicy(base);
  return { ...p, id: `${base}+test`, switches: { ...p.switches, ...sw } };
}

export function stat(k: InlineKernel, cpu: number, s: number): number {
  return k.w[k.ctx(cpu).base + C.STATS + s]!;
}
export function statSum(k: InlineKernel, s: number): number {
  let n = 0;
  for (let c = 0; c < k.ctxs.length; c++) n += stat(k, c, s);
  return n;
}

/** The ledger as a name → refs map (non-zero holders only). */
export function ledger(ctx: KernelCtx, folio: number): Record<string, number> {
  const names = ['PAGECACHE', 'SWAPCACHE', 'PRIVATE', 'PRIVATE_2', 'MAP', 'LRU_BATCH', 'MLOCK_BATCH', 'ISOLATION', 'GUP_GET', 'GUP_PIN', 'TEMP'];
  const out: Record<string, number> = {};
  names.forEach((n, h) => {
    const v = ledger_get(ctx, folio, h);
    if (v !== 0) out[n] = v;
  });
  return out;
}
export function ledgerSum(ctx: KernelCtx, folio: number): number {
  let s = 0;
  for (let h = 0; h <= Holder.TEMP; h++) s += ledger_get(ctx, folio, h);
  return s;
}

export interface Placed {
  folio: number;
  vma: number;
  obj: number;
}

export interface FolioSetup {
  /** 'shmem' (page cache of a memfd) or 'anon'. */
  kind: 'shmem' | 'anon';
  order?: number;
  mt?: number;
  /** Map every page in a VMA (locked or not). */
  mapped?: boolean;
  lockedVma?: boolean;
  /** On the LRU with PG_lru (evictable list, or unevictable if mlocked). */
  onLru?: boolean;
  /** PG_mlocked (and, if on the LRU, PG_unevictable with this mlock_count). */
  mlocked?: boolean;
  mlockCount?: number;
  swapcache?: boolean;
  dirty?: boolean;
}

/**
 * Build one folio in the given state on `ctx`'s CPU, with a VMA (and page-cache object for
 * shmem) of its own, page 0. Refcount = ledger sum, as if the fault had completed.
 */
export function placeFolio(ctx: KernelCtx, s: FolioSetup): Placed {
  const order = s.order ?? 0;
  const nr = 1 << order;
  const obj = s.kind === 'shmem' ? object_create(ctx, { kind: MappingKind.SHMEM, npages: nr, mt: s.mt ?? MigrateType.CMA, zone: Zone.NORMAL, order }) : -1;
  const vmaFlags = VM.READ | VM.WRITE | (s.kind === 'shmem' ? VM.SHARED : 0) | (s.lockedVma ? VM.LOCKED : 0);
  const vma = vma_create(ctx, { npages: nr, flags: vmaFlags, obj });
  const folio = folio_alloc(ctx, order, true, s.mt ?? MigrateType.CMA, Zone.NORMAL);
  folio_set(ctx, folio, PG.uptodate | PG.swapbacked);
  if (s.dirty) folio_set(ctx, folio, PG.dirty);
  if (s.kind === 'shmem') {
    page_cache_set(ctx, obj, 0, folio);
    folio_ref_mod(ctx, folio, nr, Holder.PAGECACHE, 'shmem_add_to_page_cache');
  } else {
    fset(ctx, folio, F.MAPPING, MappingKind.ANON);
    fset(ctx, folio, F.MAPPING_ID, vma);
    fset(ctx, folio, F.INDEX, 0);
    fset(ctx, folio, F.ANON_EXCLUSIVE, 1); // folio_add_new_anon_rmap(RMAP_EXCLUSIVE)
    if (s.swapcache) {
      folio_set(ctx, folio, PG.swapcache);
      folio_ref_mod(ctx, folio, nr, Holder.SWAPCACHE, 'add_to_swap_cache');
    }
  }
  if (s.mapped) {
    for (let i = 0; i < nr; i++) {
      pte_set(ctx, vma, i, folio + 1);
      Atomics.add(ctx.w, folioBase(folio) + F.MAPCOUNT, 1);
      if (s.lockedVma) Atomics.add(ctx.w, folioBase(folio) + F.LOCKED_MAPS, 1);
      folio_ref_mod(ctx, folio, 1, Holder.MAP, 'set_pte_range');
    }
  }
  if (s.mlocked) {
    folio_set(ctx, folio, PG.mlocked);
    count_event(ctx, Stat.NR_MLOCK, nr);
  }
  if (s.onLru) {
    if (s.mlocked) folio_set(ctx, folio, PG.unevictable);
    lruvec_add_folio(ctx, folio);
    if (s.mlocked) fset(ctx, folio, F.MLOCK_COUNT, s.mlockCount ?? 1);
    folio_set(ctx, folio, PG.lru);
  }
  folio_put(ctx, folio, Holder.TEMP, 'test');
  return { folio, vma, obj };
}

/** Add references that only the ledger knows about (a pure-decision test's fake holder). */
export function fakeRefs(ctx: KernelCtx, folio: number, holder: number, refs: number): void {
  folio_ref_mod(ctx, folio, refs, holder, 'test');
}

export const refcount = (ctx: KernelCtx, folio: number) => fw(ctx, folio, F.REF);

/**
 * Drive a kernel generator on one CPU step by step, as InlineKernel.run does (the CPU's own
 * kworker runs at its scheduling points; while it is blocked the other CPUs run their drain
 * work), but stop where the test says, so that several CPUs can be interleaved by hand.
 */
export class Stepper<T> {
  done = false;
  value: T | undefined;
  /** The last yield point passed. */
  last = -1;
  /** Blocked, and no other CPU's kworker could help: another CPU must run first. */
  stuck = false;
  readonly seen: number[] = [];

  constructor(
    private k: InlineKernel,
    readonly cpu: number,
    private gen: KGen<T>,
  ) {}

  /** Run until a yield satisfies `stop`, completion, or being stuck. */
  until(stop: (yp: number) => boolean, maxSteps = 200000): this {
    const ctx = this.k.ctx(this.cpu);
    this.stuck = false;
    for (let i = 0; i < maxSteps && !this.done; i++) {
      const r = this.gen.next();
      if (r.done) {
        this.done = true;
        this.value = r.value;
        return this;
      }
      this.last = r.value;
      this.seen.push(r.value);
      if (ctx.preempt === 0) kworker_run_pending(ctx);
      if (r.value === YP.BLOCKED && ctx.blockedOn && !ctx.blockedOn()) {
        let progressed = false;
        for (const other of this.k.ctxs) if (other !== ctx && other.preempt === 0) progressed = kworker_run_pending(other) || progressed;
        if (!progressed && !ctx.blockedOn()) {
          this.stuck = true;
          return this;
        }
      }
      if (stop(r.value)) return this;
    }
    if (!this.done) throw new Error(`cpu ${this.cpu}: no stop after ${maxSteps} steps`);
    return this;
  }
  /** Run to completion (throws if stuck). */
  finish(): T {
    this.until(() => false);
    if (!this.done) throw new Error(`cpu ${this.cpu}: stuck (blocked in ${this.k.ctx(this.cpu).blockReason})`);
    return this.value as T;
  }
}
