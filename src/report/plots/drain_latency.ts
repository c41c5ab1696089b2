// Figures of a drain-latency study: lru_add_drain_all() p50 and p99 against CPUs per mechanism,
// the latency distribution at the largest CPU count, drain work per drained CPU, and, when the
// number of concurrent callers varies, the latency each caller sees against that number.
import { LatencyHistogram } from '../../stats/histogram.js';
import { type StudyDoc, timeBasis } from '../../study/doc.js';
import { barsCaption, cdfCaption, cpuGrowthCaption, endsCaption } from './captions.js';
import type { Figure, Series } from './figure.js';
import { ciNote, withCi } from './intervals.js';
import type { LatencySummary } from '../../stats/histogram.js';
import { cpus, pow2Ticks, us } from './format.js';

type Cell = StudyDoc['cells'][number];
const uniq = <T>(xs: T[]) => [...new Set(xs)];
/**
 * What the cells of documents from before these parameters ran: one caller, one hog CPU (with
 * hog on), batches refilled once per round, the policy's generation skip (on in every release).
 */
const LATER_DEFAULTS: Record<string, string | number> = { callers: 1, hogs: 1, refill: 'round', genSkip: 'on' };
const raw = (c: Cell, key: string): string | number => c.params[key] ?? LATER_DEFAULTS[key] ?? '';
const callersOf = (c: Cell) => Number(raw(c, 'callers'));
const hogsOf = (c: Cell) => Number(raw(c, 'hogs'));

/** The parameters besides CPUs and mechanism, as a legend writes them when they vary. */
const OTHER: { key: string; word: (v: string | number) => string; fixed: (v: string | number) => string }[] = [
  // The hog and how many CPUs run it, as one value: off, on (one hog CPU), on:k.
  {
    key: 'hog',
    word: (v) => (v === 'off' ? '' : v === 'on' ? '+ hog' : `+ ${String(v).slice(3)} hogs`),
    fixed: (v) => (v === 'off' ? 'no hog CPU' : v === 'on' ? 'with the hog CPU' : `with ${String(v).slice(3)} hog CPUs`),
  },
  { key: 'occupancy', word: (v) => `occ ${v}`, fixed: (v) => `batches filled to ${v} entries` },
  { key: 'spacingUs', word: (v) => `spacing ${v} µs`, fixed: (v) => `${v} µs between scheduling points` },
  { key: 'load', word: (v) => String(v), fixed: (v) => `${v} CPUs` },
  {
    key: 'refill',
    word: (v) => (v === 'continuous' ? 'refilled' : ''),
    fixed: (v) => (v === 'continuous' ? 'a folio put back at every scheduling point' : 'batches refilled once per round'),
  },
  { key: 'callers', word: (v) => `${v} caller${Number(v) === 1 ? '' : 's'}`, fixed: (v) => `${v} caller${Number(v) === 1 ? '' : 's'} per round` },
  {
    key: 'genSkip',
    // The kernel's own behaviour (on) needs no word; legends stay a few words long.
    word: (v) => (v === 'off' ? 'no-skip' : ''),
    fixed: (v) => (v === 'off' ? 'no generation skip' : 'generation skip on'),
  },
];
/**
 * Every call as its caller saw it, generation skips included (with one caller, every call
 * drains); documents from before that histogram have only the calls that drained.
 */
const calls = (c: Cell): LatencySummary => c.aggregate.drainAllCallNs ?? c.aggregate.drainAllLatencyNs;
const CALLS_NOTE = 'Every call as its caller saw it, generation skips included.';

const CI_NOTE = ciNote('calls');

/** A parameter's value, with the defaults of documents written before it existed; 'hog' folds in the number of hog CPUs. */
function param(c: Cell, key: string): string | number {
  if (key === 'hog') return c.params.hog === 'on' && hogsOf(c) > 1 ? `on:${hogsOf(c)}` : String(c.params.hog);
  return raw(c, key);
}

function describe(d: StudyDoc) {
  const varies = OTHER.filter((o) => uniq(d.cells.map((c) => param(c, o.key))).length > 1);
  const fixed = OTHER.filter((o) => !varies.includes(o) && d.cells.length).map((o) => o.fixed(param(d.cells[0]!, o.key)));
  const others = (c: Cell, leave?: string) =>
    varies
      .filter((o) => o.key !== leave)
      .map((o) => o.word(param(c, o.key)))
      .filter(Boolean)
      .join(' ');
  const series = (c: Cell) => [String(c.params.mechanism), others(c)].filter(Boolean).join(' ');
  /** The series of a count's figure: the count is its x axis, not part of the name. */
  const seriesWithout = (c: Cell, leave: string) => [String(c.params.mechanism), others(c, leave)].filter(Boolean).join(' ');
  const category = (c: Cell) => [cpus(Number(c.params.cpus)), others(c)].filter(Boolean).join(' ');
  const hogUs = (d.params as { hogUs?: number }).hogUs;
  const several = d.cells.some((c) => hogsOf(c) > 1);
  const hog = varies.some((o) => o.key === 'hog')
    ? `+ hog: CPU N-1${several ? ' (+ k hogs: the last k CPUs, out of step)' : ''} runs non-preemptible stretches${hogUs ? ` of ${hogUs} µs` : ''}. `
    : '';
  const time = timeBasis(d).replace(/^./, (ch) => ch.toUpperCase());
  const targeted = d.cells.some((c) => c.params.mechanism === 'targeted')
    ? " 'targeted' times folio_extract_from_batches() of one folio in place of the drain-all."
    : '';
  const note = `${hog}${time}${fixed.length ? `; ${fixed.join(', ')}` : ''}.${targeted}`;
  return { series, seriesWithout, category, note };
}

export function drainLatencyFigures(d: StudyDoc): Figure[] {
  const { series, seriesWithout, category, note } = describe(d);
  const byCpus = [...d.cells].sort((a, b) => Number(a.params.cpus) - Number(b.params.cpus));
  const mechs = uniq(d.cells.map((c) => String(c.params.mechanism)));
  const names = mechs.flatMap((m) => uniq(d.cells.filter((c) => c.params.mechanism === m).map(series)));
  const groupOf = (name: string) => String(d.cells.find((c) => series(c) === name)!.params.mechanism);
  const xTicks = pow2Ticks(d.cells.map((c) => Number(c.params.cpus)));
  const pct = (which: 'p50' | 'p99'): Figure => {
    const s: Series[] = names.map((name) => ({
      name,
      group: groupOf(name),
      points: byCpus.filter((c) => series(c) === name).map((c) => withCi({ x: Number(c.params.cpus), y: null }, calls(c), which)),
    }));
    return {
      id: `drain-latency-${which}`,
      title: `How does lru_add_drain_all() ${which === 'p50' ? 'median (p50)' : 'tail (p99)'} latency grow with the CPU count?`,
      kind: 'lines',
      xLabel: 'CPUs (count)',
      yLabel: `lru_add_drain_all() ${which} (µs)`,
      logX: true,
      logY: true,
      xTicks,
      legend: 'drain mechanism',
      series: s,
      caption: cpuGrowthCaption(s, which, us),
      note: `${CALLS_NOTE} ${CI_NOTE} ${note}`,
    };
  };
  const maxCpus = Math.max(...d.cells.map((c) => Number(c.params.cpus)));
  const ps = [0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];
  const cdfSeries: Series[] = names.map((name) => {
    const c = d.cells.find((k) => Number(k.params.cpus) === maxCpus && series(k) === name && calls(k).count > 0);
    const h = c && LatencyHistogram.decode(calls(c).hdr);
    return { name, group: groupOf(name), points: h ? ps.map((p) => ({ x: h.percentile(p) / 1000, y: p / 100 })) : [] };
  });
  const cdf: Figure = {
    id: 'drain-latency-cdf',
    title: `How are lru_add_drain_all() latencies distributed at ${cpus(maxCpus)}?`,
    kind: 'lines',
    xLabel: 'lru_add_drain_all() latency (µs)',
    yLabel: 'calls at or below this latency (%)',
    logX: true,
    yPercent: true,
    legend: 'drain mechanism',
    series: cdfSeries,
    caption: cdfCaption(cdfSeries, 'call', us),
    note: `${CALLS_NOTE} ${note}`,
  };
  // Drain work per drained CPU: one bar per mechanism in each CPU count (and hog, ...) group.
  const groups = uniq(byCpus.map(category));
  const work: Series[] = mechs.map((m) => ({
    name: m,
    points: groups.flatMap((g) => {
      const c = d.cells.find((k) => category(k) === g && k.params.mechanism === m);
      if (!c) return [];
      const runs = c.aggregate.stats.DRAIN_WORK_RUN ?? 0;
      return [{ x: g, y: runs ? (c.aggregate.stats.DRAIN_WORK_NS ?? 0) / runs / 1000 : null }];
    }),
  }));
  const untimed =
    d.mode === 'deterministic' && work.every((s) => s.points.every((p) => !p.y)) ? ' In logical time the drain work itself takes no time: every bar is 0.' : '';
  const queued: Figure = {
    id: 'drain-cpus-queued',
    title: 'How long does each drained CPU spend on drain work?',
    kind: 'bars',
    xLabel: 'CPUs in the sweep cell',
    yLabel: 'mean drain work per drained CPU (µs)',
    legend: 'drain mechanism',
    series: work,
    missing: 'no drain work',
    caption: barsCaption(work, 'drain work per drained CPU', us),
    note: `Drain work: the time one CPU's batches take to drain (DRAIN_WORK_NS / DRAIN_WORK_RUN).${untimed} ${note}`,
  };
  return [pct('p50'), pct('p99'), cdf, queued, ...countFigures(d, seriesWithout, maxCpus, note)];
}

/** A count the sweep varies that gets its own plot: x is the count, at the largest CPU count. */
interface CountDimension {
  id: string;
  /** The legend word it would add (OTHER's key), left out of its own plot's series names. */
  key: string;
  /** The caption's name for the y value. */
  what: string;
  /** The cells it applies to, and the count of each. */
  applies: (c: Cell) => boolean;
  count: (c: Cell) => number;
  title: string;
  xLabel: string;
  yLabel: string;
  /** Caption's name for an x value. */
  xWord: (n: number) => string;
  latency: (c: Cell) => LatencySummary | undefined;
  note: (cells: readonly Cell[]) => string;
}

const DIMENSIONS: CountDimension[] = [
  {
    // The drain storm: each call's latency as its caller sees it (a skipped call returned after its wait for the mutex).
    id: 'drain-callers-p99',
    key: 'callers',
    what: 'call p99',
    applies: (c) => c.aggregate.drainAllCallNs !== undefined,
    count: callersOf,
    title: 'What does each caller wait when several CPUs call lru_add_drain_all() at once',
    xLabel: 'CPUs calling lru_add_drain_all() in each round (count)',
    yLabel: 'call latency p99, generation skips included (µs)',
    xWord: (n) => `${n} caller${n === 1 ? '' : 's'}`,
    latency: (c) => c.aggregate.drainAllCallNs,
    note: (cells) =>
      `no-skip: every caller drains in turn (drainGenSkip off, as before v5.8). A call skipped by the generation check (eef1a429f234) returns after its wait for the drain mutex; up to ${Math.round(100 * Math.max(0, ...cells.map((c) => c.aggregate.genSkipsPerDrainAll ?? 0)))}% of a cell's calls were skipped.`,
  },
  {
    // Isolated CPUs running RT work: the drain waits for the latest of their stretches to end.
    id: 'drain-hogs-p99',
    key: 'hog',
    what: 'p99',
    applies: (c) => c.params.hog === 'on',
    count: hogsOf,
    title: 'How does lru_add_drain_all() slow down as more CPUs run non-preemptible stretches',
    xLabel: 'CPUs running non-preemptible stretches (count)',
    yLabel: 'lru_add_drain_all() p99 (µs)',
    xWord: (n) => `${n} hog CPU${n === 1 ? '' : 's'}`,
    latency: calls,
    note: () => 'The hogs are the last CPUs, each starting at a seeded random point of its stretches (one hog: as it refills).',
  },
];

/** One plot per count the sweep varies (callers, hog CPUs): p99 against it, a line per mechanism (and what else varies). */
function countFigures(d: StudyDoc, seriesOf: (c: Cell, leave: string) => string, maxCpus: number, note: string): Figure[] {
  const out: Figure[] = [];
  for (const dim of DIMENSIONS) {
    const cells = d.cells.filter((c) => Number(c.params.cpus) === maxCpus && dim.applies(c));
    const counts = uniq(cells.map(dim.count));
    if (counts.length < 2) continue;
    const nameOf = (c: Cell) => seriesOf(c, dim.key);
    const names = uniq(cells.map(nameOf));
    const s: Series[] = names.map((name) => ({
      name,
      group: String(cells.find((c) => nameOf(c) === name)!.params.mechanism),
      points: cells
        .filter((c) => nameOf(c) === name)
        .sort((a, b) => dim.count(a) - dim.count(b))
        .map((c) => withCi({ x: dim.count(c), y: null }, dim.latency(c)!, 'p99')),
    }));
    out.push({
      id: dim.id,
      title: `${dim.title} (${cpus(maxCpus)})?`,
      kind: 'lines',
      xLabel: dim.xLabel,
      yLabel: dim.yLabel,
      logX: true,
      logY: true,
      xTicks: pow2Ticks(counts),
      legend: 'drain mechanism',
      series: s,
      caption: endsCaption(s, dim.what, dim.xWord, us),
      note: `${CI_NOTE} ${dim.note(cells)} ${note}`,
    });
  }
  return out;
}
