// Kernel variants as data (spec §7). Every policy is the baseline v6.11 plus switches; kernel
// functions read switches, never policy ids, so combinations can be tested.

// The values of each enumerated switch, once: the types derive from them, and so does the switch
// schema (policy_schema.ts), so a value is added in one place.
export const GUP_PRE_LOCAL_DRAINS = ['none', 'always', 'onMismatch'] as const;
export const GUP_DRAIN_RULES = [
  'notLru',
  'notLruOrMlocked',
  'notLruOrMlockedNotUnevictable',
  'refNeExpectedPlus1',
  'refNeExpectedPlusPins',
  'refNeExpectedPlusPinBias',
  'always',
  'never',
] as const;
export const MLOCK_CLEARS_LRU = ['off', 'skipOnFail', 'forceOnFail'] as const;
export const DRAIN_MECHANISMS = ['workqueue', 'ipi', 'remote-locked', 'targeted'] as const;
export const MIGRATE_STYLES = ['passes10', 'batched'] as const;
export const EXPECTED_REF_SWAP_CACHE = ['anon', 'all'] as const;
export const GUP_FAST_STYLES = ['checkFirst', 'refFirst'] as const;
export type GupPreLocalDrain = (typeof GUP_PRE_LOCAL_DRAINS)[number];
export type GupDrainRule = (typeof GUP_DRAIN_RULES)[number];
export type MlockClearsLru = (typeof MLOCK_CLEARS_LRU)[number];
export type DrainMechanism = (typeof DRAIN_MECHANISMS)[number];
export type MigrateStyle = (typeof MIGRATE_STYLES)[number];
export type ExpectedRefSwapCache = (typeof EXPECTED_REF_SWAP_CACHE)[number];
export type GupFast = (typeof GUP_FAST_STYLES)[number];

export interface PolicySwitches {
  /** PAGEVEC_SIZE: 15 (v5.18..v6.8) or 31 (v6.9+); a user's variant may pick 1..31. */
  batchCapacity: number;
  /**
   * 33dfe9204f29 (6.11..6.17-rc5): non-add LRU batches test-and-clear PG_lru at queue time.
   * false = pre-6.11 / merged: callers pre-check PG_lru and the batch processor test-and-clears it.
   */
  lruClearOnQueue: boolean;
  /**
   * deactivate_file_folio() refuses an off-LRU folio at queue time: the merged family's PG_lru
   * pre-check (afb99e9f5004), 6.11+'s queue-time claim. false = v5.18..v6.10: no check, the
   * folio is queued and its op skipped at processing. Only the pre-check reads it (the 6.11
   * claim stays with lruClearOnQueue).
   */
  deactivateFileChecksLru: boolean;
  /** Local lru_add_drain() in collect: none, once at the top, or as stage 1 of two (a09a8a1fbb37). */
  gupPreLocalDrain: GupPreLocalDrain;
  /** When collect_longterm_unpinnable_folios() calls lru_add_drain_all(). */
  gupDrainRule: GupDrainRule;
  /** folio_may_be_lru_cached(): no drains for large folios (2da6de30e60d). */
  gupSkipLarge: boolean;
  /** 1aaf8c122918: nothing isolated => success (pins on unpinnable folios kept). */
  gupEmptyListSucceeds: boolean;
  /** Hubbard: mlock_new_folio() processes its batch at once under PF_MEMALLOC_PIN. */
  mlockNewImmediateIfPin: boolean;
  /** Hubbard, corrected: mlock_folio() too. */
  mlockImmediateIfPin: boolean;
  /** v6.18: lru_add_drain_all() does a local lru_add_drain() before the mutex. */
  drainAllLocalFirst: boolean;
  /**
   * eef1a429f234 (v5.8, every modelled release): a caller that sampled lru_drain_gen, then waited
   * for the drain mutex while another drain started and finished, returns without draining (a
   * seqcount latch at first; the generation counter since 6446a5131e24, v5.10: the same test).
   * false = every caller drains in turn, as before v5.8 (for drain-storm comparisons).
   */
  drainGenSkip: boolean;
  /** Long-term GUP wraps collect+migrate in lru_cache_disable()/lru_cache_enable(). */
  gupUsesLruCacheDisable: boolean;
  /** Per-CPU mlock batching (2fbb0c10d1e8); off = every mlock op processed at once. */
  mlockBatching: boolean;
  /** David's one-batch idea applied to mlock batches (spec §6.4). */
  mlockClearsLru: MlockClearsLru;
  /** Hugh's wish (spec §6.7): GUP extracts the folio's entries from any CPU's batch. */
  targetedExtraction: boolean;
  /**
   * How lru_add_drain_all() reaches other CPUs' batches (timing studies): 'workqueue' (the
   * kernel: queue work + flush), 'ipi' (the request interrupts the target even inside a
   * non-preemptible stretch), 'remote-locked' (QPW, spec §3.7: the caller drains each CPU's
   * batches itself under that CPU's locks), 'targeted' (drain-all itself as 'workqueue'; the
   * drain-latency study times folio_extract_from_batches() in its place, spec §6.7).
   */
  drainMechanism: DrainMechanism;
  /**
   * migrate_pages(): 'passes10' = v5.18..v6.2 (6.1.y): up to 10 passes, each unmap -> move
   * (freeze attempt) -> remap per folio; 'batched' = v6.3+ migrate_pages_batch() (6.12.y).
   */
  migrateStyle: MigrateStyle;
  /**
   * folio_expected_ref_count(): swap-cache references counted for anon folios only ('anon', the
   * v6.16 helper and its first backports) or for every folio, shmem included ('all':
   * f183663901f2, in 6.1.160 and 6.12.65).
   */
  expectedRefSwapCache: ExpectedRefSwapCache;
  /**
   * pin_user_pages_fast(): 'checkFirst' = 6.1.y: the lockless walk tests long-term pinnability
   * before taking any reference, and the slow path runs without FOLL_TOUCH; 'refFirst' = 6.12.y:
   * try_grab_folio_fast() takes a speculative reference (page_ref_mod_unless) and drops it for an
   * unpinnable folio, and the slow path adds FOLL_TOUCH (PG_referenced, dirty).
   */
  gupFast: GupFast;
  /**
   * finish_fault() takes the extra references of a multi-PTE mapping in one folio_ref_add(nr - 1),
   * also for one page (a traced val=0 event): 6.12.y; 6.1.y maps one PTE with no such call.
   */
  finishFaultRefAdd: boolean;
  /**
   * tlb_finish_mmu() -> free_pages_and_swap_cache() starts with a local lru_add_drain() (mm/swap_state.c,
   * v5.18..v6.13 and the 6.1.y/6.6.y/6.12.y lines): the MUNLOCK entries a zap of a locked VMA
   * queued are processed before munmap returns. Removed in mainline by "mm: remove unnecessary
   * calls to lru_add_drain" (Rik van Riel, mm tree January 2025; placed at v6.14, tag not verified).
   */
  tlbFreeDrains: boolean;
  /**
   * __migrate_folio() compares the refcount with the expected count before any other work and
   * fails at once (mainline v6.10+, 6.12.y); 6.1.y goes straight to the freeze attempt.
   */
  migrateEarlyRefCheck: boolean;
  /** pin_user_pages_fast()'s slow path adds FOLL_TOUCH (PG_referenced, dirty): 6.12.y yes, 6.1.y no. */
  gupFastTouch: boolean;
}

export interface Policy {
  id: string;
  description: string;
  source: string;
  switches: PolicySwitches;
}

/** Baseline B = v6.11 (6.11..6.17-rc5, incl. 6.12 LTS and the 6.15 Pixel kernel). */
export const BASELINE: PolicySwitches = {
  batchCapacity: 31,
  lruClearOnQueue: true,
  deactivateFileChecksLru: true,
  gupPreLocalDrain: 'none',
  gupDrainRule: 'notLru',
  gupSkipLarge: false,
  gupEmptyListSucceeds: false,
  mlockNewImmediateIfPin: false,
  mlockImmediateIfPin: false,
  drainAllLocalFirst: false,
  drainGenSkip: true,
  gupUsesLruCacheDisable: false,
  mlockBatching: true,
  mlockClearsLru: 'off',
  targetedExtraction: false,
  drainMechanism: 'workqueue',
  migrateStyle: 'batched',
  expectedRefSwapCache: 'anon',
  gupFast: 'refFirst',
  finishFaultRefAdd: true,
  tlbFreeDrains: false,
  migrateEarlyRefCheck: true,
  gupFastTouch: true,
};

const MERGED: Partial<PolicySwitches> = {
  lruClearOnQueue: false,
  gupPreLocalDrain: 'onMismatch',
  gupDrainRule: 'refNeExpectedPlus1',
  gupSkipLarge: true,
};

function def(id: string, description: string, source: string, ...deltas: Partial<PolicySwitches>[]): Policy {
  return { id, description, source, switches: Object.freeze(Object.assign({}, BASELINE, ...deltas)) };
}

/** The policy table of spec §7. Order is the order tables print in. */
export const POLICIES: readonly Policy[] = [
  def('v6.10', 'v5.18-v6.10: batch processor test-and-clears PG_lru; callers pre-check PG_lru; GUP drains if !PG_lru', 'mainline <= v6.10', {
    lruClearOnQueue: false,
    deactivateFileChecksLru: false,
    tlbFreeDrains: true,
  }),
  def('v6.11', 'baseline: 33dfe9204f29 clears PG_lru at queue time; GUP drains only if !PG_lru (6.11-6.17-rc5, 6.12 LTS, 6.15)', 'mainline v6.11..v6.17-rc5'),
  def('v6.14-emptylist', 'v6.11 + 1aaf8c122918: nothing isolated => pin succeeds (CMA pins possible)', '1aaf8c122918, reverted 2025-06', {
    gupEmptyListSucceeds: true,
  }),
  def('will-v1', "v6.11 + Will's v1: drain if !PG_lru || PG_mlocked", 'Will Deacon 2025-08-15, not merged', { gupDrainRule: 'notLruOrMlocked' }),
  def(
    'hugh-unevictable',
    "v6.11 + Hugh's first idea: local drain, then drain-all if !PG_lru || (PG_mlocked && !PG_unevictable)",
    'Hugh Dickins, thread, not merged',
    { gupDrainRule: 'notLruOrMlockedNotUnevictable', gupPreLocalDrain: 'always' },
  ),
  def('hubbard-memalloc-pin', "v6.11 + John's patch: mlock_new_folio() flushes at once under PF_MEMALLOC_PIN", 'John Hubbard, thread, not merged', {
    mlockNewImmediateIfPin: true,
  }),
  def('hubbard-fixed', 'hubbard-memalloc-pin + mlock_folio() flushes too (the "wrong function" correction)', 'thread, not merged', {
    mlockNewImmediateIfPin: true,
    mlockImmediateIfPin: true,
  }),
  def(
    'hugh-portmanteau',
    "Hugh's 28-Aug test patch: revert 33dfe9204f29, local drain, drain-all if ref != expected+1",
    'Hugh Dickins 2025-08-28, tested by Will on 6.15',
    { lruClearOnQueue: false, gupPreLocalDrain: 'always', gupDrainRule: 'refNeExpectedPlus1' },
  ),
  def(
    'merged',
    'v6.17-rc6, 6.12.y/6.16.y: revert, two-stage local-then-global drain on ref != expected+1, skip large',
    '98c6d259319e a09a8a1fbb37 afb99e9f5004 2da6de30e60d',
    MERGED,
  ),
  def('merged-6.18', 'merged + lru_add_drain_all() drains the local CPU first', 'v6.18', MERGED, { drainAllLocalFirst: true }),
  def(
    'pin-refs-fix',
    'merged-6.18 + compare with expected + the pins this call holds (1024 per small-folio pin)',
    'mm.git 2026 follow-up (formula inferred)',
    MERGED,
    { drainAllLocalFirst: true, gupDrainRule: 'refNeExpectedPlusPins' },
  ),
  def('lru-cache-disable', 'v6.11 + long-term GUP wraps collect/migrate in lru_cache_disable() (forced drain-all)', 'hypothetical', {
    gupUsesLruCacheDisable: true,
    gupDrainRule: 'never',
  }),
  def('no-mlock-batching', 'v6.11 without per-CPU mlock batches (revert of 2fbb0c10d1e8)', 'hypothetical', { mlockBatching: false }),
  def('one-batch-mlock', 'v6.11 + mlock batches also test-and-clear PG_lru at queue time, skipping on failure', "David's idea as explored by Hugh (rejected)", {
    mlockClearsLru: 'skipOnFail',
  }),
  def(
    'one-batch-mlock-force',
    'one-batch-mlock, but a failed test-and-clear still queues the op (forceOnFail)',
    "David's idea as explored by Hugh (rejected)",
    { mlockClearsLru: 'forceOnFail' },
  ),
  def('targeted-extraction', "merged + GUP extracts the folio's own entries from any CPU, no remote drain", "Hugh's wish (design inferred)", MERGED, {
    targetedExtraction: true,
    gupDrainRule: 'refNeExpectedPlusPins',
  }),
  def('always-drain', 'control: v6.11 + drain-all for every unpinnable folio', 'control', { gupDrainRule: 'always' }),
  def('v6.8', 'v6.10 semantics with PAGEVEC_SIZE 15 (v5.18..v6.8)', 'mainline <= v6.8', {
    lruClearOnQueue: false,
    deactivateFileChecksLru: false,
    batchCapacity: 15,
    tlbFreeDrains: true,
    migrateEarlyRefCheck: false,
  }),
];

export function policyIds(): string[] {
  return POLICIES.map((p) => p.id);
}

export function getPolicy(id: string): Policy {
  const p = POLICIES.find((x) => x.id === id);
  if (!p) throw new Error(`unknown policy '${id}' (known: ${policyIds().join(', ')})`);
  return p;
}

/** Resolve "all", one id or a comma-separated list. Throws naming the bad id. */
export function resolvePolicies(spec: string): Policy[] {
  if (spec === 'all') return [...POLICIES];
  return spec.split(',').map((s) => getPolicy(s.trim()));
}

/** A policy with some switches changed (id `<base>+<key>=<value>`...), e.g. a drain mechanism. */
export function withSwitches(base: Policy, delta: Partial<PolicySwitches>): Policy {
  const changed = changedSwitches(base, delta);
  if (changed.length === 0) return base;
  return {
    id: base.id + changed.map((c) => `+${c}`).join(''),
    description: `${base.description}; ${changed.join(', ')}`,
    source: base.source,
    switches: Object.freeze({ ...base.switches, ...delta }),
  };
}

/** The switches `delta` really changes in `base`, as `name=value`. */
export function changedSwitches(base: Policy, delta: Partial<PolicySwitches>): string[] {
  return (Object.keys(delta) as (keyof PolicySwitches)[])
    .filter((k) => delta[k] !== undefined && delta[k] !== base.switches[k])
    .map((k) => `${k}=${String(delta[k])}`);
}

/** Switches that differ from the baseline, for `folio-race policies`. */
export function deltaFromBaseline(p: Policy): Partial<PolicySwitches> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(BASELINE) as (keyof PolicySwitches)[]) {
    if (p.switches[k] !== BASELINE[k]) out[k] = p.switches[k];
  }
  return out as Partial<PolicySwitches>;
}
