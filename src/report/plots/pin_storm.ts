// Figures of a pin-storm study (S5 per policy): drain-alls per pin, pin latency p50 and p99, and
// everyone's drain-all p99, each with CPU 5's stretches non-preemptible and preemptible.
import { type StudyDoc, timeBasis } from '../../study/doc.js';
import { barsCaption } from './captions.js';
import type { Figure, Series } from './figure.js';
import { num, us } from './format.js';

type Cell = StudyDoc['cells'][number];
const uniq = <T>(xs: T[]) => [...new Set(xs)];

export function pinStormFigures(d: StudyDoc): Figure[] {
  const cells = d.cells;
  const mechVaries = uniq(cells.map((c) => c.params.mechanism)).length > 1;
  const label = (c: Cell) => `${c.params.policy}${mechVaries || c.params.mechanism !== 'workqueue' ? `, ${c.params.mechanism}` : ''}`;
  const xs = uniq(cells.map(label));
  const hogs = uniq(cells.map((c) => String(c.params.hog)));
  const byHog = (f: (c: Cell) => number | null): Series[] =>
    hogs.map((hog) => ({
      name: hog === 'on' ? 'non-preemptible' : 'preemptible',
      points: xs.flatMap((x) => {
        const c = cells.find((k) => label(k) === x && k.params.hog === hog);
        return c ? [{ x, y: f(c) }] : [];
      }),
    }));
  const time = `${timeBasis(d).replace(/^./, (ch) => ch.toUpperCase())}.`;
  const note = `S5: CPU 5 runs its stretches non-preemptible (an RT task) or as a preemptible delay of the same length. ${time}`;
  const fig = (id: string, title: string, yLabel: string, what: string, missing: string, fmt: (v: number) => string, f: (c: Cell) => number | null): Figure => {
    const series = byHog(f);
    const xLabel = mechVaries ? 'policy, drain mechanism' : 'policy';
    return { id, title, kind: 'bars', xLabel, yLabel, legend: "CPU 5's stretches", series, missing, caption: barsCaption(series, what, fmt), note };
  };
  const p = (h: { count: number; p50: number; p99: number }, which: 'p50' | 'p99') => (h.count ? h[which] / 1000 : null);
  return [
    fig(
      'pin-storm-drains-per-pin',
      'How many lru_add_drain_all() calls does each pin_user_pages() make?',
      'lru_add_drain_all() per pin (calls)',
      'drain-alls per pin',
      'no pins',
      num,
      (c) => c.aggregate.drainsPerPin.all,
    ),
    fig('pin-storm-pin-p50', 'How long does a typical pin_user_pages() take (p50)?', 'pin_user_pages() p50 (µs)', 'pin p50', 'no pins', us, (c) =>
      p(c.aggregate.pinLatencyNs, 'p50'),
    ),
    fig('pin-storm-pin-p99', 'How long do the slowest pin_user_pages() take (p99)?', 'pin_user_pages() p99 (µs)', 'pin p99', 'no pins', us, (c) =>
      p(c.aggregate.pinLatencyNs, 'p99'),
    ),
    fig(
      'pin-storm-drain-p99',
      "How much does one non-preemptible CPU delay everyone's lru_add_drain_all()?",
      'lru_add_drain_all() p99 (µs)',
      'drain-all p99',
      'no drain-all',
      us,
      (c) => p(c.aggregate.drainAllLatencyNs, 'p99'),
    ),
  ];
}
