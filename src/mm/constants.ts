// Constants shared by the emulated kernel: page flags, reference holders, batch kinds.
// Names follow include/linux/page-flags.h, mm/swap.c and mm/mlock.c so a reader can grep for them.

/** Page flag bits (include/linux/page-flags.h; bit numbers are ours, names are the kernel's). */
export const PG = {
  locked: 1 << 0,
  referenced: 1 << 1,
  uptodate: 1 << 2,
  dirty: 1 << 3,
  lru: 1 << 4,
  head: 1 << 5, // large folio (order >= 1)
  waiters: 1 << 6,
  active: 1 << 7,
  workingset: 1 << 8,
  owner_priv_1: 1 << 9,
  arch_1: 1 << 10,
  reserved: 1 << 11,
  private: 1 << 12,
  private_2: 1 << 13, // alias PG_fscache
  writeback: 1 << 14,
  reclaim: 1 << 15,
  swapbacked: 1 << 16,
  unevictable: 1 << 17,
  mlocked: 1 << 18,
  swapcache: 1 << 19,
} as const;
export type PageFlagName = keyof typeof PG;

/** Order in which the page_ref tracepoint prints flag names (kernel's show_page_flags order). */
export const PG_PRINT_ORDER: readonly PageFlagName[] = [
  'locked',
  'waiters',
  'referenced',
  'uptodate',
  'dirty',
  'lru',
  'active',
  'workingset',
  'owner_priv_1',
  'arch_1',
  'reserved',
  'private',
  'private_2',
  'writeback',
  'head',
  'reclaim',
  'swapbacked',
  'unevictable',
  'mlocked',
  'swapcache',
];

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h): refcount added per FOLL_PIN on a small folio. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** Reference holders of the ledger (spec §1.3). Every refcount change names one. */
export const Holder = {
  PAGECACHE: 0,
  SWAPCACHE: 1,
  PRIVATE: 2,
  PRIVATE_2: 3,
  MAP: 4,
  LRU_BATCH: 5,
  MLOCK_BATCH: 6,
  ISOLATION: 7,
  GUP_GET: 8,
  GUP_PIN: 9,
  TEMP: 10,
} as const;
export type HolderId = (typeof Holder)[keyof typeof Holder];
export const HOLDER_NAMES = [
  'PAGECACHE',
  'SWAPCACHE',
  'PRIVATE',
  'PRIVATE_2',
  'MAP',
  'LRU_BATCH',
  'MLOCK_BATCH',
  'ISOLATION',
  'GUP_GET',
  'GUP_PIN',
  'TEMP',
] as const;
export const NR_HOLDERS = HOLDER_NAMES.length;

/**
 * Per-CPU batches (mm/swap.c cpu_fbatches members, and mm/mlock.c mlock_fbatch), in the order
 * lru_add_drain_cpu() processes the LRU ones. MLOCK is last and is not touched by it.
 */
export const Batch = {
  lru_add: 0,
  lru_move_tail: 1, // pre-6.11: the separate lru_rotate batch, same semantics
  lru_deactivate_file: 2,
  lru_deactivate: 3,
  lru_lazyfree: 4,
  lru_activate: 5,
  mlock: 6,
} as const;
export type BatchId = (typeof Batch)[keyof typeof Batch];
export const BATCH_NAMES = ['lru_add', 'lru_move_tail', 'lru_deactivate_file', 'lru_deactivate', 'lru_lazyfree', 'lru_activate', 'mlock'] as const;
export type BatchName = (typeof BATCH_NAMES)[number];
export const NR_BATCHES = BATCH_NAMES.length;
/** The largest batch capacity a policy may ask for (PAGEVEC_SIZE is 31 from v6.9). */
export const MAX_BATCH_CAPACITY = 31;
/** Slots allocated per batch: the largest capacity plus one spare. */
export const BATCH_SLOTS = MAX_BATCH_CAPACITY + 1;

/** mlock batch entry tags (mm/mlock.c: LRU_FOLIO, NEW_FOLIO; untagged = munlock). */
export const MlockOp = { MUNLOCK: 0, LRU_FOLIO: 1, NEW_FOLIO: 2 } as const;
export type MlockOpId = (typeof MlockOp)[keyof typeof MlockOp];
/** A slot holding this value was extracted (targeted-extraction tombstone). */
export const TOMBSTONE = -1;

/** LRU lists (include/linux/mmzone.h enum lru_list). NONE = not linked. */
export const Lru = {
  NONE: -1,
  INACTIVE_ANON: 0,
  ACTIVE_ANON: 1,
  INACTIVE_FILE: 2,
  ACTIVE_FILE: 3,
  UNEVICTABLE: 4, // counted, not linked (mlock_count overlays lru.prev)
} as const;
export type LruId = (typeof Lru)[keyof typeof Lru];
export const LRU_NAMES: Record<number, string> = {
  [-1]: 'none',
  0: 'inactive_anon',
  1: 'active_anon',
  2: 'inactive_file',
  3: 'active_file',
  4: 'unevictable',
};

/** Pageblock migratetypes (include/linux/mmzone.h), as printed by page_ref's mt=. */
export const MigrateType = { UNMOVABLE: 0, MOVABLE: 1, RECLAIMABLE: 2, HIGHATOMIC: 3, CMA: 4, ISOLATE: 5 } as const;

/** Zones that matter for folio_is_longterm_pinnable(). */
export const Zone = { NORMAL: 0, MOVABLE: 1, DEVICE: 2 } as const;

/** What folio->mapping points at. ANON is the PAGE_MAPPING_ANON-tagged anon_vma. */
export const MappingKind = { NONE: 0, ANON: 1, SHMEM: 2, FILE: 3, UNEVICTABLE_FILE: 4 } as const;
export type MappingKindId = (typeof MappingKind)[keyof typeof MappingKind];

/** Errors returned by emulated kernel functions (negative, as in the kernel). */
export const Errno = { ENOMEM: -12, EAGAIN: -11, EBUSY: -16, EFAULT: -14 } as const;

/** vm_area_struct flags (include/linux/mm.h). */
export const VM = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  SHARED: 1 << 3,
  LOCKED: 1 << 13,
  IO: 1 << 14,
  DONTEXPAND: 1 << 18,
  LOCKONFAULT: 1 << 19,
  PFNMAP: 1 << 10,
  MIXEDMAP: 1 << 28,
} as const;
/** VM_SPECIAL: mappings mlock never touches. */
export const VM_SPECIAL = VM.IO | VM.DONTEXPAND | VM.PFNMAP | VM.MIXEDMAP;
