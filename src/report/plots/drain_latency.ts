// Figures of a drain-latency study: lru_add_drain_all() p50 and p99 against CPUs per mechanism,
// the latency distribution at the largest CPU count, and drain work per drained CPU.
import { LatencyHistogram } from '../../stats/histogram.js';
import { type StudyDoc, timeBasis } from '../../study/doc.js';
import { barsCaption, cdfCaption, cpuGrowthCaption } from './captions.js';
import type { Figure, Series } from './figure.js';
import { cpus, pow2Ticks, us } from './format.js';

type Cell = StudyDoc['cells'][number];
const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** The parameters besides CPUs and mechanism, as a legend writes them when they vary. */
const OTHER: { key: string; word: (v: string | number) => string; fixed: (v: string | number) => string }[] = [
  { key: 'hog', word: (v) => (v === 'on' ? '+ hog' : ''), fixed: (v) => (v === 'on' ? 'with the hog CPU' : 'no hog CPU') },
  { key: 'occupancy', word: (v) => `occ ${v}`, fixed: (v) => `batches filled to ${v} entries` },
  { key: 'spacingUs', word: (v) => `spacing ${v} µs`, fixed: (v) => `${v} µs between scheduling points` },
  { key: 'load', word: (v) => String(v), fixed: (v) => `${v} CPUs` },
];

function describe(d: StudyDoc) {
  const varies = OTHER.filter((o) => uniq(d.cells.map((c) => c.params[o.key])).length > 1);
  const fixed = OTHER.filter((o) => !varies.includes(o) && d.cells.length).map((o) => o.fixed(d.cells[0]!.params[o.key]!));
  const others = (c: Cell) =>
    varies
      .map((o) => o.word(c.params[o.key]!))
      .filter(Boolean)
      .join(' ');
  const series = (c: Cell) => [String(c.params.mechanism), others(c)].filter(Boolean).join(' ');
  const category = (c: Cell) => [cpus(Number(c.params.cpus)), others(c)].filter(Boolean).join(' ');
  const hogUs = (d.params as { hogUs?: number }).hogUs;
  const hog = varies.some((o) => o.key === 'hog') ? `+ hog: CPU N-1 runs non-preemptible stretches${hogUs ? ` of ${hogUs} µs` : ''}. ` : '';
  const time = timeBasis(d).replace(/^./, (ch) => ch.toUpperCase());
  const targeted = d.cells.some((c) => c.params.mechanism === 'targeted')
    ? " 'targeted' times folio_extract_from_batches() of one folio in place of the drain-all."
    : '';
  const note = `${hog}${time}${fixed.length ? `; ${fixed.join(', ')}` : ''}.${targeted}`;
  return { series, category, note };
}

export function drainLatencyFigures(d: StudyDoc): Figure[] {
  const { series, category, note } = describe(d);
  const byCpus = [...d.cells].sort((a, b) => Number(a.params.cpus) - Number(b.params.cpus));
  const mechs = uniq(d.cells.map((c) => String(c.params.mechanism)));
  const names = mechs.flatMap((m) => uniq(d.cells.filter((c) => c.params.mechanism === m).map(series)));
  const groupOf = (name: string) => String(d.cells.find((c) => series(c) === name)!.params.mechanism);
  const xTicks = pow2Ticks(d.cells.map((c) => Number(c.params.cpus)));
  const pct = (which: 'p50' | 'p99'): Figure => {
    const s: Series[] = names.map((name) => ({
      name,
      group: groupOf(name),
      points: byCpus
        .filter((c) => series(c) === name)
        .map((c) => ({ x: Number(c.params.cpus), y: c.aggregate.drainAllLatencyNs.count ? c.aggregate.drainAllLatencyNs[which] / 1000 : null })),
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
      note,
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
  return [pct('p50'), pct('p99'), cdf, queued];
}
