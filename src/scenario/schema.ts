// The scenario format: what a scenario file may say (setup, per-CPU scripts of operations,
// timing knobs, what to measure) and the validated, normalised form the rest of the tool uses.
// A scenario describes setup and steps only: outcomes must emerge from the emulated kernel, so
// there is deliberately no field for an expected result.
import { z } from 'zod';
import type { Op } from './ops/index.js';
import { count, name, page } from './ops/args.js';

// ---- vocabularies ---------------------------------------------------------------------------

export const MIGRATETYPES = ['unmovable', 'movable', 'reclaimable', 'highatomic', 'cma', 'isolate'] as const;
export type MigratetypeName = (typeof MIGRATETYPES)[number];
export const ZONES = ['normal', 'movable', 'device'] as const;
export type ZoneName = (typeof ZONES)[number];
export const OBJECT_KINDS = ['shmem', 'file', 'unevictable_file'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];
/** VMA flags a scenario may set (VM_READ, VM_WRITE, VM_SHARED, VM_LOCKED, VM_LOCKONFAULT). */
export const VMA_FLAGS = ['read', 'write', 'shared', 'locked', 'lockonfault'] as const;
export type VmaFlag = (typeof VMA_FLAGS)[number];
/** Where a pre-existing folio sits: inactive/active list (anon or file by its kind), unevictable, or off-LRU. */
export const LRU_PLACEMENTS = ['inactive', 'active', 'unevictable', 'none'] as const;
export type LruPlacement = (typeof LRU_PLACEMENTS)[number];
/** Page flags a pre-existing folio may start with (PG_lru/PG_active/PG_unevictable come from `lru`). */
export const FOLIO_FLAGS = ['referenced', 'uptodate', 'dirty', 'writeback', 'reclaim', 'private', 'private_2', 'swapcache', 'mlocked', 'workingset'] as const;
export type FolioFlag = (typeof FOLIO_FLAGS)[number];
/** The VMA name that means "anonymous memory" wherever an object name is expected. */
export const ANON = 'anon';
/** Steps one CPU's script may have once repeats are unrolled (the loader refuses more, with the file and line). */
export const MAX_STEPS_PER_CPU = 1_000_000;
/** Largest folio order a scenario may ask for (order 9 = a PMD-sized folio with 4K pages). */
export const MAX_ORDER = 9;

/**
 * What a scenario may ask to be measured. Runtimes and reports print the metrics named in a
 * scenario's `measure` list; `stats` names the per-CPU counters (layout.ts Stat) behind each.
 */
export const MEASURES = {
  pin_success_rate: { doc: 'fraction of pin ops that returned pages (pin_user_pages > 0)', stats: ['PIN_CALLS', 'PIN_OK'] },
  pin_errors: { doc: 'pin ops that failed, by error (-ENOMEM from a failed migration, others)', stats: ['PIN_ENOMEM', 'PIN_OTHER_ERR'] },
  pin_latency: { doc: 'p50/p99/max duration of pin_user_pages() calls', stats: [] },
  pin_retries: { doc: '-EAGAIN iterations of the __gup_longterm_locked() loop per pin', stats: ['GUP_RETRY'] },
  migrate_attempts: {
    doc: 'refcount checks in the migration move phase, passes, successes and failures',
    stats: ['MIGRATE_MOVE_ATTEMPT', 'MIGRATE_PASS', 'MIGRATE_SUCCEEDED', 'MIGRATE_FAILED'],
  },
  isolation: { doc: 'folio_isolate_lru() successes and failures in collect', stats: ['ISOLATE_OK', 'ISOLATE_FAIL'] },
  gup_drains: { doc: 'local lru_add_drain() and lru_add_drain_all() calls made by GUP collect', stats: ['DRAIN_ALL_LOCAL_PIN', 'DRAIN_ALL_PIN'] },
  drain_all_calls: {
    doc: 'lru_add_drain_all() calls from any caller, and those skipped by the generation check',
    stats: ['LRU_ADD_DRAIN_ALL', 'DRAIN_ALL_GEN_SKIP'],
  },
  drain_all_works: { doc: 'drain works queued by lru_add_drain_all(), in total and run per CPU', stats: ['DRAIN_ALL_CPUS_QUEUED', 'DRAIN_WORK_RUN'] },
  drain_all_latency: { doc: 'p50/p99/max lru_add_drain_all() duration and drain-mutex wait', stats: [] },
  local_drains: { doc: 'lru_add_drain() calls on each CPU', stats: ['LRU_ADD_DRAIN'] },
  lru_ops_dropped: { doc: 'LRU ops not queued because PG_lru was already clear (6.11+ rule)', stats: ['LRU_OP_DROPPED'] },
  lru_moves: { doc: 'PGACTIVATE, PGDEACTIVATE, PGLAZYFREE, PGROTATED events', stats: ['PGACTIVATE', 'PGDEACTIVATE', 'PGLAZYFREE', 'PGROTATED'] },
  batch_flushes: {
    doc: 'batches processed at once because full, large folio, or lru_cache_disabled()',
    stats: ['BATCH_FLUSH_FULL', 'BATCH_FLUSH_LARGE', 'BATCH_FLUSH_DISABLED'],
  },
  lruvec_lock: { doc: 'lruvec lock acquisitions (per fault: the cost of losing batching)', stats: ['LRUVEC_LOCK_TAKEN'] },
  mlock_events: {
    doc: 'unevictable_pgs_* events: culled, rescued, mlocked, munlocked, stranded',
    stats: ['UNEVICTABLE_PGCULLED', 'UNEVICTABLE_PGRESCUED', 'UNEVICTABLE_PGMLOCKED', 'UNEVICTABLE_PGMUNLOCKED', 'UNEVICTABLE_PGSTRANDED'],
  },
  nr_mlock: { doc: 'NR_MLOCK against the pages of PG_mlocked folios (invariant I12)', stats: ['NR_MLOCK'] },
  cow: { doc: 'write-protect faults that copied vs reused the anon folio', stats: ['COW_COPY', 'COW_REUSE'] },
  dead_cpu_drains: { doc: 'batches drained by page_alloc_cpu_dead() for a dead CPU', stats: ['DEAD_CPU_DRAIN'] },
  extracted: { doc: "entries extracted from other CPUs' batches (targeted extraction)", stats: ['EXTRACTED'] },
  folio_state: { doc: 'final flags, refcount, mlock_count and LRU list of every named folio and of migration targets', stats: [] },
  ledger: { doc: 'final reference ledger (holders) of every named folio', stats: [] },
  invariants: { doc: 'violations of the spec section 10 invariants, by id (and whether the policy permits them)', stats: [] },
  batch_occupancy: { doc: 'entries resting in each CPU batch at the end of the trial, and folios queued in more than one LRU batch', stats: [] },
} as const satisfies Record<string, { doc: string; stats: readonly string[] }>;
export type MeasureName = keyof typeof MEASURES;
export const MEASURE_NAMES = Object.keys(MEASURES) as MeasureName[];

// ---- ops ------------------------------------------------------------------------------------

// The ops a script may hold, one row each (arguments, meaning, kernel entry point, check, step,
// description): the op table, src/scenario/ops/ (OP_SPECS, OP_NAMES). `Op` is made of its rows.
export type { Op, OpName } from './ops/index.js';

// ---- setup sections -------------------------------------------------------------------------

export const AllocSchema = z
  .object({
    migratetype: z.enum(MIGRATETYPES).default('movable'),
    zone: z.enum(ZONES).default('normal'),
  })
  .strict();

export const ObjectSchema = z
  .object({
    name,
    kind: z.enum(OBJECT_KINDS),
    pages: count,
    migratetype: z.enum(MIGRATETYPES).optional(),
    zone: z.enum(ZONES).optional(),
    /** Order of the folios readahead (and shmem faults) allocate for this object. */
    order: z.number().int().min(0).max(MAX_ORDER).default(0),
  })
  .strict();

export const VmaSchema = z
  .object({
    name,
    /** An object name, or `anon` for private anonymous memory. */
    object: name.default(ANON),
    /** First object page mapped (file/shmem VMAs). */
    pgoff: z.number().int().nonnegative().default(0),
    pages: count,
    flags: z.array(z.enum(VMA_FLAGS)).default(['read', 'write']),
    /** Owning process (mm) id. */
    mm: z.number().int().nonnegative().default(0),
  })
  .strict();

export const MappingSchema = z
  .object({
    vma: name,
    page,
    /** Pages of the folio mapped from `page` on (default: the whole folio). */
    pages: count.optional(),
  })
  .strict();

export const FolioSchema = z
  .object({
    name,
    /** An object name (page-cache folio) or `anon`. */
    object: name,
    /** Page-cache index (file/shmem), naturally aligned to the order. */
    index: z.number().int().nonnegative().default(0),
    order: z.number().int().min(0).max(MAX_ORDER).default(0),
    /** Create `count` folios at consecutive indices/pages; the k-th is named `name#k` (`name` = `name#0`). */
    count: count.default(1),
    /** Placement (default: the object's, or `alloc` for anon). */
    migratetype: z.enum(MIGRATETYPES).optional(),
    zone: z.enum(ZONES).optional(),
    lru: z.enum(LRU_PLACEMENTS).default('inactive'),
    flags: z.array(z.enum(FOLIO_FLAGS)).default([]),
    /** mlock_count, meaningful only with `lru: unevictable`. */
    mlockCount: z.number().int().nonnegative().optional(),
    mappedBy: z.array(MappingSchema).default([]),
  })
  .strict();

export const TimingSchema = z
  .object({
    /** Default preemptible pause after every op (µs). */
    delayAfterUs: z.number().nonnegative().default(0),
    /** Default random extra pause after every op, uniform in [0, jitterUs] (µs). */
    jitterUs: z.number().nonnegative().default(0),
    /** Runtime knob: minimum simulated time between two scheduling points of a CPU (µs; 0 = every yield point). */
    schedPointSpacingUs: z.number().nonnegative().default(0),
    /** Length of a `delay` op that gives none (µs). */
    delayUs: z.number().nonnegative().default(100),
    /** Length of a `hog` op that gives none (µs). */
    hogUs: z.number().positive().default(1000),
  })
  .strict();

/** The top level; `steps` values are parsed op by op (load.ts parseOps, with the op table in ops/). */
export const ScenarioTopSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an id of letters, digits, _ . -'),
    title: z.string().min(1),
    description: z.string().min(1),
    raceWindow: z.string().min(1),
    cpus: z.number().int().min(1).max(64),
    alloc: AllocSchema.default({}),
    objects: z.array(z.unknown()).default([]),
    vmas: z.array(z.unknown()).default([]),
    folios: z.array(z.unknown()).default([]),
    steps: z.record(z.string(), z.array(z.unknown())),
    timing: TimingSchema.default({}),
    measure: z.array(z.enum(MEASURE_NAMES as [MeasureName, ...MeasureName[]])).default([]),
  })
  .strict();

export type AllocSpec = z.infer<typeof AllocSchema>;
export type ObjectSpec = z.infer<typeof ObjectSchema>;
export type VmaSpec = z.infer<typeof VmaSchema>;
export type MappingSpec = z.infer<typeof MappingSchema>;
export type FolioSpec = z.infer<typeof FolioSchema>;
export type Timing = z.infer<typeof TimingSchema>;

/** A validated scenario. */
export interface Scenario {
  id: string;
  title: string;
  description: string;
  raceWindow: string;
  /** CPUs the scenario needs at least. */
  cpus: number;
  alloc: AllocSpec;
  objects: ObjectSpec[];
  vmas: VmaSpec[];
  folios: FolioSpec[];
  /** CPU number -> its script. CPUs without a script only run drain work. */
  steps: Record<number, Op[]>;
  timing: Timing;
  measure: MeasureName[];
  /** Where it was loaded from (a path, or `builtin:<id>`). */
  file: string;
}

/** CPUs that have a script, ascending. */
export function scriptedCpus(s: Scenario): number[] {
  return Object.keys(s.steps)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The name of the k-th folio of a `count` folio spec. */
export function folioInstanceName(f: FolioSpec, k: number): string {
  return k === 0 ? f.name : `${f.name}#${k}`;
}
