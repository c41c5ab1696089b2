// The report's plots without a browser: numbers as the captions and ticks write them, CPU ticks,
// the sentences under the plots, colours per mechanism, and the SVG Observable Plot draws
// (integer CPU ticks on a log axis, no exponents, bars with no value labelled, no scripts).
import { parseHTML } from 'linkedom';
import { describe, expect, test } from 'vitest';
import { drawable } from '../src/report/plots/build.js';
import { barsCaption, cdfCaption, cpuGrowthCaption, endsCaption } from '../src/report/plots/captions.js';
import type { Figure, Series } from '../src/report/plots/figure.js';
import { num, percent, pow2Ticks, textWidth, us } from '../src/report/plots/format.js';
import { renderFigure, seriesColours } from '../src/report/plots/render.js';

describe('numbers', () => {
  test('no exponents, three significant figures past 100, thousands separated', () => {
    expect([0.0042, 0.42, 4.2, 42.5, 1512.4, 100_000, 0, 2].map(num)).toEqual(['0.0042', '0.42', '4.2', '42.5', '1,512', '100,000', '0', '2']);
    expect(us(0.35)).toBe('0.35 µs');
    expect(percent(0.5)).toBe('50%');
  });

  test('CPU ticks: the powers of 2 around the CPU counts', () => {
    expect(pow2Ticks([1, 3])).toEqual([1, 2, 4]);
    expect(pow2Ticks([2, 4, 16])).toEqual([2, 4, 8, 16]);
    expect(pow2Ticks([5, 6])).toEqual([4, 8]);
    expect(pow2Ticks([4])).toEqual([2, 4, 8]);
    expect(pow2Ticks([1])).toEqual([1, 2]);
  });

  test('text width estimate grows with the text', () => {
    expect(textWidth('3 CPUs + hog')).toBeGreaterThan(textWidth('1 CPU'));
    expect(textWidth('targeted-extraction')).toBeGreaterThan(100);
  });
});

const s = (name: string, pts: [number | string, number | null][], group?: string): Series => ({
  name,
  ...(group ? { group } : {}),
  points: pts.map(([x, y]) => ({ x, y })),
});

describe('captions', () => {
  test('against CPUs: the range at the largest count, and how the first series grows', () => {
    const series = [
      s('workqueue', [
        [1, 0.4],
        [16, 49],
      ]),
      s('workqueue + hog', [
        [2, 1751],
        [16, 1512],
      ]),
      s('remote-locked', [
        [1, 0.2],
        [16, 43],
      ]),
    ];
    expect(cpuGrowthCaption(series, 'p99', us)).toBe(
      'At 16 CPUs, p99 ranges from 43 µs (remote-locked) to 1,512 µs (workqueue + hog); workqueue grows from 0.4 µs at 1 CPU to 49 µs at 16 CPUs.',
    );
    expect(cpuGrowthCaption([series[0]!], 'p99', us)).toBe('P99 of workqueue grows from 0.4 µs at 1 CPU to 49 µs at 16 CPUs.');
    expect(cpuGrowthCaption([s('x', [[1, null]])], 'p99', us)).toBe('No p99 was recorded.');
  });

  test('distribution, bars and end points', () => {
    const cdf = [
      s('a', [
        [1, 0.5],
        [9, 0.99],
      ]),
      s('b', [
        [3, 0.5],
        [30, 0.99],
      ]),
    ];
    expect(cdfCaption(cdf, 'call', us)).toBe('The median call takes from 1 µs (a) to 3 µs (b); the slowest 1% take longer than 30 µs under b.');
    const bars = [
      s('on', [
        ['v6.11', 0],
        ['merged', 1],
      ]),
      s('off', [
        ['v6.11', 0],
        ['merged', 1],
      ]),
      s('none', [
        ['v6.11', null],
        ['merged', null],
      ]),
    ];
    expect(barsCaption(bars, 'drain-alls per pin', num)).toBe(
      'Drain-alls per pin ranges from 0 (v6.11, on and 1 more) to 1 (merged, on and 1 more). Nothing recorded for none.',
    );
    const ends = [
      s('v6.11', [
        [0, 0],
        [200, 1],
      ]),
    ];
    expect(endsCaption(ends, 'failure rate', us, percent)).toBe('Failure rate from 0 µs to 200 µs: v6.11 0% → 100%.');
  });
});

const lines: Figure = {
  id: 'f-lines',
  title: 'How does it grow?',
  kind: 'lines',
  xLabel: 'CPUs (count)',
  yLabel: 'latency (µs)',
  logX: true,
  logY: true,
  xTicks: [1, 2, 4, 8, 16, 32, 64],
  legend: 'drain mechanism',
  series: [
    s(
      'workqueue',
      [
        [1, 0.001],
        [8, 3],
        [64, 12_000],
      ],
      'workqueue',
    ),
    s(
      'workqueue + hog',
      [
        [2, 0],
        [8, 300],
        [64, 90_000],
      ],
      'workqueue',
    ),
    s('ipi', [
      [1, 0.002],
      [64, 1],
    ]),
  ],
  caption: 'It grows.',
  note: 'Logical time.',
};

describe('rendering with Observable Plot', () => {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${renderFigure(lines)}</body></html>`);
  const texts = (sel: string) => [...document.querySelectorAll(sel)].map((e) => (e.textContent ?? '').trim());

  test('a figure: title, legend with its title, one SVG, caption and note; no script', () => {
    const fig = document.getElementById('f-lines')!;
    expect(fig.tagName.toLowerCase()).toBe('figure');
    expect(fig.querySelector('h2')!.textContent).toBe('How does it grow?');
    expect(fig.querySelectorAll('svg.plot')).toHaveLength(1);
    expect(fig.querySelector('svg.plot')!.getAttribute('data-figure')).toBe('f-lines');
    expect(texts('.plot-legend-title')).toEqual(['drain mechanism:']);
    expect(texts('.plot-swatch')).toEqual(['workqueue', 'workqueue + hog', 'ipi']);
    expect(texts('figcaption')[0]).toBe('It grows. Logical time.');
    expect(fig.outerHTML).not.toMatch(/<script/i);
  });

  test('CPU ticks: every power of 2 labelled, as an integer; log ticks without exponents or SI prefixes', () => {
    expect(texts('g[aria-label="x-axis tick label"] text')).toEqual(['1', '2', '4', '8', '16', '32', '64']);
    const y = texts('g[aria-label="y-axis tick label"] text').filter(Boolean);
    expect(y.length).toBeGreaterThan(3);
    for (const t of y) expect(t).toMatch(/^[0-9][0-9,]*(\.[0-9]+)?$/);
    expect(texts('g[aria-label="x-axis label"]')[0]).toMatch(/^CPUs \(count\)/);
    expect(texts('g[aria-label="y-axis label"]')[0]).toMatch(/latency \(µs\)/);
  });

  test('values a log axis cannot draw are left out, not clamped', () => {
    expect(drawable(lines, { x: 2, y: 0 })).toBe(false);
    expect(drawable(lines, { x: 8, y: 300 })).toBe(true);
    expect(document.querySelectorAll('g[aria-label="dot"] circle')).toHaveLength(7);
  });

  test('colours: a hue per mechanism, its variants darker; the same across figures', () => {
    const c = seriesColours(lines);
    expect(c.domain).toEqual(['workqueue', 'workqueue + hog', 'ipi']);
    expect(c.range[0]).toBe('#4269d0');
    expect(c.range[1]).not.toBe(c.range[0]);
    expect(c.range[2]).toBe('#efb118');
    expect(seriesColours({ ...lines, series: [s('workqueue', []), s('ipi', [])] }).range).toEqual(['#4269d0', '#efb118']);
  });

  test('bars: horizontal, a row per category, "no value" bars labelled', () => {
    const bars: Figure = {
      id: 'f-bars',
      title: 'How much?',
      kind: 'bars',
      xLabel: 'policy',
      yLabel: 'p99 (µs)',
      legend: "CPU 5's stretches",
      series: [
        s('non-preemptible', [
          ['v6.11', null],
          ['targeted-extraction', 250],
        ]),
        s('preemptible', [
          ['v6.11', 2],
          ['targeted-extraction', 3],
        ]),
      ],
      missing: 'no drain-all',
      caption: 'Some.',
    };
    const d = parseHTML(`<!DOCTYPE html><html><body>${renderFigure(bars)}</body></html>`).document;
    expect([...d.querySelectorAll('g[aria-label="fy-axis tick label"] text')].map((e) => e.textContent)).toEqual(['v6.11', 'targeted-extraction']);
    expect(d.querySelectorAll('g[aria-label="bar"] rect')).toHaveLength(3);
    expect([...d.querySelectorAll('g[aria-label="text"] text')].map((e) => e.textContent)).toEqual(['no drain-all']);
    expect([...d.querySelectorAll('g[aria-label="x-axis label"]')].map((e) => e.textContent?.trim())).toEqual(['p99 (µs) →']);
  });
});
