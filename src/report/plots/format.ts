// Numbers as the report writes them (captions, tooltips, tick labels): no exponents, three
// significant figures (whole numbers from 100 up, thousands separated); CPU-count ticks; a text
// width estimate.

/** 0.0042, 0.42, 4.2, 42.5, 1,512. */
export function num(v: number): string {
  const a = Math.abs(v);
  if (a === 0 || !Number.isFinite(v)) return String(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  const digits = Math.max(0, Math.min(12, 2 - Math.floor(Math.log10(a))));
  return v
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

export const us = (v: number): string => `${num(v)} µs`;
export const percent = (fraction: number): string => `${num(fraction * 100)}%`;
export const cpus = (n: number): string => `${n} CPU${n === 1 ? '' : 's'}`;

/** CPU-count ticks: powers of 2 (from 1 up) from the one at or below the smallest value to the one at or above the largest. */
export function pow2Ticks(values: readonly number[]): number[] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (!pos.length) return [1, 2];
  const lo = Math.max(1, 2 ** Math.floor(Math.log2(Math.min(...pos))));
  const hi = 2 ** Math.ceil(Math.log2(Math.max(...pos)));
  if (lo === hi) return lo === 1 ? [1, 2] : [lo / 2, lo, lo * 2];
  const out: number[] = [];
  for (let t = lo; t <= hi; t *= 2) out.push(t);
  return out;
}

/**
 * Width of `s` in px at `px` font size in a sans-serif face, erring wide (Plot places text without
 * measuring it, so margins for long category labels come from this).
 */
export function textWidth(s: string, px = 10): number {
  let em = 0;
  for (const ch of s) {
    if (/[il.,:;'|!()[\] ]/.test(ch)) em += 0.36;
    else if (/[mwMW@]/.test(ch)) em += 0.95;
    else if (/[A-Z0-9]/.test(ch)) em += 0.7;
    else em += 0.62;
  }
  return Math.ceil(em * px);
}
