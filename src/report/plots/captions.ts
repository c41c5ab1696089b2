// The sentence under each plot, from its data: what the plot shows in numbers (the range across
// series at the largest CPU count, how one series grows, a distribution's median and tail, the
// largest and smallest bar, each series' first and last value).
import type { Point, Series } from './figure.js';
import { cpus } from './format.js';

type Fmt = (v: number) => string;
interface Valued {
  series: string;
  x: number | string;
  y: number;
}

function valued(series: readonly Series[]): Valued[] {
  return series.flatMap((s) =>
    s.points.filter((p): p is Point & { y: number } => p.y !== null && Number.isFinite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
}
const extremes = (vs: readonly Valued[]) => vs.reduce((m, v) => ({ lo: v.y < m.lo.y ? v : m.lo, hi: v.y > m.hi.y ? v : m.hi }), { lo: vs[0]!, hi: vs[0]! });

/** Lines against CPU count: "At 16 CPUs, p99 ranges from A (s1) to B (s2); s0 grows from C at 1 CPU to D at 16 CPUs." */
export function cpuGrowthCaption(series: readonly Series[], what: string, fmt: Fmt): string {
  const vs = valued(series);
  if (!vs.length) return `No ${what} was recorded.`;
  const maxX = Math.max(...vs.map((v) => Number(v.x)));
  const atMax = vs.filter((v) => Number(v.x) === maxX);
  const { lo, hi } = extremes(atMax);
  const parts: string[] = [];
  if (atMax.length > 1 && lo.y !== hi.y) parts.push(`At ${cpus(maxX)}, ${what} ranges from ${fmt(lo.y)} (${lo.series}) to ${fmt(hi.y)} (${hi.series})`);
  else if (atMax.length > 1) parts.push(`At ${cpus(maxX)}, ${what} is ${fmt(lo.y)} for every series`);
  const base = series.find((s) => vs.filter((v) => v.series === s.name).length > 1);
  if (base) {
    const mine = vs.filter((v) => v.series === base.name).sort((a, b) => Number(a.x) - Number(b.x));
    const a = mine[0]!;
    const b = mine[mine.length - 1]!;
    const subject = parts.length ? base.name : `${what} of ${base.name}`;
    const span = (x: Valued) => cpus(Number(x.x));
    if (a.y === b.y) parts.push(`${subject} stays at ${fmt(a.y)} from ${span(a)} to ${span(b)}`);
    else parts.push(`${subject} ${b.y > a.y ? 'grows' : 'falls'} from ${fmt(a.y)} at ${span(a)} to ${fmt(b.y)} at ${span(b)}`);
  } else if (!parts.length) parts.push(`At ${cpus(maxX)}, ${what} is ${fmt(hi.y)} (${hi.series})`);
  return `${cap(parts.join('; '))}.`;
}

/** A cumulative distribution per series (y: fraction of calls at or below x). */
export function cdfCaption(series: readonly Series[], what: string, fmt: Fmt): string {
  const at = (s: Series, q: number) => s.points.find((p) => p.y !== null && Math.abs(p.y - q) < 1e-9)?.x;
  const med = series.map((s) => ({ series: s.name, x: 0, y: Number(at(s, 0.5)) })).filter((v) => Number.isFinite(v.y));
  const tail = series.map((s) => ({ series: s.name, x: 0, y: Number(at(s, 0.99)) })).filter((v) => Number.isFinite(v.y));
  if (!med.length) return `No ${what} was recorded.`;
  const m = extremes(med);
  const t = extremes(tail.length ? tail : med);
  const median =
    med.length > 1
      ? `the median ${what} takes from ${fmt(m.lo.y)} (${m.lo.series}) to ${fmt(m.hi.y)} (${m.hi.series})`
      : `the median ${what} takes ${fmt(m.hi.y)}`;
  return `${median.charAt(0).toUpperCase()}${median.slice(1)}; the slowest 1% take longer than ${fmt(t.hi.y)} under ${t.hi.series}.`;
}

/** Bars: the largest and smallest value, and which series recorded nothing. */
export function barsCaption(series: readonly Series[], what: string, fmt: Fmt): string {
  const vs = valued(series);
  const empty = series.filter((s) => s.points.every((p) => p.y === null)).map((s) => s.name);
  const none = empty.length ? ` Nothing recorded for ${empty.join(', ')}.` : '';
  if (!vs.length) return `No ${what} was recorded.`;
  const { lo, hi } = extremes(vs);
  const one = (v: Valued) => (series.length > 1 ? `${v.x}, ${v.series}` : String(v.x));
  const name = (v: Valued) => {
    const ties = vs.filter((w) => w.y === v.y).length;
    return ties > 1 ? `${one(v)} and ${ties - 1} more` : one(v);
  };
  if (lo.y === hi.y) return `${cap(what)} is ${fmt(lo.y)} in every case.${none}`;
  return `${cap(what)} ranges from ${fmt(lo.y)} (${name(lo)}) to ${fmt(hi.y)} (${name(hi)}).${none}`;
}

/** Lines against a continuous x: each series from its first to its last point. */
export function endsCaption(series: readonly Series[], what: string, fmtX: Fmt, fmt: Fmt): string {
  const vs = valued(series);
  if (!vs.length) return `No ${what} was recorded.`;
  const xs = vs.map((v) => Number(v.x));
  const each = series
    .map((s) => vs.filter((v) => v.series === s.name).sort((a, b) => Number(a.x) - Number(b.x)))
    .filter((m) => m.length)
    .map((m) => `${m[0]!.series} ${fmt(m[0]!.y)} → ${fmt(m[m.length - 1]!.y)}`);
  return `${cap(what)} from ${fmtX(Math.min(...xs))} to ${fmtX(Math.max(...xs))}: ${each.join(', ')}.`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
