// The cost model of the logical-time runtime (src/runtime/logical.ts), as data: what each unit
// of kernel work costs (mm/cost.ts events) and what the machinery around it costs (waking a
// kworker on an idle or a busy CPU, an IPI, waking a sleeping task). Every default says where
// its number comes from; a user's cost file (YAML or JSON, any subset of the fields) replaces
// them, e.g. with figures measured on the machine being studied (`npm run bench -- logical`
// measures this host's).
import { z } from 'zod';
import { COST, type CostEvent } from '../mm/cost.js';

/** Above a second a cost prices no kernel step, and sums of such times outgrow the latency histograms. */
export const MAX_COST_NS = 1e9;
const ns = z
  .number()
  .finite({ message: 'a finite number of ns' })
  .nonnegative({ message: 'a number of ns >= 0' })
  .max(MAX_COST_NS, { message: `a number of ns <= ${MAX_COST_NS} (1 s)` });

export const CostModelSchema = z
  .object({
    /** A name for reports ("defaults", "this host", "my Sapphire Rapids"). */
    name: z.string().min(1).default('defaults'),
    batchAddNs: ns,
    lruvecLockNs: ns,
    lruMoveNs: ns,
    drainScanNs: ns,
    queueWorkNs: ns,
    remoteLockNs: ns,
    migrateCopyNs: ns,
    tlbFlushNs: ns,
    tlbFlushPerCpuNs: ns,
    tlbFlushLocalNs: ns,
    stepNs: ns,
    kworkerWakeIdleNs: ns,
    kworkerSwitchNs: ns,
    ipiNs: ns,
    wakeupNs: ns,
    wakeupLocalNs: ns,
    idlePollNs: ns,
    wakePollingNs: ns,
    busySpacingNs: ns,
    remoteNodeNs: ns,
    numaNodes: z.number().int().min(1).max(512),
  })
  .strict();
export type CostModel = z.infer<typeof CostModelSchema>;
export type CostField = Exclude<keyof CostModel, 'name'>;

/** Defaults for a current two-socket x86 server, each with its source. */
export const DEFAULT_COSTS: CostModel = {
  name: 'defaults',
  batchAddNs: 10,
  lruvecLockNs: 60,
  lruMoveNs: 100,
  drainScanNs: 60,
  queueWorkNs: 300,
  remoteLockNs: 80,
  migrateCopyNs: 500,
  tlbFlushNs: 3_000,
  tlbFlushPerCpuNs: 100,
  tlbFlushLocalNs: 200,
  stepNs: 50,
  kworkerWakeIdleNs: 14_000,
  kworkerSwitchNs: 2_000,
  ipiNs: 2_000,
  wakeupNs: 3_000,
  wakeupLocalNs: 2_000,
  idlePollNs: 2_000,
  wakePollingNs: 1_500,
  busySpacingNs: 100_000,
  remoteNodeNs: 100,
  numaNodes: 2,
};

/** Where each default comes from (printed by `folio-race costs`, docs/timing-studies.md). */
export const COST_SOURCES: Record<CostField, string> = {
  batchAddNs: 'estimate: local_lock() and an array store on a hot per-CPU line, a few dozen instructions',
  lruvecLockNs:
    'estimate: an uncontended spin_lock_irq() whose line another CPU wrote last: one cache-line transfer, tens of ns within a socket and 100+ ns across (the order measured in Schweizer, Besta, Hoefler, "Evaluating the Cost of Atomic Operations on Modern Architectures", PACT 2015)',
  lruMoveNs:
    'estimate: lru_add_fn()/lru_move_tail_fn() per folio (flag updates, list_add, lruvec and memcg statistics, a cache miss on the folio) plus its folios_put_refs() share; calibrate with `npm run bench -- logical`',
  drainScanNs: "estimate: cpu_needs_drain() reads another CPU's batch counters (one or two remote cache lines, each a miss after that CPU wrote it)",
  queueWorkNs: 'estimate: __queue_work() (pool lock, list insert) and try_to_wake_up() of the bound kworker, whose reschedule IPI send is a few hundred ns',
  remoteLockNs:
    "estimate: a compare-and-swap on another CPU's local-lock word (one cache-line transfer), as the QPW series' spin_lock on a remote per-CPU lock",
  migrateCopyNs:
    "estimate: folio_mc_copy() of one 4 KiB page whose source is not in cache (the pinned page was last written by the guest, maybe on another CPU): about 8 GB/s of one core's copy bandwidth, 0.5 µs",
  tlbFlushNs:
    'estimate: a TLB flush of migrated PTEs that reaches other CPUs, up to the first of them: a shootdown IPI, its handler\'s flush and the wait for its acknowledgement, a few µs on x86 (the order Amit measures in "Optimizing the TLB Shootdown Algorithm with Page-Access Tracking", USENIX ATC 2017); each further CPU adds tlbFlushPerCpuNs. The CPUs are the online ones of mm_cpumask(mm) that have the mm loaded and are not lazy (should_flush_tlb(); a CPU whose task sleeps or is done is lazy; src/mm/tlb.ts). Once per MIGRATE_ASYNC migrate_pages_batch() since v6.3 (try_to_migrate() with TTU_BATCH_FLUSH, then try_to_unmap_flush()), per unmapped PTE in the synchronous retries and in 6.1.y (ptep_clear_flush() as it unmaps)',
  tlbFlushPerCpuNs:
    'estimate: each further CPU a shootdown interrupts: x86 sends the flush IPI to every target (smp_call_function_many_cond(), one APIC write per target CPU or per x2APIC cluster) and waits until each has run flush_tlb_func(); the handlers overlap, so a CPU adds its send and its share of the wait, about 0.1 µs. 0 for arm64, which broadcasts one TLBI to every CPU (__flush_tlb_page_nosync(), DSB in arch_tlbbatch_flush())',
  tlbFlushLocalNs:
    'estimate: a flush no other CPU needs (no other CPU runs the mm): flush_tlb_func() on this CPU, an INVLPG of the page for ptep_clear_flush(), a whole-TLB flush for a batch (TLB_FLUSH_ALL, whose refills the model does not price), a few hundred cycles; arm64 broadcasts regardless, so a cost file for it sets this to tlbFlushNs',
  stepNs: 'estimate: kernel code between two scheduling points that is not itemised above',
  kworkerWakeIdleNs:
    'reschedule IPI (~2 µs) + exit from C1E (10 µs: drivers/idle/intel_idle.c, skx_cstates, exit_latency) + switching to the kworker (~2 µs); with C6 allowed the exit alone is 133 µs (same table)',
  kworkerSwitchNs:
    'a context switch into the woken kworker at the busy CPU\'s next scheduling point: 1-4 µs direct cost (lmbench lat_ctx; Li, Ding, Shen, "Quantifying the cost of context switch", ExpCS 2007)',
  ipiNs: 'estimate: smp_call_function_single() delivery to a running CPU and entry to the handler, 1-2 µs on x86',
  wakeupNs: 'a sleeping task (the flush_work() waiter, a mutex waiter) woken from another CPU by try_to_wake_up() and switched in: IPI + context switch, ~3 µs',
  wakeupLocalNs: 'the same, woken from its own CPU (its kworker finished the work it flushes): no IPI, one context switch back, 1-4 µs (as kworkerSwitchNs)',
  idlePollNs:
    "how long a CPU that just went idle polls before entering an idle state: poll_idle() stops after the first enabled state's target residency (drivers/cpuidle/poll_state.c cpuidle_poll_time(); C1 on skx_cstates: 2 µs); a KVM guest with cpuidle-haltpoll polls guest_halt_poll_ns, 200 µs (drivers/cpuidle/governors/haltpoll.c)",
  wakePollingNs:
    'waking a thread on a polling idle CPU: no IPI (the CPU has TIF_POLLING_NRFLAG set: set_nr_if_polling() in kernel/sched/core.c), no idle-state exit, one context switch (1-2 µs: lmbench lat_ctx)',
  numaNodes:
    "NUMA nodes, each with its own lruvec and so its own lru_lock (pgdat->__lruvec, or one per memcg per node: mem_cgroup_lruvec() in include/linux/memcontrol.h): a two-socket server without sub-NUMA clustering has 2. CPUs are split into nodes in order, and a CPU's batches hold folios of its own node (local allocation), so kworkers of different nodes do not contend",
  remoteNodeNs:
    "estimate: what writing another CPU's per-CPU data costs more when that CPU is on another NUMA node and wrote the line last (queue_work_on()'s work item and pool, a QPW or extraction remote local lock): the line crosses the socket interconnect, about 100 ns more than within a socket (the order measured in Schweizer, Besta, Hoefler, PACT 2015, as for lruvecLockNs); added to queueWorkNs and remoteLockNs for a CPU of another node (per attempt of a contended remote lock: a failed compare-and-swap moves the line too). Not to drainScanNs: the scan reads lines that stay cached between scans unless their CPU wrote them, which the model does not track",
  busySpacingNs:
    'a busy CPU reaches a point where a woken kworker can run: at the wake-up (wakeup preemption) or the next tick at worst (1-4 ms at CONFIG_HZ 1000-250; sched_wakeup_granularity 1 ms scaled by CPU count before v6.6, base_slice 0.75 ms since EEVDF): 100 µs is a middle value; sweep it with --spacing',
};

/** Fields that are times (ns); the others are counts. */
export const isTimeField = (k: CostField): boolean => k.endsWith('Ns');

/** The cost of one unit of each kernel work event (indexed by mm/cost.ts COST values). */
export function eventCosts(m: CostModel): Float64Array {
  const t = new Float64Array(Object.keys(COST).length);
  const by: Record<CostEvent, number> = {
    [COST.BATCH_ADD]: m.batchAddNs,
    [COST.LRUVEC_LOCK]: m.lruvecLockNs,
    [COST.LRU_MOVE]: m.lruMoveNs,
    [COST.DRAIN_SCAN]: m.drainScanNs,
    [COST.QUEUE_WORK]: m.queueWorkNs,
    [COST.REMOTE_LOCK]: m.remoteLockNs,
    [COST.MIGRATE_COPY]: m.migrateCopyNs,
    [COST.TLB_FLUSH]: m.tlbFlushNs,
    [COST.TLB_FLUSH_CPU]: m.tlbFlushPerCpuNs,
    [COST.TLB_FLUSH_LOCAL]: m.tlbFlushLocalNs,
  };
  for (const [k, v] of Object.entries(by)) t[Number(k)] = v;
  return t;
}
