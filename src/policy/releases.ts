// Kernel releases as data: which switch set each mainline range and each stable point-release
// range runs, with the commit and release behind every switch change. `--kernel 6.12.45`,
// `--policy 6.1.y` and `folio-race affected` read this table; no kernel function does.
// Sources: Debian's linux-source-6.1 (6.1.192) and linux-source-6.12 (6.12.117) trees and their
// changelogs (which list every upstream stable commit under its ChangeLog-X.Y.Z heading), and
// mainline mm/*.c read through the search tool. docs/releases.md says how each row was checked.
import { BASELINE, type Policy, type PolicySwitches } from '../mm/policy.js';

export type ReleaseLine = 'mainline' | '6.1.y' | '6.6.y' | '6.12.y';

/** A kernel version: major.minor.patch, or a mainline release candidate (patch 0, rc > 0). */
export interface KVersion {
  major: number;
  minor: number;
  patch: number;
  /** Release candidate number; 0 = final release. */
  rc: number;
}

export interface SwitchChange {
  /** The switches this change set. */
  switches: (keyof PolicySwitches)[];
  commit: string;
  /** Where it arrived in this line. */
  release: string;
  what: string;
}

export interface KernelRelease {
  /** Policy id: the range, e.g. `6.1.155-6.1.192`, `v6.11-v6.17-rc5`. */
  id: string;
  line: ReleaseLine;
  from: string;
  /** Last release of the range; for the newest range of a line, the newest one checked. */
  to: string;
  /** The newest range of a line is open-ended: later point releases are assumed to keep it. */
  openEnded: boolean;
  description: string;
  switches: PolicySwitches;
  /** The changes that make this range differ from the previous one of its line (or from the baseline). */
  changes: SwitchChange[];
  /** How the row was established. */
  evidence: string;
}

const PRE_611: Partial<PolicySwitches> = { lruClearOnQueue: false, deactivateFileChecksLru: false };
const FIXED: Partial<PolicySwitches> = { lruClearOnQueue: false, gupPreLocalDrain: 'onMismatch', gupDrainRule: 'refNeExpectedPlus1', gupSkipLarge: true, deactivateFileChecksLru: true };

function rel(id: string, line: ReleaseLine, from: string, to: string, openEnded: boolean, description: string,
  delta: Partial<PolicySwitches>, changes: SwitchChange[], evidence: string): KernelRelease {
  return { id, line, from, to, openEnded, description, switches: Object.freeze({ ...BASELINE, ...delta }), changes, evidence };
}

// ---- the changes, once each ------------------------------------------------------------------

const C_MLOCK_BATCH: SwitchChange = { switches: ['mlockBatching'], commit: '2fbb0c10d1e8', release: 'v5.18', what: 'mm/munlock: mlock_page() munlock_page() batch by pagevec' };
const C_MIGRATE_BATCH: SwitchChange = { switches: ['migrateStyle'], commit: '42012e0436d4', release: 'v6.3', what: 'migrate_pages: batch _unmap and _move (migrate_pages_batch)' };
const C_BATCH31: SwitchChange = { switches: ['batchCapacity'], commit: '9cecde80aae0', release: 'v6.9', what: 'mm: increase folio batch size (PAGEVEC_SIZE 15 -> 31)' };
const C_CLEAR_LRU: SwitchChange = { switches: ['lruClearOnQueue', 'deactivateFileChecksLru'], commit: '33dfe9204f29', release: 'v6.11', what: 'mm/gup: clear the LRU flag of a page before adding to LRU batch' };
const C_EMPTY: SwitchChange = { switches: ['gupEmptyListSucceeds'], commit: '1aaf8c122918', release: 'v6.14', what: 'mm: gup: fix infinite loop within __get_longterm_locked' };
const C_EMPTY_REVERT: SwitchChange = { switches: ['gupEmptyListSucceeds'], commit: '517f496e1e61', release: 'v6.16', what: "mm/gup: revert \"mm: gup: fix infinite loop within __get_longterm_locked\"" };
const C_REFCOUNT: SwitchChange = { switches: ['gupDrainRule'], commit: '98c6d259319e', release: 'v6.17-rc6', what: 'mm/gup: check ref_count instead of lru before migration' };
const C_LOCAL: SwitchChange = { switches: ['gupPreLocalDrain'], commit: 'a09a8a1fbb37', release: 'v6.17-rc6', what: 'mm/gup: local lru_add_drain() to avoid lru_add_drain_all()' };
const C_REVERT_CLEAR: SwitchChange = { switches: ['lruClearOnQueue'], commit: 'afb99e9f5004', release: 'v6.17-rc6', what: 'mm: revert "mm/gup: clear the LRU flag of a page before adding to LRU batch"' };
const C_SKIP_LARGE: SwitchChange = { switches: ['gupSkipLarge'], commit: '2da6de30e60d', release: 'v6.17-rc6', what: 'mm: folio_may_be_lru_cached() unless folio_test_large()' };
const C_LOCAL_FIRST: SwitchChange = { switches: ['drainAllLocalFirst'], commit: '(v6.18 merge window)', release: 'v6.18', what: 'lru_add_drain_all() drains the calling CPU first' };
const C_PIN_REFS: SwitchChange = { switches: ['gupDrainRule'], commit: '(stable 6.12.111)', release: '6.12.111', what: 'collect_longterm_unpinnable_folios() compares with expected + pin_refs (folio_has_pincount() ? 1 : GUP_PIN_COUNTING_BIAS)' };

const at = (c: SwitchChange, release: string): SwitchChange => ({ ...c, release });
const FIX_SET = [C_REVERT_CLEAR, C_LOCAL, C_REFCOUNT, C_SKIP_LARGE];

/** The table, oldest first within each line. */
export const RELEASES: readonly KernelRelease[] = [
  // ---- mainline ----
  rel('v5.18-v6.2', 'mainline', 'v5.18', 'v6.2', false, 'mlock batches; PAGEVEC_SIZE 15; GUP drains if !PG_lru; 10-pass migrate_pages',
    { ...PRE_611, batchCapacity: 15, migrateStyle: 'passes10' }, [C_MLOCK_BATCH], 'mainline mm/mlock.c, mm/migrate.c history'),
  rel('v6.3-v6.8', 'mainline', 'v6.3', 'v6.8', false, 'as before, with the batched migrate_pages',
    { ...PRE_611, batchCapacity: 15 }, [C_MIGRATE_BATCH], 'mainline mm/migrate.c (migrate_pages_batch)'),
  rel('v6.9-v6.10', 'mainline', 'v6.9', 'v6.10', false, 'PAGEVEC_SIZE 31',
    { ...PRE_611 }, [C_BATCH31], 'mainline include/linux/pagevec.h'),
  rel('v6.11-v6.13', 'mainline', 'v6.11', 'v6.13', false, '33dfe9204f29: PG_lru cleared at queue time; GUP drains if !PG_lru',
    {}, [C_CLEAR_LRU], 'mainline mm/swap.c'),
  rel('v6.14-v6.15', 'mainline', 'v6.14', 'v6.15', false, '+ 1aaf8c122918: nothing isolated => the pin succeeds',
    { gupEmptyListSucceeds: true }, [C_EMPTY], 'mainline mm/gup.c'),
  rel('v6.16-v6.17-rc5', 'mainline', 'v6.16', 'v6.17-rc5', false, '1aaf8c122918 reverted',
    {}, [C_EMPTY_REVERT], 'mainline mm/gup.c'),
  rel('v6.17-rc6-v6.17', 'mainline', 'v6.17-rc6', 'v6.17', false, "Hugh's fix set: 33dfe9204f29 reverted, two-stage drain on ref != expected+1, no drain for large folios",
    FIXED, FIX_SET, 'mainline mm/gup.c, mm/swap.c; the thread'),
  rel('v6.18', 'mainline', 'v6.18', 'v6.18', true, '+ lru_add_drain_all() drains the local CPU first',
    { ...FIXED, drainAllLocalFirst: true }, [C_LOCAL_FIRST], 'mainline mm/swap.c'),

  // ---- 6.1.y (Debian 6.1.192 source and changelog) ----
  rel('6.1.0-6.1.128', '6.1.y', '6.1.0', '6.1.128', false, 'v6.1: PAGEVEC_SIZE 15, GUP drains if !PG_lru, 10-pass migrate_pages',
    { ...PRE_611, batchCapacity: 15, migrateStyle: 'passes10' }, [], 'Debian 6.1 changelog'),
  rel('6.1.129-6.1.154', '6.1.y', '6.1.129', '6.1.154', false, '+ 1aaf8c122918 backported',
    { ...PRE_611, batchCapacity: 15, migrateStyle: 'passes10', gupEmptyListSucceeds: true }, [at(C_EMPTY, '6.1.129')], 'Debian 6.1 changelog'),
  rel('6.1.155-6.1.192', '6.1.y', '6.1.155', '6.1.192', true, 'revert of 1aaf8c122918; two-stage drain on ref != expected+1; no drain for large folios',
    { ...FIXED, batchCapacity: 15, migrateStyle: 'passes10', deactivateFileChecksLru: true },
    [at(C_EMPTY_REVERT, '6.1.155'), at(C_LOCAL, '6.1.155'), at(C_REFCOUNT, '6.1.155'), at(C_SKIP_LARGE, '6.1.155')], 'Debian 6.1.192 mm/gup.c; changelog'),

  // ---- 6.12.y (Debian 6.12.117 source and changelog) ----
  rel('6.12.0-6.12.13', '6.12.y', '6.12.0', '6.12.13', false, 'v6.12: 33dfe9204f29 in; GUP drains if !PG_lru',
    {}, [], 'Debian 6.12 changelog'),
  rel('6.12.14-6.12.35', '6.12.y', '6.12.14', '6.12.35', false, '+ 1aaf8c122918 backported',
    { gupEmptyListSucceeds: true }, [at(C_EMPTY, '6.12.14')], 'Debian 6.12 changelog'),
  rel('6.12.36-6.12.48', '6.12.y', '6.12.36', '6.12.48', false, '1aaf8c122918 reverted',
    {}, [at(C_EMPTY_REVERT, '6.12.36')], 'Debian 6.12 changelog'),
  rel('6.12.49', '6.12.y', '6.12.49', '6.12.49', false, 'hybrid: two-stage drain on ref != expected+1 while 33dfe9204f29 is still in',
    { gupPreLocalDrain: 'onMismatch', gupDrainRule: 'refNeExpectedPlus1', gupSkipLarge: true },
    [at(C_LOCAL, '6.12.49'), at(C_REFCOUNT, '6.12.49'), at(C_SKIP_LARGE, '6.12.49')], 'Debian 6.12 changelog'),
  rel('6.12.50-6.12.110', '6.12.y', '6.12.50', '6.12.110', false, 'the fix set complete: 33dfe9204f29 reverted',
    FIXED, [at(C_REVERT_CLEAR, '6.12.50')], 'Debian 6.12 changelog'),
  rel('6.12.111-6.12.117', '6.12.y', '6.12.111', '6.12.117', true, 'two-stage drain on ref != expected + pin_refs; no local-first drain in lru_add_drain_all',
    { ...FIXED, gupDrainRule: 'refNeExpectedPlusPinBias' }, [C_PIN_REFS], 'Debian 6.12.117 mm/gup.c; changelog'),
];

// ---- versions --------------------------------------------------------------------------------

const VERSION_RE = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?$/;

export function parseVersion(s: string): KVersion | null {
  const m = VERSION_RE.exec(s.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]), rc: m[4] === undefined ? 0 : Number(m[4]) };
}

/** Order: rcN of x.y before x.y before x.y.1. */
export function compareVersions(a: KVersion, b: KVersion): number {
  const rcKey = (v: KVersion) => (v.rc === 0 ? Number.MAX_SAFE_INTEGER : v.rc);
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || rcKey(a) - rcKey(b);
}

const v = (s: string): KVersion => parseVersion(s)!;

function lineOf(ver: KVersion): ReleaseLine | null {
  const name = `${ver.major}.${ver.minor}.y`;
  return RELEASES.some((r) => r.line === name) ? (name as ReleaseLine) : null;
}

function inRange(r: KernelRelease, ver: KVersion): boolean {
  return compareVersions(ver, v(r.from)) >= 0 && (r.openEnded || compareVersions(ver, v(r.to)) <= 0);
}

/** The release range a version runs. A stable point release of a line without stable data is refused. */
export function releaseFor(version: string): KernelRelease {
  const ver = parseVersion(version);
  if (!ver) throw new RangeError(`kernel '${version}': expected a version such as 6.12.45, 6.1.y, v6.17-rc6 or 6.18`);
  const line = lineOf(ver);
  const pool = line ? RELEASES.filter((r) => r.line === line) : RELEASES.filter((r) => r.line === 'mainline');
  if (!line && ver.patch > 0) {
    throw new RangeError(`kernel '${version}': no stable history of ${ver.major}.${ver.minor}.y is modelled (known lines: ${knownLines().join(', ')}); give the mainline release v${ver.major}.${ver.minor} or a policy`);
  }
  // Mainline: the point release is irrelevant (patch 0), rc counts.
  const hit = pool.find((r) => inRange(r, line ? ver : { ...ver, patch: 0 }));
  if (!hit) {
    const first = pool[0]!;
    throw new RangeError(`kernel '${version}': before ${first.from}, the oldest release modelled in ${first.line} (per-CPU mlock batches arrived in v5.18)`);
  }
  return hit;
}

export function knownLines(): string[] {
  return [...new Set(RELEASES.map((r) => r.line))].filter((l) => l !== 'mainline');
}

/** Examples for messages. */
export function knownReleaseNames(): string {
  return '6.1.150, 6.12.45, 6.12.y, v6.17-rc6, 6.18 (folio-race kernels)';
}

/** A release range as a policy (id = its range). */
export function releasePolicy(r: KernelRelease): Policy {
  return { id: r.id, description: `${r.line === 'mainline' ? 'mainline' : r.line} ${r.from}..${r.openEnded ? `${r.to}+` : r.to}: ${r.description}`, source: r.changes.map((c) => `${c.commit} (${c.release})`).join(', ') || r.evidence, switches: r.switches };
}

/**
 * `--kernel` values, comma-separated: a version (6.12.45 -> its range), a line (6.12.y -> every
 * range of it), `mainline`, or `all`.
 */
export function resolveKernels(spec: string): Policy[] {
  const out: KernelRelease[] = [];
  for (const raw of spec.split(',').map((s) => s.trim())) {
    if (raw === '') throw new RangeError(`kernel '${spec}': an empty item in the list`);
    if (raw === 'all') out.push(...RELEASES);
    else if (raw === 'mainline' || /^\d+\.\d+\.y$/.test(raw)) {
      const rs = RELEASES.filter((r) => r.line === raw);
      if (rs.length === 0) throw new RangeError(`kernel '${raw}': unknown line (known: mainline, ${knownLines().join(', ')})`);
      out.push(...rs);
    } else if (RELEASES.some((r) => r.id === raw)) out.push(RELEASES.find((r) => r.id === raw)!);
    else out.push(releaseFor(raw));
  }
  return [...new Set(out)].map(releasePolicy);
}
