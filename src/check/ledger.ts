// The reference ledger of spec §1.3, read back: who holds each reference of a folio. The
// per-holder counts live in the folio record (F.LEDGER + Holder.X, kept by folio_ref_mod); the
// per-CPU batch entries are found by scanning every CPU's batches. Reads plain words, so it works
// on the live SharedArrayBuffer (a racy snapshot) or on a copied Int32Array alike. No kernel code.
import {
  BATCH_NAMES,
  BATCH_SLOTS,
  Batch,
  GUP_PIN_COUNTING_BIAS,
  HOLDER_NAMES,
  Holder,
  MlockOp,
  NR_BATCHES,
  NR_HOLDERS,
  PG,
  PG_PRINT_ORDER,
  TOMBSTONE,
  type BatchName,
} from '../mm/constants.js';
import { C, F, FolioState, batchBase, cpuBase, folioBase, type Layout } from '../mm/layout.js';
import { mlock_entry_folio, mlock_entry_op } from '../mm/mlock.js';

export type HolderName = (typeof HOLDER_NAMES)[number];
export type MlockOpName = 'MLOCK' | 'NEW' | 'MUNLOCK';

/** One named holder of some of a folio's references. */
export interface HolderRef {
  holder: HolderName;
  /** References this holder owns (counted in refcount). */
  refs: number;
  /** GUP_PIN only: FOLL_PIN pins (small folio: refs / 1024; large: refs, mirrored in _pincount). */
  pins?: number;
  /** Batch entries: the CPU whose batch holds the entry. */
  cpu?: number;
  /** Batch entries: which batch. */
  batch?: BatchName;
  /** Batch entries: slot index in the batch. */
  slot?: number;
  /** Mlock batch entries: the entry's op tag. */
  op?: MlockOpName;
  /** Batch holders: references the ledger counts that no batch entry accounts for (yet). */
  unplaced?: boolean;
  /** Batch entries: the CPU is not in cpu_online_mask (drain-all skips it). */
  offline?: boolean;
}

/** Where one batch entry naming a folio sits. */
export interface BatchEntryRef {
  cpu: number;
  batch: BatchName;
  slot: number;
  op?: MlockOpName;
}

/** Everything known about who holds a folio's references. */
export interface Attribution {
  folio: number;
  pfn: number;
  state: number;
  refcount: number;
  pincount: number;
  order: number;
  /** Raw per-holder ledger words (index = Holder id). */
  ledger: number[];
  /** Σ ledger. */
  ledgerSum: number;
  /** LRU and mlock batch entries naming this folio, found by scanning every CPU. */
  entries: BatchEntryRef[];
  /**
   * The named holders: non-batch holders with a non-zero ledger, then one row per batch entry,
   * then (if the ledger counts more batch refs than there are entries) an `unplaced` row.
   */
  holders: HolderRef[];
}

/**
 * Decode an mlock batch entry (mm/mlock.c: folio pointer | LRU_FOLIO or NEW_FOLIO tag). The
 * emulator-only MLOCK_LRU_UNCLAIMED bit (src/mm/mlock.ts, one-batch-mlock forceOnFail) is masked.
 */
export function decodeMlockEntry(e: number): { folio: number; op: MlockOpName } {
  const tag = mlock_entry_op(e);
  return {
    folio: mlock_entry_folio(e),
    op: tag === MlockOp.LRU_FOLIO ? 'MLOCK' : tag === MlockOp.NEW_FOLIO ? 'NEW' : 'MUNLOCK',
  };
}

/** Batch entry count clamped to the slots that exist (a corrupt nr is reported by I13, not here). */
function batchNr(w: Int32Array, cpu: number, batch: number): number {
  const nr = w[batchBase(cpu, batch)]!;
  return nr < 0 ? 0 : Math.min(nr, BATCH_SLOTS);
}

/**
 * Visit every live batch entry of every CPU (online or not: an offline CPU's batches still hold
 * references until page_alloc_cpu_dead drains them). Tombstones are skipped.
 */
export function forEachBatchEntry(
  w: Int32Array,
  lay: Layout,
  fn: (folio: number, cpu: number, batch: number, slot: number, op: MlockOpName | undefined) => void,
): void {
  const nCpus = lay.dims.nCpus;
  for (let cpu = 0; cpu < nCpus; cpu++) {
    for (let b = 0; b < NR_BATCHES; b++) {
      const base = batchBase(cpu, b) + 1;
      const nr = batchNr(w, cpu, b);
      for (let i = 0; i < nr; i++) {
        const e = w[base + i]!;
        if (e === TOMBSTONE) continue;
        if (b === Batch.mlock) {
          const d = decodeMlockEntry(e);
          fn(d.folio, cpu, b, i, d.op);
        } else {
          fn(e, cpu, b, i, undefined);
        }
      }
    }
  }
}

/** The batch entries naming `folio`. */
export function findBatchEntries(w: Int32Array, lay: Layout, folio: number): BatchEntryRef[] {
  const out: BatchEntryRef[] = [];
  forEachBatchEntry(w, lay, (f, cpu, b, slot, op) => {
    if (f !== folio) return;
    const r: BatchEntryRef = { cpu, batch: BATCH_NAMES[b]!, slot };
    if (op) r.op = op;
    out.push(r);
  });
  return out;
}

/** Is `cpu` in cpu_online_mask? */
export function cpuOnline(w: Int32Array, cpu: number): boolean {
  return w[cpuBase(cpu) + C.ONLINE] !== 0;
}

/**
 * attributeRefs(): the full named-holder breakdown of one folio. `entries` may be passed when the
 * caller already scanned the batches (the checker does, once for all folios).
 */
export function attributeRefs(w: Int32Array, lay: Layout, folio: number, entries?: BatchEntryRef[]): Attribution {
  const b = folioBase(folio);
  const order = w[b + F.ORDER]!;
  const ledger: number[] = [];
  let ledgerSum = 0;
  for (let h = 0; h < NR_HOLDERS; h++) {
    const v = w[b + F.LEDGER + h]!;
    ledger.push(v);
    ledgerSum += v;
  }
  const ents = entries ?? findBatchEntries(w, lay, folio);
  const holders: HolderRef[] = [];
  for (let h = 0; h < NR_HOLDERS; h++) {
    if (h === Holder.LRU_BATCH || h === Holder.MLOCK_BATCH) continue;
    const refs = ledger[h]!;
    if (refs === 0) continue;
    const r: HolderRef = { holder: HOLDER_NAMES[h]!, refs };
    if (h === Holder.GUP_PIN) r.pins = order > 0 ? refs : refs / GUP_PIN_COUNTING_BIAS;
    holders.push(r);
  }
  for (const [h, name, isMlock] of [
    [Holder.LRU_BATCH, 'LRU_BATCH', false],
    [Holder.MLOCK_BATCH, 'MLOCK_BATCH', true],
  ] as const) {
    let placed = 0;
    for (const e of ents) {
      if ((e.batch === 'mlock') !== isMlock) continue;
      const r: HolderRef = { holder: name, refs: 1, cpu: e.cpu, batch: e.batch, slot: e.slot };
      if (e.op) r.op = e.op;
      if (!cpuOnline(w, e.cpu)) r.offline = true;
      holders.push(r);
      placed++;
    }
    const rest = ledger[h]! - placed;
    if (rest !== 0) holders.push({ holder: name, refs: rest, unplaced: true });
  }
  return {
    folio,
    pfn: w[b + F.PFN]!,
    state: w[b + F.STATE]!,
    refcount: w[b + F.REF]!,
    pincount: w[b + F.PINCOUNT]!,
    order,
    ledger,
    ledgerSum,
    entries: ents,
    holders,
  };
}

/** `0x9f83a8`. */
export function hexPfn(pfn: number): string {
  return '0x' + (pfn >>> 0).toString(16);
}

/** `folio 3 (pfn 0x9f83a8)`. */
export function folioLabel(folio: number, pfn: number): string {
  return `folio ${folio} (pfn ${hexPfn(pfn)})`;
}

function entryWhere(e: { cpu?: number; batch?: BatchName; op?: MlockOpName }): string {
  return `cpu ${e.cpu} ${e.batch}${e.op ? ' ' + e.op : ''}`;
}

/**
 * The ledger as one line: `PAGECACHE 1, MAP 1, LRU_BATCH 1 (cpu 7 lru_add), MLOCK_BATCH 1 (cpu 7
 * mlock MLOCK)`. Batch refs the ledger counts without an entry show as `N not in any batch`;
 * entries the ledger does not count show as `N entries unaccounted`.
 */
export function ledgerSummary(a: Attribution): string {
  const parts: string[] = [];
  for (let h = 0; h < NR_HOLDERS; h++) {
    const name = HOLDER_NAMES[h]!;
    const refs = a.ledger[h]!;
    if (h === Holder.LRU_BATCH || h === Holder.MLOCK_BATCH) {
      const rows = a.holders.filter((r) => r.holder === name);
      if (refs === 0 && rows.length === 0) continue;
      const where = rows.filter((r) => !r.unplaced).map(entryWhere);
      const extra = rows.find((r) => r.unplaced);
      if (extra && extra.refs > 0) where.push(`${extra.refs} not in any batch`);
      if (extra && extra.refs < 0) where.push(`${-extra.refs} entr${extra.refs === -1 ? 'y' : 'ies'} unaccounted`);
      parts.push(`${name} ${refs}${where.length ? ` (${where.join(', ')})` : ''}`);
      continue;
    }
    if (refs === 0) continue;
    if (h === Holder.GUP_PIN) {
      const pins = a.order > 0 ? refs : refs / GUP_PIN_COUNTING_BIAS;
      parts.push(`GUP_PIN ${refs} (${Number.isInteger(pins) ? pins : pins.toFixed(3)} pin${pins === 1 ? '' : 's'})`);
      continue;
    }
    parts.push(`${name} ${refs}`);
  }
  return parts.length ? parts.join(', ') : 'no holders';
}

const PLAIN_HOLDER_TEXT: Record<string, string> = {
  PAGECACHE: 'page cache',
  SWAPCACHE: 'swap cache',
  PRIVATE: 'fs private data',
  PRIVATE_2: 'PG_private_2 (fscache)',
  MAP: 'page-table mappings',
  ISOLATION: 'isolation (folio_isolate_lru)',
  GUP_GET: 'FOLL_GET references',
  GUP_PIN: 'FOLL_PIN pins',
  TEMP: 'temporary references (lookups, faults in progress)',
};

function refsText(n: number): string {
  return `${n} ref${n === 1 ? '' : 's'}`;
}

/**
 * One line per holder, for reports: `CPU 7 mlock batch (MLOCK) holds 1 ref`, `page cache holds 1
 * ref`, `FOLL_PIN pins hold 1024 refs (1 pin)`. With `onlyBatches`, just the batch entries (the
 * "which CPU's which batch held the extra references" line of a failed migration).
 */
export function describeHolders(a: Attribution, opts: { onlyBatches?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const r of a.holders) {
    const isBatch = r.holder === 'LRU_BATCH' || r.holder === 'MLOCK_BATCH';
    if (opts.onlyBatches && !isBatch) continue;
    if (isBatch && r.unplaced) {
      const kind = r.holder === 'LRU_BATCH' ? 'LRU batch' : 'mlock batch';
      out.push(
        r.refs > 0
          ? `${refsText(r.refs)} counted for an ${kind} entry not (yet) in any CPU's batch`
          : `${-r.refs} ${kind} entr${r.refs === -1 ? 'y holds' : 'ies hold'} a ref the ledger does not count`,
      );
      continue;
    }
    if (isBatch) {
      const offline = r.offline ? ' (CPU offline: only the hotplug-dead drain reaches it)' : '';
      out.push(`CPU ${r.cpu} ${r.batch} batch${r.op ? ` (${r.op})` : ''} holds ${refsText(r.refs)}${offline}`);
      continue;
    }
    const what = PLAIN_HOLDER_TEXT[r.holder] ?? r.holder;
    const verb = r.holder === 'GUP_PIN' || r.holder === 'MAP' || r.holder === 'GUP_GET' || r.holder === 'TEMP' ? 'hold' : 'holds';
    const pins = r.pins !== undefined ? ` (${Number.isInteger(r.pins) ? r.pins : r.pins.toFixed(3)} pin${r.pins === 1 ? '' : 's'})` : '';
    out.push(`${what} ${verb} ${refsText(r.refs)}${pins}`);
  }
  return out;
}

/** describeHolders for a folio given by index. */
export function describeFolioHolders(w: Int32Array, lay: Layout, folio: number, opts: { onlyBatches?: boolean } = {}): string[] {
  return describeHolders(attributeRefs(w, lay, folio), opts);
}

/** Is the folio slot allocated (the only state the checker's per-folio invariants apply to)? */
export function folioAllocated(w: Int32Array, folio: number): boolean {
  return w[folioBase(folio) + F.STATE] === FolioState.ALLOCATED;
}

/** Page flags as the kernel prints them (`uptodate|dirty|lru|swapbacked|unevictable|mlocked`). */
export function pageFlagsText(flags: number): string {
  const out: string[] = [];
  for (const name of PG_PRINT_ORDER) if (flags & PG[name]) out.push(name);
  return out.join('|');
}
