// Turning a validated scenario into kernel state: names -> indices (identical in every thread),
// the objects, VMAs and pre-existing folios built with the mm model's own constructors, and the
// shared signal board that orders steps across CPUs inside one trial.
//
// Pre-existing folios are built "at rest": no batch entry, no CPU in a critical section. Every
// reference they start with has a named holder (PAGECACHE, MAP), so the ledger balances.
import { Holder, Lru, MappingKind, MigrateType, PG, VM, Zone } from '../mm/constants.js';
import type { AllocPolicy, KernelCtx } from '../mm/context.js';
import { folio_put, folio_ref_mod, folio_set, fset, fw } from '../mm/folio.js';
import { F, Stat, folioBase } from '../mm/layout.js';
import { count_event } from '../mm/locks.js';
import { lruvec_add_folio } from '../mm/mm_inline.js';
import { folio_alloc } from '../mm/page_alloc.js';
import { folio_add_new_anon_rmap, folio_dup_file_rmap_ptes, folio_try_dup_anon_rmap_ptes } from '../mm/rmap.js';
import { object_create, page_cache_set, pte_set, vma_create } from '../mm/vma.js';
import { ANON, folioInstanceName, scriptedCpus, type FolioFlag, type MigratetypeName, type Op, type Scenario, type VmaFlag, type ZoneName } from './schema.js';

// ---- names -> indices ------------------------------------------------------------------------

/** Every name a scenario uses, as the index it has in kernel memory (or on the board). */
export interface ResolvedNames {
  objects: ReadonlyMap<string, number>;
  /** Declared VMAs, in declaration order. */
  vmas: ReadonlyMap<string, number>;
  /**
   * VMAs that `fork ... as` creates at run time: child name -> board slot. fork_vma() picks the
   * VMA id when it runs, so the id is published on the board for other CPUs (S4: the child
   * exits on another CPU).
   */
  forks: ReadonlyMap<string, number>;
  /** Pre-existing folios in declaration order (`F`, `F#1` ... for a `count`; `F#0` = `F`). */
  folios: ReadonlyMap<string, number>;
  /** Signal names, sorted -> board slot. */
  signals: ReadonlyMap<string, number>;
  /** Folio slots setup allocates (the first folio a trial allocates at run time gets this index). */
  nFolios: number;
}

function walkOps(ops: readonly Op[], fn: (op: Op) => void): void {
  for (const op of ops) {
    fn(op);
    if (op.op === 'repeat') walkOps(op.ops, fn);
  }
}

/** Pure: the same scenario gives the same indices in every thread. */
export function resolveNames(s: Scenario): ResolvedNames {
  const objects = new Map<string, number>();
  s.objects.forEach((o, i) => objects.set(o.name, i));
  const vmas = new Map<string, number>();
  s.vmas.forEach((v, i) => vmas.set(v.name, i));
  const signals = new Set<string>();
  const forks = new Set<string>();
  for (const cpu of scriptedCpus(s)) {
    walkOps(s.steps[cpu]!, (op) => {
      if (op.op === 'signal' || op.op === 'wait') signals.add(op.name);
      if (op.op === 'fork') forks.add(op.as);
    });
  }
  const folios = new Map<string, number>();
  let n = 0;
  for (const f of s.folios) {
    for (let k = 0; k < f.count; k++) {
      if (k === 0) folios.set(`${f.name}#0`, n);
      folios.set(folioInstanceName(f, k), n++);
    }
  }
  const sig = new Map<string, number>();
  [...signals].sort().forEach((name, i) => sig.set(name, i));
  const fk = new Map<string, number>();
  [...forks].sort().forEach((name, i) => fk.set(name, sig.size + i));
  return { objects, vmas, forks: fk, folios, signals: sig, nFolios: n };
}

// ---- encodings ---------------------------------------------------------------------------------

const MT: Record<MigratetypeName, number> = {
  unmovable: MigrateType.UNMOVABLE,
  movable: MigrateType.MOVABLE,
  reclaimable: MigrateType.RECLAIMABLE,
  highatomic: MigrateType.HIGHATOMIC,
  cma: MigrateType.CMA,
  isolate: MigrateType.ISOLATE,
};
const ZONE: Record<ZoneName, number> = { normal: Zone.NORMAL, movable: Zone.MOVABLE, device: Zone.DEVICE };
const KIND = { shmem: MappingKind.SHMEM, file: MappingKind.FILE, unevictable_file: MappingKind.UNEVICTABLE_FILE } as const;
const VMFLAG: Record<VmaFlag, number> = { read: VM.READ, write: VM.WRITE, shared: VM.SHARED, locked: VM.LOCKED, lockonfault: VM.LOCKONFAULT };
const PGFLAG: Record<FolioFlag, number> = {
  referenced: PG.referenced,
  uptodate: PG.uptodate,
  dirty: PG.dirty,
  writeback: PG.writeback,
  reclaim: PG.reclaim,
  private: PG.private,
  private_2: PG.private_2,
  swapcache: PG.swapcache,
  mlocked: PG.mlocked,
  workingset: PG.workingset,
};

export function vmaFlagsWord(flags: readonly VmaFlag[]): number {
  return flags.reduce((w, f) => w | VMFLAG[f], 0);
}

/** Where user faults place new folios (ctx.alloc): the scenario's `alloc`. */
export function scenarioAlloc(s: Scenario): AllocPolicy {
  return { movableMt: MT[s.alloc.migratetype], movableZone: ZONE[s.alloc.zone] };
}

// ---- building kernel state ---------------------------------------------------------------------

/**
 * Build the scenario's objects, declared VMAs and pre-existing folios in freshly reset kernel memory, and set `ctx.alloc`. Indices match
 * resolveNames(); a mismatch (memory not reset) throws.
 */
export function setupScenario(ctx: KernelCtx, s: Scenario, names: ResolvedNames = resolveNames(s)): void {
  ctx.alloc = scenarioAlloc(s);
  const objIds = new Map<string, number>();
  for (const o of s.objects) {
    const id = object_create(ctx, {
      kind: KIND[o.kind],
      npages: o.pages,
      mt: MT[o.migratetype ?? s.alloc.migratetype],
      zone: ZONE[o.zone ?? s.alloc.zone],
      order: o.order,
    });
    expectIndex('object', o.name, id, names.objects.get(o.name));
    objIds.set(o.name, id);
  }
  for (const v of s.vmas) {
    const id = vma_create(ctx, {
      npages: v.pages,
      flags: vmaFlagsWord(v.flags),
      obj: v.object === ANON ? -1 : objIds.get(v.object)!,
      pgoff: v.pgoff,
      mm: v.mm,
    });
    expectIndex('VMA', v.name, id, names.vmas.get(v.name));
  }

  for (const f of s.folios) {
    const nr = 1 << f.order;
    const obj = f.object === ANON ? undefined : s.objects.find((o) => o.name === f.object)!;
    const mt = MT[f.migratetype ?? obj?.migratetype ?? s.alloc.migratetype];
    const zone = ZONE[f.zone ?? obj?.zone ?? s.alloc.zone];
    for (let k = 0; k < f.count; k++) {
      const name = folioInstanceName(f, k);
      const folio = folio_alloc(ctx, f.order, true, mt, zone); // one ref: TEMP, the builder's
      expectIndex('folio', name, folio, names.folios.get(name));
      folio_set(ctx, folio, PG.uptodate);
      for (const fl of f.flags) folio_set(ctx, folio, PGFLAG[fl]);
      if (f.flags.includes('mlocked')) count_event(ctx, Stat.NR_MLOCK, nr);
      if (obj) {
        if (obj.kind === 'shmem') folio_set(ctx, folio, PG.swapbacked);
        const index = f.index + k * nr;
        page_cache_set(ctx, objIds.get(obj.name)!, index, folio);
        folio_ref_mod(ctx, folio, nr, Holder.PAGECACHE, 'setupScenario');
      }
      if (f.flags.includes('swapcache')) folio_ref_mod(ctx, folio, nr, Holder.SWAPCACHE, 'setupScenario');
      if (f.flags.includes('private')) folio_ref_mod(ctx, folio, 1, Holder.PRIVATE, 'setupScenario');
      if (f.flags.includes('private_2')) folio_ref_mod(ctx, folio, 1, Holder.PRIVATE_2, 'setupScenario');
      let anonMapped = false;
      for (const m of f.mappedBy) {
        const vma = names.vmas.get(m.vma)!;
        const pages = m.pages ?? nr;
        const first = m.page + k * nr;
        for (let p = 0; p < pages; p++) {
          pte_set(ctx, vma, first + p, folio + 1);
          folio_ref_mod(ctx, folio, 1, Holder.MAP, 'setupScenario');
        }
        if (!obj) {
          // The first mapping makes it an exclusive anon folio; more mappings share it (fork).
          if (!anonMapped) {
            folio_add_new_anon_rmap(ctx, folio, vma, first);
            // It maps all nr pages; a partial first mapping maps fewer.
            if (pages !== nr) Atomics.add(ctx.w, folioBase(folio) + F.MAPCOUNT, pages - nr);
            anonMapped = true;
          } else folio_try_dup_anon_rmap_ptes(ctx, folio, pages, vma);
        } else {
          folio_dup_file_rmap_ptes(ctx, folio, pages, vma);
        }
      }
      placeOnLru(ctx, folio, f.lru, f.mlockCount);
      // The builder's allocation reference goes: the holders above keep the folio.
      folio_put(ctx, folio, Holder.TEMP, 'setupScenario');
    }
  }
}

/** Link a folio at rest on its LRU list (lruvec_add_folio with PG_lru), or leave it off. */
function placeOnLru(ctx: KernelCtx, folio: number, lru: Scenario['folios'][number]['lru'], mlockCount?: number): void {
  if (lru === 'none') return;
  if (lru === 'active') folio_set(ctx, folio, PG.active);
  if (lru === 'unevictable') folio_set(ctx, folio, PG.unevictable);
  lruvec_add_folio(ctx, folio);
  if (lru === 'unevictable' && fw(ctx, folio, F.LRU) === Lru.UNEVICTABLE) {
    fset(ctx, folio, F.MLOCK_COUNT, mlockCount ?? 0);
  }
  folio_set(ctx, folio, PG.lru);
}

function expectIndex(what: string, name: string, got: number, want: number | undefined): void {
  if (got !== want) {
    throw new Error(`setupScenario: ${what} '${name}' got index ${got}, expected ${want}: kernel memory was not reset before setup`);
  }
}

// ---- the scenario board: signals and fork children -------------------------------------------

/**
 * Per-trial shared words of a scenario, in their own SharedArrayBuffer (kept out of the kernel
 * layout): one per signal (0 / 1), then one per fork child (its VMA id, -1 before the fork ran).
 * The coordinator resets it before every trial; every thread attaches to the same buffer.
 */
export class ScenarioBoard {
  readonly sab: SharedArrayBuffer;
  readonly words: Int32Array;
  private readonly names: ResolvedNames;

  /** Create a board for a scenario's names, or attach to an existing buffer (worker threads). */
  constructor(names: ResolvedNames, sab?: SharedArrayBuffer) {
    this.names = names;
    this.sab = sab ?? new SharedArrayBuffer(Math.max(1, names.signals.size + names.forks.size) * 4);
    this.words = new Int32Array(this.sab);
    if (!sab) this.reset();
  }
  private slot(map: ReadonlyMap<string, number>, what: string, name: string): number {
    const i = map.get(name);
    if (i === undefined) throw new Error(`${what} '${name}': not a ${what} of this scenario`);
    return i;
  }
  signal(name: string): void {
    const i = this.slot(this.names.signals, 'signal', name);
    Atomics.store(this.words, i, 1);
    Atomics.notify(this.words, i);
  }
  isSignalled(name: string): boolean {
    return Atomics.load(this.words, this.slot(this.names.signals, 'signal', name)) !== 0;
  }
  /** Publish the VMA id fork_vma() gave the child `name`. */
  setForkChild(name: string, vma: number): void {
    Atomics.store(this.words, this.slot(this.names.forks, 'fork child', name), vma);
  }
  /** The child's VMA id, or -1 if its fork has not run yet. */
  forkChild(name: string): number {
    return Atomics.load(this.words, this.slot(this.names.forks, 'fork child', name));
  }
  /** Before each trial: no signal raised, no child forked. */
  reset(): void {
    for (const i of this.names.signals.values()) Atomics.store(this.words, i, 0);
    for (const i of this.names.forks.values()) Atomics.store(this.words, i, -1);
  }
}

export { KIND as OBJECT_KIND_CODES, PGFLAG as FOLIO_FLAG_BITS };
