// A schedule as a per-CPU timeline a kernel developer can read: one row per stretch of steps of
// one thread, in that CPU's column: which script ops it ran and the scheduling point (spec §8)
// where it stopped; a kworker turn is the drain work (lru_add_drain_per_cpu) it ran. Rows where
// a thread was switched away from while it could have continued are marked as preemptions.
import { YP_NAMES } from '../mm/context.js';
import type { Step } from '../job/job.js';
import type { DecisionRecord } from './schedule.js';
import { schedulerClock } from '../runtime/tick.js';

const COL = 44;

export function formatTimeline(ds: readonly DecisionRecord[], stepsOf: (cpu: number) => readonly Step[]): string[] {
  const cpus = [...new Set(ds.map((d) => d.cpu))].sort((a, b) => a - b);
  const col = new Map(cpus.map((c, i) => [c, i]));
  const head = `${'decisions'.padEnd(11)} ${'time(us)'.padStart(8)}  ${cpus.map((c) => `CPU ${c}`.padEnd(COL)).join('')}`.trimEnd();
  const lines = [head];
  const lastStep = new Map<number, number>(); // where each CPU's task was
  const opName = (cpu: number, i: number) => stepsOf(cpu).find((s) => s.index === i)?.op ?? `step ${i}`;
  for (let i = 0; i < ds.length; ) {
    let j = i + 1;
    while (j < ds.length && ds[j]!.cpu === ds[i]!.cpu && ds[j]!.kw === ds[i]!.kw && !ds[j]!.preempt) j++;
    const d = ds[i]!;
    const end = ds[j - 1]!;
    let text: string;
    if (d.kw) {
      text = `kworker: drain work${j - i > 1 ? ` x${j - i}` : ''}`;
    } else {
      const from = lastStep.get(d.cpu) ?? 0;
      const to = end.step;
      const ops = from === to ? `#${from} ${opName(d.cpu, from)}` : `#${from}-#${to} ${opName(d.cpu, from)}..${opName(d.cpu, to)}`;
      const stop = end.yp < 0 ? 'script done' : `${YP_NAMES[end.yp] ?? `yp ${end.yp}`}${end.why ? ` (${end.why})` : ''}`;
      text = `${ops} -> ${stop}`;
      lastStep.set(d.cpu, to);
    }
    if (d.preempt) text = `* ${text}`;
    const range = j - i > 1 ? `${i + 1}-${j}` : `${i + 1}`;
    const pad = ' '.repeat(COL * col.get(d.cpu)!);
    lines.push(`${range.padEnd(11)} ${(d.t / 1000).toFixed(1).padStart(8)}  ${pad}${text}`.trimEnd());
    i = j;
  }
  lines.push('(* = preemption: the previous thread could have continued; "-> x" = the scheduling point where the CPU stopped)');
  lines.push(`(time = ${schedulerClock()}; with --timeless delays and hogs add none)`);
  return lines;
}
