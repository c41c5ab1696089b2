// Latency histograms in nanoseconds: a thin wrapper over hdr-histogram-js (3 significant
// digits, auto-resizing) that also keeps the exact count, sum, min and max, so means and maxima
// are exact and percentiles never exceed the largest value seen. Histograms merge exactly
// (bucket counts add), and encode to a compact string for the JSON results and for shard files.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { quantileRanks } from './quantile_ci.js';

const DIGITS = 3;
const PREFIX = 'h1';

export interface LatencySummary {
  count: number;
  /** Exact mean (ns), 0 when empty. */
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** The whole distribution, LatencyHistogram.encode() (decode() gives it back). */
  hdr: string;
  /**
   * Distribution-free 95% intervals of the median and of p99 (ns; src/stats/quantile_ci.ts). An
   * end that too few samples cannot bound is null (p99 has no upper end below 368 samples).
   * Absent when empty, and from documents written before it existed.
   */
  ci95?: { p50: Interval; p99: Interval };
}

/** [low, high] in ns; null: the samples cannot bound the percentile on that side. */
export type Interval = [number | null, number | null];

/** The percentiles summaries carry intervals for. */
const CI_PERCENTILES = { p50: 0.5, p99: 0.99 } as const;

function fresh(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2048, numberOfSignificantValueDigits: DIGITS, autoResize: true });
}

export class LatencyHistogram {
  private h: Histogram = fresh();
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = 0;

  /** Record one value in ns (rounded to an integer; negatives, which a skewed clock can give, count as 0). */
  record(ns: number): void {
    if (!Number.isFinite(ns)) throw new RangeError(`histogram: value must be finite, got ${ns}`);
    const v = ns <= 0 ? 0 : Math.round(ns);
    this.h.recordValue(v);
    this.n++;
    this.total += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Add every value of `other` to this histogram (exact: bucket counts add). */
  merge(other: LatencyHistogram): this {
    if (other.n === 0) return this;
    this.h.add(other.h);
    this.n += other.n;
    this.total += other.total;
    if (other.lo < this.lo) this.lo = other.lo;
    if (other.hi > this.hi) this.hi = other.hi;
    return this;
  }

  get count(): number {
    return this.n;
  }
  get sum(): number {
    return this.total;
  }
  get mean(): number {
    return this.n === 0 ? 0 : this.total / this.n;
  }
  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }
  get max(): number {
    return this.hi;
  }

  /** Value at percentile `p` (0..100): HDR's bucket bound, capped at the exact max. */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    if (p >= 100) return this.hi;
    return Math.max(this.min, Math.min(this.hi, this.h.getValueAtPercentile(p)));
  }

  /** The value of rank `r` (1-based) among the sorted samples: HDR's bucket bound, capped at the exact min and max. */
  atRank(r: number): number {
    if (this.n === 0) return 0;
    if (r <= 1) return this.min;
    if (r >= this.n) return this.hi;
    // HDR finds the bucket holding the ceil(P/100 n)-th value: P for rank r, kept off r's edge.
    return this.percentile((100 * (r - 0.5)) / this.n);
  }

  /** 95% interval of the `p` quantile (0 < p < 1), distribution-free: [x_(l), x_(u)], null for an open end. */
  quantileCi(p: number): Interval {
    if (this.n === 0) return [null, null];
    const r = quantileRanks(this.n, p);
    return [r.loOpen ? null : this.atRank(r.lo), r.hiOpen ? null : this.atRank(r.hi)];
  }

  summary(): LatencySummary {
    const ci95 = this.n === 0 ? undefined : { p50: this.quantileCi(CI_PERCENTILES.p50), p99: this.quantileCi(CI_PERCENTILES.p99) };
    return {
      count: this.n,
      mean: this.mean,
      min: this.min,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
      hdr: this.encode(),
      ...(ci95 ? { ci95 } : {}),
    };
  }

  /**
   * Compact text form: `h1:<count>:<sum>:<min>:<max>:<HDR compressed base64>`. The exact
   * figures ride along because HDR's own encoding only keeps bucket bounds.
   */
  encode(): string {
    return [PREFIX, this.n, this.total, this.min, this.hi, this.canonicalData()].join(':');
  }

  /**
   * HDR's encoding carries the histogram's current range, which depends on how it auto-resized
   * (record order, merges). Copy into a histogram whose range depends only on the max, so equal
   * distributions encode to equal strings.
   */
  private canonicalData(): string {
    const c = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: Math.max(2048, 2 * this.hi),
      numberOfSignificantValueDigits: DIGITS,
      autoResize: false,
    });
    c.add(this.h);
    return hdr.encodeIntoCompressedBase64(c);
  }

  static decode(s: string): LatencyHistogram {
    const parts = s.split(':');
    const bad = (why: string): never => {
      throw new Error(`histogram: cannot decode '${s.length > 40 ? s.slice(0, 40) + '...' : s}': ${why}`);
    };
    if (parts.length !== 6 || parts[0] !== PREFIX) bad(`expected ${PREFIX}:count:sum:min:max:data`);
    const [n, total, lo, hi] = parts.slice(1, 5).map(Number) as [number, number, number, number];
    for (const x of [n, total, lo, hi]) if (!Number.isSafeInteger(x) || x < 0) bad('count, sum, min and max must be integers >= 0');
    let decoded: Histogram;
    try {
      decoded = hdr.decodeFromCompressedBase64(parts[5]!);
    } catch (e) {
      return bad((e as Error).message);
    }
    if (decoded.totalCount !== n) bad(`count ${n} does not match the data (${decoded.totalCount})`);
    const out = new LatencyHistogram();
    out.h.add(decoded); // into a fresh auto-resizing histogram (decoded ones do not auto-resize)
    out.n = n;
    out.total = total;
    out.lo = n === 0 ? Infinity : lo;
    out.hi = hi;
    return out;
  }

  static fromSummary(s: Pick<LatencySummary, 'hdr'>): LatencyHistogram {
    return LatencyHistogram.decode(s.hdr);
  }
}
