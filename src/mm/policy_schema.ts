// The switch schema: every policy switch, the values it takes and one line of meaning. Policy
// files, inline `base+key=value` specs, replay files and `folio-race policies --json` all read
// this one table, so a switch added to PolicySwitches is added here and nowhere else.
import { z } from 'zod';
import { MAX_BATCH_CAPACITY } from './constants.js';
import {
  DRAIN_MECHANISMS,
  EXPECTED_REF_SWAP_CACHE,
  GUP_DRAIN_RULES,
  GUP_FAST_STYLES,
  GUP_PRE_LOCAL_DRAINS,
  MIGRATE_STYLES,
  MLOCK_CLEARS_LRU,
  type PolicySwitches,
} from './policy.js';

export interface SwitchDoc {
  /** The values it takes: an enum, true/false, or an integer range. */
  values: readonly (string | boolean)[] | { min: number; max: number };
  meaning: string;
  /**
   * A switch added after replay files and study documents with full switch sets were first
   * written: where such a set lacks it, it reads as this value (what every earlier build ran).
   */
  absentMeans?: string | boolean | number;
}

const BOOL = [true, false] as const;

export const SWITCH_DOCS: { readonly [K in keyof PolicySwitches]: SwitchDoc } = {
  batchCapacity: { values: { min: 1, max: MAX_BATCH_CAPACITY }, meaning: 'PAGEVEC_SIZE / folio batch capacity: 15 up to v6.8 (6.1.y), 31 from v6.9 (6.12.y)' },
  lruClearOnQueue: { values: BOOL, meaning: '33dfe9204f29: non-add LRU batches test-and-clear PG_lru at queue time (v6.11..v6.17-rc5)' },
  deactivateFileChecksLru: { values: BOOL, meaning: 'deactivate_file_folio() refuses an off-LRU folio at queue time (afb99e9f5004 family)' },
  gupPreLocalDrain: {
    values: GUP_PRE_LOCAL_DRAINS,
    meaning: 'local lru_add_drain() in collect: never, once first, or as stage 1 of two (a09a8a1fbb37)',
  },
  gupDrainRule: {
    values: GUP_DRAIN_RULES,
    meaning:
      'when collect_longterm_unpinnable_folios() drains: !PG_lru, ..., ref != expected+1 (v6.17-rc6), ref != expected + the pins of this call, ref != expected + (large ? 1 : 1024) (6.12.111)',
  },
  gupSkipLarge: { values: BOOL, meaning: 'folio_may_be_lru_cached(): no drains for large folios (2da6de30e60d)' },
  gupEmptyListSucceeds: { values: BOOL, meaning: '1aaf8c122918: nothing isolated => the pin succeeds (unpinnable folios stay pinned)' },
  mlockNewImmediateIfPin: { values: BOOL, meaning: 'Hubbard: mlock_new_folio() processes its batch at once under PF_MEMALLOC_PIN' },
  mlockImmediateIfPin: { values: BOOL, meaning: 'Hubbard, corrected: mlock_folio() too' },
  drainAllLocalFirst: { values: BOOL, meaning: 'lru_add_drain_all() drains the local CPU before taking the mutex (v6.18)' },
  drainGenSkip: {
    values: BOOL,
    absentMeans: true,
    meaning: 'eef1a429f234 (v5.8): a caller that waited for the drain mutex while a newer drain ran returns without draining; false = each drains in turn',
  },
  gupUsesLruCacheDisable: { values: BOOL, meaning: 'long-term GUP wraps collect+migrate in lru_cache_disable()/lru_cache_enable() (hypothetical)' },
  mlockBatching: { values: BOOL, meaning: 'per-CPU mlock batches (2fbb0c10d1e8, v5.18); false = every mlock op processed at once' },
  mlockClearsLru: { values: MLOCK_CLEARS_LRU, meaning: "David's one-batch idea for mlock batches: test-and-clear PG_lru at queue time" },
  targetedExtraction: { values: BOOL, meaning: "Hugh's wish: GUP pulls the folio's own entries out of any CPU's batch instead of draining" },
  drainMechanism: {
    values: DRAIN_MECHANISMS,
    meaning: 'how lru_add_drain_all() reaches remote batches: queue_work (kernel), IPI, QPW remote locks, targeted extraction',
  },
  expectedRefSwapCache: {
    values: EXPECTED_REF_SWAP_CACHE,
    meaning: 'folio_expected_ref_count() counts swap-cache refs of anon folios only, or of every folio (f183663901f2: 6.1.160, 6.12.65)',
  },
  gupFast: {
    values: GUP_FAST_STYLES,
    meaning:
      'pin_user_pages_fast(): test pinnability before any reference, slow path without FOLL_TOUCH (6.1.y), or speculative ref first and FOLL_TOUCH (6.12.y)',
  },
  tlbFreeDrains: {
    values: BOOL,
    meaning:
      'the TLB-flush free path (free_pages_and_swap_cache) runs lru_add_drain() first, so munmap processes the MUNLOCK entries its zap queued (<= v6.13, 6.1.y, 6.6.y, 6.12.y), or not (v6.14+)',
  },
  migrateEarlyRefCheck: {
    values: BOOL,
    meaning: '__migrate_folio() checks the refcount before the freeze and fails at once (v6.10+, 6.12.y), or goes straight to the freeze attempt (6.1.y)',
  },
  gupFastTouch: { values: BOOL, meaning: "pin_user_pages_fast()'s slow path adds FOLL_TOUCH: PG_referenced and dirty (6.12.y), or not (6.1.y)" },
  finishFaultRefAdd: { values: BOOL, meaning: 'finish_fault() calls folio_ref_add(nr - 1) even for one page (a val=0 page_ref_mod; 6.12.y), or not (6.1.y)' },
  migrateStyle: {
    values: MIGRATE_STYLES,
    meaning: 'migrate_pages(): pre-v6.3 10 passes of unmap/freeze/remap (6.1.y), or v6.3+ migrate_pages_batch (6.12.y)',
  },
};

export const SWITCH_KEYS = Object.keys(SWITCH_DOCS) as (keyof PolicySwitches)[];

function valueSchema(d: SwitchDoc): z.ZodTypeAny {
  if (!Array.isArray(d.values)) {
    const r = d.values as { min: number; max: number };
    return z.number().int().min(r.min).max(r.max);
  }
  const vs = d.values as readonly (string | boolean)[];
  if (typeof vs[0] === 'boolean') return z.boolean();
  return z.enum(vs as [string, ...string[]]);
}

/** Some switches (a policy file's `switches:`), each checked against its values. */
export const PartialSwitchesSchema = z
  .object(Object.fromEntries(SWITCH_KEYS.map((k) => [k, valueSchema(SWITCH_DOCS[k]).optional()])))
  .strict() as unknown as z.ZodType<Partial<PolicySwitches>, z.ZodTypeDef, unknown>;

/** A full switch set (what crosses to CPU threads and pool workers): every switch, each checked. */
export const FullSwitchesSchema = z.object(Object.fromEntries(SWITCH_KEYS.map((k) => [k, valueSchema(SWITCH_DOCS[k])]))).strict() as unknown as z.ZodType<
  PolicySwitches,
  z.ZodTypeDef,
  unknown
>;

/** A full switch set as a file keeps it (replay files): a switch added since it was written reads as its absentMeans. */
export const StoredSwitchesSchema = z
  .object(
    Object.fromEntries(
      SWITCH_KEYS.map((k) => {
        const d = SWITCH_DOCS[k];
        return [k, d.absentMeans === undefined ? valueSchema(d) : valueSchema(d).default(d.absentMeans)];
      }),
    ),
  )
  .strict() as unknown as z.ZodType<PolicySwitches, z.ZodTypeDef, unknown>;

/** The values a switch accepts, as a user reads them. */
export function describeValues(k: keyof PolicySwitches): string {
  const v = SWITCH_DOCS[k].values;
  if (!Array.isArray(v)) {
    const r = v as { min: number; max: number };
    return `an integer ${r.min}..${r.max}`;
  }
  return (v as readonly (string | boolean)[]).map(String).join(' | ');
}

/**
 * Parse one inline `key=value` text. Returns the typed value, or a message naming what was
 * expected (the caller adds where it was written).
 */
export function parseSwitchText(key: string, text: string): { key: keyof PolicySwitches; value: PolicySwitches[keyof PolicySwitches] } | { error: string } {
  if (!(SWITCH_KEYS as string[]).includes(key)) {
    return { error: `expected a switch name (${SWITCH_KEYS.join(', ')}), found '${key}'` };
  }
  const k = key as keyof PolicySwitches;
  const d = SWITCH_DOCS[k];
  let raw: unknown = text;
  if (!Array.isArray(d.values)) raw = /^-?\d+$/.test(text) ? Number(text) : text;
  else if (typeof (d.values as readonly unknown[])[0] === 'boolean') raw = text === 'true' ? true : text === 'false' ? false : text;
  const r = valueSchema(d).safeParse(raw);
  if (!r.success) return { error: `${key}: expected ${describeValues(k)}, found '${text}'` };
  return { key: k, value: r.data as PolicySwitches[keyof PolicySwitches] };
}

/** `folio-race policies --json`'s schema section. */
export function switchSchemaJson(): { name: string; values: unknown; meaning: string }[] {
  return SWITCH_KEYS.map((k) => ({ name: k, values: SWITCH_DOCS[k].values, meaning: SWITCH_DOCS[k].meaning }));
}
