// What one scheduling step touched, for partial-order reduction in `explore` (sleep sets).
// A step's footprint is the slots (folio, CPU region, VMA with its PTEs, object with its
// page-cache slots, group of global words) its kernel code addressed, and of those the ones it
// wrote: a slot whose words differ after the step from a copy of them, kept from an earlier step
// or taken when the step first addressed it (for a CPU region its fields, whose BATCH_GEN counts
// the stores to its batches; see FootprintRecorder).
// Two steps of different threads commute when neither wrote a slot the other
// addressed (two readers of one VMA's page tables commute; a reader and a writer of one folio
// do not; a drain-all that moves the drain generation and a fault that never reads it do).
// A lock taken and released inside one step, which no other thread can observe (a step is
// atomic), is no write. Comparing contents is exact where it matters: a step that reads the
// same words behaves the same, so steps that write nothing the other addressed can be swapped.
// Words the kernel code never reads from another thread are left out of the comparison: a CPU's
// event counters (increments commute; a task reads back only the counters it alone bumps) and
// the runtime's bookkeeping of what the CPU is running (CUR_OP, STATE). A global word changed
// without being addressed through gw(), and anything a step does to state outside the kernel
// memory (a sleep or hog, a named signal, a fork child published, a crash), make the step
// global: dependent on every step.
import { NR_BATCHES } from '../mm/constants.js';
import {
  BATCH_WORDS,
  C,
  COORDINATOR,
  CPU_WORDS,
  folioTableBase,
  FOLIO_WORDS,
  G,
  GLOBAL_WORDS,
  globalGroup,
  MAX_CPUS,
  MAX_OBJECTS,
  MAX_VMAS,
  type Layout,
  O,
  OBJ_TABLE,
  PTL_WORDS,
  OBJ_WORDS,
  SLOT,
  SLOT_BITS,
  type SlotWatch,
  V,
  VMA_TABLE,
  VMA_WORDS,
} from '../mm/layout.js';

export interface Footprint {
  /** Slots addressed, encoded kind + (id << SLOT_BITS) (SLOT kinds), sorted, no duplicates. */
  slots: readonly number[];
  /** The slots among them whose contents the step changed, sorted. */
  writes: readonly number[];
  /** Changed a global word or runtime state other threads see: dependent on every step. */
  global: boolean;
}

/** Does sorted list `x` share an element with sorted list `y`? */
function meet(x: readonly number[], y: readonly number[]): boolean {
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) return true;
    if (x[i]! < y[j]!) i++;
    else j++;
  }
  return false;
}

/** Do two steps (of different threads) commute? */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.global || b.global) return false;
  return !meet(a.writes, b.slots) && !meet(b.writes, a.slots);
}

/**
 * The global words kernel code uses (layout.ts G), with the words of the three waiter bitmaps
 * that can hold a bit for `nCpus` CPUs or the coordinator; the trial bookkeeping words are the
 * runtime's, not the kernel's.
 */
function watchedGlobals(nCpus: number): Int32Array {
  const ignored = new Set<number>([G.TRIAL_GEN, G.TRIAL_DONE, G.TRIAL_STOP]);
  const words = new Set<number>();
  for (const v of Object.values(G)) if (!ignored.has(v)) words.add(v);
  const used = new Set<number>([COORDINATOR >> 5]);
  for (let c = 0; c < nCpus; c++) used.add(c >> 5);
  for (const wait of [G.DRAIN_MUTEX_WAITERS, G.LOCK_WAITERS, G.PTL_WAITERS]) for (const k of used) words.add(wait + k);
  return Int32Array.from([...words].sort((x, y) => x - y));
}

/**
 * The words of a CPU region compared for writes: its fields in layout.ts C (the locks, workqueue
 * words, online bit, bh_lrus count, the runtime programs' USER words, each batch's count and
 * BATCH_GEN, which every store to the CPU's batches bumps: folio_batch.ts), not CUR_OP, STATE,
 * the drain work's time stamps or the counters (no kernel code reads them), nor LOADED_MM,
 * TLB_LAZY and TLB_STALE (they only price TLB flushes); the padding between them is never written. The batch
 * entries are not copied.
 */
const CPU_FIELDS: Int32Array = (() => {
  const skip = new Set<number>([
    C.BATCHES,
    C.CUR_OP,
    C.STATE,
    C.DRAIN_WORK_START,
    C.DRAIN_WORK_END,
    C.SCHED_POINTS,
    C.LOADED_MM,
    C.TLB_LAZY,
    C.TLB_STALE,
    C.STATS,
  ]);
  const words = new Set<number>();
  for (const v of Object.values(C)) if (!skip.has(v)) words.add(v);
  for (let k = 1; k < 4; k++) words.add(C.USER + k);
  // The batch counts as well (7 words): BATCH_GEN alone would miss a count stored outside
  // folio_batch.ts, which no kernel code does, but a count is cheap to compare.
  for (let b = 0; b < NR_BATCHES; b++) words.add(C.BATCHES + b * BATCH_WORDS);
  return Int32Array.from([...words].sort((x, y) => x - y));
})();

/**
 * The header words of a VMA and an object record compared for writes: their fields (layout.ts V
 * and O), not the padding after them, which no code reads or writes; for a VMA not MM_SLOT and
 * the mm_cpumask either, which only price TLB flushes (tlb.ts).
 */
const VMA_FIELDS = V.PTL_BASE + 1;
if (Math.max(...Object.values(V).filter((v) => v !== V.MM_SLOT && v !== V.CPUMASK)) >= VMA_FIELDS) throw new Error('footprint: a VMA field outside VMA_FIELDS');
const OBJ_FIELDS = Math.max(...Object.values(O)) + 1;

const EMPTY: readonly number[] = Object.freeze([]);

/** Sort the first `n` entries of a short array in place (a step's handful of slots): insertion sort beats Array#sort's set-up here. */
function sortShort(a: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}
/** Does `list` hold exactly the first `n` entries of `a`? */
function sameList(list: readonly number[], a: Int32Array, n: number): boolean {
  if (list.length !== n) return false;
  for (let i = 0; i < n; i++) if (list[i] !== a[i]) return false;
  return true;
}
/** Is `code` among the first `n` entries of `a`? */
function holds(a: Int32Array, n: number, code: number): boolean {
  for (let i = n - 1; i >= 0; i--) if (a[i] === code) return true;
  return false;
}
const KIND_MASK = (1 << SLOT_BITS) - 1;

/**
 * Collects one step's footprint: `reset` at the start of a trial (after its setup), then for each
 * step `start`, install as the slot watch, run the step, `finish`.
 *
 * A write is found by comparing a slot's words after the step with a copy of them. The copies are
 * kept from step to step: a slot's copy, once taken, equals memory at every step's start, because
 * only steps change memory during a trial and `finish` compares every slot its step addressed
 * (refreshing the copy of each one written). So a slot a task carries through a long op (the
 * VMA, the folios of a pin retry loop) is copied again only when written, not at every step.
 * The premise that makes this sound (a step changes only slots it addresses or carries) is the
 * premise of the footprints themselves; `audit` checks, at every step's start, that every copy
 * kept still equals memory (it cannot see slots that hold no copy).
 */
export class FootprintRecorder implements SlotWatch {
  /** The step's slots in the order addressed (`nSlots` of them), and those written: scratch. */
  private slots = new Int32Array(64);
  private nSlots = 0;
  private writes = new Int32Array(64);
  private globals = watchedGlobals(0);
  private globalsFor = -1;
  /** The watched global words as they are at each step's start (brought up to date by finish). */
  private before = new Int32Array(this.globals.length);
  private w: Int32Array = new Int32Array(0);
  private pteArea = 0;
  private cacheArea = 0;
  /** Tell written slots from read ones (else every slot addressed counts as written). */
  private exact = true;
  /** Per slot code: where its valid copy starts in `copy`, + 1 (0: none). */
  private copyAt = new Int32Array(0);
  /** Per slot code: the room set aside for its copy in `copy`, + 1 (0: none), and its size; kept when a copy is dropped. */
  private roomAt = new Int32Array(0);
  private roomLen = new Int32Array(0);
  /** The codes with room (to clear them at reset, and for the audit). */
  private copied: number[] = [];
  /** The slots' copies, each in its room; a room is replaced only when a copy outgrows it. */
  private copy = new Int32Array(4096);
  private used = 0;
  /** Footprints made, by a hash of their contents (see shared). */
  private made = new Map<number, Footprint[]>();

  /** `audit`: at every step's start check that each kept copy still equals memory (a test's and --check-reduction's check). */
  constructor(private readonly audit = false) {}

  /** A trial starts (its memory just set up): no copy is valid any more. */
  reset(w: Int32Array, lay: Layout): void {
    this.w = w;
    this.pteArea = lay.pteArea;
    this.cacheArea = lay.cacheArea;
    if (this.globalsFor !== lay.dims.nCpus) {
      this.globals = watchedGlobals(lay.dims.nCpus);
      this.before = new Int32Array(this.globals.length);
      this.globalsFor = lay.dims.nCpus;
    }
    const codes = (Math.max(lay.dims.nFolios, lay.dims.nPtes, MAX_CPUS + 1, MAX_VMAS, MAX_OBJECTS, GLOBAL_WORDS >> 4) + 1) << SLOT_BITS;
    if (this.copyAt.length < codes) {
      this.copyAt = new Int32Array(codes);
      this.roomAt = new Int32Array(codes);
      this.roomLen = new Int32Array(codes);
    } else
      for (const code of this.copied) {
        this.copyAt[code] = 0;
        this.roomAt[code] = 0;
      }
    this.copied.length = 0;
    this.used = 0;
    this.stale = false;
    const g = this.globals;
    for (let i = 0; i < g.length; i++) this.before[i] = w[g[i]!]!;
  }

  slot(kind: number, id: number): void {
    const code = kind + (id << SLOT_BITS);
    if (!holds(this.slots, this.nSlots, code)) this.add(code, kind, id);
  }

  /** A slot first addressed in this step. */
  private add(code: number, kind: number, id: number): void {
    // Its copy is taken now, before the step uses it (kernel code computes the address first,
    // then accesses), unless one is kept already.
    if (this.exact && kind !== SLOT.GLOBAL && this.copyAt[code] === 0) this.take(code, kind, id);
    if (this.nSlots === this.slots.length) {
      const bigger = new Int32Array(this.slots.length * 2);
      bigger.set(this.slots);
      this.slots = bigger;
      this.writes = new Int32Array(bigger.length);
    }
    this.slots[this.nSlots++] = code;
  }

  /**
   * Where a slot's compared words are now: `at` (a folio record, a VMA or object header, `hLen`
   * words), then for a VMA or object its PTEs or page-cache slots (`tLen` words from `tAt`, as
   * the header places them). A CPU region's words are CPU_FIELDS from `at` instead. Fields, not a
   * returned object: this runs for every slot of every step.
   */
  private at = 0;
  private hLen = 0;
  private tAt = 0;
  private tLen = 0;
  private locate(kind: number, id: number): void {
    const w = this.w;
    this.tLen = 0;
    if (kind === SLOT.FOLIO) {
      this.at = folioTableBase() + id * FOLIO_WORDS;
      this.hLen = FOLIO_WORDS;
    } else if (kind === SLOT.CPU) {
      this.at = GLOBAL_WORDS + id * CPU_WORDS;
      this.hLen = CPU_FIELDS.length;
    } else if (kind === SLOT.VMA) {
      const base = VMA_TABLE + id * VMA_WORDS;
      this.at = base;
      this.hLen = VMA_FIELDS;
      if (w[base + V.IN_USE]) {
        this.tAt = this.pteArea + w[base + V.PTE_BASE]!;
        this.tLen = Math.max(w[base + V.NPAGES]!, 0);
      }
    } else if (kind === SLOT.PTL) {
      // A page-table lock: its words in the PTE area (id: their index there), apart from the PTEs.
      this.at = this.pteArea + id;
      this.hLen = PTL_WORDS;
    } else {
      const base = OBJ_TABLE + id * OBJ_WORDS;
      this.at = base;
      this.hLen = OBJ_FIELDS;
      if (w[base + O.IN_USE]) {
        this.tAt = this.cacheArea + w[base + O.CACHE_BASE]!;
        this.tLen = Math.max(w[base + O.NPAGES]!, 0);
      }
    }
  }

  /** Copy the located slot's words into `copy` at `to` (room already made). */
  private fill(cpu: boolean, to: number): void {
    const w = this.w;
    const c = this.copy;
    const at = this.at;
    const hLen = this.hLen;
    if (cpu) for (let i = 0; i < hLen; i++) c[to + i] = w[at + CPU_FIELDS[i]!]!;
    else for (let i = 0; i < hLen; i++) c[to + i] = w[at + i]!;
    const t = this.tAt;
    const from = to + hLen;
    const tLen = this.tLen;
    for (let i = 0; i < tLen; i++) c[from + i] = w[t + i]!;
  }

  /** Take (or, after a write, retake) the copy of a slot. */
  private take(code: number, kind: number, id: number): void {
    this.locate(kind, id);
    const len = this.hLen + this.tLen;
    let at = this.roomAt[code]! - 1;
    if (at < 0) this.copied.push(code);
    if (at < 0 || len > this.roomLen[code]!) {
      if (this.used + len > this.copy.length) {
        const bigger = new Int32Array(Math.max(this.copy.length * 2, this.used + len));
        bigger.set(this.copy.subarray(0, this.used));
        this.copy = bigger;
      }
      at = this.used;
      this.used += len;
      this.roomAt[code] = at + 1;
      this.roomLen[code] = len;
    }
    this.copyAt[code] = at + 1;
    this.fill(kind === SLOT.CPU, at);
  }

  /** Does the slot differ from its copy? */
  private changed(code: number): boolean {
    const kind = code & KIND_MASK;
    this.locate(kind, code >> SLOT_BITS);
    const w = this.w;
    const c = this.copy;
    const to = this.copyAt[code]! - 1;
    const at = this.at;
    const hLen = this.hLen;
    // The header first: a changed VMA or object header may have moved its table entries too.
    if (kind === SLOT.CPU) {
      for (let i = 0; i < hLen; i++) if (w[at + CPU_FIELDS[i]!] !== c[to + i]) return true;
    } else for (let i = 0; i < hLen; i++) if (w[at + i] !== c[to + i]) return true;
    const t = this.tAt;
    const from = to + hLen;
    const tLen = this.tLen;
    for (let i = 0; i < tLen; i++) if (w[t + i] !== c[from + i]) return true;
    return false;
  }

  /** Steps ran unrecorded since the last one recorded (skip): copies and `before` may be stale. */
  private stale = false;

  /** A step runs unrecorded (its footprint is known from an earlier run of the same prefix). */
  skip(): void {
    this.stale = true;
  }

  /**
   * After unrecorded steps: the watched global words are read again. They are a run's prefix,
   * before any step was recorded, so no copy is kept yet; any there were would be stale.
   */
  private resync(): void {
    for (const code of this.copied) this.copyAt[code] = 0;
    const g = this.globals;
    for (let i = 0; i < g.length; i++) this.before[i] = this.w[g[i]!]!;
    this.stale = false;
  }

  /** Start a step of a thread on `cpu` (its own CPU region is always part of the footprint). */
  start(cpu: number, carried: readonly number[] | null, exact = true): void {
    if (this.stale) this.resync();
    if (this.audit) this.check();
    this.exact = exact;
    this.nSlots = 0;
    // The carried slots are distinct already (a footprint's sorted list).
    if (carried) for (const code of carried) this.add(code, code & KIND_MASK, code >> SLOT_BITS);
    this.slot(SLOT.CPU, cpu);
  }

  /** The audit: every copy kept equals memory, and so do the watched global words. */
  private check(): void {
    for (const code of this.copied) {
      if (this.copyAt[code] === 0 || !this.changed(code)) continue;
      const kinds = ['folio', 'CPU', 'VMA', 'object', 'global', 'page-table lock']; // global groups keep no copy (see `before`)
      throw new Error(`footprint audit: ${kinds[code & KIND_MASK]} ${code >> SLOT_BITS} changed in a step that did not address it (or outside any step)`);
    }
    const g = this.globals;
    for (let i = 0; i < g.length; i++) if (this.w[g[i]!] !== this.before[i]) throw new Error(`footprint audit: global word ${g[i]} changed outside a step`);
  }

  /** The footprint of the step just run; `global` adds what the runtime saw change. */
  finish(global: boolean): Footprint {
    const w = this.w;
    const g = this.globals;
    const before = this.before;
    const slots = this.slots;
    const n = this.nSlots;
    const writes = this.writes;
    let nw = 0;
    // A global word changed that the step did not address through gw() (a kernel access
    // without it): the step counts as dependent on every step, as every global write once did.
    // A changed word of an addressed group is a write of that group. Either way `before` is
    // brought up to date, for the next step.
    let changed = global;
    for (let i = 0; i < g.length; i++) {
      const v = w[g[i]!]!;
      if (v === before[i]) continue;
      before[i] = v;
      const code = SLOT.GLOBAL + (globalGroup(g[i]!) << SLOT_BITS);
      if (!holds(slots, n, code)) changed = true;
      else if (!holds(writes, nw, code)) writes[nw++] = code;
    }
    if (!this.exact) {
      // Every slot addressed counts as written; their copies are dropped (they may be stale now),
      // their rooms kept for the next copy.
      for (let k = 0; k < n; k++) this.copyAt[slots[k]!] = 0;
      sortShort(slots, n);
      return this.shared(n, -1, changed);
    }
    for (let k = 0; k < n; k++) {
      const code = slots[k]!;
      if ((code & KIND_MASK) === SLOT.GLOBAL || !this.changed(code)) continue;
      writes[nw++] = code;
      this.take(code, code & KIND_MASK, code >> SLOT_BITS);
    }
    sortShort(slots, n);
    sortShort(writes, nw);
    return this.shared(n, nw, changed);
  }

  /**
   * The footprint of the scratch lists (`nw` -1: the writes are the slots), or an equal one made
   * before: a thread in a retry loop takes the same few footprints thousands of times in a run,
   * and each is kept until the run ends (the decisions hold them), so new objects there are
   * old-generation garbage. Footprints are never changed once made, so equal ones are shared.
   */
  private shared(n: number, nw: number, global: boolean): Footprint {
    const slots = this.slots;
    const writes = nw < 0 ? slots : this.writes;
    const nWrites = nw < 0 ? n : nw;
    let h = global ? 0x5bd1e995 : 0;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ slots[i]!, 0x9e3779b1);
    h = Math.imul(h ^ nWrites, 0x85ebca6b);
    for (let i = 0; i < nWrites; i++) h = Math.imul(h ^ writes[i]!, 0xc2b2ae35);
    let bucket = this.made.get(h);
    if (bucket) for (const fp of bucket) if (fp.global === global && sameList(fp.slots, slots, n) && sameList(fp.writes, writes, nWrites)) return fp;
    const own = copyOut(slots, n);
    const fp: Footprint = { slots: own, writes: nw < 0 ? own : nw === 0 ? EMPTY : copyOut(writes, nw), global };
    if (this.made.size >= MADE_MAX) {
      this.made.clear();
      bucket = undefined;
    }
    if (bucket) bucket.push(fp);
    else this.made.set(h, [fp]);
    return fp;
  }
}

/** Footprints kept for sharing (a bound on the map, not on correctness: past it, it starts again). */
const MADE_MAX = 1 << 14;

function copyOut(a: Int32Array, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = a[i]!;
  return out;
}
