// Schedules: the sequence of decisions the deterministic runtime made, one per scheduling
// decision: which CPU advanced, and whether it ran its task (the CPU's script) or its kworker
// (pending drain work). The compact string is run-length encoded, tokens joined by '-':
//   `7x3-3x12-7w-3x4`  = CPU 7's task 3 steps, CPU 3's task 12, CPU 7's kworker once, CPU 3 four.
import type { Footprint } from './footprint.js';

/** A thread of the model: a CPU's task (its script) or that CPU's kworker. */
export interface Thread {
  cpu: number;
  kw: boolean;
}

export const threadId = (t: Thread): number => t.cpu * 2 + (t.kw ? 1 : 0);
export const sameThread = (a: Thread | null, b: Thread | null): boolean => !!a && !!b && a.cpu === b.cpu && a.kw === b.kw;
export const threadName = (t: Thread): string => `CPU ${t.cpu}${t.kw ? ' kworker' : ''}`;

/** Run-length encode a decision list. */
export function encodeSchedule(ds: readonly Thread[]): string {
  const out: string[] = [];
  for (let i = 0; i < ds.length; ) {
    let j = i + 1;
    while (j < ds.length && sameThread(ds[i]!, ds[j]!)) j++;
    const t = ds[i]!;
    out.push(`${t.cpu}${t.kw ? 'w' : ''}${j - i > 1 ? `x${j - i}` : ''}`);
    i = j;
  }
  return out.join('-');
}

const TOKEN = /^(\d{1,2})(w?)(?:x(\d{1,7}))?$/;

/** Parse a schedule string (throws RangeError naming the bad token: a usage error on the CLI). */
export function decodeSchedule(s: string): Thread[] {
  const out: Thread[] = [];
  const text = s.trim();
  if (text === '') return out;
  for (const tok of text.split('-')) {
    const m = TOKEN.exec(tok.trim());
    if (!m) throw new RangeError(`schedule: bad token '${tok}' (expected <cpu>[w][x<count>], e.g. 7x3 or 3w)`);
    const n = m[3] === undefined ? 1 : Number(m[3]);
    if (n < 1) throw new RangeError(`schedule: bad count in '${tok}'`);
    for (let k = 0; k < n; k++) out.push({ cpu: Number(m[1]), kw: m[2] === 'w' });
  }
  return out;
}

/** One recorded decision with what it did (for the per-CPU timeline). */
export interface DecisionRecord extends Thread {
  /** The previous thread could have continued and another one was picked. */
  preempt: boolean;
  /** The choice is what the non-preemptive default would have picked (see scheduler.ts defaultPick). */
  dflt: boolean;
  /** Script step index the task was in after the step (-1 for kworker turns). */
  step: number;
  /** Yield point the task stopped at (YP number), or -1 when its script ended / kworker turn. */
  yp: number;
  /** What a task that stopped at the `blocked` point waits for (mutex, flush_work, ...). */
  why?: string;
  /** Logical time at the decision (ns). */
  t: number;
  /** What the step touched (exhaustive search with partial-order reduction only). */
  fp?: Footprint;
}

export function countPreemptions(ds: readonly DecisionRecord[]): number {
  let n = 0;
  for (let i = 0; i < ds.length; i++) if (ds[i]!.preempt) n++;
  return n;
}

/**
 * The explicit part of a schedule: the decisions up to the last one that differs from the
 * non-preemptive default. Replaying it (then the default) gives the same execution.
 */
export function explicitPrefix(ds: readonly DecisionRecord[]): Thread[] {
  let end = 0;
  for (let i = 0; i < ds.length; i++) if (!ds[i]!.dflt) end = i + 1;
  return ds.slice(0, end).map((d) => ({ cpu: d.cpu, kw: d.kw }));
}
