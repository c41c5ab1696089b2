// TLB shootdowns: which CPUs a flush interrupts and what it costs in logical time
// (arch/x86/mm/tlb.c and arch/x86/include/asm/tlbflush.h; mm/rmap.c for migration's batch,
// mm/mmu_gather.c for munmap, kernel/fork.c for fork; read in 6.1.y and 6.12.y). x86 interrupts,
// by IPI, every online CPU of mm_cpumask(mm) that is not lazy and has that mm loaded
// (should_flush_tlb()), and waits for each; so the cost grows with the CPUs a process runs on. A
// CPU is lazy while it runs no task of its own mm: idle, its task asleep, or its kworker running;
// a flush that passes it by leaves it to flush its own TLB when its task runs again. A flush after
// page tables were freed (munmap) reaches the lazy CPUs too. arm64 broadcasts one TLBI to every
// CPU instead: a cost file for it sets tlbFlushPerCpuNs to 0 and tlbFlushLocalNs to tlbFlushNs.
// Nothing here decides anything: the deterministic runtime ignores costs, and these words are
// read and written without the footprint watch, so the exhaustive search sees none of them.
import { atomic_fetch_and, atomic_fetch_or } from './access.js';
import type { KernelCtx } from './context.js';
import { charge, COST } from './cost.js';
import { C, CPU_WORDS, GLOBAL_WORDS, MAX_CPUS, V, VMA_TABLE, VMA_WORDS } from './layout.js';

const MASK_WORDS = MAX_CPUS / 32;

/** A CPU's region, reached without the footprint watch (cpuBase() reports to it). */
const cpuWords = (cpu: number): number => GLOBAL_WORDS + cpu * CPU_WORDS;
/** Where mm_cpumask of the mm whose first VMA is slot1 - 1 starts (V.MM_SLOT). */
const maskOf = (slot1: number): number => VMA_TABLE + (slot1 - 1) * VMA_WORDS + V.CPUMASK;
/** `vma`'s mm, as its first VMA + 1 (0: a record never filled). */
const mmOf = (ctx: KernelCtx, vma: number): number => ctx.w[VMA_TABLE + vma * VMA_WORDS + V.MM_SLOT]!;

/** Load mm `next` (first VMA + 1; 0 none) on this CPU: out of the old mm's mask, into the new one's. */
function load_mm(ctx: KernelCtx, next: number): void {
  const w = ctx.w;
  const prev = w[ctx.base + C.LOADED_MM]!;
  if (prev === next) return;
  const k = ctx.cpu >> 5;
  const bit = 1 << (ctx.cpu & 31);
  if (prev !== 0) atomic_fetch_and(ctx, maskOf(prev) + k, ~bit);
  w[ctx.base + C.LOADED_MM] = next;
  if (next !== 0) atomic_fetch_or(ctx, maskOf(next) + k, bit);
}

/**
 * This CPU runs a task of mm `mm` again (switch_mm_irqs_off(), arch/x86/mm/tlb.c, 6.1.y and
 * 6.12.y): loaded and in the mask, not lazy. If a flush passed it by while it was lazy (or moved
 * it to init_mm), the mm's tlb_gen is ahead of its TLB, which it flushes (tlbFlushLocalNs); after
 * another mm, the stale mark was that mm's and is dropped (the ASID switch is not priced).
 */
function resume_mm(ctx: KernelCtx, mm: number): void {
  const w = ctx.w;
  const prev = w[ctx.base + C.LOADED_MM]!;
  load_mm(ctx, mm);
  w[ctx.base + C.TLB_LAZY] = 0;
  if (w[ctx.base + C.TLB_STALE] === 0) return;
  w[ctx.base + C.TLB_STALE] = 0;
  if ((prev === mm || prev === 0) && ctx.hooks.charge !== undefined) charge(ctx, COST.TLB_FLUSH_LOCAL);
}

/**
 * switch_mm_irqs_off() (arch/x86/mm/tlb.c, 6.1.y and 6.12.y): this CPU now runs a task of `vma`'s
 * mm, called where a scenario op runs on a VMA (its CPU's task is a thread of that mm). Switching
 * from another mm clears this CPU from the old mm_cpumask and sets it in the new one; the CPU is
 * no longer lazy, and catches up with a flush that passed it by.
 */
export function switch_mm_irqs_off(ctx: KernelCtx, vma: number): void {
  const next = mmOf(ctx, vma);
  if (next !== 0) resume_mm(ctx, next);
}

/**
 * enter_lazy_tlb() (arch/x86/mm/tlb.c, 6.1.y and 6.12.y): the CPU runs no task of its mm (its task
 * is done). The mm stays loaded and in the mask, but flushes pass the CPU by (is_lazy). Nothing
 * to do on a CPU that has no user mm loaded (init_mm).
 */
export function enter_lazy_tlb(ctx: KernelCtx): void {
  if (ctx.w[ctx.base + C.LOADED_MM] !== 0) ctx.w[ctx.base + C.TLB_LAZY] = 1;
}
/** Is this CPU lazy (no task of its mm running)? */
export const tlb_lazy = (ctx: KernelCtx): boolean => ctx.w[ctx.base + C.TLB_LAZY] !== 0;

/**
 * context_switch() away from this CPU's task, to idle or a kernel thread (kernel/sched/core.c ->
 * enter_lazy_tlb(), 6.1.y and 6.12.y): its task sleeps, or its kworker runs. Returns what
 * tlb_switch_in() needs to switch back: the mm the task ran in and whether it was lazy already.
 */
export function tlb_switch_out(ctx: KernelCtx): number {
  const saved = ctx.w[ctx.base + C.LOADED_MM]! * 2 + ctx.w[ctx.base + C.TLB_LAZY]!;
  enter_lazy_tlb(ctx);
  return saved;
}

/**
 * context_switch() back to the task tlb_switch_out() left (switch_mm_irqs_off(), arch/x86/mm/tlb.c,
 * 6.1.y and 6.12.y): a task that ran in an mm loads it again (a munmap flush may have moved this
 * lazy CPU to init_mm meanwhile) and catches up with any flush that passed it by (resume_mm()).
 */
export function tlb_switch_in(ctx: KernelCtx, saved: number): void {
  const mm = saved >> 1;
  if ((saved & 1) === 0 && mm !== 0) resume_mm(ctx, mm); // else the task was not running in an mm before either
}

/** What a flush costs for the `targets` other CPUs it interrupts, or `local` alone (this CPU's TLB), or nothing. */
function charge_flush(ctx: KernelCtx, targets: number, local: boolean): void {
  if (targets > 0) {
    charge(ctx, COST.TLB_FLUSH);
    if (targets > 1) charge(ctx, COST.TLB_FLUSH_CPU, targets - 1);
  } else if (local) charge(ctx, COST.TLB_FLUSH_LOCAL);
}

/**
 * flush_tlb_func() on a lazy CPU after page tables were freed (arch/x86/mm/tlb.c, 6.1.y and
 * 6.12.y): it switches to init_mm, out of mm `loaded`'s mask; its task loads the mm afresh.
 */
function leave_for_init_mm(ctx: KernelCtx, cpu: number, loaded: number): void {
  const b = cpuWords(cpu);
  ctx.w[b + C.TLB_LAZY] = 0;
  ctx.w[b + C.LOADED_MM] = 0;
  ctx.w[b + C.TLB_STALE] = 1;
  atomic_fetch_and(ctx, maskOf(loaded) + (cpu >> 5), ~(1 << (cpu & 31)));
}

/**
 * The online CPUs other than this one in the mask at `mask[at..]` (an mm's in kernel memory, or
 * the task's tlb_ubc) that a flush interrupts: with mm `slot1` loaded (0: any mm of `mms`, the
 * batched flush's info->mm == NULL) and not lazy: its task runs, and not its kworker (a kernel
 * thread). A lazy one is marked to flush its own TLB when its task runs again; an interrupted one
 * is up to date. With `freedTables` (native_flush_tlb_multi()) every CPU of the mask, lazy ones
 * included, which switch to init_mm (flush_tlb_func()) and so leave the mm's mask. A CPU whose
 * kworker runs is interrupted then but stays in the mask (the logical runtime has run that work
 * already, and its task resumes in the mm), marked to flush when its task next enters the mm, as
 * the switch back from init_mm would.
 */
function count_targets(ctx: KernelCtx, mask: Int32Array, at: number, slot1: number, freedTables: boolean, mms?: readonly number[]): number {
  const w = ctx.w;
  const kworker = ctx.hooks.kworkerRunning;
  let n = 0;
  for (let k = 0; k < MASK_WORDS; k++) {
    let bits = mask[at + k]!;
    while (bits !== 0) {
      const cpu = k * 32 + 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      if (cpu === ctx.cpu || cpu >= ctx.nCpus) continue;
      const b = cpuWords(cpu);
      if (w[b + C.ONLINE] === 0) continue;
      const loaded = w[b + C.LOADED_MM]!;
      const lazyMode = w[b + C.TLB_LAZY] !== 0;
      if (freedTables) {
        n++;
        if (lazyMode) leave_for_init_mm(ctx, cpu, loaded);
        else w[b + C.TLB_STALE] = kworker !== undefined && kworker(cpu) ? 1 : 0;
        continue;
      }
      // The batched flush (info->mm == NULL) reaches any CPU that is not lazy; only the mms it
      // deferred flushes of had their tlb_gen moved on.
      const ours = slot1 === 0 ? loaded !== 0 && (mms === undefined || mms.includes(loaded)) : loaded === slot1;
      if (lazyMode || (kworker !== undefined && kworker(cpu))) {
        if (ours) w[b + C.TLB_STALE] = 1;
      } else if (ours || slot1 === 0) {
        n++;
        w[b + C.TLB_STALE] = 0;
      }
    }
  }
  return n;
}

/**
 * flush_tlb_mm_range() (arch/x86/mm/tlb.c, 6.1.y and 6.12.y) of `vma`'s mm: an IPI to each CPU
 * the mm runs on (with `freedTables`, each CPU of its mask), waiting for all; with none, this
 * CPU's own TLB if it has the mm loaded.
 */
function flush_tlb_mm_range(ctx: KernelCtx, vma: number, freedTables: boolean): void {
  if (ctx.hooks.charge === undefined) return; // a runtime that prices nothing: no CPUs to count
  const slot1 = mmOf(ctx, vma);
  if (slot1 === 0) return;
  charge_flush(ctx, count_targets(ctx, ctx.w, maskOf(slot1), slot1, freedTables), ctx.w[ctx.base + C.LOADED_MM] === slot1);
}

/** flush_tlb_page() (ptep_clear_flush(), mm/pgtable-generic.c; arch/x86, 6.1.y and 6.12.y): one page of `vma`'s mm. */
export const flush_tlb_page = (ctx: KernelCtx, vma: number): void => flush_tlb_mm_range(ctx, vma, false);

/**
 * flush_tlb_mm() (arch/x86/include/asm/tlbflush.h, 6.1.y and 6.12.y): all of `vma`'s mm, as
 * dup_mmap() ends (kernel/fork.c). x86 defines it with freed_tables true, so lazy CPUs are
 * interrupted too.
 */
export const flush_tlb_mm = (ctx: KernelCtx, vma: number): void => flush_tlb_mm_range(ctx, vma, true);

/**
 * tlb_finish_mmu() -> tlb_flush_mmu() -> tlb_flush() (mm/mmu_gather.c, include/asm-generic/tlb.h,
 * 6.1.y and 6.12.y) after munmap cleared `vma`'s PTEs and free_pgtables() freed its page tables
 * (freed_tables): the lazy CPUs are interrupted too. An assumption: free_pgd_range() frees a PTE
 * table only where no neighbouring VMA shares its 2 MiB, and the model has no addresses; a VMA
 * that shared its tables would leave freed_tables 0 and lazy CPUs passed by.
 */
export const tlb_flush_freed_tables = (ctx: KernelCtx, vma: number): void => flush_tlb_mm_range(ctx, vma, true);

/**
 * should_defer_flush() with TTU_BATCH_FLUSH (mm/rmap.c; arch_tlbbatch_should_defer() in
 * arch/x86/include/asm/tlbflush.h, 6.1.y and 6.12.y): defer only when another CPU is in
 * mm_cpumask(mm), lazy or not; otherwise the PTE is flushed at once.
 */
export function should_defer_flush(ctx: KernelCtx, vma: number): boolean {
  const slot1 = mmOf(ctx, vma);
  if (slot1 === 0) return false;
  const at = maskOf(slot1);
  const own = ctx.cpu >> 5;
  for (let k = 0; k < MASK_WORDS; k++) {
    const bits = ctx.w[at + k]! & (k === own ? ~(1 << (ctx.cpu & 31)) : -1);
    if (bits !== 0) return true;
  }
  return false;
}

/**
 * set_tlb_ubc_flush_pending() (mm/rmap.c, with TTU_BATCH_FLUSH; 6.1.y and 6.12.y): the PTE is
 * cleared and its flush deferred: arch_tlbbatch_add_pending() ORs mm_cpumask(mm) into
 * current->tlb_ubc.
 */
export function set_tlb_ubc_flush_pending(ctx: KernelCtx, vma: number): void {
  if (ctx.hooks.charge === undefined) return;
  const slot1 = mmOf(ctx, vma);
  if (slot1 === 0) return;
  const ubc = ctx.task.tlbUbc;
  const at = maskOf(slot1);
  for (let k = 0; k < MASK_WORDS; k++) ubc.mask[k]! |= ctx.w[at + k]!;
  if (!ubc.mms.includes(slot1)) ubc.mms.push(slot1); // arch_tlbbatch_add_pending(): inc_mm_tlb_gen(mm)
  ubc.pending = true;
}

/**
 * try_to_unmap_flush() (mm/rmap.c; arch_tlbbatch_flush() in arch/x86/mm/tlb.c, 6.1.y and 6.12.y):
 * one full flush for every PTE deferred since the last, to every CPU of the batch's mask that is
 * not lazy; with none, this CPU's own TLB if it is in the mask.
 */
export function try_to_unmap_flush(ctx: KernelCtx): void {
  const ubc = ctx.task.tlbUbc;
  if (!ubc.pending) return;
  const self = (ubc.mask[ctx.cpu >> 5]! & (1 << (ctx.cpu & 31))) !== 0;
  charge_flush(ctx, count_targets(ctx, ubc.mask, 0, 0, false, ubc.mms), self);
  ubc.mask.fill(0);
  ubc.mms.length = 0;
  ubc.pending = false;
}
