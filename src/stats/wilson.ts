// Wilson score interval for a binomial proportion: the confidence interval the stress tables
// print beside every failure rate. Unlike the normal ("Wald") interval it stays inside [0, 1]
// and is useful at 0 and n failures, which is exactly where race rates tend to sit.

/** z for a two-sided 95% interval (the tool reports 95% intervals throughout). */
export const Z95 = 1.96;

export interface Proportion {
  /** Point estimate k / n (0 when n = 0). */
  rate: number;
  /** [low, high]; [0, 1] when n = 0 (nothing is known). */
  ci95: [number, number];
}

/**
 * Wilson score interval for `k` successes in `n` trials.
 * Throws RangeError on non-integer or out-of-range input.
 */
export function wilson(k: number, n: number, z: number = Z95): [number, number] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`wilson: n must be an integer >= 0, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`wilson: k must be an integer from 0 to ${n}, got ${k}`);
  if (!(z > 0)) throw new RangeError(`wilson: z must be > 0, got ${z}`);
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // The bounds are exactly 0 at k = 0 and exactly 1 at k = n; pin them there rather than let
  // rounding put them a few ulps off (a table that prints "-0.0%" or "100.0%+" misleads).
  const low = k === 0 ? 0 : Math.max(0, centre - half);
  const high = k === n ? 1 : Math.min(1, centre + half);
  return [low, high];
}

/** Rate and 95% Wilson interval together. */
export function proportion(k: number, n: number): Proportion {
  return { rate: n === 0 ? 0 : k / n, ci95: wilson(k, n) };
}

/**
 * Newcombe's hybrid score interval for the difference p1 - p2 of two independent proportions
 * (Newcombe 1998, method 10), built from each one's Wilson interval: 95% when theirs are. It
 * excludes 0 when the two rates differ; unlike "the two intervals overlap" it settles 0/1000
 * against 1/1000 (no difference shown) and 0/3 against 3/3 (a difference) alike.
 */
export function newcombeDiff(p1: number, ci1: readonly [number, number], p2: number, ci2: readonly [number, number]): [number, number] {
  const d = p1 - p2;
  return [d - Math.hypot(p1 - ci1[0], ci2[1] - p2), d + Math.hypot(ci1[1] - p1, p2 - ci2[0])];
}
