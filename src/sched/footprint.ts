// What one scheduling step touched, for partial-order reduction in `explore` (sleep sets).
// A step's footprint is the slots (folio, CPU region, VMA with its PTEs, object with its
// page-cache slots, group of global words) its kernel code addressed, and of those the ones it
// wrote: a slot whose words differ after the step from a copy taken when the step first
// addressed it (for a CPU region its fields, whose BATCH_GEN counts the stores to its batches).
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
  type Layout,
  O,
  OBJ_TABLE,
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
 * BATCH_GEN, which every store to the CPU's batches bumps: folio_batch.ts), not CUR_OP, STATE or
 * the counters; the padding between them is never written. The batch entries are not copied.
 */
const CPU_FIELDS: Int32Array = (() => {
  const skip = new Set<number>([C.BATCHES, C.CUR_OP, C.STATE, C.STATS]);
  const words = new Set<number>();
  for (const v of Object.values(C)) if (!skip.has(v)) words.add(v);
  for (let k = 1; k < 4; k++) words.add(C.USER + k);
  // The batch counts as well (7 words): BATCH_GEN alone would miss a count stored outside
  // folio_batch.ts, which no kernel code does, but a count is cheap to compare.
  for (let b = 0; b < NR_BATCHES; b++) words.add(C.BATCHES + b * BATCH_WORDS);
  return Int32Array.from([...words].sort((x, y) => x - y));
})();

const EMPTY: readonly number[] = Object.freeze([]);

/** Sort a short array in place (a step's handful of slots): insertion sort beats Array#sort's set-up here. */
function sortShort(a: number[]): number[] {
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return a;
}
const KIND_MASK = (1 << SLOT_BITS) - 1;

/** Collects one step's footprint: install as the slot watch, run the step, then `finish`. */
export class FootprintRecorder implements SlotWatch {
  // A step touches a handful of slots: a small array searched linearly beats a Set here.
  private slots: number[] = [];
  private globals = watchedGlobals(0);
  private globalsFor = -1;
  private before = new Int32Array(this.globals.length);
  /** Per global group: the indices into `globals` (and `before`) of its watched words. */
  private groupIdx: Int32Array[] = [];
  private w: Int32Array = new Int32Array(0);
  private pteArea = 0;
  private cacheArea = 0;
  /** Tell written slots from read ones (else every slot addressed counts as written). */
  private exact = true;
  /** Per slot, in `slots` order: where its copy starts in `copy`. */
  private at = new Int32Array(64);
  /** The slots' words as each was first addressed in the step. */
  private copy = new Int32Array(4096);
  private used = 0;
  /** The CPU whose step is being recorded, and each CPU's last footprint (see shared). */
  private cpu = 0;
  private lastOf: (Footprint | undefined)[] = [];

  slot(kind: number, id: number): void {
    const code = kind + (id << SLOT_BITS);
    const s = this.slots;
    for (let i = s.length - 1; i >= 0; i--) if (s[i] === code) return;
    if (this.exact) {
      if (s.length === this.at.length) {
        const bigger = new Int32Array(this.at.length * 2);
        bigger.set(this.at);
        this.at = bigger;
      }
      this.at[s.length] = this.used;
      this.snapshot(kind, id);
    }
    s.push(code);
  }

  /** Room for `n` more words in the copy. */
  private room(n: number): Int32Array {
    if (this.used + n > this.copy.length) {
      const bigger = new Int32Array(Math.max(this.copy.length * 2, this.used + n));
      bigger.set(this.copy.subarray(0, this.used));
      this.copy = bigger;
    }
    return this.copy;
  }

  /** Copy `len` words from `from` (plain loops: the runs are short, a view per run would be garbage). */
  private keep(from: number, len: number): void {
    const c = this.room(len);
    const w = this.w;
    const to = this.used;
    for (let i = 0; i < len; i++) c[to + i] = w[from + i]!;
    this.used = to + len;
  }

  /** Copy a slot's words before the step uses them (kernel code computes the address first, then accesses). */
  private snapshot(kind: number, id: number): void {
    const w = this.w;
    if (kind === SLOT.FOLIO) this.keep(folioTableBase() + id * FOLIO_WORDS, FOLIO_WORDS);
    else if (kind === SLOT.GLOBAL)
      return; // its words are in `before`, copied at the step's start
    else if (kind === SLOT.CPU) {
      // Its fields only: C.BATCH_GEN among them moves with every store to its batches.
      const base = GLOBAL_WORDS + id * CPU_WORDS;
      const c = this.room(CPU_FIELDS.length);
      for (let i = 0; i < CPU_FIELDS.length; i++) c[this.used + i] = w[base + CPU_FIELDS[i]!]!;
      this.used += CPU_FIELDS.length;
    } else if (kind === SLOT.VMA) {
      const base = VMA_TABLE + id * VMA_WORDS;
      this.keep(base, VMA_WORDS);
      // Its PTEs, as the header places them now (a step that changes the header wrote the slot anyway).
      if (w[base + V.IN_USE]) this.keep(this.pteArea + w[base + V.PTE_BASE]!, Math.max(w[base + V.NPAGES]!, 0));
    } else {
      const base = OBJ_TABLE + id * OBJ_WORDS;
      this.keep(base, OBJ_WORDS);
      if (w[base + O.IN_USE]) this.keep(this.cacheArea + w[base + O.CACHE_BASE]!, Math.max(w[base + O.NPAGES]!, 0));
    }
  }

  /** Do `len` words from `from` differ from the copy at `at`? */
  private differ(from: number, len: number, at: number): boolean {
    const w = this.w;
    const c = this.copy;
    for (let i = 0; i < len; i++) if (w[from + i] !== c[at + i]) return true;
    return false;
  }

  /** Did the step change slot k (in `slots` order)? Walks the copy as snapshot laid it out. */
  private changed(k: number): boolean {
    const w = this.w;
    const c = this.copy;
    const code = this.slots[k]!;
    const kind = code & KIND_MASK;
    const id = code >> SLOT_BITS;
    let at = this.at[k]!;
    if (kind === SLOT.FOLIO) return this.differ(folioTableBase() + id * FOLIO_WORDS, FOLIO_WORDS, at);
    if (kind === SLOT.GLOBAL) {
      // Compared with the copy taken at the step's start: no step changes a global word
      // without addressing it (or it is global anyway, see finish).
      const idx = this.groupIdx[id];
      if (!idx) return false;
      for (let i = 0; i < idx.length; i++) if (w[this.globals[idx[i]!]!] !== this.before[idx[i]!]) return true;
      return false;
    }
    if (kind === SLOT.CPU) {
      const base = GLOBAL_WORDS + id * CPU_WORDS;
      for (let i = 0; i < CPU_FIELDS.length; i++) if (w[base + CPU_FIELDS[i]!] !== c[at + i]) return true;
      return false;
    }
    const base = kind === SLOT.VMA ? VMA_TABLE + id * VMA_WORDS : OBJ_TABLE + id * OBJ_WORDS;
    const words = kind === SLOT.VMA ? VMA_WORDS : OBJ_WORDS;
    if (this.differ(base, words, at)) return true; // a header changed: its table entries may have moved too
    at += words;
    const inUse = kind === SLOT.VMA ? V.IN_USE : O.IN_USE;
    if (!w[base + inUse]) return false;
    const first = kind === SLOT.VMA ? this.pteArea + w[base + V.PTE_BASE]! : this.cacheArea + w[base + O.CACHE_BASE]!;
    return this.differ(first, Math.max(w[base + (kind === SLOT.VMA ? V.NPAGES : O.NPAGES)]!, 0), at);
  }

  /** Start a step of a thread on `cpu` (its own CPU region is always part of the footprint). */
  start(w: Int32Array, lay: Layout, cpu: number, carried: readonly number[] | null, exact = true): void {
    this.exact = exact;
    this.cpu = cpu;
    this.w = w;
    this.pteArea = lay.pteArea;
    this.cacheArea = lay.cacheArea;
    if (this.globalsFor !== lay.dims.nCpus) {
      this.globals = watchedGlobals(lay.dims.nCpus);
      this.before = new Int32Array(this.globals.length);
      this.globalsFor = lay.dims.nCpus;
      const groups: number[][] = [];
      this.globals.forEach((word, i) => (groups[globalGroup(word)] ??= []).push(i));
      this.groupIdx = groups.map((g) => Int32Array.from(g ?? []));
    }
    this.slots = [];
    this.used = 0;
    if (carried) for (const code of carried) this.slot(code & KIND_MASK, code >> SLOT_BITS);
    this.slot(SLOT.CPU, cpu);
    const g = this.globals;
    const before = this.before;
    for (let i = 0; i < g.length; i++) before[i] = w[g[i]!]!;
  }

  /** The footprint of the step just run; `global` adds what the runtime saw change. */
  finish(global: boolean): Footprint {
    const w = this.w;
    const g = this.globals;
    const before = this.before;
    // A global word changed that the step did not address through gw() (a kernel access
    // without it): the step counts as dependent on every step, as every global write once did.
    let changed = global;
    for (let i = 0; i < g.length && !changed; i++)
      if (w[g[i]!] !== before[i] && !this.slots.includes(SLOT.GLOBAL + (globalGroup(g[i]!) << SLOT_BITS))) changed = true;
    // `slots` is a fresh array per step (start), handed over; writes are found in its recorded
    // order (the copies follow it) before it is sorted.
    if (!this.exact) {
      const slots = sortShort(this.slots);
      return this.shared(slots, slots, changed);
    }
    let writes: number[] | null = null;
    for (let k = 0; k < this.slots.length; k++) if (this.changed(k)) (writes ??= []).push(this.slots[k]!);
    const slots = sortShort(this.slots);
    return this.shared(slots, writes ? sortShort(writes) : EMPTY, changed);
  }

  /**
   * The footprint, or this CPU's previous one when equal: a thread spinning in a retry loop takes
   * the same footprint thousands of times in a run, and each one is kept until the run ends (the
   * decisions hold them), so new objects there are old-generation garbage. Footprints are never
   * changed once made.
   */
  private shared(slots: readonly number[], writes: readonly number[], global: boolean): Footprint {
    const prev = this.lastOf[this.cpu];
    if (prev !== undefined && prev.global === global && sameList(prev.slots, slots) && sameList(prev.writes, writes)) return prev;
    const fp: Footprint = { slots, writes, global };
    this.lastOf[this.cpu] = fp;
    return fp;
  }
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
