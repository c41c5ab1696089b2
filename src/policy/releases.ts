// Kernel releases as data: which switch set each mainline range and each stable point-release
// range runs, with the commit and release behind every switch change. `--kernel 6.12.45`,
// `--policy 6.1.y` and `folio-race affected` read this table; no kernel function does.
// Sources: Debian's linux-source-6.1 (6.1.192) and linux-source-6.12 (6.12.117) trees and their
// changelogs (which list every upstream stable commit under its ChangeLog-X.Y.Z heading), and
// stable review mail for mainline tags and 6.6.y. docs/releases.md says how each row was checked.
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
  /**
   * Not a switch of the model but a fact `folio-race kernel` needs: io_uring's buffer registration
   * pins with pin_user_pages_fast() (true) or pin_user_pages() (false); null where not established.
   */
  ioUringPinsFast: boolean | null;
}

const PRE_611: Partial<PolicySwitches> = {
  lruClearOnQueue: false,
  deactivateFileChecksLru: false,
  gupFast: 'checkFirst',
  finishFaultRefAdd: false,
  tlbFreeDrains: true,
  migrateEarlyRefCheck: false,
  gupFastTouch: false,
};
/** Every 6.12.y (and mainline v6.11-v6.13): free_pages_and_swap_cache() still drains (6.12.117 mm/swap_state.c:320). */
const TLB: Partial<PolicySwitches> = { tlbFreeDrains: true };
/** Hugh's fix set as merged in v6.17-rc6 (mainline and 6.12.50+: deactivate_file_folio pre-checks PG_lru). */
/** The GUP half of the fix set (a09a8a1fbb37, 98c6d259319e, 2da6de30e60d): two-stage drain on ref != expected+1, none for large folios. */
const TWO_STAGE: Partial<PolicySwitches> = { gupPreLocalDrain: 'onMismatch', gupDrainRule: 'refNeExpectedPlus1', gupSkipLarge: true };
const FIXED: Partial<PolicySwitches> = { ...TWO_STAGE, lruClearOnQueue: false, deactivateFileChecksLru: true };
/** 6.1.y: 15-entry batches, the old migrate_pages(), no PG_lru pre-check in deactivate_file_folio (mm/swap.c:704). */
const SIX_ONE: Partial<PolicySwitches> = { ...PRE_611, batchCapacity: 15, migrateStyle: 'passes10' };

function rel(
  id: string,
  line: ReleaseLine,
  from: string,
  to: string,
  openEnded: boolean,
  description: string,
  delta: Partial<PolicySwitches>,
  changes: SwitchChange[],
  evidence: string,
): KernelRelease {
  return {
    id,
    line,
    from,
    to,
    openEnded,
    description,
    switches: Object.freeze({ ...BASELINE, ...delta }),
    changes,
    evidence,
    ioUringPinsFast: IO_URING_PINS_FAST_MAINLINE[id] ?? IO_URING_PINS_FAST[line],
  };
}

/**
 * io_uring's pin per line: 6.1.y io_pin_pages() calls pin_user_pages() under the mmap lock
 * (6.1.192 io_uring/rsrc.c:1006); 6.12.y pin_user_pages_fast() (6.12.117 io_uring/memmap.c:155).
 * 6.6.y and the mainline release that switched were not read here.
 */
const IO_URING_PINS_FAST: Record<ReleaseLine, boolean | null> = { '6.1.y': false, '6.6.y': null, '6.12.y': true, mainline: null };
/** Mainline ranges wholly before 6.1's code or after 6.12's (which later mainline keeps); v6.3-v6.13 unknown. */
const IO_URING_PINS_FAST_MAINLINE: Record<string, boolean> = {
  'v5.18-v6.2': false,
  'v6.14-v6.15': true,
  'v6.16-v6.17-rc5': true,
  'v6.17-rc6-v6.17': true,
  'v6.18': true,
};

// ---- the changes, once each (mainline commit, mainline release) ---------------------------------

const C_MLOCK_BATCH: SwitchChange = {
  switches: ['mlockBatching'],
  commit: '2fbb0c10d1e8',
  release: 'v5.18',
  what: 'mm/munlock: mlock_page() munlock_page() batch by pagevec',
};
const C_MIGRATE_BATCH: SwitchChange = { switches: ['migrateStyle'], commit: '5dfab109d519', release: 'v6.3', what: 'migrate_pages: batch _unmap and _move' };
const C_BATCH31: SwitchChange = { switches: ['batchCapacity'], commit: '9cecde80aae0', release: 'v6.9', what: 'mm: increase folio batch size' };
const C_CLEAR_LRU: SwitchChange = {
  switches: ['lruClearOnQueue', 'deactivateFileChecksLru'],
  commit: '33dfe9204f29',
  release: 'v6.11',
  what: 'mm/gup: clear the LRU flag of a page before adding to LRU batch',
};
const C_EMPTY: SwitchChange = {
  switches: ['gupEmptyListSucceeds'],
  commit: '1aaf8c122918',
  release: 'v6.14',
  what: 'mm: gup: fix infinite loop within __get_longterm_locked',
};
const C_EMPTY_REVERT: SwitchChange = {
  switches: ['gupEmptyListSucceeds'],
  commit: '517f496e1e61',
  release: 'v6.16',
  what: 'mm/gup: revert "mm: gup: fix infinite loop within __get_longterm_locked"',
};
const C_REFCOUNT: SwitchChange = {
  switches: ['gupDrainRule'],
  commit: '98c6d259319e',
  release: 'v6.17-rc6',
  what: 'mm/gup: check ref_count instead of lru before migration',
};
const C_LOCAL: SwitchChange = {
  switches: ['gupPreLocalDrain'],
  commit: 'a09a8a1fbb37',
  release: 'v6.17-rc6',
  what: 'mm/gup: local lru_add_drain() to avoid lru_add_drain_all()',
};
const C_REVERT_CLEAR: SwitchChange = {
  switches: ['lruClearOnQueue', 'deactivateFileChecksLru'],
  commit: 'afb99e9f5004',
  release: 'v6.17-rc6',
  what: 'mm: revert "mm/gup: clear the LRU flag of a page before adding to LRU batch"',
};
const C_SKIP_LARGE: SwitchChange = {
  switches: ['gupSkipLarge'],
  commit: '2da6de30e60d',
  release: 'v6.17-rc6',
  what: 'mm: folio_may_be_lru_cached() unless folio_test_large()',
};
const C_LOCAL_FIRST: SwitchChange = {
  switches: ['drainAllLocalFirst'],
  commit: "Hugh's series 6/6",
  release: 'v6.18',
  what: '__lru_add_drain_all() drains the calling CPU first (not sent to stable; release tag not verified)',
};
const C_SWAP_NONANON: SwitchChange = {
  switches: ['expectedRefSwapCache'],
  commit: 'f183663901f2',
  release: 'v6.19',
  what: 'mm: consider non-anon swap cache folios in folio_expected_ref_count() (mainline tag not verified)',
};
const C_TLB_NO_DRAIN: SwitchChange = {
  switches: ['tlbFreeDrains'],
  commit: 'mm: remove unnecessary calls to lru_add_drain',
  release: 'v6.14',
  what: "free_pages_and_swap_cache() loses its lru_add_drain() (Rik van Riel, mm tree January 2025; the mainline id and tag are not verified); 6.1.192 mm/swap_state.c:311 and 6.12.117 :320 still drain, and Debian's 6.1.192 under `folio-race kernel` processes the MUNLOCK at munmap",
};
const C_PIN_REFS: SwitchChange = {
  switches: ['gupDrainRule'],
  commit: 'pin_refs follow-up',
  release: '6.12.111',
  what: 'collect_longterm_unpinnable_folios() compares with expected + pin_refs (folio_has_pincount() ? 1 : GUP_PIN_COUNTING_BIAS); Debian 6.12 changelog line 7832',
};

const at = (c: SwitchChange, release: string): SwitchChange => ({ ...c, release });

/** The table, oldest first within each line. `CL61:n` / `CL612:n` = line n of the Debian changelog. */
export const RELEASES: readonly KernelRelease[] = [
  // ---- mainline ----
  rel(
    'v5.18-v6.2',
    'mainline',
    'v5.18',
    'v6.2',
    false,
    'per-CPU mlock batches; 15-entry batches; GUP drains if !PG_lru; 10-pass migrate_pages()',
    SIX_ONE,
    [C_MLOCK_BATCH],
    'mainline mm/mlock.c, mm/migrate.c; the 6.1.192 tree for the shape',
  ),
  rel(
    'v6.3-v6.8',
    'mainline',
    'v6.3',
    'v6.8',
    false,
    'the batched migrate_pages()',
    { ...PRE_611, batchCapacity: 15 },
    [C_MIGRATE_BATCH],
    'Fixes: tags naming 5dfab109d519 in stable review mail',
  ),
  rel(
    'v6.9-v6.10',
    'mainline',
    'v6.9',
    'v6.10',
    false,
    "31-entry batches; v6.10's early refcount check in __migrate_folio() (6.9 has none: approximated)",
    { ...PRE_611, migrateEarlyRefCheck: true },
    [C_BATCH31],
    'Linux 6.9-rc2 shortlog',
  ),
  rel(
    'v6.11-v6.13',
    'mainline',
    'v6.11',
    'v6.13',
    false,
    '33dfe9204f29: non-add LRU batches clear PG_lru at queue time; GUP drains if !PG_lru',
    TLB,
    [C_CLEAR_LRU],
    'the thread (Hugh: "6.11 commit 33dfe9204f29"); the 6.12.0 tree shape',
  ),
  rel(
    'v6.14-v6.15',
    'mainline',
    'v6.14',
    'v6.15',
    false,
    '+ 1aaf8c122918: nothing isolated => the pin succeeds',
    { gupEmptyListSucceeds: true },
    [C_EMPTY, C_TLB_NO_DRAIN],
    'stable review mail of the 6.1/6.12 backports',
  ),
  rel(
    'v6.16-v6.17-rc5',
    'mainline',
    'v6.16',
    'v6.17-rc5',
    false,
    '1aaf8c122918 reverted (the state Will reported on)',
    {},
    [C_EMPTY_REVERT],
    'stable mail with the full revert commit',
  ),
  rel(
    'v6.17-rc6-v6.17',
    'mainline',
    'v6.17-rc6',
    'v6.17',
    false,
    "Hugh's fix set: 33dfe9204f29 reverted, two-stage drain on ref != expected+1, no drain for large folios",
    FIXED,
    [C_REVERT_CLEAR, C_LOCAL, C_REFCOUNT, C_SKIP_LARGE],
    '6.16.y review patches 058/059 of 149; the 6.12.50 changelog',
  ),
  rel(
    'v6.18',
    'mainline',
    'v6.18',
    'v6.18',
    true,
    '+ lru_add_drain_all() drains the calling CPU first',
    { ...FIXED, drainAllLocalFirst: true },
    [C_LOCAL_FIRST],
    "Hugh's cover letter (6/6 not for stable); the tag is not verified",
  ),

  // ---- 6.1.y (Debian linux-source-6.1 = 6.1.192 and its changelog) ----
  rel(
    '6.1.0-6.1.128',
    '6.1.y',
    '6.1.0',
    '6.1.128',
    false,
    'v6.1: 15-entry batches, GUP drains if !PG_lru, 10-pass migrate_pages()',
    SIX_ONE,
    [],
    'v6.1 base; CL61:34869 fixed an inverted folio_isolate_lru() test in 6.1.13 (6.1.0-6.1.12 not modelled apart)',
  ),
  rel(
    '6.1.129-6.1.154',
    '6.1.y',
    '6.1.129',
    '6.1.154',
    false,
    '+ 1aaf8c122918 backported',
    { ...SIX_ONE, gupEmptyListSucceeds: true },
    [at(C_EMPTY, '6.1.129')],
    'CL61:17317 [6.1.129]',
  ),
  rel(
    '6.1.155-6.1.159',
    '6.1.y',
    '6.1.155',
    '6.1.159',
    false,
    '1aaf8c122918 reverted; two-stage drain on ref != expected+1; no drain for large folios (33dfe9204f29 was never in 6.1)',
    { ...SIX_ONE, ...TWO_STAGE },
    [at(C_EMPTY_REVERT, '6.1.155'), at(C_LOCAL, '6.1.155'), at(C_REFCOUNT, '6.1.155'), at(C_SKIP_LARGE, '6.1.155')],
    'CL61:12662-12666 [6.1.155]',
  ),
  rel(
    '6.1.160-6.1.192',
    '6.1.y',
    '6.1.160',
    '6.1.192',
    true,
    '+ swap cache counted for non-anon folios in folio_expected_ref_count()',
    { ...SIX_ONE, ...TWO_STAGE, expectedRefSwapCache: 'all' },
    [at(C_SWAP_NONANON, '6.1.160')],
    'CL61:11653-11654 [6.1.160]; 6.1.192 mm/gup.c:1971-2004, include/linux/mm.h:1818-1838',
  ),

  // ---- 6.6.y (no Debian package: stable review mail only; batch size and 33dfe9204f29 inferred from v6.6) ----
  rel(
    '6.6.0-6.6.78',
    '6.6.y',
    '6.6.0',
    '6.6.78',
    false,
    'v6.6: 15-entry batches, batched migrate_pages(), GUP drains if !PG_lru (inferred from mainline v6.6)',
    { ...PRE_611, batchCapacity: 15 },
    [],
    'inferred: 9cecde80aae0 is v6.9, 5dfab109d519 v6.3, 33dfe9204f29 v6.11; not checked in a 6.6 tree',
  ),
  rel(
    '6.6.79-6.6.108',
    '6.6.y',
    '6.6.79',
    '6.6.108',
    false,
    '+ 1aaf8c122918 backported',
    { ...PRE_611, batchCapacity: 15, gupEmptyListSucceeds: true },
    [at(C_EMPTY, '6.6.79')],
    '[PATCH 6.6 145/152] in the 6.6.79-rc1 review',
  ),
  rel(
    '6.6.109-6.6.119',
    '6.6.y',
    '6.6.109',
    '6.6.119',
    false,
    'revert of 1aaf8c122918; two-stage drain on ref != expected+1; no drain for large folios',
    { ...PRE_611, batchCapacity: 15, ...TWO_STAGE },
    [at(C_EMPTY_REVERT, '6.6.109'), at(C_LOCAL, '6.6.109'), at(C_REFCOUNT, '6.6.109'), at(C_SKIP_LARGE, '6.6.109')],
    '6.6.109-rc1 shortlog (the final release not seen)',
  ),
  rel(
    '6.6.120',
    '6.6.y',
    '6.6.120',
    '6.6.120',
    true,
    '+ swap cache counted for non-anon folios',
    { ...PRE_611, batchCapacity: 15, ...TWO_STAGE, expectedRefSwapCache: 'all' },
    [at(C_SWAP_NONANON, '6.6.120')],
    '[PATCH 6.6 657/737] in the 6.6.120-rc1 review',
  ),

  // ---- 6.12.y (Debian linux-source-6.12 = 6.12.117 and its changelog) ----
  rel('6.12.0-6.12.13', '6.12.y', '6.12.0', '6.12.13', false, 'v6.12: 33dfe9204f29 in; GUP drains if !PG_lru', TLB, [], 'v6.12 base'),
  rel(
    '6.12.14-6.12.35',
    '6.12.y',
    '6.12.14',
    '6.12.35',
    false,
    '+ 1aaf8c122918 backported',
    { ...TLB, gupEmptyListSucceeds: true },
    [at(C_EMPTY, '6.12.14')],
    'CL612:27267 [6.12.14]',
  ),
  rel('6.12.36-6.12.48', '6.12.y', '6.12.36', '6.12.48', false, '1aaf8c122918 reverted', TLB, [at(C_EMPTY_REVERT, '6.12.36')], 'CL612:21875 [6.12.36]'),
  rel(
    '6.12.49',
    '6.12.y',
    '6.12.49',
    '6.12.49',
    false,
    'hybrid: one-stage lru_add_drain_all() on ref != expected+1 while 33dfe9204f29 is still in; no large-folio gate',
    { ...TLB, gupDrainRule: 'refNeExpectedPlus1' },
    [at(C_REFCOUNT, '6.12.49')],
    'CL612:18735-18778 [6.12.49]',
  ),
  rel(
    '6.12.50-6.12.64',
    '6.12.y',
    '6.12.50',
    '6.12.64',
    false,
    'the fix set complete: 33dfe9204f29 reverted, two-stage drain, no drain for large folios',
    { ...FIXED, ...TLB },
    [at(C_REVERT_CLEAR, '6.12.50'), at(C_LOCAL, '6.12.50'), at(C_SKIP_LARGE, '6.12.50')],
    'CL612:18839-18842 [6.12.50]',
  ),
  rel(
    '6.12.65-6.12.110',
    '6.12.y',
    '6.12.65',
    '6.12.110',
    false,
    '+ swap cache counted for non-anon folios',
    { ...FIXED, ...TLB, expectedRefSwapCache: 'all' },
    [at(C_SWAP_NONANON, '6.12.65')],
    'CL612:16880-16881 [6.12.65]',
  ),
  rel(
    '6.12.111-6.12.117',
    '6.12.y',
    '6.12.111',
    '6.12.117',
    true,
    'two-stage drain on ref != expected + pin_refs; no local-first drain in lru_add_drain_all()',
    { ...FIXED, ...TLB, expectedRefSwapCache: 'all', gupDrainRule: 'refNeExpectedPlusPinBias' },
    [C_PIN_REFS],
    'CL612:7832 [6.12.111]; 6.12.117 mm/gup.c:2360-2396',
  ),
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
    throw new RangeError(
      `kernel '${version}': no stable history of ${ver.major}.${ver.minor}.y is modelled (known lines: ${knownLines().join(', ')}); give the mainline release v${ver.major}.${ver.minor} or a policy`,
    );
  }
  // Mainline: the point release is irrelevant (patch 0), rc counts.
  const hit = pool.find((r) => inRange(r, line ? ver : { ...ver, patch: 0 }));
  if (!hit) {
    const first = pool[0]!;
    throw new RangeError(`kernel '${version}': before ${first.from}, the oldest release modelled in ${first.line} (per-CPU mlock batches arrived in v5.18)`);
  }
  return hit;
}

/**
 * The note a version past the data needs: it lies beyond the newest release checked of an
 * open-ended range, so its switches are assumed, not read (null: the version was read, or is no
 * single version). `spec` may be an inline variant (6.1.999+batchCapacity=15): its base counts.
 */
export function releaseAssumption(spec: string): string | null {
  const version = spec.split('+')[0]!.trim(); // an inline variant's base
  const ver = parseVersion(version);
  if (!ver) return null;
  let r: KernelRelease;
  try {
    r = releaseFor(version);
  } catch {
    return null;
  }
  const asRead = r.line === 'mainline' ? { ...ver, patch: 0 } : ver;
  if (!r.openEnded || compareVersions(asRead, v(r.to)) <= 0) return null;
  return `kernel '${version}' is newer than ${r.to}, the newest ${r.line} release read: it runs as ${r.id}, assumed to keep that range's switches (folio-race kernels)`;
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
  return {
    id: r.id,
    description: `${r.line === 'mainline' ? 'mainline' : r.line} ${r.from}..${r.openEnded ? `${r.to}+` : r.to}: ${r.description}`,
    source: r.changes.map((c) => `${c.commit} (${c.release})`).join(', ') || r.evidence,
    switches: r.switches,
  };
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
