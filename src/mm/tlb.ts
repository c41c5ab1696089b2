// TLB shootdowns when migration unmaps a folio: which CPUs a flush interrupts and what it costs in
// logical time (arch/x86/mm/tlb.c and arch/x86/include/asm/tlbflush.h; mm/rmap.c for the batch;
// read in 6.1.y and 6.12.y). x86 interrupts, by IPI, every CPU in mm_cpumask(mm) whose task runs
// in that mm (should_flush_tlb(): a lazy CPU, idle with the mm still loaded, is skipped) and waits
// for each; so the cost grows with the CPUs a process runs on. arm64 broadcasts one TLBI to every
// CPU instead: a cost file for it sets tlbFlushPerCpuNs to 0 and tlbFlushLocalNs to tlbFlushNs.
// Nothing here decides anything: the deterministic runtime ignores costs, and these words are
// read and written without the footprint watch, so the exhaustive search sees none of them.
import { atomic_fetch_or } from './access.js';
import type { KernelCtx } from './context.js';
import { charge, COST } from './cost.js';
import { C, CPU_WORDS, GLOBAL_WORDS, MAX_CPUS, V, VMA_TABLE, VMA_WORDS } from './layout.js';

const MASK_WORDS = MAX_CPUS / 32;

/** A CPU's LOADED_MM word, reached without the footprint watch (cpuBase() reports to it). */
const loadedMm = (cpu: number): number => GLOBAL_WORDS + cpu * CPU_WORDS + C.LOADED_MM;
/** The record of the VMA that holds `vma`'s mm's mm_cpumask (V.MM_SLOT), and its slot + 1. */
function mmOf(ctx: KernelCtx, vma: number): { slot1: number; mask: number } {
  const slot1 = ctx.w[VMA_TABLE + vma * VMA_WORDS + V.MM_SLOT]!;
  return { slot1, mask: VMA_TABLE + (slot1 - 1) * VMA_WORDS + V.CPUMASK };
}

/**
 * switch_mm_irqs_off() (arch/x86/mm/tlb.c, all versions): this CPU now runs a task of `vma`'s mm:
 * cpumask_set_cpu(cpu, mm_cpumask(next)) and cpu_tlbstate.loaded_mm. Called where a scenario op
 * runs on a VMA (its CPU's task is a thread of that mm). Bits are never cleared: 6.1.y clears
 * prev's on a switch to another mm and 6.12.y trims a stale mask about once a second
 * (should_trim_cpumask()), but a flush skips a CPU whose loaded mm is another one either way.
 */
export function switch_mm_irqs_off(ctx: KernelCtx, vma: number): void {
  const { slot1, mask } = mmOf(ctx, vma);
  if (slot1 === 0) return;
  const w = ctx.w;
  w[ctx.base + C.LOADED_MM] = slot1;
  const i = mask + (ctx.cpu >> 5);
  const bit = 1 << (ctx.cpu & 31);
  if ((w[i]! & bit) === 0) atomic_fetch_or(ctx, i, bit);
}

/** enter_lazy_tlb() (arch/x86/mm/tlb.c, all versions): the CPU's task is done and it idles; flushes skip it. */
export function enter_lazy_tlb(ctx: KernelCtx): void {
  ctx.w[ctx.base + C.LOADED_MM] = 0;
}

/** What a flush costs for the `targets` other CPUs it interrupts (a flush of this CPU's TLB alone when none). */
function charge_flush(ctx: KernelCtx, targets: number): void {
  if (targets === 0) charge(ctx, COST.TLB_FLUSH_LOCAL);
  else {
    charge(ctx, COST.TLB_FLUSH);
    if (targets > 1) charge(ctx, COST.TLB_FLUSH_CPU, targets - 1);
  }
}

/** The CPUs other than this one in `mask` (words from `at`) whose loaded mm passes `loaded`. */
function count_targets(ctx: KernelCtx, at: number, loaded: (mm: number) => boolean): number {
  const w = ctx.w;
  let n = 0;
  for (let k = 0; k < MASK_WORDS; k++) {
    let bits = at < 0 ? ctx.task.tlbUbc.mask[k]! : w[at + k]!;
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      const cpu = k * 32 + b;
      if (cpu !== ctx.cpu && cpu < ctx.nCpus && loaded(w[loadedMm(cpu)]!)) n++;
    }
  }
  return n;
}

/**
 * flush_tlb_mm_range() for one page (ptep_clear_flush() -> flush_tlb_page(); arch/x86/mm/tlb.c,
 * all versions): an IPI to each CPU of mm_cpumask(mm) that runs this mm, waiting for all.
 */
export function flush_tlb_page(ctx: KernelCtx, vma: number): void {
  if (ctx.hooks.charge === undefined) return; // a runtime that prices nothing: no CPUs to count
  const { slot1, mask } = mmOf(ctx, vma);
  if (slot1 === 0) return;
  charge_flush(
    ctx,
    count_targets(ctx, mask, (mm) => mm === slot1),
  );
}

/**
 * set_tlb_ubc_flush_pending() (mm/rmap.c, with TTU_BATCH_FLUSH; all versions): the PTE is cleared
 * and its flush deferred: arch_tlbbatch_add_pending() ORs mm_cpumask(mm) into current->tlb_ubc.
 */
export function set_tlb_ubc_flush_pending(ctx: KernelCtx, vma: number): void {
  if (ctx.hooks.charge === undefined) return;
  const { slot1, mask } = mmOf(ctx, vma);
  if (slot1 === 0) return;
  const ubc = ctx.task.tlbUbc;
  for (let k = 0; k < MASK_WORDS; k++) ubc.mask[k]! |= ctx.w[mask + k]!;
  ubc.pending = true;
}

/**
 * try_to_unmap_flush() (mm/rmap.c; arch_tlbbatch_flush() in arch/x86/mm/tlb.c, all versions): one
 * flush for every PTE deferred since the last, to every CPU in the batch's mask that is not lazy.
 */
export function try_to_unmap_flush(ctx: KernelCtx): void {
  const ubc = ctx.task.tlbUbc;
  if (!ubc.pending) return;
  charge_flush(
    ctx,
    count_targets(ctx, -1, (mm) => mm !== 0),
  );
  ubc.mask.fill(0);
  ubc.pending = false;
}
