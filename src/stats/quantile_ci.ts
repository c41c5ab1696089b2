// Distribution-free 95% intervals for a percentile (p50, p99 of drain latencies): the order
// statistics x_(l) <= x_(u) of the n samples, with ranks from the binomial count of samples below
// the true quantile (Hahn & Meeker, Statistical Intervals, 2nd ed., §5.3). Nothing is assumed
// about the latency distribution, which is skewed and often multimodal here. Written out rather
// than taken from @stdlib/stats-base-dists-binomial-quantile, which brings 221 packages (25 MB).
import { Z95 } from './wilson.js';

/** Exact binomial sums up to this n; above it the normal approximation (n p (1-p) is then large, or the interval is a rank or two wide). */
const EXACT_MAX_N = 100_000;

/** Smallest k in 0..n with P(Bin(n, p) <= k) >= q (0 < q < 1). */
export function binomialQuantile(q: number, n: number, p: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`binomialQuantile: q must be in (0, 1), got ${q}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomialQuantile: n must be an integer >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0 || n === 0) return 0;
  if (p === 1) return n;
  if (n > EXACT_MAX_N) {
    // Normal approximation with continuity correction, searched in whole ranks around it.
    const z = normalQuantile(q);
    return Math.min(n, Math.max(0, Math.ceil(n * p + z * Math.sqrt(n * p * (1 - p)) - 0.5)));
  }
  // pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p), in logs: pmf(0) = (1-p)^n underflows for large n,
  // and the terms that underflow are too small to move the sum.
  const lr = Math.log(p) - Math.log1p(-p);
  let logPmf = n * Math.log1p(-p);
  let cdf = 0;
  for (let k = 0; k < n; k++) {
    cdf += Math.exp(logPmf);
    if (cdf >= q * (1 - 1e-12)) return k;
    logPmf += Math.log(n - k) - Math.log(k + 1) + lr;
  }
  return n;
}

/** The standard normal quantile at the two 95% tails (the only ones asked for). */
function normalQuantile(q: number): number {
  if (Math.abs(q - 0.975) < 1e-9) return Z95;
  if (Math.abs(q - 0.025) < 1e-9) return -Z95;
  throw new RangeError(`normalQuantile: only the 95% tails (0.025, 0.975) are provided, got ${q}`);
}

export interface QuantileRanks {
  /** 1-based ranks of the interval's ends among n sorted samples. */
  lo: number;
  hi: number;
  /** Too few samples to bound the quantile on that side: the end is the smallest or largest sample. */
  loOpen: boolean;
  hiOpen: boolean;
}

/**
 * Ranks l <= u with P(x_(l) <= quantile_p <= x_(u)) >= 95%: with B ~ Bin(n, p) the samples at or
 * below the quantile, that is P(l <= B < u); l - 1 is the largest k with P(B <= k) <= 2.5%, u - 1
 * the smallest with P(B <= k) >= 97.5%. Where no such rank exists the end is the sample extreme.
 */
export function quantileRanks(n: number, p: number): QuantileRanks {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`quantileRanks: n must be an integer >= 1, got ${n}`);
  // P(B <= k) <= 2.5% for k < binomialQuantile(0.025): the largest such k is one below it.
  const lo = binomialQuantile(0.025, n, p); // = (largest k with cdf <= 2.5%) + 1, as a rank
  const hi = binomialQuantile(0.975, n, p) + 1;
  return { lo: Math.max(1, lo), hi: Math.min(n, hi), loOpen: lo < 1, hiOpen: hi > n };
}
