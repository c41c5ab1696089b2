// Figures of a drain-latency study: lru_add_drain_all() p50 and p99 against CPUs per mechanism,
// the latency distribution at the largest CPU count, drain work per drained CPU, and, when the
// number of concurrent callers varies, the latency each caller sees against that number.
import { LatencyHistogram } from '../../stats/histogram.js';
import { type StudyDoc, timeBasis } from '../../study/doc.js';
import { barsCaption, cdfCaption, cpuGrowthCaption, endsCaption } from './captions.js';
import type { Figure, Point, Series } from './figure.js';
import type { LatencySummary } from '../../stats/histogram.js';
import { cpus, pow2Ticks, us } from './format.js';

type Cell = StudyDoc['cells'][number];
const uniq = <T>(xs: T[]) => [...new Set(xs)];
/** Cells of documents from before `--callers` had one caller and the policy's generation skip (on in every release). */
const callersOf = (c: Cell) => Number(c.params.callers ?? 1);

/** The parameters besides CPUs and mechanism, as a legend writes them when they vary. */
const OTHER: { key: string; word: (v: string | number) => string; fixed: (v: string | number) => string }[] = [
  { key: 'hog', word: (v) => (v === 'on' ? '+ hog' : ''), fixed: (v) => (v === 'on' ? 'with the hog CPU' : 'no hog CPU') },
  { key: 'occupancy', word: (v) => `occ ${v}`, fixed: (v) => `batches filled to ${v} entries` },
  { key: 'spacingUs', word: (v) => `spacing ${v} µs`, fixed: (v) => `${v} µs between scheduling points` },
  { key: 'load', word: (v) => String(v), fixed: (v) => `${v} CPUs` },
  { key: 'callers', word: (v) => `${v} caller${Number(v) === 1 ? '' : 's'}`, fixed: (v) => `${v} caller${Number(v) === 1 ? '' : 's'} per round` },
  {
    key: 'genSkip',
    // The kernel's own behaviour (on) needs no word; legends stay a few words long.
    word: (v) => (v === 'off' ? 'no-skip' : ''),
    fixed: (v) => (v === 'off' ? 'no generation skip' : 'generation skip on'),
  },
];
/** What the vertical bars through the points are. */
const CI_NOTE =
  'Bars: 95% intervals of the percentile (order statistics, no assumption about the distribution; an end at the sample extreme where too few samples bound it).';

/** A point at the percentile (µs), with its interval where the document has one; no value for no samples. */
function withCi(p: Point, h: LatencySummary, which: 'p50' | 'p99'): Point {
  if (!h.count) return p;
  const ci = h.ci95?.[which];
  return { ...p, y: h[which] / 1000, ...(ci ? { lo: ci[0] / 1000, hi: ci[1] / 1000 } : {}) };
}

/** A parameter's value, with the defaults of documents written before it existed. */
const param = (c: Cell, key: string): string | number => c.params[key] ?? (key === 'callers' ? 1 : key === 'genSkip' ? 'on' : '');

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
  /** The series of the callers figure: callers are its x axis, not part of the name. */
  const bySeriesNotCallers = (c: Cell) => [String(c.params.mechanism), others(c, 'callers')].filter(Boolean).join(' ');
  const category = (c: Cell) => [cpus(Number(c.params.cpus)), others(c)].filter(Boolean).join(' ');
  const hogUs = (d.params as { hogUs?: number }).hogUs;
  const hog = varies.some((o) => o.key === 'hog') ? `+ hog: CPU N-1 runs non-preemptible stretches${hogUs ? ` of ${hogUs} µs` : ''}. ` : '';
  const time = timeBasis(d).replace(/^./, (ch) => ch.toUpperCase());
  const targeted = d.cells.some((c) => c.params.mechanism === 'targeted')
    ? " 'targeted' times folio_extract_from_batches() of one folio in place of the drain-all."
    : '';
  const note = `${hog}${time}${fixed.length ? `; ${fixed.join(', ')}` : ''}.${targeted}`;
  return { series, bySeriesNotCallers, category, note };
}

export function drainLatencyFigures(d: StudyDoc): Figure[] {
  const { series, bySeriesNotCallers, category, note } = describe(d);
  const byCpus = [...d.cells].sort((a, b) => Number(a.params.cpus) - Number(b.params.cpus));
  const mechs = uniq(d.cells.map((c) => String(c.params.mechanism)));
  const names = mechs.flatMap((m) => uniq(d.cells.filter((c) => c.params.mechanism === m).map(series)));
  const groupOf = (name: string) => String(d.cells.find((c) => series(c) === name)!.params.mechanism);
  const xTicks = pow2Ticks(d.cells.map((c) => Number(c.params.cpus)));
  const pct = (which: 'p50' | 'p99'): Figure => {
    const s: Series[] = names.map((name) => ({
      name,
      group: groupOf(name),
      points: byCpus.filter((c) => series(c) === name).map((c) => withCi({ x: Number(c.params.cpus), y: null }, c.aggregate.drainAllLatencyNs, which)),
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
      note: `${CI_NOTE} ${note}`,
    };
  };
  const maxCpus = Math.max(...d.cells.map((c) => Number(c.params.cpus)));
  const ps = [0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];
  const cdfSeries: Series[] = names.map((name) => {
    const c = d.cells.find((k) => Number(k.params.cpus) === maxCpus && series(k) === name && k.aggregate.drainAllLatencyNs.count > 0);
    const h = c && LatencyHistogram.decode(c.aggregate.drainAllLatencyNs.hdr);
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
    note,
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
  const figs = [pct('p50'), pct('p99'), cdf, queued];
  const storm = callersFigure(d, bySeriesNotCallers, maxCpus, note);
  return storm ? [...figs, storm] : figs;
}

/**
 * When the number of concurrent callers varies: each call's latency as its caller sees it
 * (generation skips included: a skipped call returned after its wait for the mutex), p99 against
 * the callers, at the largest CPU count, one line per mechanism (and generation skip, ...).
 */
function callersFigure(d: StudyDoc, seriesOf: (c: Cell) => string, maxCpus: number, note: string): Figure | null {
  const cells = d.cells.filter((c) => Number(c.params.cpus) === maxCpus && c.aggregate.drainAllCallNs);
  const counts = uniq(cells.map(callersOf));
  if (counts.length < 2) return null;
  const names = uniq(cells.map(seriesOf));
  const s: Series[] = names.map((name) => ({
    name,
    group: String(cells.find((c) => seriesOf(c) === name)!.params.mechanism),
    points: cells
      .filter((c) => seriesOf(c) === name)
      .sort((a, b) => callersOf(a) - callersOf(b))
      .map((c) => withCi({ x: callersOf(c), y: null }, c.aggregate.drainAllCallNs!, 'p99')),
  }));
  const skips = cells.map((c) => c.aggregate.genSkipsPerDrainAll ?? 0);
  return {
    id: 'drain-callers-p99',
    title: `What does each caller wait when several CPUs call lru_add_drain_all() at once (${cpus(maxCpus)})?`,
    kind: 'lines',
    xLabel: 'CPUs calling lru_add_drain_all() in each round (count)',
    yLabel: 'call latency p99, generation skips included (µs)',
    logX: true,
    logY: true,
    xTicks: pow2Ticks(counts),
    legend: 'drain mechanism',
    series: s,
    caption: endsCaption(s, 'call p99', (n) => `${n} caller${n === 1 ? '' : 's'}`, us),
    note: `${CI_NOTE} no-skip: every caller drains in turn (drainGenSkip off, as before v5.8). A call skipped by the generation check (eef1a429f234) returns after its wait for the drain mutex; up to ${Math.round(100 * Math.max(...skips))}% of a cell's calls were skipped. ${note}`,
  };
}
