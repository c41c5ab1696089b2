// A Figure drawn with Observable Plot into static SVG, server-side: Plot builds its DOM in a
// linkedom document (no browser, no scripts), and the page inlines the markup it serialises to.
// Lines: y against x per series (log axes where the figure says; CPU counts on the figure's
// power-of-2 ticks, as integers), dots with tooltips, 95% intervals as vertical rules. Bars:
// horizontal, one row of bars per category (the category labels stack down the left edge, so
// they cannot run into each other), a bar per series coloured as its legend swatch.
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { drawable } from './build.js';
import type { Figure } from './figure.js';
import { num, textWidth } from './format.js';

/** The part of a DOM element this file uses (the project compiles without the DOM library). */
interface El {
  outerHTML: string;
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): El | null;
  prepend(...nodes: El[]): void;
  append(...nodes: (El | string)[]): void;
}
interface Doc {
  createElement(tag: string): El;
}

export const PLOT_WIDTH = 720;
const LINE_HEIGHT = 360;
const BAR = 14; // px per bar
const TICK_FONT = 10; // Plot's default font size
const uniq = <T>(xs: T[]) => [...new Set(xs)];
/** Log axes: d3's log tick format with this specifier leaves out labels that would crowd. */
const LOG_TICKS = ',~g';
const tickFormat = (log: boolean | undefined) => (log ? LOG_TICKS : (v: number) => num(v));
/** Plot's default categorical scheme (observable10): one hue per mechanism or policy. */
const HUES = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0'];

/** The k-th of n variants of a hue: the first as it is, the others darker, step by step. */
function shade(hex: string, k: number, n: number): string {
  const f = n > 1 ? 1 - (0.45 * k) / (n - 1) : 1;
  const c = [1, 3, 5].map((i) => Math.round(Number.parseInt(hex.slice(i, i + 2), 16) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Series colours: a hue per group (mechanism or policy), in the order the groups first appear. */
export function seriesColours(f: Figure): { domain: string[]; range: string[] } {
  const groups = uniq(f.series.map((s) => s.group ?? s.name));
  const range = f.series.map((s) => {
    const g = s.group ?? s.name;
    const mates = f.series.filter((t) => (t.group ?? t.name) === g);
    return shade(HUES[groups.indexOf(g) % HUES.length]!, mates.indexOf(s), mates.length);
  });
  return { domain: f.series.map((s) => s.name), range };
}

export function newDocument(): Doc {
  return parseHTML('<!DOCTYPE html><html><head></head><body></body></html>').document as unknown as Doc;
}

/** The figure as an HTML <figure>: title, legend, SVG, caption and note; no scripts. */
export function renderFigure(f: Figure, document: Doc = newDocument()): string {
  const el = (f.kind === 'bars' ? bars(f, document) : lines(f, document)) as El;
  el.setAttribute('id', f.id);
  el.querySelector('svg.plot')?.setAttribute('data-figure', f.id);
  const swatches = el.querySelector('div.plot-swatches');
  if (swatches) {
    const t = document.createElement('span');
    t.setAttribute('class', 'plot-legend-title');
    t.textContent = `${f.legend}:`;
    swatches.prepend(t);
  }
  if (f.note) {
    const n = document.createElement('span');
    n.setAttribute('class', 'plot-note');
    n.textContent = f.note;
    el.querySelector('figcaption')?.append(' ', n);
  }
  return el.outerHTML;
}

/** Left margin that fits the longest of `labels` at the tick font, plus the tick and its gap. */
const leftFor = (labels: readonly string[]) => Math.max(44, ...labels.map((l) => textWidth(l, TICK_FONT) + 16));

function lines(f: Figure, document: Doc): unknown {
  const names = f.series.map((s) => s.name);
  const rows = f.series.flatMap((s) => s.points.filter((p) => drawable(f, p)).map((p) => ({ series: s.name, x: Number(p.x), y: p.y, lo: p.lo, hi: p.hi })));
  const ys = rows.map((r) => (f.yPercent ? r.y * 100 : r.y));
  // A log axis cannot draw an interval that reaches 0 (logical time's zero latencies).
  const intervals = rows.filter((r) => r.lo !== undefined && r.hi !== undefined && !(f.logY && r.lo <= 0));
  // Intervals of series that share an x are set side by side, a few px apart, not on top of each other.
  const spread = (name: string) => (names.indexOf(name) - (names.length - 1) / 2) * Math.min(3, 24 / Math.max(1, names.length));
  const ticks = f.xTicks;
  return Plot.plot({
    document: document as never,
    className: 'plot',
    width: PLOT_WIDTH,
    height: LINE_HEIGHT,
    marginLeft: leftFor(ys.map((v) => num(v))),
    marginRight: 30,
    title: f.title,
    caption: f.caption,
    x: {
      type: f.logX ? 'log' : 'linear',
      label: f.xLabel,
      // CPU counts: a log-2 axis, so d3's log tick format labels every power of 2 (base 10 would
      // leave out 8 between 4 and 16 as crowding).
      ...(ticks
        ? { ticks, ...(f.logX ? { base: 2 } : {}), domain: [ticks[0]!, ticks[ticks.length - 1]!], tickFormat: (v: number) => String(v) }
        : { tickFormat: tickFormat(f.logX) }),
    },
    y: {
      type: f.logY ? 'log' : 'linear',
      label: f.yLabel,
      grid: true,
      tickFormat: tickFormat(f.logY),
      ...(f.yPercent ? { percent: true, domain: [0, 100] } : {}),
    },
    color: { ...seriesColours(f), legend: names.length > 1 },
    marks: [
      ...names.map((name) =>
        Plot.ruleX(
          intervals.filter((r) => r.series === name),
          { x: 'x', y1: 'lo', y2: 'hi', stroke: 'series', strokeOpacity: 0.6, dx: spread(name) },
        ),
      ),
      Plot.line(rows, { x: 'x', y: 'y', z: 'series', stroke: 'series', strokeWidth: 2 }),
      Plot.dot(rows, {
        x: 'x',
        y: 'y',
        fill: 'series',
        r: 3,
        title: (r: (typeof rows)[number]) => `${r.series}: ${f.xLabel} ${num(r.x)}, ${f.yLabel} ${num(f.yPercent ? r.y * 100 : r.y)}`,
      }),
    ],
  });
}

function bars(f: Figure, document: Doc): unknown {
  const names = f.series.map((s) => s.name);
  const cats = uniq(f.series.flatMap((s) => s.points.map((p) => String(p.x))));
  const rows = f.series.flatMap((s) => s.points.map((p) => ({ cat: String(p.x), series: s.name, y: p.y })));
  const have = rows.filter((r): r is typeof r & { y: number } => r.y !== null && Number.isFinite(r.y));
  const missing = rows.filter((r) => r.y === null);
  const max = Math.max(0, ...have.map((r) => r.y));
  const scale = f.yPercent ? 100 : 1;
  const marginTop = 24;
  const marginBottom = 40;
  return Plot.plot({
    document: document as never,
    className: 'plot',
    width: PLOT_WIDTH,
    height: marginTop + marginBottom + cats.length * (names.length * BAR + 12),
    marginTop,
    marginBottom,
    marginLeft: leftFor(cats),
    marginRight: 30,
    title: f.title,
    caption: f.caption,
    fy: { domain: cats, label: f.xLabel, labelAnchor: 'top', axis: 'left', padding: 0.15 },
    y: { domain: names, axis: null, padding: 0.1 },
    x: { label: f.yLabel, grid: true, nice: true, domain: [0, (max || 1) * scale], tickFormat: tickFormat(false), ...(f.yPercent ? { percent: true } : {}) },
    color: { ...seriesColours(f), legend: names.length > 1 },
    marks: [
      Plot.barX(have, {
        x: 'y',
        y: 'series',
        fy: 'cat',
        fill: 'series',
        title: (r: (typeof have)[number]) => `${r.cat}, ${r.series}: ${num(r.y * scale)}`,
      }),
      Plot.text(missing, { x: () => 0, y: 'series', fy: 'cat', text: () => f.missing ?? 'no value', textAnchor: 'start', dx: 4, fill: 'currentColor' }),
      Plot.ruleX([0]),
    ],
  });
}
