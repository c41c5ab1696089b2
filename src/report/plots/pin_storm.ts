// Figures of a pin-storm study (S5 per policy): drain-alls per pin, pin latency p50 and p99, and
// everyone's drain-all p99, each with the hog CPU's stretches non-preemptible and preemptible;
// where the sweep scales S5 (more CPUs, pinners, faulters), those at its largest scale, and pin
// p99 against each scale dimension that varies (where two of its values share the other dimensions).
import { type StudyDoc, timeBasis } from '../../study/doc.js';
import { S5_SCALE } from '../../study/pin_storm_scale.js';
import { barsCaption, endsCaption } from './captions.js';
import type { Figure, Series } from './figure.js';
import { cpus, num, pow2Ticks, us } from './format.js';
import { ciNote, withCi } from './intervals.js';

type Cell = StudyDoc['cells'][number];
const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** The scale dimensions: a cell's value (S5's where a document has none) and how a plot names it. */
const SCALE = [
  { key: 'cpus', s5: S5_SCALE.cpus, word: cpus, xLabel: 'CPUs (count)', title: 'as the machine grows' },
  {
    key: 'pinners',
    s5: S5_SCALE.pinners,
    word: (n: number) => `${n} pinner${n === 1 ? '' : 's'}`,
    xLabel: 'vCPU threads pinning at once (count)',
    title: 'as more vCPUs pin at once',
  },
  {
    key: 'faulters',
    s5: S5_SCALE.faulters,
    word: (n: number) => `${n} faulter${n === 1 ? '' : 's'}`,
    xLabel: 'CPUs faulting anonymous pages (count)',
    title: 'as more CPUs keep their lru_add batch busy',
  },
] as const;
type ScaleKey = (typeof SCALE)[number]['key'];
const scaleOf = (c: Cell, key: ScaleKey): number => Number(c.params[key] ?? SCALE.find((s) => s.key === key)!.s5);

/** The largest scale of the sweep (most CPUs, then pinners, then faulters), which the bar charts show. */
function largest(cells: readonly Cell[]): Record<ScaleKey, number> {
  const order = (c: Cell) => SCALE.map((s) => scaleOf(c, s.key));
  const top = [...cells].sort((a, b) => {
    const x = order(a);
    const y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
    return 0;
  })[0];
  return {
    cpus: top ? scaleOf(top, 'cpus') : S5_SCALE.cpus,
    pinners: top ? scaleOf(top, 'pinners') : S5_SCALE.pinners,
    faulters: top ? scaleOf(top, 'faulters') : S5_SCALE.faulters,
  };
}

export function pinStormFigures(d: StudyDoc): Figure[] {
  const all = d.cells;
  const mechVaries = uniq(all.map((c) => c.params.mechanism)).length > 1;
  const label = (c: Cell) => `${c.params.policy}${mechVaries || c.params.mechanism !== 'workqueue' ? `, ${c.params.mechanism}` : ''}`;
  const varies = SCALE.filter((s) => uniq(all.map((c) => scaleOf(c, s.key))).length > 1);
  const top = largest(all);
  const atTop = (c: Cell) => SCALE.every((s) => scaleOf(c, s.key) === top[s.key]);
  // The bars: S5 itself, or the sweep's largest scale when it scales S5.
  const cells = all.filter((c) => atTop(c));
  const scaled = top.cpus !== S5_SCALE.cpus || top.pinners !== S5_SCALE.pinners || top.faulters !== S5_SCALE.faulters;
  const scaleWords = `${cpus(top.cpus)}, ${SCALE[1].word(top.pinners)}, ${SCALE[2].word(top.faulters)}`;
  const at = scaled || varies.length ? ` (${scaleWords})` : '';
  const xs = uniq(cells.map(label));
  const hogs = uniq(all.map((c) => String(c.params.hog)));
  const hogName = (hog: string) => (hog === 'on' ? 'non-preemptible' : 'preemptible');
  const byHog = (f: (c: Cell) => number | null): Series[] =>
    hogs.map((hog) => ({
      name: hogName(hog),
      points: xs.flatMap((x) => {
        const c = cells.find((k) => label(k) === x && k.params.hog === hog);
        return c ? [{ x, y: f(c) }] : [];
      }),
    }));
  const time = `${timeBasis(d).replace(/^./, (ch) => ch.toUpperCase())}.`;
  const hogCpu = scaled || varies.length ? "the hog CPU (S5's CPU 5; CPU pinners + 1 when scaled)" : 'CPU 5';
  const note = `S5${scaled ? ' scaled' : ''}: ${hogCpu} runs its stretches non-preemptible (an RT task) or as a preemptible delay of the same length. ${time}`;
  const fig = (id: string, title: string, yLabel: string, what: string, missing: string, fmt: (v: number) => string, f: (c: Cell) => number | null): Figure => {
    const series = byHog(f);
    const xLabel = mechVaries ? 'policy, drain mechanism' : 'policy';
    return {
      id,
      title: `${title}${at}?`,
      kind: 'bars',
      xLabel,
      yLabel,
      legend: "the hog CPU's stretches",
      series,
      missing,
      caption: barsCaption(series, what, fmt),
      note,
    };
  };
  const p = (h: { count: number; p50: number; p99: number }, which: 'p50' | 'p99') => (h.count ? h[which] / 1000 : null);
  return [
    fig(
      'pin-storm-drains-per-pin',
      'How many lru_add_drain_all() calls does each pin_user_pages() make',
      'lru_add_drain_all() per pin (calls)',
      'drain-alls per pin',
      'no pins',
      num,
      (c) => c.aggregate.drainsPerPin.all,
    ),
    fig('pin-storm-pin-p50', 'How long does a typical pin_user_pages() take (p50)', 'pin_user_pages() p50 (µs)', 'pin p50', 'no pins', us, (c) =>
      p(c.aggregate.pinLatencyNs, 'p50'),
    ),
    fig('pin-storm-pin-p99', 'How long do the slowest pin_user_pages() take (p99)', 'pin_user_pages() p99 (µs)', 'pin p99', 'no pins', us, (c) =>
      p(c.aggregate.pinLatencyNs, 'p99'),
    ),
    fig(
      'pin-storm-drain-p99',
      "How much does one non-preemptible CPU delay everyone's lru_add_drain_all()",
      'lru_add_drain_all() p99 (µs)',
      'drain-all p99',
      'no drain-all',
      us,
      (c) => p(c.aggregate.drainAllLatencyNs, 'p99'),
    ),
    ...varies.flatMap((dim) => scaleFigure(d, dim, label, hogName, note) ?? []),
  ];
}

/**
 * The cells of one line figure: those whose other scale dimensions take the values that give the
 * most points along `dim` (a sweep's largest combination may fit only its largest count), ties
 * going to the larger values.
 */
function lineCells(cells: readonly Cell[], dim: ScaleKey): Cell[] {
  const others = SCALE.filter((s) => s.key !== dim);
  const groups = new Map<string, { at: number[]; cells: Cell[] }>();
  for (const c of cells) {
    const at = others.map((s) => scaleOf(c, s.key));
    const k = at.join('/');
    const g = groups.get(k) ?? { at, cells: [] };
    g.cells.push(c);
    groups.set(k, g);
  }
  const points = (g: { cells: Cell[] }) => uniq(g.cells.map((c) => scaleOf(c, dim))).length;
  const larger = (x: number[], y: number[]) => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
    return false;
  };
  let best: { at: number[]; cells: Cell[] } | undefined;
  for (const g of groups.values()) if (!best || points(g) > points(best) || (points(g) === points(best) && larger(g.at, best.at))) best = g;
  return best?.cells ?? [];
}

/** Pin p99 against one scale dimension, the others held where it has most points (lineCells): a line per policy (and hog); null with one point. */
function scaleFigure(d: StudyDoc, dim: (typeof SCALE)[number], label: (c: Cell) => string, hogName: (hog: string) => string, note: string): Figure | null {
  const cells = lineCells(d.cells, dim.key);
  const hogVaries = uniq(cells.map((c) => String(c.params.hog))).length > 1;
  const nameOf = (c: Cell) => `${label(c)}${hogVaries ? `, ${hogName(String(c.params.hog))}` : ''}`;
  const counts = uniq(cells.map((c) => scaleOf(c, dim.key)));
  if (counts.length < 2) return null; // no combination has two points along it
  // Faulters may be 0, which a log axis cannot draw: a linear axis then, ticked at the counts.
  const logX = Math.min(...counts) > 0;
  const series: Series[] = uniq(cells.map(nameOf)).map((name) => ({
    name,
    group: String(cells.find((c) => nameOf(c) === name)!.params.policy),
    points: cells
      .filter((c) => nameOf(c) === name)
      .sort((a, b) => scaleOf(a, dim.key) - scaleOf(b, dim.key))
      .map((c) => withCi({ x: scaleOf(c, dim.key), y: null }, c.aggregate.pinLatencyNs, 'p99')),
  }));
  const others = SCALE.filter((s) => s.key !== dim.key)
    .map((s) => s.word(scaleOf(cells[0]!, s.key)))
    .join(', ');
  return {
    id: `pin-storm-${dim.key}-p99`,
    title: `How do the slowest pin_user_pages() grow ${dim.title} (${others})?`,
    kind: 'lines',
    xLabel: dim.xLabel,
    yLabel: 'pin_user_pages() p99 (µs)',
    logX,
    logY: true,
    xTicks: logX ? pow2Ticks(counts) : [...counts].sort((a, b) => a - b),
    legend: hogVaries ? "policy, the hog CPU's stretches" : 'policy',
    series,
    caption: endsCaption(series, 'pin p99', dim.word, us),
    note: `${ciNote('pins')} ${note}`,
  };
}
