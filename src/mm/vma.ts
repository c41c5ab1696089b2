// The process address space in shared memory: VMAs (vm_area_struct), their page tables, and
// page-cache objects (address_space / shmem inode). Only what the fault, unmap, mlock, GUP and
// migration paths need (spec §5). A PTE word holds folio + 1 (present), 0 (none), or
// -(folio + 1) (a migration entry for that folio). A page-cache slot holds folio + 1 or 0; a
// large folio occupies 2^order consecutive slots, as in the xarray.
import type { KernelCtx, KGen } from './context.js';
import { fset, fw, folio_nr_pages } from './folio.js';
import {
  F,
  G,
  MAX_OBJECTS,
  MAX_VMAS,
  O,
  OBJ_WORDS,
  PTL,
  PTL_WORDS,
  PTRS_PER_PTE,
  V,
  VMA_TABLE,
  VMA_WORDS,
  objBase,
  vmaBase,
  vmaPteWords,
  watchPtl,
  gw,
} from './layout.js';
import { read_once, write_once } from './access.js';
import { type QSpinlock, queued_spin_lock, queued_spin_lock_spin, queued_spin_unlock } from './spinlock.js';

/**
 * Take `n` consecutive slots from an allocation cursor, or throw naming what ran out. A
 * compare-and-swap, so a claim that fails never moves the cursor: an add undone by a sub could
 * hand one slot to two creators when claims of different sizes fail at once.
 */
function claim(ctx: KernelCtx, cursor: number, n: number, limit: number, fn: string, what: string): number {
  for (;;) {
    const first = Atomics.load(ctx.w, cursor);
    if (first + n > limit) throw new RangeError(`${fn}: out of ${what}: ${limit} in all, ${n} more wanted at ${first}`);
    if (Atomics.compareExchange(ctx.w, cursor, first, first + n) === first) return first;
  }
}

// ---- page-cache objects -------------------------------------------------------------------

export interface ObjectSpec {
  /** MappingKind: SHMEM, FILE or UNEVICTABLE_FILE. */
  kind: number;
  npages: number;
  /** Migratetype of the folios this object's page-cache misses allocate (e.g. CMA). */
  mt: number;
  zone: number;
  /** Order of the folios readahead / shmem allocate (0 = small). */
  order?: number;
}

/** Create a page-cache object (an inode's address_space); returns its id. */
export function object_create(ctx: KernelCtx, o: ObjectSpec): number {
  if (!Number.isInteger(o.npages) || o.npages < 1) throw new RangeError(`object_create: npages must be a positive integer, got ${o.npages}`);
  const order = o.order ?? 0;
  if (!Number.isInteger(order) || order < 0 || order > 9) throw new RangeError(`object_create: order must be 0..9, got ${order}`);
  const id = claim(ctx, gw(G.NEXT_OBJ), 1, MAX_OBJECTS, 'object_create', 'objects (MAX_OBJECTS)');
  // Out of cache slots: the object id stays claimed and never IN_USE (the trial ends with the error).
  const cacheBase = claim(ctx, gw(G.NEXT_CACHE_SLOT), o.npages, ctx.lay.dims.nCacheSlots, 'object_create', 'page-cache slots (nCacheSlots)');
  const b = objBase(id);
  const w = ctx.w;
  // Plain stores into the fresh record and cache slots, published by the IN_USE store (as in vma_create).
  w.fill(0, b, b + OBJ_WORDS);
  w.fill(0, ctx.lay.cacheArea + cacheBase, ctx.lay.cacheArea + cacheBase + o.npages);
  w[b + O.KIND] = o.kind;
  w[b + O.NPAGES] = o.npages;
  w[b + O.CACHE_BASE] = cacheBase;
  w[b + O.MT] = o.mt;
  w[b + O.ZONE] = o.zone;
  w[b + O.ORDER] = order;
  Atomics.store(w, b + O.IN_USE, 1);
  return id;
}

/** A field of a page-cache object; they never change once IN_USE (read atomically) is seen. */
export function obj_field(ctx: KernelCtx, obj: number, field: number): number {
  if (obj < 0 || obj >= MAX_OBJECTS || read_once(ctx, objBase(obj) + O.IN_USE) === 0) {
    throw new RangeError(`object ${obj}: no such page-cache object`);
  }
  return ctx.w[objBase(obj) + field]!;
}
export const obj_kind = (ctx: KernelCtx, obj: number) => obj_field(ctx, obj, O.KIND);
export const obj_npages = (ctx: KernelCtx, obj: number) => obj_field(ctx, obj, O.NPAGES);
export const obj_order = (ctx: KernelCtx, obj: number) => obj_field(ctx, obj, O.ORDER);

function cacheSlot(ctx: KernelCtx, obj: number, index: number): number {
  const n = obj_npages(ctx, obj);
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`object ${obj}: page index ${index} outside 0..${n - 1}`);
  return ctx.lay.cacheArea + ctx.w[objBase(obj) + O.CACHE_BASE]! + index; // IN_USE seen by obj_npages
}

/** filemap_get_entry() (mm/filemap.c, v6.3+): the folio caching `index`, or -1. No reference taken. */
export function filemap_get_entry(ctx: KernelCtx, obj: number, index: number): number {
  return read_once(ctx, cacheSlot(ctx, obj, index)) - 1;
}

/**
 * Store `folio` in the page cache at `index` (all 2^order slots from `index`) and record
 * mapping/index in the folio; `-1` clears every slot that holds the folio found at `index`.
 * Raw xarray store: no references change (callers account PAGECACHE refs).
 */
export function page_cache_set(ctx: KernelCtx, obj: number, index: number, folio: number): void {
  if (folio < 0) {
    const old = filemap_get_entry(ctx, obj, index);
    if (old < 0) return;
    const n = obj_npages(ctx, obj);
    for (let i = 0; i < n; i++) {
      const s = cacheSlot(ctx, obj, i);
      if (Atomics.load(ctx.w, s) === old + 1) Atomics.store(ctx.w, s, 0);
    }
    return;
  }
  const nr = folio_nr_pages(ctx, folio);
  for (let i = 0; i < nr; i++) Atomics.store(ctx.w, cacheSlot(ctx, obj, index + i), folio + 1);
  fset(ctx, folio, F.MAPPING, obj_kind(ctx, obj));
  fset(ctx, folio, F.MAPPING_ID, obj);
  fset(ctx, folio, F.INDEX, index);
}

/**
 * The xarray half of __folio_migrate_mapping() (mm/migrate.c): every slot of `oldFolio` from
 * `index` (2^order of them) now points at `newFolio`, which takes over mapping and index.
 * Returns false (nothing changed) if a slot no longer holds `oldFolio`.
 */
export function page_cache_replace(ctx: KernelCtx, obj: number, index: number, oldFolio: number, newFolio: number): boolean {
  const nr = folio_nr_pages(ctx, oldFolio);
  for (let i = 0; i < nr; i++) {
    if (Atomics.load(ctx.w, cacheSlot(ctx, obj, index + i)) !== oldFolio + 1) return false;
  }
  for (let i = 0; i < nr; i++) Atomics.store(ctx.w, cacheSlot(ctx, obj, index + i), newFolio + 1);
  fset(ctx, newFolio, F.MAPPING, fw(ctx, oldFolio, F.MAPPING));
  fset(ctx, newFolio, F.MAPPING_ID, obj);
  fset(ctx, newFolio, F.INDEX, index);
  return true;
}

// ---- VMAs ---------------------------------------------------------------------------------

export interface VmaSpec {
  npages: number;
  /** VM_* flags (constants.ts VM). */
  flags: number;
  /** Backing page-cache object, or -1 for an anonymous mapping. */
  obj: number;
  /** First object page mapped (vm_pgoff). */
  pgoff?: number;
  /** Owning mm (process) id. */
  mm?: number;
}

/** Create a VMA with an empty page table; returns its id. */
export function vma_create(ctx: KernelCtx, v: VmaSpec): number {
  if (!Number.isInteger(v.npages) || v.npages < 1) throw new RangeError(`vma_create: npages must be a positive integer, got ${v.npages}`);
  const pgoff = v.pgoff ?? 0;
  if (v.obj >= 0 && pgoff + v.npages > obj_npages(ctx, v.obj)) {
    throw new RangeError(`vma_create: pages ${pgoff}..${pgoff + v.npages - 1} outside object ${v.obj} (${obj_npages(ctx, v.obj)} pages)`);
  }
  const id = claim(ctx, gw(G.NEXT_VMA), 1, MAX_VMAS, 'vma_create', 'VMAs (MAX_VMAS)');
  // Out of PTEs: the VMA id stays claimed and never IN_USE (the trial ends with the error).
  // Its page-table locks, then its PTEs.
  const words = vmaPteWords(v.npages);
  const ptlBase = claim(ctx, gw(G.NEXT_PTE), words, ctx.lay.dims.nPtes, 'vma_create', 'page-table entries (nPtes)');
  const pteBase = ptlBase + words - v.npages;
  const b = vmaBase(id);
  const w = ctx.w;
  // Plain stores: the record and its page table are fresh, and the IN_USE store below publishes
  // them (every reader checks IN_USE first). Only FLAGS changes later (vma_set_flags).
  w.fill(0, b, b + VMA_WORDS);
  w.fill(0, ctx.lay.pteArea + ptlBase, ctx.lay.pteArea + ptlBase + words);
  w[b + V.PTL_BASE] = ptlBase;
  w[b + V.FLAGS] = v.flags;
  w[b + V.NPAGES] = v.npages;
  w[b + V.OBJ] = v.obj;
  w[b + V.PTE_BASE] = pteBase;
  w[b + V.PGOFF] = pgoff;
  w[b + V.MM] = v.mm ?? 0;
  w[b + V.MM_SLOT] = mm_slot(w, id, v.mm ?? 0) + 1;
  Atomics.store(w, b + V.IN_USE, 1);
  return id;
}

/**
 * The VMA whose record holds mm `mm`'s mm_cpumask: its first VMA, unmapped or not (records stay
 * until the trial's reset), else `id` itself. Plain reads of records without the footprint watch:
 * the mask only prices TLB flushes (tlb.ts), it decides nothing.
 */
function mm_slot(w: Int32Array, id: number, mm: number): number {
  for (let j = 0; j < id; j++) {
    const r = VMA_TABLE + j * VMA_WORDS;
    if (w[r + V.MM_SLOT] !== 0 && w[r + V.MM] === mm) return w[r + V.MM_SLOT]! - 1;
  }
  return id;
}

/** The record of a mapped VMA: its IN_USE word read (an atomic load, which orders the plain reads of its fixed fields after it). */
function vmaRecord(ctx: KernelCtx, vma: number): number {
  if (vma < 0 || vma >= MAX_VMAS || read_once(ctx, vmaBase(vma) + V.IN_USE) === 0) {
    throw new RangeError(`vma ${vma}: no such VMA (unmapped or never created)`);
  }
  return vmaBase(vma);
}
/** A field fixed at vma_create (all but FLAGS): a plain read once IN_USE is seen. */
function vmaField(ctx: KernelCtx, vma: number, field: number): number {
  return ctx.w[vmaRecord(ctx, vma) + field]!;
}
export function vma_in_use(ctx: KernelCtx, vma: number): boolean {
  return vma >= 0 && vma < MAX_VMAS && read_once(ctx, vmaBase(vma) + V.IN_USE) !== 0;
}
/** READ_ONCE(vma->vm_flags): the one field written while others read it. */
export const vma_flags = (ctx: KernelCtx, vma: number) => read_once(ctx, vmaRecord(ctx, vma) + V.FLAGS);
/** vm_flags_reset_once(): WRITE_ONCE of the whole flags word (rmap walkers read it racily). */
export function vma_set_flags(ctx: KernelCtx, vma: number, flags: number): void {
  Atomics.store(ctx.w, vmaRecord(ctx, vma) + V.FLAGS, flags);
}
export const vma_npages = (ctx: KernelCtx, vma: number) => vmaField(ctx, vma, V.NPAGES);
export const vma_obj = (ctx: KernelCtx, vma: number) => vmaField(ctx, vma, V.OBJ);
export const vma_pgoff = (ctx: KernelCtx, vma: number) => vmaField(ctx, vma, V.PGOFF);
/** Remove the VMA from the address space (after its page table has been zapped). */
export function vma_destroy(ctx: KernelCtx, vma: number): void {
  Atomics.store(ctx.w, vmaRecord(ctx, vma) + V.IN_USE, 0);
}

// ---- page tables --------------------------------------------------------------------------

function pteIdx(ctx: KernelCtx, vma: number, page: number): number {
  const b = vmaRecord(ctx, vma);
  const n = ctx.w[b + V.NPAGES]!;
  if (!Number.isInteger(page) || page < 0 || page >= n) throw new RangeError(`vma ${vma}: page ${page} outside 0..${n - 1}`);
  return ctx.lay.pteArea + ctx.w[b + V.PTE_BASE]! + page;
}

/** ptep_get(): raw PTE: folio + 1 (present), 0 (none), -(folio + 1) (migration entry). */
export function pte_get(ctx: KernelCtx, vma: number, page: number): number {
  return read_once(ctx, pteIdx(ctx, vma, page));
}
/** set_pte_at() / pte_clear(): raw store; callers hold the PTL and do the rmap/ref accounting. */
export function pte_set(ctx: KernelCtx, vma: number, page: number, raw: number): void {
  write_once(ctx, pteIdx(ctx, vma, page), raw);
}
/** The folio a present PTE maps, or -1 (none, or a migration entry). */
export function pte_folio(ctx: KernelCtx, vma: number, page: number): number {
  const raw = pte_get(ctx, vma, page);
  return raw > 0 ? raw - 1 : -1;
}
export const pte_none = (raw: number) => raw === 0;
export const is_migration_entry = (raw: number) => raw < 0;
export const make_migration_entry = (folio: number) => -(folio + 1);

/**
 * rmap walk (rmap_walk_anon/rmap_walk_file), done here by scanning every page table: calls
 * `fn(vma, page, raw)` for each PTE that maps `folio` or holds a migration entry for it.
 * Fine for scenario sizes. `fn` may change the PTE it is given.
 */
export function for_each_pte_mapping(ctx: KernelCtx, folio: number, fn: (vma: number, page: number, raw: number) => void): void {
  const present = folio + 1;
  const nvma = Math.min(Atomics.load(ctx.w, gw(G.NEXT_VMA)), MAX_VMAS);
  for (let vma = 0; vma < nvma; vma++) {
    if (!vma_in_use(ctx, vma)) continue;
    const b = vmaBase(vma);
    const base = ctx.lay.pteArea + ctx.w[b + V.PTE_BASE]!; // fixed once IN_USE is seen
    const n = ctx.w[b + V.NPAGES]!;
    for (let page = 0; page < n; page++) {
      const raw = read_once(ctx, base + page);
      if (raw === present || raw === -present) fn(vma, page, raw);
    }
  }
}

/** The (vma, page) pairs mapping `folio` (present or migration entry), as a list. */
export function folio_pte_mappings(ctx: KernelCtx, folio: number): { vma: number; page: number; raw: number }[] {
  const out: { vma: number; page: number; raw: number }[] = [];
  for_each_pte_mapping(ctx, folio, (vma, page, raw) => out.push({ vma, page, raw }));
  return out;
}

// ---- the page-table locks ----------------------------------------------------------------
// pte_offset_map_lock()/pte_unmap_unlock(): the lock of the page-table page that holds the PTE
// (split PTE locks, pte_lockptr(): one per PTRS_PER_PTE pages of a VMA, in the PTE area before
// its PTEs), the kernel's queued spinlock (spinlock.ts: FIFO; sleepers in the G.PTL_WAITERS
// bitmap). A spinlock disables preemption, so workqueue drain work never runs while it is held (a
// drain IPI may: workqueue.ts drain_may_run()). The model
// holds it across the yield points inside mlock_folio()/folio_add_lru(), so a contender sleeps
// (yields BLOCKED) instead of spinning: a single-thread runtime must be able to resume the holder.

const PTL_LOCK: QSpinlock = { name: 'ptl', what: 'the page-table lock', owner: PTL.OWNER, next: PTL.NEXT, head: PTL.HEAD, waiters: G.PTL_WAITERS };

/** The words of the page-table lock covering `vma`'s `page` (pte_lockptr()), reported to the slot watch. */
export function ptlBase(ctx: KernelCtx, vma: number, page: number): number {
  const id = ctx.w[vmaBase(vma) + V.PTL_BASE]! + PTL_WORDS * Math.floor(page / PTRS_PER_PTE);
  watchPtl(id);
  return ctx.lay.pteArea + id;
}

/** The page-table pages that hold a VMA's pages [start, end): the first page of each, in order. */
export function pte_tables(start: number, end: number): number[] {
  const out: number[] = [];
  for (let p = start; p < end; p = (Math.floor(p / PTRS_PER_PTE) + 1) * PTRS_PER_PTE) out.push(p);
  return out;
}
/** The end of the page-table page holding `page`, or `end` if sooner. */
export const pte_table_end = (page: number, end: number): number => Math.min(end, (Math.floor(page / PTRS_PER_PTE) + 1) * PTRS_PER_PTE);

/**
 * A walk of `vma`'s pages [start, end) one page-table page at a time, each under its lock (the
 * kernel's per-PMD walks: zap_pmd_range(), walk_page_range()): `body(first, stop)` per table.
 */
export function* pte_walk_tables(ctx: KernelCtx, vma: number, start: number, end: number, body: (first: number, stop: number) => KGen<void>): KGen<void> {
  for (const table of pte_tables(start, end)) {
    yield* pte_lock(ctx, vma, table);
    try {
      yield* body(table, pte_table_end(table, end));
    } finally {
      pte_unlock(ctx, vma, table);
    }
  }
}

/** spin_lock(ptl) of the page table holding `vma`'s `page` (pte_offset_map_lock(), mm/memory.c, all versions) for kernel code that can yield. */
export function* pte_lock(ctx: KernelCtx, vma: number, page: number): KGen<void> {
  yield* queued_spin_lock(ctx, PTL_LOCK, ptlBase(ctx, vma, page));
  ctx.preempt++;
}
/** spin_lock(ptl) for code without scheduling points: the holder, if any, runs on another thread. */
export function pte_lock_spin(ctx: KernelCtx, vma: number, page: number): void {
  queued_spin_lock_spin(ctx, PTL_LOCK, ptlBase(ctx, vma, page));
  ctx.preempt++;
}
export function pte_unlock(ctx: KernelCtx, vma: number, page: number): void {
  ctx.preempt--;
  queued_spin_unlock(ctx, PTL_LOCK, ptlBase(ctx, vma, page));
}
