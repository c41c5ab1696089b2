// Word offsets of everything that lives in the SharedArrayBuffer: global kernel state, one
// region per CPU (its batches, local locks, workqueue words, event counters), and the folio
// table. Each region starts on a 64-byte line so CPUs do not false-share hot words.
import { BATCH_SLOTS, NR_BATCHES } from './constants.js';

/** Int32 words per 64-byte cache line. */
export const LINE = 16;

/**
 * CPUs the shared memory has room for. The logical-time runtime simulates this many; free-run
 * (one worker thread per CPU) stops at FREE_RUN_MAX_CPUS.
 */
export const MAX_CPUS = 512;
export const FREE_RUN_MAX_CPUS = 64;
/** The coordinator's own doorbell, as if it were CPU index MAX_CPUS. */
export const COORDINATOR = MAX_CPUS;
/** Words of a waiter bitmap: one bit per CPU and one for the coordinator. */
export const WAITER_WORDS = Math.ceil((MAX_CPUS + 1) / 32);

/** Global words. Hot words that different CPUs write each get a line of their own. */
export const G = {
  LRU_DISABLE_COUNT: 0 * LINE, // lru_disable_count (mm/swap.c)
  DRAIN_GEN: 1 * LINE, // lru_drain_gen (mm/swap.c __lru_add_drain_all)
  DRAIN_MUTEX: 2 * LINE, // the static mutex of __lru_add_drain_all: 0 free, else owner cpu + 1
  DRAIN_MUTEX_HANDOFF: 2 * LINE + 1, // its MUTEX_FLAG_HANDOFF: 1 = the first waiter lost the lock after a wake-up, the next unlock hands it over
  DRAIN_MUTEX_NEXT: 2 * LINE + 2, // no kernel field: the next waiter's place in its FIFO wait_list (a ticket)
  DRAIN_MUTEX_FIRST: 2 * LINE + 3, // no kernel field: the place of the waiter at the head of wait_list
  DRAIN_MUTEX_WOKEN: 2 * LINE + 4, // no kernel field: the place (+ 1) of the waiter the last unlock woke (it runs, and tries, even if the mutex was taken again meanwhile)
  LRUVEC_LOCK: 3 * LINE, // lruvec->lru_lock (one lruvec)
  NEXT_FREE_FOLIO: 4 * LINE, // folio allocator cursor (migration targets, new faults)
  WQ_READY: 5 * LINE, // mm_percpu_wq exists (early boot: no drain at all)
  LOCK_WAITING: 6 * LINE, // threads sleeping for a CPU's local lock (remote drains, extraction)
  TRIAL_GEN: 7 * LINE, // trial barrier: bumped by the coordinator to release all CPUs
  TRIAL_DONE: 8 * LINE, // CPUs that finished their script in this trial
  TRIAL_STOP: 9 * LINE, // 1 = workers leave their loop
  NEXT_PTE: 11 * LINE + 4, // PTE area allocation cursor (VMA creation)
  NEXT_CACHE_SLOT: 11 * LINE + 5, // page-cache area allocation cursor (object creation)
  NEXT_VMA: 11 * LINE + 6,
  NEXT_OBJ: 11 * LINE + 7,
  DRAIN_MUTEX_WAITERS: 12 * LINE, // WAITER_WORDS words: bitmap of the CPUs (and coordinator) waiting for the drain mutex
  LOCK_WAITERS: 14 * LINE, // WAITER_WORDS words: bitmap of the CPUs (and coordinator) waiting for a local lock
  PTL_WAITERS: 16 * LINE, // WAITER_WORDS words: bitmap of the CPUs waiting for a page-table lock (any VMA's: C.SPIN_LOCK says which)
} as const;
export const GLOBAL_WORDS = 18 * LINE;
/** The waiter bitmaps (WAITER_WORDS words, two lines each). */
const BITMAP_LINES: readonly number[] = [G.DRAIN_MUTEX_WAITERS >> 4, G.LOCK_WAITERS >> 4, G.PTL_WAITERS >> 4];
if (WAITER_WORDS > 2 * LINE) throw new Error('layout: a waiter bitmap overflows its two lines');

/** Per-CPU event counters (vm_event_item-style, plus the tool's own measurements). */
export const Stat = {
  LRU_ADD_DRAIN: 0, // lru_add_drain() calls on this CPU
  LRU_ADD_DRAIN_ALL: 1, // lru_add_drain_all() calls made from this CPU
  DRAIN_ALL_GEN_SKIP: 2, // ... that returned early through the generation check
  DRAIN_ALL_CPUS_QUEUED: 3, // works queued by this CPU's drain-alls
  DRAIN_WORK_RUN: 4, // lru_add_drain_per_cpu() runs on this CPU's kworker
  PGACTIVATE: 5,
  PGDEACTIVATE: 6,
  PGLAZYFREE: 7,
  PGROTATED: 8,
  UNEVICTABLE_PGCULLED: 9,
  UNEVICTABLE_PGRESCUED: 10,
  UNEVICTABLE_PGMLOCKED: 11,
  UNEVICTABLE_PGMUNLOCKED: 12,
  UNEVICTABLE_PGSTRANDED: 13,
  NR_MLOCK: 14, // this CPU's delta of the NR_MLOCK node stat (sum over CPUs = NR_MLOCK)
  LRU_OP_DROPPED: 15, // 6.11+: an LRU op not queued because PG_lru was already clear
  PIN_CALLS: 16,
  PIN_OK: 17,
  PIN_ENOMEM: 18,
  PIN_OTHER_ERR: 19,
  GUP_RETRY: 20, // -EAGAIN iterations of __gup_longterm_locked
  MIGRATE_MOVE_ATTEMPT: 21, // refcount checks in the move phase
  MIGRATE_SUCCEEDED: 22,
  MIGRATE_FAILED: 23,
  ISOLATE_OK: 24,
  ISOLATE_FAIL: 25,
  EXTRACTED: 26, // targeted extraction: entries taken out of another CPU's batch
  COW_COPY: 27,
  COW_REUSE: 28,
  DRAIN_ALL_LOCAL_PIN: 29, // local lru_add_drain() calls made by GUP collect
  DRAIN_ALL_PIN: 30, // lru_add_drain_all() calls made by GUP collect
  BATCH_FLUSH_FULL: 31,
  BATCH_FLUSH_LARGE: 32,
  BATCH_FLUSH_DISABLED: 33,
  LRUVEC_LOCK_TAKEN: 34,
  FOLIO_FREED: 35,
  MIGRATE_PASS: 36,
  DEAD_CPU_DRAIN: 37,
  UNEVICTABLE_PGCLEARED: 38, // mlocked folio freed (truncation raced with munlock)
  DRAIN_WORK_NS: 39, // time spent in drain work (kworker or remote-locked drain), this CPU
  DRAIN_WORK_FOLIOS: 40, // batch entries that drain work processed
  DRAIN_REMOTE: 41, // CPUs whose batches this CPU drained itself (drainMechanism remote-locked)
} as const;
export type StatId = (typeof Stat)[keyof typeof Stat];
export const STAT_NAMES = Object.keys(Stat) as (keyof typeof Stat)[];
export const NR_STATS = 48;

/** Words of one batch: nr, then BATCH_SLOTS slots. */
export const BATCH_WORDS = 1 + BATCH_SLOTS;
/** Per-CPU region. */
export const C = {
  BATCHES: 0, // NR_BATCHES * BATCH_WORDS words
  BATCH_GEN: 15 * LINE - 1, // no kernel field: bumped by every store to these batches in a single-thread runtime, which the search's footprints compare instead of the entries
  LOCK: 15 * LINE, // cpu_fbatches.lock (local_lock)
  LOCK_IRQ: 15 * LINE + 1, // cpu_fbatches.lock_irq (pre-6.11: lru_rotate.lock)
  MLOCK_LOCK: 15 * LINE + 2, // mlock_fbatch.lock
  WQ_PENDING: 16 * LINE, // the lru_add_drain_work item is pending on this CPU's kworker
  WQ_QUEUED_SEQ: 16 * LINE + 1,
  WQ_DONE_SEQ: 16 * LINE + 2,
  BELL: 16 * LINE + 3, // futex word this CPU sleeps on
  WQ_FLUSHER: 16 * LINE + 4, // who is in flush_work() on this CPU's work item: its cpu + 1, 0 none
  MUTEX_PLACE: 16 * LINE + 5, // no kernel field: this CPU's place in the wait_list of the mutex it sleeps on, + 1 (0: none)
  SPIN_TICKET: 16 * LINE + 6, // no kernel field: this CPU's ticket in the queue of the spinlock it waits for, + 1 (0: none)
  SPIN_LOCK: 16 * LINE + 7, // no kernel field: the owner word of that spinlock
  ONLINE: 17 * LINE, // in cpu_online_mask
  CUR_OP: 17 * LINE + 2, // index of the script op being run (crash reports)
  BH_LRU: 17 * LINE + 3, // buffer heads in this CPU's bh_lrus (fs/buffer.c), for has_bh_in_lru()
  USER: 17 * LINE + 4, // 4 words for runtime programs (e.g. the last folio this CPU added)
  STATE: 17 * LINE + 8, // what this CPU's thread is doing (CpuState), for the watchdog's report
  // Low 30 bits of the clock (ns) when drain work for this CPU last started and ended (as the
  // workqueue_execute_start/end tracepoints would time it): the drain bench splits a round trip.
  DRAIN_WORK_START: 17 * LINE + 9,
  DRAIN_WORK_END: 17 * LINE + 10,
  // Scheduling points this CPU's free-run thread has passed, to the last multiple of 64 (no kernel
  // field): the drain bench's busy floor polls its doorbell as often as the CPU looks for work.
  SCHED_POINTS: 17 * LINE + 11,
  // cpu_tlbstate.loaded_mm: the mm this CPU's task last ran in, as its first VMA + 1 (V.MM_SLOT),
  // 0 none; and cpu_tlbstate_shared.is_lazy: its task is done or asleep. The TLB flushes of tlb.ts
  // count the CPUs they interrupt from them. TLB_STALE: a flush passed this lazy CPU by, so its
  // tlb_gen is behind and it flushes its own TLB when its task runs again.
  LOADED_MM: 17 * LINE + 12,
  TLB_LAZY: 17 * LINE + 13,
  TLB_STALE: 17 * LINE + 14,
  STATS: 18 * LINE, // NR_STATS words
} as const;
if (NR_BATCHES * BATCH_WORDS > C.BATCH_GEN) throw new Error('layout: batches overflow their area');
export const CPU_WORDS = 18 * LINE + NR_STATS; // 336, a multiple of LINE

/** C.STATE values: what a free-run CPU thread is doing, as the watchdog reports it. */
export const CpuState = { RUNNING: 0, WAITING: 1, NOPREEMPT: 2, DONE: 3, SLEEPING: 4 } as const;
export const CPU_STATE_NAMES = [
  'running',
  'waiting (sleeping until a condition holds)',
  'in a non-preemptible stretch',
  'done with its steps',
  'sleeping for a set time (a delay, or the pause after an op)',
] as const;

/** Folio record: one 128-byte record per folio (two lines), so folios never share a line. */
export const F = {
  FLAGS: 0,
  REF: 1, // _refcount
  MAPCOUNT: 2, // _mapcount as the kernel stores it: mapcount - 1 (-1 = unmapped)
  PINCOUNT: 3, // _pincount, large folios only
  MLOCK_COUNT: 4, // overlays lru.prev; meaningful only while PG_lru && PG_unevictable
  LRU: 5, // which list the folio is linked on (Lru), emulator-only
  ZONE: 6,
  MT: 7, // pageblock migratetype
  ORDER: 8,
  MAPPING: 9, // MappingKind
  LOCKED_MAPS: 10, // mappings in VM_LOCKED VMAs (for I11; the kernel would walk rmap)
  PFN: 11,
  STATE: 12, // FolioState
  MAPPING_ID: 13, // which file/shmem object (printed as mapping=)
  INDEX: 14, // page-cache index
  ANON_EXCLUSIVE: 15, // PageAnonExclusive of the (head) page: 1 = a write needs no COW (mm/memory.c, rmap.c)
  LEDGER: 16, // NR_HOLDERS words: references held per holder kind
} as const;
export const FOLIO_WORDS = 32;

/** Lifecycle of a folio slot. */
export const FolioState = { FREE: 0, ALLOCATED: 1, FREED: 2 } as const;

/** VMA record (the few vm_area_struct fields the model needs). */
export const MAX_VMAS = 64;
export const V = {
  FLAGS: 0, // VM_* flags (constants.ts VM)
  NPAGES: 1,
  OBJ: 2, // backing page-cache object (shmem/file), -1 for anonymous
  PTE_BASE: 3, // index of this VMA's first PTE in the PTE area
  PGOFF: 4, // first page of the object mapped
  MM: 5, // owning mm (process) id
  IN_USE: 6,
  // Index in the PTE area of this VMA's page-table locks, PTL_WORDS each, one per PTRS_PER_PTE
  // of its pages (split PTE locks: one per page-table page), just before its PTEs.
  PTL_BASE: 7,
  // The mm's first VMA + 1 (0: the record was never filled): that VMA's record holds the mm's
  // mm_cpumask (tlb.ts), so every VMA of one mm names the same mask.
  MM_SLOT: 8,
  // mm_cpumask(mm), MAX_CPUS bits (in the mm's first VMA only): CPUs its tasks have run on.
  CPUMASK: 16,
} as const;
/** PTEs per page-table page (x86-64 and arm64 with 4 KiB pages): one page-table lock each. */
export const PTRS_PER_PTE = 512;
/** A page-table lock's words (a queued spinlock, spinlock.ts): owner (0 free, else cpu + 1), tickets taken, the head's ticket. */
export const PTL = { OWNER: 0, NEXT: 1, HEAD: 2 } as const;
export const PTL_WORDS = 3;
/** The PTE-area words a VMA of `npages` takes: its page-table locks, then its PTEs. */
export const vmaPteWords = (npages: number): number => PTL_WORDS * Math.ceil(npages / PTRS_PER_PTE) + npages;
export const VMA_WORDS = 32;
if (V.CPUMASK + MAX_CPUS / 32 > VMA_WORDS) throw new Error('layout: mm_cpumask overflows the VMA record');

/** Page-cache object (a shmem/memfd inode or a regular file's address_space). */
export const MAX_OBJECTS = 64;
export const O = {
  KIND: 0, // MappingKind: SHMEM, FILE, UNEVICTABLE_FILE
  NPAGES: 1,
  CACHE_BASE: 2, // index of page 0's slot in the page-cache area
  MT: 3, // migratetype new folios of this object get (user allocations may land in CMA)
  ZONE: 4,
  ORDER: 5, // folio order readahead allocates (0 = small)
  IN_USE: 6,
} as const;
export const OBJ_WORDS = 16;

export interface Dims {
  /** Emulated CPUs (1..64). */
  nCpus: number;
  /** Folio slots (initial folios plus room for migration targets and new faults). */
  nFolios: number;
  /** Page-table entries over all VMAs (value: folio + 1, 0 = none, < 0 = migration entry). */
  nPtes: number;
  /** Page-cache slots over all objects (value: folio + 1, 0 = none). */
  nCacheSlots: number;
}

/** Word offset of CPU `cpu`'s region. */
export function cpuBase(cpu: number): number {
  if (slotWatch !== null) slotWatch.slot(SLOT.CPU, cpu);
  return GLOBAL_WORDS + cpu * CPU_WORDS;
}
/** The coordinator gets a CPU-sized region too (its doorbell), then the VMA and object tables. */
export const VMA_TABLE = GLOBAL_WORDS + (MAX_CPUS + 1) * CPU_WORDS;
export const OBJ_TABLE = VMA_TABLE + MAX_VMAS * VMA_WORDS;
const FOLIO_TABLE = OBJ_TABLE + MAX_OBJECTS * OBJ_WORDS;
export function folioTableBase(): number {
  return FOLIO_TABLE;
}
export function vmaBase(vma: number): number {
  if (slotWatch !== null) slotWatch.slot(SLOT.VMA, vma);
  return VMA_TABLE + vma * VMA_WORDS;
}
/**
 * A page-table lock (`id`: its index in the PTE area, vma.ts ptlBase) reported to the slot watch:
 * a slot of its own for the footprints, so a step that holds or queues for the lock writes the
 * lock, not the VMA its lockless readers address.
 */
export function watchPtl(id: number): void {
  if (slotWatch !== null) slotWatch.slot(SLOT.PTL, id);
}
export function objBase(obj: number): number {
  if (slotWatch !== null) slotWatch.slot(SLOT.OBJ, obj);
  return OBJ_TABLE + obj * OBJ_WORDS;
}

/** Where the dims-sized areas start (after the folio table). */
export interface Layout {
  dims: Dims;
  pteArea: number;
  cacheArea: number;
  total: number;
}
export function makeLayout(d: Dims): Layout {
  const pteArea = FOLIO_TABLE + d.nFolios * FOLIO_WORDS;
  const cacheArea = pteArea + d.nPtes;
  return { dims: d, pteArea, cacheArea, total: cacheArea + d.nCacheSlots };
}
export function batchBase(cpu: number, batch: number): number {
  return cpuBase(cpu) + C.BATCHES + batch * BATCH_WORDS;
}
export function folioBase(folio: number): number {
  if (slotWatch !== null) slotWatch.slot(SLOT.FOLIO, folio);
  return folioTableBase() + folio * FOLIO_WORDS;
}

/**
 * Which slots kernel code addresses: the exhaustive search (src/sched/footprint.ts) watches one
 * scheduling step at a time to learn which folios, CPU regions, VMAs (with their PTEs), objects
 * (with their page-cache slots) and global words the step touched. Every access to those
 * computes its address through folioBase/cpuBase/vmaBase/objBase/gw, so the watch sees them all.
 * Null, and one compare per call, everywhere else.
 */
export interface SlotWatch {
  slot(kind: number, id: number): void;
}
export const SLOT = { FOLIO: 0, CPU: 1, VMA: 2, OBJ: 3, GLOBAL: 4, PTL: 5 } as const;
/** Bits of a slot code (kind + id << SLOT_BITS) that hold its kind. */
export const SLOT_BITS = 3;
let slotWatch: SlotWatch | null = null;
/**
 * A global word's group for the slot watch: its 64-byte line (G gives hot words a line each; the
 * page-table lock shares line 11 with the VMA and object cursors), a waiter bitmap's two lines as
 * one group.
 */
export function globalGroup(word: number): number {
  const line = word >> 4;
  return BITMAP_LINES.includes(line - 1) ? line - 1 : line;
}
/**
 * Kernel code addresses a global word through gw(), as it addresses folios through folioBase():
 * the slot watch then knows which global words a step read or wrote. Any word may be passed
 * (a lock helper given a per-CPU or folio word reports nothing here: its base call did).
 */
export function gw(word: number): number {
  if (slotWatch !== null && word < GLOBAL_WORDS) slotWatch.slot(SLOT.GLOBAL, globalGroup(word));
  return word;
}
/** Install (or with null remove) the slot watch; the deterministic runtime does it around one step. */
export function watchSlots(w: SlotWatch | null): void {
  slotWatch = w;
}
