// TLB shootdowns (src/mm/tlb.ts): mm_cpumask per mm, the CPUs a flush interrupts (those running
// the mm; lazy ones skipped), the batched flush of TTU_BATCH_FLUSH, and what a pin then costs in
// logical time as its process runs on more CPUs.
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import { COST } from '../src/mm/cost.js';
import { C, cpuBase, V, vmaBase } from '../src/mm/layout.js';
import { fork_vma, handle_mm_fault, unmap_vma } from '../src/mm/memory.js';
import { getPolicy, withSwitches } from '../src/mm/policy.js';
import {
  enter_lazy_tlb,
  flush_tlb_page,
  set_tlb_ubc_flush_pending,
  should_defer_flush,
  switch_mm_irqs_off,
  tlb_lazy,
  try_to_unmap_flush,
} from '../src/mm/tlb.js';
import { wait_event } from '../src/mm/wait.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { runCells } from '../src/study/run_cells.js';
import { PIN_STORM_DEFAULTS, pinStormCells } from '../src/study/studies.js';
import { anonVma, kernel } from './helpers/mm.js';

afterAll(async () => {
  await shutdownAll();
});

/** A kernel of 8 CPUs whose charges are recorded: [event, units] per charge. */
function charged() {
  const k = kernel('v6.11', 8);
  const log: [number, number][] = [];
  k.ctx(0).hooks.charge = (ev, n) => log.push([ev, n]);
  return { k, log };
}

describe('mm_cpumask and the CPUs a flush interrupts', () => {
  test('every VMA of one mm names one mask (its first VMA holds it); another mm has its own', () => {
    const { k } = charged();
    const a1 = anonVma(k, 4, 0, 7);
    const b = anonVma(k, 4, 0, 9);
    const a2 = anonVma(k, 4, 0, 7);
    expect([a1, b, a2].map((v) => k.w[vmaBase(v) + V.MM_SLOT])).toEqual([a1 + 1, b + 1, a1 + 1]);
    switch_mm_irqs_off(k.ctx(3), a2);
    switch_mm_irqs_off(k.ctx(5), b);
    expect(k.w[vmaBase(a1) + V.CPUMASK]).toBe(1 << 3);
    expect(k.w[vmaBase(b) + V.CPUMASK]).toBe(1 << 5);
    expect(k.w[cpuBase(3) + C.LOADED_MM]).toBe(a1 + 1);
  });

  test('flush_tlb_page: the first other CPU running the mm costs tlbFlushNs, each further one tlbFlushPerCpuNs; lazy CPUs and CPUs in another mm are passed by', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    const b = anonVma(k, 4, 0, 2);
    for (const cpu of [0, 1, 2, 4]) switch_mm_irqs_off(k.ctx(cpu), a);
    switch_mm_irqs_off(k.ctx(6), b);
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 2],
    ]);
    // CPU 4's task ends (lazy: still in the mask), CPU 2's moves to mm b (out of a's mask): one other CPU left.
    enter_lazy_tlb(k.ctx(4));
    switch_mm_irqs_off(k.ctx(2), b);
    expect(k.w[vmaBase(a) + V.CPUMASK]).toBe((1 << 0) | (1 << 1) | (1 << 4));
    expect(k.w[vmaBase(b) + V.CPUMASK]).toBe((1 << 2) | (1 << 6));
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH, 1]]);
    // CPU 1 goes offline: no IPI reaches it.
    k.w[cpuBase(1) + C.ONLINE] = 0;
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
    k.w[cpuBase(1) + C.ONLINE] = 1;
    // A flush of an mm this CPU does not run, which no other CPU runs either: nothing to flush.
    enter_lazy_tlb(k.ctx(1));
    flush_tlb_page(k.ctx(7), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH, 1]]); // CPU 0 still runs it
    enter_lazy_tlb(k.ctx(0));
    flush_tlb_page(k.ctx(7), a);
    expect(log).toEqual([]);
  });

  test('a task asleep in wait_event leaves its CPU lazy until it runs again; a spinlock waiter does not', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    for (const cpu of [0, 1]) switch_mm_irqs_off(k.ctx(cpu), a);
    let ready = false;
    const sleeper = wait_event(k.ctx(1), () => ready, 'mutex');
    expect(sleeper.next().done).toBe(false); // asleep
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
    ready = true;
    expect(sleeper.next().done).toBe(true); // running again, in its mm
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]); // CPU 1 catches up with the flush that passed it by
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH, 1]]);
    ready = false;
    const spinner = wait_event(k.ctx(1), () => ready, 'pte lock', true);
    expect(spinner.next().done).toBe(false);
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH, 1]]);
  });

  test('TTU_BATCH_FLUSH is taken only when another CPU is in the mask (lazy or not); CPUs that left for another mm are not flushed', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    const b = anonVma(k, 4, 0, 2);
    switch_mm_irqs_off(k.ctx(0), a);
    expect(should_defer_flush(k.ctx(0), a)).toBe(false);
    switch_mm_irqs_off(k.ctx(3), a);
    enter_lazy_tlb(k.ctx(3));
    expect(should_defer_flush(k.ctx(0), a)).toBe(true);
    // CPUs 1-3 ran mm a and then moved to mm b: a batched flush of a is this CPU's own.
    for (const cpu of [1, 2, 3]) {
      switch_mm_irqs_off(k.ctx(cpu), a);
      switch_mm_irqs_off(k.ctx(cpu), b);
    }
    expect(should_defer_flush(k.ctx(0), a)).toBe(false);
    set_tlb_ubc_flush_pending(k.ctx(0), a);
    try_to_unmap_flush(k.ctx(0));
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
  });

  test('TTU_BATCH_FLUSH: the deferred PTEs of two mms are flushed once, to the union of their CPUs that are not lazy; nothing is left pending', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    const b = anonVma(k, 4, 0, 2);
    for (const cpu of [0, 1, 2]) switch_mm_irqs_off(k.ctx(cpu), a);
    for (const cpu of [5, 6]) switch_mm_irqs_off(k.ctx(cpu), b);
    enter_lazy_tlb(k.ctx(6));
    set_tlb_ubc_flush_pending(k.ctx(0), a);
    set_tlb_ubc_flush_pending(k.ctx(0), a);
    set_tlb_ubc_flush_pending(k.ctx(0), b);
    expect(log).toEqual([]);
    try_to_unmap_flush(k.ctx(0));
    // CPUs 1, 2 and 5 (CPU 6 lazy, CPU 0 the flusher).
    expect(log.splice(0)).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 2],
    ]);
    try_to_unmap_flush(k.ctx(0));
    expect(log).toEqual([]);
  });
});

describe('lazy CPUs catch up, munmap reaches them, fork flushes, a kworker runs lazy', () => {
  test('a task that slept through no flush of its mm runs again without flushing its TLB', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    for (const cpu of [0, 1]) switch_mm_irqs_off(k.ctx(cpu), a);
    let ready = false;
    const sleeper = wait_event(k.ctx(1), () => ready, 'mutex');
    expect(sleeper.next().done).toBe(false);
    ready = true;
    expect(sleeper.next().done).toBe(true);
    expect(log).toEqual([]);
    expect(tlb_lazy(k.ctx(1))).toBe(false);
  });

  test('munmap: tlb_finish_mmu() after freeing page tables interrupts the lazy CPUs too; they leave the mask for init_mm, and their task loads the mm again with a flush', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    const other = anonVma(k, 4, 0, 1); // a second VMA of the same mm: it outlives the munmap
    for (const cpu of [0, 1, 2]) switch_mm_irqs_off(k.ctx(cpu), a);
    k.run(0, handle_mm_fault(k.ctx(0), a, 0, true));
    let ready = false;
    const sleeper = wait_event(k.ctx(2), () => ready, 'mutex');
    expect(sleeper.next().done).toBe(false); // CPU 2 lazy
    log.length = 0;
    k.run(0, unmap_vma(k.ctx(0), a));
    // CPUs 1 and 2 both: freed_tables sends to the whole mask.
    expect(log.filter(([ev]) => ev === COST.TLB_FLUSH || ev === COST.TLB_FLUSH_CPU)).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 1],
    ]);
    expect(k.w[cpuBase(2) + C.LOADED_MM]).toBe(0);
    expect(k.w[vmaBase(a) + V.CPUMASK]).toBe((1 << 0) | (1 << 1));
    log.length = 0;
    ready = true;
    expect(sleeper.next().done).toBe(true);
    expect(log).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
    expect(k.w[cpuBase(2) + C.LOADED_MM]).toBe(a + 1);
    expect(k.w[vmaBase(a) + V.CPUMASK]).toBe((1 << 0) | (1 << 1) | (1 << 2));
    // A flush of the mm (through its other VMA) reaches CPU 2 again.
    log.length = 0;
    flush_tlb_page(k.ctx(0), other);
    expect(log).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 1],
    ]);
  });

  test('munmap of a VMA that never had a PTE flushes nothing', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    for (const cpu of [0, 1]) switch_mm_irqs_off(k.ctx(cpu), a);
    k.run(0, unmap_vma(k.ctx(0), a));
    expect(log.filter(([ev]) => ev === COST.TLB_FLUSH || ev === COST.TLB_FLUSH_CPU || ev === COST.TLB_FLUSH_LOCAL)).toEqual([]);
  });

  test("fork: dup_mmap() ends with flush_tlb_mm(oldmm), which x86 sends with freed_tables: the parent's lazy CPUs too, which leave for init_mm", () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    for (const cpu of [0, 1, 2, 3]) switch_mm_irqs_off(k.ctx(cpu), a);
    enter_lazy_tlb(k.ctx(3));
    k.run(0, handle_mm_fault(k.ctx(0), a, 0, true));
    log.length = 0;
    fork_vma(k.ctx(0), a, 1000);
    expect(log.filter(([ev]) => ev === COST.TLB_FLUSH || ev === COST.TLB_FLUSH_CPU)).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 2],
    ]);
    expect(k.w[cpuBase(3) + C.LOADED_MM]).toBe(0);
    expect(k.w[vmaBase(a) + V.CPUMASK]).toBe(0b0111);
  });

  test('a CPU whose kworker runs (hooks.kworkerRunning) is passed by like a lazy one, and catches up when its task next enters the mm; an interrupted CPU is up to date', () => {
    const { k, log } = charged();
    const a = anonVma(k, 4, 0, 1);
    for (const cpu of [0, 1, 2]) switch_mm_irqs_off(k.ctx(cpu), a);
    k.ctx(0).hooks.kworkerRunning = (cpu) => cpu === 1;
    flush_tlb_page(k.ctx(0), a);
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH, 1]]); // CPU 2 only
    expect([k.w[cpuBase(1) + C.TLB_STALE], k.w[cpuBase(2) + C.TLB_STALE]]).toEqual([1, 0]);
    k.ctx(0).hooks.kworkerRunning = undefined;
    switch_mm_irqs_off(k.ctx(1), a); // its next op on the mm
    expect(log.splice(0)).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
    switch_mm_irqs_off(k.ctx(1), a);
    expect(log).toEqual([]);
    // Marked stale, then interrupted by a later flush: nothing left to catch up.
    k.w[cpuBase(2) + C.TLB_STALE] = 1;
    flush_tlb_page(k.ctx(0), a);
    expect(k.w[cpuBase(2) + C.TLB_STALE]).toBe(0);
    // A freed-tables flush (fork's) interrupts a CPU in its kworker; it stays in the mask and
    // flushes when its task next enters the mm, as the switch back from init_mm would.
    k.ctx(0).hooks.kworkerRunning = (cpu) => cpu === 1;
    log.length = 0;
    fork_vma(k.ctx(0), a, 1000);
    expect(log.filter(([ev]) => ev === COST.TLB_FLUSH || ev === COST.TLB_FLUSH_CPU)).toEqual([
      [COST.TLB_FLUSH, 1],
      [COST.TLB_FLUSH_CPU, 1],
    ]);
    expect(k.w[vmaBase(a) + V.CPUMASK]).toBe(0b111);
    k.ctx(0).hooks.kworkerRunning = undefined;
    log.length = 0;
    switch_mm_irqs_off(k.ctx(1), a);
    expect(log).toEqual([[COST.TLB_FLUSH_LOCAL, 1]]);
  });

  test('the batched flush marks only the lazy CPUs of the mms it deferred flushes of', () => {
    const { k } = charged();
    const a = anonVma(k, 4, 0, 1);
    const b = anonVma(k, 4, 0, 2);
    for (const cpu of [0, 1, 2]) switch_mm_irqs_off(k.ctx(cpu), a);
    set_tlb_ubc_flush_pending(k.ctx(0), a); // CPUs 0-2 in the batch's mask
    switch_mm_irqs_off(k.ctx(2), b); // CPU 2 now runs mm b, whose tlb_gen nothing moved
    enter_lazy_tlb(k.ctx(1));
    enter_lazy_tlb(k.ctx(2));
    try_to_unmap_flush(k.ctx(0));
    expect([k.w[cpuBase(1) + C.TLB_STALE], k.w[cpuBase(2) + C.TLB_STALE]]).toEqual([1, 0]);
  });

  test('the logical runtime times each CPU in its kworker, workqueue drains only, and answers kworkerRunning from its clock', async () => {
    const { LogicalRuntime } = await import('../src/runtime/logical.js');
    const { dimsFor } = await import('../src/runtime/dims.js');
    const s = loadScenario('S5');
    type Inside = { cpus: { ctx: { hooks: { kworkerRunning?: (c: number) => boolean } }; kwFrom: number; kwUntil: number }[]; clock: number };
    const spans = (mech: 'workqueue' | 'ipi') => {
      const rt = new LogicalRuntime({
        nCpus: 8,
        policy: withSwitches(getPolicy('merged'), { drainMechanism: mech }),
        dims: dimsFor(s, 8),
        seed: 1,
        costs: DEFAULT_COSTS,
      });
      rt.configure({ kind: 'scenario', scenario: s });
      rt.runTrial(0);
      return rt as unknown as Inside;
    };
    const wq = spans('workqueue');
    const ran = wq.cpus.filter((c) => c.kwUntil > c.kwFrom);
    expect(ran.length).toBeGreaterThan(0);
    const c = ran[0]!;
    const cpu = wq.cpus.indexOf(c);
    const running = c.ctx.hooks.kworkerRunning!;
    wq.clock = c.kwFrom;
    expect(running(cpu)).toBe(true);
    wq.clock = c.kwUntil;
    expect(running(cpu)).toBe(false);
    expect(spans('ipi').cpus.every((x) => x.kwUntil === 0)).toBe(true);
  });
});

describe('a pin pays for the CPUs its process runs on (logical time)', () => {
  test('S5 at 512 CPUs, a drain-free policy: 64 vCPUs add 60 CPUs of tlbFlushPerCpuNs to the pin over 4 vCPUs, and nothing when it is 0', async () => {
    const s5 = loadScenario('S5');
    const pinP50 = async (pinners: number, perCpu: number) => {
      const cells = pinStormCells(s5, { ...PIN_STORM_DEFAULTS, policies: ['6.12.45'], hog: ['off'], cpus: [512], pinners: [pinners], trials: 1 });
      const [o] = await runCells(cells, { mode: 'logical', costs: { ...DEFAULT_COSTS, tlbFlushPerCpuNs: perCpu } });
      expect(o!.aggregate.failures.total).toBe(0);
      return o!.aggregate.pinLatencyNs.p50;
    };
    // The other vCPUs run the guest between their pins: a flush of guest memory interrupts every one.
    const few = await pinP50(4, 1000);
    const many = await pinP50(64, 1000);
    expect(Math.abs(many - few - 60_000)).toBeLessThan(0.002 * many); // HDR: 3 significant digits
    expect(await pinP50(64, 0)).toBe(await pinP50(4, 0));
  });
});
