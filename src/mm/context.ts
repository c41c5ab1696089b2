// The per-CPU context every emulated kernel function receives, and the yield protocol by which
// kernel code hands control to the runtime at scheduling points (spec §8).
//
// Kernel code that can reach a scheduling point is written as a generator (KGen). It yields a
// YieldPoint number; the runtime decides what happens there: in free-run mode it services the
// CPU's doorbell (runs queued drain work unless inside a local-lock section) and goes on; in
// deterministic mode it asks the scheduler whether this CPU may go on. Kernel code knows nothing
// about threads.
import type { Policy } from './policy.js';
import type { Layout } from './layout.js';

/** Where a CPU can be preempted (spec §8 "mandatory yield points"). */
export const YP = {
  OP_BOUNDARY: 0, // between two script operations
  LRU_ADD_AFTER_GET: 1, // (1) LRU batch add: after folio_get, before the local lock
  MLOCK_BEFORE_APPEND: 2, // (2) mlock_folio: PG_mlocked set and ref taken, entry not yet appended
  COLLECT_BEFORE_DRAIN: 3, // (3) collect: flags/refcount read, drain not yet called
  DRAIN_ALL_AFTER_SAMPLE: 4, // (4) lru_add_drain_all: generation sampled, mutex not yet taken
  DRAIN_ALL_SCAN: 5, // (4) lru_add_drain_all: between scanning two CPUs' counters
  MIGRATE_STEP: 6, // (5) migration: between unmap and a move attempt, between passes
  FAULT_BEFORE_RMAP: 7, // (6) fault: page cache insertion done, rmap add not yet
  BLOCKED: 8, // waiting (mutex, flush_work): ctx.blockedOn says for what
  SCRIPT_DELAY: 9, // a scenario's explicit delay step
  GUP_FAST_REF: 10, // GUP-fast: speculative reference taken, pinnability not yet checked
} as const;
export type YieldPointId = (typeof YP)[keyof typeof YP];
export const YP_NAMES = [
  'op',
  'lru_add_after_get',
  'mlock_before_append',
  'collect_before_drain',
  'drain_all_after_sample',
  'drain_all_scan',
  'migrate_step',
  'fault_before_rmap',
  'blocked',
  'delay',
  'gup_fast_ref',
] as const;

/** A kernel function that may pass scheduling points. */
export type KGen<T = void> = Generator<YieldPointId, T, void>;

/** Trace sink (ftrace page_ref_* style events plus the holder that changed). */
export interface TraceSink {
  pageRef(ctx: KernelCtx, event: TraceEvent, folio: number, delta: number, holder: number, fn: string): void;
  mark(ctx: KernelCtx, what: string, a?: number, b?: number): void;
}
export type TraceEvent = 'page_ref_mod' | 'page_ref_mod_and_test' | 'page_ref_freeze' | 'page_ref_unfreeze' | 'page_ref_set' | 'page_ref_mod_unless';

/** What the runtime provides to kernel code. */
export interface RuntimeHooks {
  /** Wake a CPU (or the coordinator) that may be sleeping on its doorbell. */
  wake(cpu: number): void;
  /** Current time in nanoseconds (logical in deterministic mode). */
  nowNs(): number;
  /** Busy the CPU without scheduling points for `ns` (an RT task / preempt-off section). */
  spinNoPreempt(ns: number): void;
  /**
   * The running task sleeps for `ns` (a preemptible pause: the CPU's kworker may run). Free-run:
   * the thread waits; single-thread runtimes: logical time, at the yield that follows.
   */
  sleepNs(ns: number): void;
  /**
   * Units of kernel work done (mm/cost.ts): the logical-time runtime advances the CPU's clock by
   * their cost; `target`: the work reads or writes CPU `target`'s per-CPU data (its cache lines),
   * which costs more from another NUMA node.
   */
  charge?(event: number, n: number, target?: number): void;
  /**
   * A spinlock shared by all CPUs (mm/cost.ts LOCK) was taken (`held`) or released: the
   * logical-time runtime serialises the holders in time. Free-run contends for real.
   */
  lockHeld?(lock: number, held: boolean): void;
  /**
   * The work item just run on this CPU completes later: the logical-time runtime calls
   * work_complete(ctx, seq) when the kworker's step ends. Absent: it completes at once.
   */
  deferCompletion?(ctx: KernelCtx, seq: number): void;
  /**
   * Sleep in place until `cond()` holds (free-run: this thread waits on its doorbell, running its
   * kworker meanwhile). Absent: wait_event() yields BLOCKED and the runtime decides. A thread that
   * blocks in place resumes no generator chain when the condition comes true: on a flush, the
   * chain's resumption was most of the completion's way back to the flusher. What the hook
   * throws (a stopped trial, a stalled wait) is thrown inside the waiting kernel code, so its
   * finally blocks run as for any exception out of it: flush_work() takes its name off the work,
   * mutex_lock() its waiter bit, and so on (a yielded wait left the generator suspended instead).
   */
  blockInPlace?(cond: () => boolean): void;
  /**
   * Is `cpu`'s kworker running its drain work now (the logical-time runtime runs the work as one
   * step, so only the clock tells)? The CPU is then lazy for TLB flushes (tlb.ts): its kworker
   * is a kernel thread. Absent: never.
   */
  kworkerRunning?(cpu: number): boolean;
  /** Wake every CPU sleeping on its doorbell (a scenario signal was raised). No-op single-threaded. */
  wakeAll(): void;
  /**
   * All CPUs run in this one thread (deterministic, logical-time and inline runtimes): a spin on
   * a word another CPU holds can never end, since the holder cannot run meanwhile.
   */
  singleThreaded?: boolean;
}

/** The task currently running on a CPU (only what the model needs). */
export interface TaskState {
  /** PF_MEMALLOC_PIN: set for the duration of __gup_longterm_locked(). */
  pfMemallocPin: boolean;
  /** current->tlb_ubc: TLB flushes deferred by TTU_BATCH_FLUSH (tlb.ts), the CPUs they must reach and the mms they are of. */
  tlbUbc: { pending: boolean; mask: Int32Array; mms: number[] };
}

export interface KernelCtx {
  readonly cpu: number;
  readonly nCpus: number;
  /** The whole shared kernel memory as 32-bit words (layout.ts). */
  readonly w: Int32Array;
  /** Word offset of this CPU's region. */
  readonly base: number;
  /** Where the dims-sized areas (PTEs, page cache) start. */
  readonly lay: Layout;
  policy: Policy;
  readonly task: TaskState;
  /** > 0 with preemption off (a local lock, a spinlock held or waited for): workqueue drain work must not run here. */
  preempt: number;
  /**
   * > 0 where an interrupt-driven drain (drainMechanism 'ipi') must not run: interrupts off
   * (gup_fast's local_irq_save) or this CPU's own batch lock held or waited for, which the drain
   * takes. A spinlock alone (the page-table lock) leaves interrupts on. (On !PREEMPT_RT the
   * kernel's local_lock() only disables preemption: an IPI drain, a design of this model, needs
   * its batch locks taken with interrupts off, so the model blocks it in every local-lock section.)
   */
  ipiBlocked: number;
  /** While yielding BLOCKED: the condition this CPU waits for. */
  blockedOn: (() => boolean) | null;
  blockReason: string;
  trace: TraceSink | null;
  readonly hooks: RuntimeHooks;
  /** Measurement sink (latencies, counts); null when nobody listens. */
  obs: KernelObserver | null;
  /** Allocation placement for new folios (scenario-controlled). */
  alloc: AllocPolicy;
  /** One thread runs every CPU over this memory (hooks.singleThreaded): access.ts may use plain accesses. */
  readonly plain: boolean;
}

/** Where the page allocator places new user folios (spec §1.6). */
export interface AllocPolicy {
  /** Migratetype for a movable allocation without PF_MEMALLOC_PIN (e.g. 4 = CMA). */
  movableMt: number;
  movableZone: number;
}

/** Measurements the kernel model reports as they happen (the runtime aggregates them). */
export interface KernelObserver {
  drainAll(ctx: KernelCtx, r: DrainAllRecord): void;
  /** Time lru_add_drain_all()'s phases too (DrainAllRecord.phases): two more clock reads a drain. */
  drainPhases?: boolean;
  pin(ctx: KernelCtx, r: PinRecord): void;
  /** Long-term pin migration failed for these (still isolated) folios: who holds them now. */
  migrateFailed?(ctx: KernelCtx, folios: readonly number[]): void;
}
export interface DrainAllRecord {
  startNs: number;
  endNs: number;
  mutexWaitNs: number;
  cpusQueued: number;
  genSkipped: boolean;
  forced: boolean;
  /** Only when the observer asks (drainPhases) and work was queued: the first queue_work_on() and the return of the last flush_work(). */
  phases?: { queueNs: number; flushedNs: number };
}
export interface PinRecord {
  startNs: number;
  endNs: number;
  /** Pages pinned (> 0) or a negative errno. */
  rc: number;
  retries: number;
  localDrains: number;
  drainAlls: number;
  migrateAttempts: number;
  /** The folio of each page pinned (rc > 0), for invariant I9; empty on error (I10). */
  folios?: readonly number[];
  /** Pinning CPU's folio_extract_from_batches() calls (targeted extraction). */
  extractions?: number;
  /** On failure: who held the references of the folio that could not be migrated. */
  attribution?: string[];
}
