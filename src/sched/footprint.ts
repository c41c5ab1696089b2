// What one scheduling step touched, for partial-order reduction in `explore` (sleep sets):
// two steps of different threads commute when neither changed a global word and they touched
// no common slot (folio, CPU region, VMA with its PTEs, object with its page-cache slots).
// Touching is counted as reading and writing (conservative); globals (locks, cursors, the drain
// generation and mutex) are compared before and after the step, so a lock taken and released
// inside one step — which no other thread can observe, a step being atomic — is no write, while
// a cursor moved or a lock left held is. Anything else a step does to state outside the kernel
// memory (a sleep or hog, a named signal, a fork child published, a crash) marks it global too.
import { G, SLOT, type SlotWatch, WAITER_WORDS } from '../mm/layout.js';

export interface Footprint {
  /** Slots touched, encoded kind + 4 * id (SLOT kinds), sorted, no duplicates. */
  slots: readonly number[];
  /** Changed a global word or runtime state other threads see: dependent on every step. */
  global: boolean;
}

/** Do two steps (of different threads) commute? */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.global || b.global) return false;
  const x = a.slots;
  const y = b.slots;
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) return false;
    if (x[i]! < y[j]!) i++;
    else j++;
  }
  return true;
}

/**
 * The global words kernel code uses (layout.ts G), with the waiter bitmaps that follow two of
 * them; the trial bookkeeping words are the runtime's, not the kernel's.
 */
const WATCHED_GLOBALS: readonly number[] = (() => {
  const ignored = new Set<number>([G.TRIAL_GEN, G.TRIAL_DONE, G.TRIAL_STOP]);
  const words = new Set<number>();
  for (const v of Object.values(G)) if (!ignored.has(v)) words.add(v);
  for (const wait of [G.DRAIN_MUTEX_WAITERS, G.LOCK_WAITERS]) for (let k = 0; k < WAITER_WORDS; k++) words.add(wait + k);
  return [...words].sort((a, b) => a - b);
})();

/** Collects one step's footprint: install as the slot watch, run the step, then `finish`. */
export class FootprintRecorder implements SlotWatch {
  // A step touches a handful of slots: a small array searched linearly beats a Set here.
  private slots: number[] = [];
  private readonly before = new Int32Array(WATCHED_GLOBALS.length);
  private w: Int32Array | null = null;

  slot(kind: number, id: number): void {
    const code = kind + 4 * id;
    const s = this.slots;
    for (let i = s.length - 1; i >= 0; i--) if (s[i] === code) return;
    s.push(code);
  }

  /** Start a step of a thread on `cpu` (its own CPU region is always part of the footprint). */
  start(w: Int32Array, cpu: number, carried: readonly number[] | null): void {
    this.w = w;
    this.slots = carried ? carried.slice() : [];
    this.slot(SLOT.CPU, cpu);
    const before = this.before;
    for (let i = 0; i < WATCHED_GLOBALS.length; i++) before[i] = w[WATCHED_GLOBALS[i]!]!;
  }

  /** The footprint of the step just run; `global` adds what the runtime saw change. */
  finish(global: boolean): Footprint {
    const w = this.w!;
    const before = this.before;
    let changed = global;
    for (let i = 0; i < WATCHED_GLOBALS.length && !changed; i++) if (w[WATCHED_GLOBALS[i]!] !== before[i]) changed = true;
    return { slots: this.slots.sort((a, b) => a - b), global: changed };
  }
}
