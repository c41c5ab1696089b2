// Figure of a race-window study (S1 per policy): pin failure rate against the race window's
// length, with 95% Wilson intervals.
import type { StudyDoc } from '../../study/doc.js';
import { endsCaption } from './captions.js';
import type { Figure, Series } from './figure.js';
import { percent, us } from './format.js';

export function raceWindowFigures(d: StudyDoc): Figure[] {
  const pols = [...new Set(d.cells.map((c) => String(c.params.policy)))];
  const series: Series[] = pols.map((p) => ({
    name: p,
    points: d.cells
      .filter((c) => c.params.policy === p)
      .sort((a, b) => Number(a.params.windowUs) - Number(b.params.windowUs))
      .map((c) => ({ x: Number(c.params.windowUs), y: c.aggregate.rate, lo: c.aggregate.ci95[0], hi: c.aggregate.ci95[1] })),
  }));
  const trials = [...new Set(d.cells.map((c) => c.aggregate.trials))];
  return [
    {
      id: 'race-window-failure-rate',
      title: 'How does the pin failure rate depend on the race-window length?',
      kind: 'lines',
      xLabel: 'race window: CPU 7 delay (µs)',
      yLabel: 'pin failure rate (%)',
      yPercent: true,
      legend: 'policy',
      series,
      caption: endsCaption(series, 'failure rate', us, percent),
      note: `S1, ${trials.join(' or ')} trials per point; vertical lines: 95% Wilson intervals.`,
    },
  ];
}
