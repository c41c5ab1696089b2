// Percentile intervals (src/stats/quantile_ci.ts, LatencyHistogram.quantileCi): the binomial
// quantile against a brute-force sum, the ranks of a textbook case, the normal approximation for
// large n, and the coverage of the intervals over seeded samples.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../src/rng/mulberry32.js';
import { LatencyHistogram } from '../src/stats/histogram.js';
import { binomialQuantile, quantileRanks } from '../src/stats/quantile_ci.js';

/** C(n, k) p^k (1-p)^(n-k) summed from 0 to k, by the multiplicative formula (exact for n <= 50). */
function bruteQuantile(q: number, n: number, p: number): number {
  let cdf = 0;
  for (let k = 0; k <= n; k++) {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    cdf += c * p ** k * (1 - p) ** (n - k);
    if (cdf >= q * (1 - 1e-12)) return k;
  }
  return n;
}

describe('binomialQuantile', () => {
  test('equals a brute-force sum of the binomial pmf', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.constantFrom(0.025, 0.975), (n, p, q) => {
        expect(binomialQuantile(q, n, p)).toBe(bruteQuantile(q, n, p));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test('large n: the windowed sum agrees with the plain sum from 0 (a million samples, p50 and p99)', () => {
    const plain = (q: number, n: number, p: number) => {
      let logPmf = n * Math.log1p(-p);
      let cdf = 0;
      for (let k = 0; k <= n; k++) {
        cdf += Math.exp(logPmf);
        if (cdf >= q * (1 - 1e-12)) return k;
        logPmf += Math.log(n - k) - Math.log(k + 1) + Math.log(p) - Math.log1p(-p);
      }
      return n;
    };
    for (const n of [1000, 200_000, 1_000_000])
      for (const p of [0.5, 0.99, 0.999]) for (const q of [0.025, 0.975]) expect(binomialQuantile(q, n, p), `n=${n} p=${p} q=${q}`).toBe(plain(q, n, p));
  });

  test('exact coverage: every closed interval holds the quantile with probability >= 95%, and neither end could move in', () => {
    const cdf = (k: number, n: number, p: number) => {
      let c = 0;
      let logPmf = n * Math.log1p(-p);
      for (let i = 0; i <= k; i++) {
        c += Math.exp(logPmf);
        logPmf += Math.log(n - i) - Math.log(i + 1) + Math.log(p) - Math.log1p(-p);
      }
      return c;
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1500 }), fc.constantFrom(0.5, 0.9, 0.99), (n, p) => {
        const r = quantileRanks(n, p);
        if (r.loOpen || r.hiOpen) return;
        // P(l <= B < u) with B ~ Bin(n, p): F(u-1) - F(l-1).
        expect(cdf(r.hi - 1, n, p) - cdf(r.lo - 1, n, p), `n=${n} p=${p}`).toBeGreaterThanOrEqual(0.95 - 1e-9);
        // One rank up, the lower end would leave P(B <= l) below it: more than 2.5%.
        expect(cdf(r.lo, n, p), 'lower end one rank up').toBeGreaterThan(0.025 - 1e-12);
        expect(cdf(r.hi - 2, n, p), 'upper end one rank down: more than 2.5% above it').toBeLessThan(0.975 + 1e-12);
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  test('bad arguments are refused', () => {
    expect(() => binomialQuantile(1, 10, 0.5)).toThrow(/q must be in/);
    expect(() => binomialQuantile(0.5, -1, 0.5)).toThrow(/n must be an integer/);
    expect(() => binomialQuantile(0.5, 10, 2)).toThrow(/p must be in/);
    expect(() => quantileRanks(0, 0.5)).toThrow(/n must be an integer >= 1/);
  });
});

describe('percentile intervals', () => {
  test('100 samples: the median between the 40th and 61st values; p99 from the 97th to the largest, open above', () => {
    expect(quantileRanks(100, 0.5)).toEqual({ lo: 40, hi: 61, loOpen: false, hiOpen: false });
    expect(quantileRanks(100, 0.99)).toEqual({ lo: 97, hi: 100, loOpen: false, hiOpen: true });
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) h.record(v * 10);
    expect(h.quantileCi(0.5)).toEqual([400, 610]);
    // Open above: 100 samples cannot bound p99 from above (the 101st value would be needed).
    expect(h.quantileCi(0.99)).toEqual([970, null]);
    expect(h.summary().ci95).toEqual({ p50: [400, 610], p99: [970, null] });
    expect(new LatencyHistogram().summary().ci95).toBeUndefined();
    // p99 closes above from 368 samples on: 0.99^n <= 2.5% (n >= 367.04).
    expect(quantileRanks(367, 0.99).hiOpen).toBe(true);
    expect(quantileRanks(368, 0.99).hiOpen).toBe(false);
  });

  test('the value at a rank is that of the sorted samples, within the 3 significant digits of HDR, for values up to 10 ms', () => {
    const rand = mulberry32(99);
    const xs = Array.from({ length: 5000 }, () => Math.floor(rand() * 10_000_000));
    const h = new LatencyHistogram();
    for (const x of xs) h.record(x);
    xs.sort((a, b) => a - b);
    for (const r of [1, 2, 50, 2500, 4950, 4999, 5000]) expect(Math.abs(h.atRank(r) - xs[r - 1]!), `rank ${r}`).toBeLessThanOrEqual(xs[r - 1]! / 1000 + 1);
  });

  test('over 2,000 seeded samples of 60 values each, the intervals hold the true median and p90 at least 95% of the time', () => {
    const rand = mulberry32(12345);
    for (const p of [0.5, 0.9]) {
      let covered = 0;
      const reps = 2000;
      for (let r = 0; r < reps; r++) {
        const h = new LatencyHistogram();
        for (let i = 0; i < 60; i++) h.record(Math.floor(rand() * 1000)); // uniform 0..999: quantile p is ~1000 p
        const [lo, hi] = h.quantileCi(p);
        if (lo === null || hi === null) throw new Error(`60 samples bound p${100 * p} on both sides`);
        if (lo <= 1000 * p && 1000 * p <= hi) covered++;
      }
      expect(covered / reps, `p=${p}`).toBeGreaterThanOrEqual(0.95);
    }
  });
});
