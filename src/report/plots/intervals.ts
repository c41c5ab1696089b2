// Percentile points with their 95% intervals (src/stats/quantile_ci.ts), for the line plots of
// the timing studies, and the note that says what the bars through them are.
import type { LatencySummary } from '../../stats/histogram.js';
import type { Point } from './figure.js';

/** What the vertical bars through the points are; `what` names the samples (calls, pins). */
export const ciNote = (what: string): string =>
  `Bars: 95% intervals of the percentile (order statistics, no assumption about the distribution); none where the samples cannot bound it (p99 needs 368 ${what} or more).`;

/** A point at the percentile (µs), with its interval where the document has one with both ends; no value for no samples. */
export function withCi(p: Point, h: LatencySummary, which: 'p50' | 'p99'): Point {
  if (!h.count) return p;
  const [lo, hi] = h.ci95?.[which] ?? [null, null];
  return { ...p, y: h[which] / 1000, ...(lo !== null && hi !== null ? { lo: lo / 1000, hi: hi / 1000 } : {}) };
}
