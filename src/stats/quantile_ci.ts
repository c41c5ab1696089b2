// Distribution-free 95% intervals for a percentile (p50, p99 of drain latencies): the order
// statistics x_(l) <= x_(u) of the n samples, with ranks from the binomial count of samples below
// the true quantile (Hahn & Meeker, Statistical Intervals, 2nd ed., §5.3). Nothing is assumed
// about the latency distribution, which is skewed and often multimodal here. Written out rather
// than taken from @stdlib/stats-base-dists-binomial-quantile, which brings 221 packages (25 MB).

/** Terms of the binomial pmf smaller than this, relative to the mode's, are left out of the sums. */
const NEGLIGIBLE = 1e-30;

/**
 * Smallest k in 0..n with P(Bin(n, p) <= k) >= q (0 < q < 1), exactly. The pmf is summed over the
 * window around the mode where it is not negligible, each term from its neighbour's ratio
 * (pmf(k+1)/pmf(k) = (n-k)/(k+1) p/(1-p)) starting from 1 at the mode: no term underflows, and
 * the work grows with sqrt(n), not n (a few thousand terms for a million samples).
 */
export function binomialQuantile(q: number, n: number, p: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`binomialQuantile: q must be in (0, 1), got ${q}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomialQuantile: n must be an integer >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0 || n === 0) return 0;
  if (p === 1) return n;
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const odds = p / (1 - p);
  const below: number[] = []; // pmf(mode-1), pmf(mode-2), ... relative to pmf(mode)
  for (let k = mode, t = 1; k > 0; k--) {
    t *= k / (n - k + 1) / odds; // pmf(k-1) / pmf(k)
    if (t < NEGLIGIBLE) break;
    below.push(t);
  }
  const above: number[] = []; // pmf(mode+1), ...
  for (let k = mode, t = 1; k < n; k++) {
    t *= ((n - k) / (k + 1)) * odds; // pmf(k+1) / pmf(k)
    if (t < NEGLIGIBLE) break;
    above.push(t);
  }
  let total = 1;
  for (const t of below) total += t;
  for (const t of above) total += t;
  // Cumulative from the window's left end; the mass left of it is below NEGLIGIBLE * n.
  const target = q * total * (1 - 1e-12);
  let cdf = 0;
  for (let i = below.length - 1; i >= 0; i--) {
    cdf += below[i]!;
    if (cdf >= target) return mode - 1 - i;
  }
  cdf += 1;
  if (cdf >= target) return mode;
  for (let i = 0; i < above.length; i++) {
    cdf += above[i]!;
    if (cdf >= target) return mode + 1 + i;
  }
  return mode + above.length;
}

export interface QuantileRanks {
  /** 1-based ranks of the interval's ends among n sorted samples. */
  lo: number;
  hi: number;
  /** Too few samples to bound the quantile on that side (the rank would fall outside 1..n). */
  loOpen: boolean;
  hiOpen: boolean;
}

/**
 * Ranks l <= u with P(x_(l) <= quantile_p <= x_(u)) >= 95%: with B ~ Bin(n, p) the samples at or
 * below the quantile, that is P(l <= B < u); l - 1 is the largest k with P(B <= k) <= 2.5%, u - 1
 * the smallest with P(B <= k) >= 97.5%. Where no such rank exists the end is open (clamped to the
 * sample extreme, and flagged): p99 needs 368 samples or more before its upper end closes.
 */
export function quantileRanks(n: number, p: number): QuantileRanks {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`quantileRanks: n must be an integer >= 1, got ${n}`);
  // The smallest k with P(B <= k) >= 2.5% is one above the largest with P(B <= k) < 2.5%: as a rank, l.
  const lo = binomialQuantile(0.025, n, p);
  const hi = binomialQuantile(0.975, n, p) + 1;
  return { lo: Math.max(1, lo), hi: Math.min(n, hi), loOpen: lo < 1, hiOpen: hi > n };
}
