// Per-CPU trace rings in their own SharedArrayBuffer (the emulator's ftrace ring buffer).
//
// Every CPU writes only its own ring (single producer, no lock); a global sequence number from an
// Atomics counter orders events across CPUs. Records are 16 Int32 words. Mode: overwrite-oldest,
// like ftrace's default (a failure is explained by the most recent events); readers are told how
// many records each CPU lost and, by default, get the merged stream only from the first sequence
// number after which no CPU lost anything, so a CPU never looks idle because its events were
// overwritten. A record is invalidated (seq = -1) while being written, so a concurrent reader
// skips it instead of reading a torn record.
//
// Function names (and mark texts) are interned to small ids: a fixed list known to every thread,
// then a table of further names in the same buffer (claimed with Atomics), then id 0 = "?" when
// that table is full.
import type { TraceEvent } from '../mm/context.js';

/** Record layout (Int32 words). */
export const REC = {
  SEQ: 0, // global sequence number; -1 while being written
  CPU: 1,
  KIND: 2, // TraceKind
  FOLIO: 3, // folio index (mark: first argument)
  PFN: 4,
  FLAGS: 5, // page flags right after the change (PG_head added for large folios)
  COUNT: 6, // refcount right after the change
  MAPCOUNT: 7, // raw _mapcount (mapcount - 1)
  MAPPING_ID: 8,
  MT: 9, // pageblock migratetype
  DELTA: 10, // val= (mark: second argument)
  HOLDER: 11, // ledger holder (Holder id), -1 for marks
  FN: 12, // interned function name (mark: interned text)
  T_LO: 13, // time in ns, low 32 bits
  T_HI: 14, // time in ns, high bits
  MISC: 15, // preempt depth (bits 0..7) | mapping kind << 8 | order << 16
} as const;
export const REC_WORDS = 16;

export const TraceKind = {
  page_ref_mod: 0,
  page_ref_mod_and_test: 1,
  page_ref_freeze: 2,
  page_ref_unfreeze: 3,
  mark: 4,
  page_ref_set: 5,
  page_ref_mod_unless: 6,
} as const;
export type TraceKindName = TraceEvent | 'mark';
export const TRACE_KIND_NAMES: readonly TraceKindName[] = [
  'page_ref_mod',
  'page_ref_mod_and_test',
  'page_ref_freeze',
  'page_ref_unfreeze',
  'mark',
  'page_ref_set',
  'page_ref_mod_unless',
];

/** Header words. */
const H = { MAGIC: 0, NCPUS: 1, CAP: 2, SEQ: 3, NAMES_NR: 4, NAMES_CAP: 5, ENABLED: 6 } as const;
const HEADER_WORDS = 16;
/** Per-ring header: one 64-byte line per ring. */
const RH = { WRITTEN: 0 } as const;
const RING_HEADER_WORDS = 16;
const MAGIC = 0x7472_6163; // 'trac'
/** Bytes per dynamic name slot: one Int32 length word, then ASCII. */
const NAME_SLOT_BYTES = 128;
const NAME_MAX = NAME_SLOT_BYTES - 4;

/**
 * Known emulated kernel functions and marks, interned without touching shared memory. Append only
 * (ids are positions; traces decoded by the same build agree).
 */
export const KNOWN_FNS: readonly string[] = [
  '?',
  // include/linux/page_ref.h and mm.h helpers
  'folio_get',
  'folio_put',
  'folio_put_refs',
  'folio_try_get',
  'folio_ref_freeze',
  'folio_ref_unfreeze',
  'put_page',
  // mm/swap.c
  'folio_add_lru',
  'folio_add_lru_vma',
  'folio_activate',
  'folio_mark_accessed',
  'deactivate_file_folio',
  'folio_deactivate',
  'folio_mark_lazyfree',
  'folio_rotate_reclaimable',
  '__folio_batch_add_and_move',
  'folio_batch_add_and_move',
  'folio_batch_move_lru',
  'folios_put_refs',
  'lru_add',
  'lru_move_tail',
  'lru_deactivate_file',
  'lru_deactivate',
  'lru_lazyfree',
  'lru_activate',
  'lru_add_drain',
  'lru_add_drain_cpu',
  'lru_add_drain_all',
  '__lru_add_drain_all',
  'lru_add_drain_per_cpu',
  'lru_cache_disable',
  'lru_cache_enable',
  '__page_cache_release',
  // mm/mlock.c
  'mlock_folio',
  'mlock_new_folio',
  'munlock_folio',
  'mlock_folio_batch',
  '__mlock_folio',
  '__mlock_new_folio',
  '__munlock_folio',
  'mlock_drain_local',
  'mlock_drain_remote',
  'mlock_vma_folio',
  'munlock_vma_folio',
  'mlock_pte_range',
  // mm/gup.c
  'try_grab_folio',
  'gup_put_folio',
  'unpin_user_page',
  'unpin_user_pages',
  'unpin_folio',
  'follow_page_pte',
  '__get_user_pages',
  '__gup_longterm_locked',
  'pin_user_pages',
  'get_user_pages',
  'collect_longterm_unpinnable_folios',
  'migrate_longterm_unpinnable_folios',
  'check_and_migrate_movable_pages_or_folios',
  // mm/vmscan.c, mm/migrate.c, mm/rmap.c
  'folio_isolate_lru',
  'folio_putback_lru',
  'putback_movable_pages',
  'migrate_pages',
  'migrate_pages_batch',
  'migrate_folio_unmap',
  'migrate_folio_move',
  'migrate_folio_undo_src',
  'move_to_new_folio',
  '__migrate_folio',
  'folio_migrate_mapping',
  '__folio_migrate_mapping',
  'remove_migration_pte',
  'remove_migration_ptes',
  'try_to_migrate',
  'try_to_migrate_one',
  'try_to_unmap_one',
  'folio_add_file_rmap_ptes',
  'folio_add_new_anon_rmap',
  'folio_add_anon_rmap_ptes',
  'folio_remove_rmap_ptes',
  // faults, page cache, unmap
  'handle_mm_fault',
  'do_pte_missing',
  'do_anonymous_page',
  'do_fault',
  'finish_fault',
  'set_pte_range',
  'wp_page_copy',
  'do_wp_page',
  'filemap_fault',
  'shmem_fault',
  'filemap_add_folio',
  'shmem_add_to_page_cache',
  'filemap_get_folio',
  '__filemap_remove_folio',
  'filemap_remove_folio',
  'truncate_inode_folio',
  'zap_pte_range',
  'unmap_region',
  'tlb_flush_mmu',
  'folio_alloc',
  'vma_alloc_folio',
  'page_cache_ra_order',
  'page_alloc_cpu_dead',
  // targeted extraction (spec §7) and marks
  'extract_folio_entries',
  'lru_add_drain_all start',
  'lru_add_drain_all end',
  'lru_add_drain_all genskip',
  'drain work queued',
  'drain work ran',
  'pin start',
  'pin end',
  'migrate start',
  'migrate end',
  'trial start',
  'trial end',
  // timing studies (drain mechanisms, Perfetto export)
  'drain work start',
  'drain work end',
  'batch occupancy',
  'remote drain start',
  'remote drain end',
  'ipi drain',
];

export interface TraceRingDims {
  /** Emulated CPUs. A further ring is allocated for contexts with cpu >= nCpus (the coordinator). */
  nCpus: number;
  /** Records per CPU ring. */
  perCpu: number;
  /** Slots for names outside KNOWN_FNS (default 256). */
  names?: number;
}

/** A decoded record. For marks: `fn` is the mark text, `folio` and `delta` its two arguments. */
export interface TraceRecord {
  seq: number;
  cpu: number;
  event: TraceKindName;
  folio: number;
  pfn: number;
  flags: number;
  count: number;
  mapcount: number;
  mappingId: number;
  mappingKind: number;
  mt: number;
  delta: number;
  holder: number;
  fn: string;
  timeNs: number;
  preempt: number;
  order: number;
}

export interface ReadResult {
  /** All CPUs' records, merged in sequence order. */
  events: TraceRecord[];
  /** Records overwritten, per ring (index nCpus = the extra ring). */
  lost: number[];
  /** Events before this sequence number were dropped from `events` because some CPU lost its own. */
  completeFromSeq: number;
}

const TWO32 = 2 ** 32;

export class TraceRing {
  readonly w: Int32Array;
  private readonly bytes: Uint8Array;
  readonly nCpus: number;
  readonly perCpu: number;
  private readonly nRings: number;
  private readonly namesCap: number;
  private readonly recArea: number;
  private readonly namesByte: number;
  /** Per-thread cache of interned names. */
  private readonly ids = new Map<string, number>();
  private pendingSeq = 0;

  /** Allocate a new ring buffer set. */
  static create(d: TraceRingDims): TraceRing {
    if (!Number.isInteger(d.nCpus) || d.nCpus < 1) throw new RangeError(`nCpus: expected a positive integer, got ${d.nCpus}`);
    if (!Number.isInteger(d.perCpu) || d.perCpu < 1) throw new RangeError(`perCpu: expected a positive integer, got ${d.perCpu}`);
    const names = d.names ?? 256;
    const nRings = d.nCpus + 1;
    const words = HEADER_WORDS + nRings * RING_HEADER_WORDS + nRings * d.perCpu * REC_WORDS + names * (NAME_SLOT_BYTES / 4);
    const sab = new SharedArrayBuffer(words * 4);
    const w = new Int32Array(sab);
    w[H.MAGIC] = MAGIC;
    w[H.NCPUS] = d.nCpus;
    w[H.CAP] = d.perCpu;
    w[H.NAMES_CAP] = names;
    w[H.ENABLED] = 1;
    return new TraceRing(sab);
  }

  /** Attach to a buffer made by create() (in another thread). */
  constructor(readonly sab: SharedArrayBuffer) {
    this.w = new Int32Array(sab);
    this.bytes = new Uint8Array(sab);
    if (this.w[H.MAGIC] !== MAGIC) throw new Error('trace ring: buffer was not made by TraceRing.create()');
    this.nCpus = this.w[H.NCPUS]!;
    this.perCpu = this.w[H.CAP]!;
    this.nRings = this.nCpus + 1;
    this.namesCap = this.w[H.NAMES_CAP]!;
    this.recArea = HEADER_WORDS + this.nRings * RING_HEADER_WORDS;
    this.namesByte = (this.recArea + this.nRings * this.perCpu * REC_WORDS) * 4;
  }

  get enabled(): boolean {
    return Atomics.load(this.w, H.ENABLED) !== 0;
  }
  set enabled(on: boolean) {
    Atomics.store(this.w, H.ENABLED, on ? 1 : 0);
  }

  private ringOf(cpu: number): number {
    return cpu >= 0 && cpu < this.nCpus ? cpu : this.nCpus;
  }
  private ringHeader(ring: number): number {
    return HEADER_WORDS + ring * RING_HEADER_WORDS;
  }

  /**
   * Start a record on `cpu`'s ring: takes the next global sequence number and returns the word
   * index of the record; the caller fills the fields in `w` and calls commit(). Must not be
   * nested (records of one thread are written one at a time).
   */
  claim(cpu: number): number {
    const ring = this.ringOf(cpu);
    const rh = this.ringHeader(ring);
    const written = this.w[rh + RH.WRITTEN]!;
    const rb = this.recArea + (ring * this.perCpu + (written % this.perCpu)) * REC_WORDS;
    Atomics.store(this.w, rb + REC.SEQ, -1);
    this.pendingSeq = Atomics.add(this.w, H.SEQ, 1);
    this.w[rb + REC.CPU] = cpu;
    return rb;
  }
  /** Publish the record started by claim(). */
  commit(cpu: number, rb: number): void {
    const rh = this.ringHeader(this.ringOf(cpu));
    Atomics.store(this.w, rb + REC.SEQ, this.pendingSeq);
    Atomics.store(this.w, rh + RH.WRITTEN, this.w[rh + RH.WRITTEN]! + 1);
  }
  /** Store a time in ns into a claimed record. */
  setTime(rb: number, ns: number): void {
    const t = Math.max(0, Math.floor(ns));
    this.w[rb + REC.T_LO] = (t % TWO32) | 0;
    this.w[rb + REC.T_HI] = Math.floor(t / TWO32);
  }

  /** Intern a function name or mark text (0 = "?" when the table is full). */
  intern(name: string): number {
    const cached = this.ids.get(name);
    if (cached !== undefined) return cached;
    let id = KNOWN_FNS.indexOf(name);
    if (id < 0) id = this.internShared(name.length > NAME_MAX ? name.slice(0, NAME_MAX) : name);
    this.ids.set(name, id);
    return id;
  }
  private internShared(name: string): number {
    // Another thread may have published it already.
    const nr = Math.min(Atomics.load(this.w, H.NAMES_NR), this.namesCap);
    for (let s = 0; s < nr; s++) if (this.slotName(s) === name) return KNOWN_FNS.length + s;
    const s = Atomics.add(this.w, H.NAMES_NR, 1);
    if (s >= this.namesCap) return 0;
    const at = this.namesByte + s * NAME_SLOT_BYTES;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      this.bytes[at + 4 + i] = c < 128 ? c : 63; // '?'
    }
    Atomics.store(this.w, at / 4, name.length); // publish
    return KNOWN_FNS.length + s;
  }
  private slotName(s: number): string | null {
    const at = this.namesByte + s * NAME_SLOT_BYTES;
    const len = Atomics.load(this.w, at / 4);
    if (len <= 0) return null;
    let out = '';
    for (let i = 0; i < len; i++) out += String.fromCharCode(this.bytes[at + 4 + i]!);
    return out;
  }
  /** The name behind an interned id. */
  nameOf(id: number): string {
    if (id >= 0 && id < KNOWN_FNS.length) return KNOWN_FNS[id]!;
    const s = id - KNOWN_FNS.length;
    if (s < 0 || s >= this.namesCap) return '?';
    return this.slotName(s) ?? '?';
  }

  /** Forget all records (between trials). Names stay interned. Only while nobody writes. */
  clear(): void {
    for (let r = 0; r < this.nRings; r++) Atomics.store(this.w, this.ringHeader(r) + RH.WRITTEN, 0);
    this.w.fill(0, this.recArea, this.recArea + this.nRings * this.perCpu * REC_WORDS);
  }

  private decode(rb: number, seq: number): TraceRecord {
    const w = this.w;
    const misc = w[rb + REC.MISC]!;
    return {
      seq,
      cpu: w[rb + REC.CPU]!,
      event: TRACE_KIND_NAMES[w[rb + REC.KIND]!] ?? 'mark',
      folio: w[rb + REC.FOLIO]!,
      pfn: w[rb + REC.PFN]!,
      flags: w[rb + REC.FLAGS]!,
      count: w[rb + REC.COUNT]!,
      mapcount: w[rb + REC.MAPCOUNT]!,
      mappingId: w[rb + REC.MAPPING_ID]!,
      mappingKind: (misc >>> 8) & 0xff,
      mt: w[rb + REC.MT]!,
      delta: w[rb + REC.DELTA]!,
      holder: w[rb + REC.HOLDER]!,
      fn: this.nameOf(w[rb + REC.FN]!),
      timeNs: w[rb + REC.T_HI]! * TWO32 + (w[rb + REC.T_LO]! >>> 0),
      preempt: misc & 0xff,
      order: (misc >>> 16) & 0xff,
    };
  }

  /**
   * Read every ring and merge by sequence number. With `complete` (default), events older than
   * the newest overwritten one of any ring are left out, so the stream has no per-CPU holes.
   * Safe while writers run (records being written are skipped).
   */
  read(opts: { complete?: boolean } = {}): ReadResult {
    const complete = opts.complete ?? true;
    const events: TraceRecord[] = [];
    const lost: number[] = [];
    let completeFromSeq = 0;
    for (let r = 0; r < this.nRings; r++) {
      const written = Atomics.load(this.w, this.ringHeader(r) + RH.WRITTEN);
      const n = Math.min(written, this.perCpu);
      lost.push(written - n);
      let oldest = Number.POSITIVE_INFINITY;
      for (let k = written - n; k < written; k++) {
        const rb = this.recArea + (r * this.perCpu + (k % this.perCpu)) * REC_WORDS;
        const seq = Atomics.load(this.w, rb + REC.SEQ);
        if (seq < 0) continue;
        const rec = this.decode(rb, seq);
        if (Atomics.load(this.w, rb + REC.SEQ) !== seq) continue; // overwritten while reading
        events.push(rec);
        if (seq < oldest) oldest = seq;
      }
      // The ring lost records: nothing before its oldest surviving one is complete.
      if (written > n && oldest !== Number.POSITIVE_INFINITY) completeFromSeq = Math.max(completeFromSeq, oldest);
    }
    events.sort((a, b) => a.seq - b.seq);
    if (complete && completeFromSeq > 0) {
      const i = events.findIndex((e) => e.seq >= completeFromSeq);
      events.splice(0, i < 0 ? events.length : i);
    }
    return { events, lost, completeFromSeq };
  }
}
