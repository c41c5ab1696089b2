// `folio-race report`: a self-contained HTML page (inline SVG, inline CSS, no scripts, fonts or
// network) with the figures of one or more study documents, and the same figures as JSON.
// Figures: lru_add_drain_all() latency against CPU count per mechanism (p50, p99) and its
// distribution (CDF from the merged HDR histograms); per policy, drains per pin, pin latency and
// everyone else's drain latency with and without a non-preemptible CPU (pin-storm); failure
// rate against race-window length with 95% intervals (race-window).
import { LatencyHistogram } from '../stats/histogram.js';
import type { StudyDoc } from '../study/doc.js';

export interface Series {
  name: string;
  /** [x, y] points; `lo`/`hi` give an interval per point when known. */
  points: { x: number | string; y: number | null; lo?: number; hi?: number }[];
}
export interface Figure {
  id: string;
  title: string;
  kind: 'lines' | 'bars';
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: Series[];
  note?: string;
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

export function buildFigures(docs: readonly StudyDoc[]): Figure[] {
  const figs: Figure[] = [];
  for (const d of docs) {
    if (d.study === 'drain-latency') figs.push(...drainLatencyFigures(d));
    else if (d.study === 'pin-storm') figs.push(...pinStormFigures(d));
    else figs.push(...raceWindowFigures(d));
  }
  return figs;
}

function drainLatencyFigures(d: StudyDoc): Figure[] {
  const cells = d.cells;
  const groupKey = (p: StudyDoc['cells'][number]['params']) => `${p.mechanism} hog=${p.hog} occ=${p.occupancy} spacing=${p.spacingUs}us ${p.load}`;
  const groups = uniq(cells.map((c) => groupKey(c.params)));
  const pct = (which: 'p50' | 'p99'): Figure => ({
    id: `drain-latency-${which}`,
    title: `lru_add_drain_all() latency ${which} against CPUs, per drain mechanism`,
    kind: 'lines',
    xLabel: 'CPUs',
    yLabel: `${which} latency (µs)`,
    logX: true,
    logY: true,
    series: groups.map((g) => ({
      name: g,
      points: cells
        .filter((c) => groupKey(c.params) === g)
        .sort((a, b) => Number(a.params.cpus) - Number(b.params.cpus))
        .map((c) => ({ x: Number(c.params.cpus), y: c.aggregate.drainAllLatencyNs.count ? c.aggregate.drainAllLatencyNs[which] / 1000 : null })),
    })),
    note: `${d.mode === 'deterministic' ? 'logical time (deterministic runtime)' : 'wall time on ' + d.hosts.map((h) => `${h.cores} cores, ${h.cpuModel}`).join('; ')}. 'targeted' times folio_extract_from_batches() of one folio in place of the drain-all.`,
  });
  const maxCpus = Math.max(...cells.map((c) => Number(c.params.cpus)));
  const cdf: Figure = {
    id: 'drain-latency-cdf',
    title: `lru_add_drain_all() latency distribution at ${maxCpus} CPUs (cumulative)`,
    kind: 'lines',
    xLabel: 'latency (µs)',
    yLabel: 'fraction of calls ≤ x',
    logX: true,
    series: cells
      .filter((c) => Number(c.params.cpus) === maxCpus && c.aggregate.drainAllLatencyNs.count > 0)
      .map((c) => {
        const h = LatencyHistogram.decode(c.aggregate.drainAllLatencyNs.hdr);
        const ps = [0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];
        return { name: groupKey(c.params), points: ps.map((p) => ({ x: Math.max(0.001, h.percentile(p) / 1000), y: p / 100 })) };
      }),
  };
  const queued: Figure = {
    id: 'drain-cpus-queued',
    title: 'CPUs drained per lru_add_drain_all(), and drain work per drained CPU',
    kind: 'bars',
    xLabel: 'cell',
    yLabel: 'mean drain work per CPU (µs)',
    series: [
      {
        name: 'drain work per CPU (µs)',
        points: cells.map((c) => ({
          x: `${c.params.cpus} ${c.params.mechanism} ${c.params.hog === 'on' ? 'hog' : ''}`,
          y: c.aggregate.stats.DRAIN_WORK_RUN ? (c.aggregate.stats.DRAIN_WORK_NS ?? 0) / c.aggregate.stats.DRAIN_WORK_RUN / 1000 : null,
        })),
      },
    ],
  };
  return [pct('p50'), pct('p99'), cdf, queued];
}

function pinStormFigures(d: StudyDoc): Figure[] {
  const cells = d.cells;
  const label = (c: StudyDoc['cells'][number]) => `${c.params.policy}${c.params.mechanism !== 'workqueue' ? ' ' + c.params.mechanism : ''}`;
  const xs = uniq(cells.map(label));
  const byHog = (hog: string, f: (c: StudyDoc['cells'][number]) => number | null): Series => ({
    name: hog === 'on' ? 'CPU 5 non-preemptible' : 'CPU 5 preemptible',
    points: xs.map((x) => {
      const c = cells.find((k) => label(k) === x && k.params.hog === hog);
      return { x, y: c ? f(c) : null };
    }),
  });
  const hogs = uniq(cells.map((c) => String(c.params.hog)));
  return [
    {
      id: 'pin-storm-drains-per-pin',
      title: 'S5: lru_add_drain_all() calls per pin_user_pages(), per policy',
      kind: 'bars',
      xLabel: 'policy',
      yLabel: 'drain-alls per pin',
      series: hogs.map((h) => byHog(h, (c) => c.aggregate.drainsPerPin.all)),
    },
    {
      id: 'pin-storm-pin-p50',
      title: 'S5: pin_user_pages() latency p50 (µs)',
      kind: 'bars',
      xLabel: 'policy',
      yLabel: 'p50 (µs)',
      series: hogs.map((h) => byHog(h, (c) => (c.aggregate.pinLatencyNs.count ? c.aggregate.pinLatencyNs.p50 / 1000 : null))),
    },
    {
      id: 'pin-storm-pin-p99',
      title: 'S5: pin_user_pages() latency p99 (µs)',
      kind: 'bars',
      xLabel: 'policy',
      yLabel: 'p99 (µs)',
      series: hogs.map((h) => byHog(h, (c) => (c.aggregate.pinLatencyNs.count ? c.aggregate.pinLatencyNs.p99 / 1000 : null))),
    },
    {
      id: 'pin-storm-drain-p99',
      title: "S5: everyone's lru_add_drain_all() latency p99, with and without one non-preemptible CPU (µs)",
      kind: 'bars',
      xLabel: 'policy',
      yLabel: 'p99 (µs)',
      series: hogs.map((h) => byHog(h, (c) => (c.aggregate.drainAllLatencyNs.count ? c.aggregate.drainAllLatencyNs.p99 / 1000 : null))),
    },
  ];
}

function raceWindowFigures(d: StudyDoc): Figure[] {
  const pols = uniq(d.cells.map((c) => String(c.params.policy)));
  return [
    {
      id: 'race-window-failure-rate',
      title: 'S1: pin failure rate against race-window length (95% Wilson intervals)',
      kind: 'lines',
      xLabel: 'race window: CPU 7 delay (µs)',
      yLabel: 'failure rate',
      series: pols.map((p) => ({
        name: p,
        points: d.cells
          .filter((c) => c.params.policy === p)
          .sort((a, b) => Number(a.params.windowUs) - Number(b.params.windowUs))
          .map((c) => ({ x: Number(c.params.windowUs), y: c.aggregate.rate, lo: c.aggregate.ci95[0], hi: c.aggregate.ci95[1] })),
      })),
    },
  ];
}

// ---- SVG ------------------------------------------------------------------------------------

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2));

function scale(lo: number, hi: number, a: number, b: number, log: boolean): (v: number) => number {
  if (log) {
    const l0 = Math.log10(lo),
      l1 = Math.log10(hi);
    return (v) => a + ((Math.log10(Math.max(v, lo)) - l0) / (l1 - l0 || 1)) * (b - a);
  }
  return (v) => a + ((v - lo) / (hi - lo || 1)) * (b - a);
}
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out.filter((t) => t >= lo * 0.999 && t <= hi * 1.001);
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
  const n = Math.ceil((hi - lo) / step);
  const k = n > 10 ? (n > 20 ? 5 : 2) : 1;
  const out: number[] = [];
  for (let t = Math.ceil(lo / (step * k)) * step * k; t <= hi + 1e-9; t += step * k) out.push(t);
  return out;
}

export function renderSvg(f: Figure): string {
  const W = 720,
    H = 360,
    L = 70,
    R = 20,
    T = 20,
    B = 60;
  const legendH = 16 * f.series.length + 8;
  const height = H + legendH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-figure="${esc(f.id)}" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(f.title)}">`,
  ];
  parts.push(`<rect x="0" y="0" width="${W}" height="${height}" fill="#fff"/>`);
  const ys = f.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.hi, p.lo])).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  let yLo = f.logY ? Math.min(...ys.filter((v) => v > 0)) : Math.min(0, ...ys);
  let yHi = Math.max(...ys, f.logY ? 1 : 0);
  if (!ys.length) {
    yLo = f.logY ? 1 : 0;
    yHi = 1;
  }
  if (f.logY) {
    yLo = 10 ** Math.floor(Math.log10(yLo));
    yHi = 10 ** Math.ceil(Math.log10(yHi));
  }
  if (yHi === yLo) yHi = yLo + 1;
  const sy = scale(yLo, yHi, T + H - B - T, T, !!f.logY);
  const plotB = H - B;
  parts.push(`<line x1="${L}" y1="${plotB}" x2="${W - R}" y2="${plotB}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${plotB}" stroke="#333"/>`);
  for (const t of ticks(yLo, yHi, !!f.logY)) {
    const y = sy(t);
    parts.push(
      `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/><text x="${L - 6}" y="${y + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`,
    );
  }
  parts.push(`<text x="14" y="${(T + plotB) / 2}" transform="rotate(-90 14 ${(T + plotB) / 2})" text-anchor="middle" font-size="12">${esc(f.yLabel)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(f.xLabel)}</text>`);
  if (f.kind === 'bars') {
    const cats = uniq(f.series.flatMap((s) => s.points.map((p) => String(p.x))));
    const band = (W - R - L) / Math.max(1, cats.length);
    const bw = (band * 0.8) / Math.max(1, f.series.length);
    cats.forEach((c, i) => {
      const x0 = L + i * band + band * 0.1;
      parts.push(`<text x="${L + i * band + band / 2}" y="${plotB + 14}" text-anchor="middle" font-size="10">${esc(c)}</text>`);
      f.series.forEach((s, k) => {
        const p = s.points.find((q) => String(q.x) === c);
        if (!p || p.y === null) return;
        const y = sy(p.y);
        const base = f.logY ? plotB : sy(Math.max(0, yLo));
        parts.push(
          `<rect class="bar" x="${x0 + k * bw}" y="${Math.min(y, base)}" width="${bw - 1}" height="${Math.abs(base - y)}" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${s.name} ${c}: ${fmt(p.y)}`)}</title></rect>`,
        );
      });
    });
  } else {
    const xs = f.series.flatMap((s) => s.points.map((p) => Number(p.x))).filter((v) => Number.isFinite(v) && (!f.logX || v > 0));
    let xLo = xs.length ? Math.min(...xs) : 0,
      xHi = xs.length ? Math.max(...xs) : 1;
    if (f.logX) {
      xLo = 10 ** Math.floor(Math.log10(xLo));
      xHi = 10 ** Math.ceil(Math.log10(xHi));
    }
    if (xHi === xLo) xHi = xLo + 1;
    const sx = scale(xLo, xHi, L, W - R, !!f.logX);
    const xt = f.logX && xHi / xLo <= 100 ? uniq(xs).sort((a, b) => a - b) : ticks(xLo, xHi, !!f.logX);
    for (const t of xt) parts.push(`<text x="${sx(t)}" y="${plotB + 14}" text-anchor="middle" font-size="10">${fmt(t)}</text>`);
    f.series.forEach((s, k) => {
      const col = COLORS[k % COLORS.length];
      const pts = s.points.filter((p) => p.y !== null && Number.isFinite(Number(p.x)));
      if (!pts.length) return;
      parts.push(
        `<polyline class="line" fill="none" stroke="${col}" stroke-width="2" points="${pts.map((p) => `${sx(Number(p.x)).toFixed(1)},${sy(p.y!).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const p of pts) {
        const x = sx(Number(p.x));
        if (p.lo !== undefined && p.hi !== undefined)
          parts.push(`<line x1="${x}" y1="${sy(p.lo)}" x2="${x}" y2="${sy(p.hi)}" stroke="${col}" stroke-opacity="0.6"/>`);
        parts.push(
          `<circle cx="${x.toFixed(1)}" cy="${sy(p.y!).toFixed(1)}" r="3" fill="${col}"><title>${esc(`${s.name}: x=${p.x} y=${fmt(p.y!)}`)}</title></circle>`,
        );
      }
    });
  }
  f.series.forEach((s, k) => {
    const y = H + 4 + k * 16;
    parts.push(
      `<rect x="${L}" y="${y}" width="10" height="10" fill="${COLORS[k % COLORS.length]}"/><text x="${L + 16}" y="${y + 9}" font-size="11">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function table(d: StudyDoc): string {
  const us = (ns: number) => (ns / 1000).toFixed(1);
  const rows = d.cells.map((c) => {
    const a = c.aggregate;
    const l = a.drainAllLatencyNs;
    const work = a.stats.DRAIN_WORK_RUN ? us((a.stats.DRAIN_WORK_NS ?? 0) / a.stats.DRAIN_WORK_RUN) : '-';
    return (
      `<tr><td>${esc(c.key)}</td><td>${a.trials}</td><td>${l.count}</td><td>${us(l.p50)}</td><td>${us(l.p90)}</td><td>${us(l.p99)}</td><td>${us(l.p999)}</td><td>${us(l.max)}</td>` +
      `<td>${a.cpusQueuedPerDrainAll?.toFixed(2) ?? '-'}</td><td>${a.drains.genSkips}</td><td>${us(a.drainAllMutexWaitNs.p99)}</td><td>${work}</td>` +
      `<td>${a.drainsPerPin.all?.toFixed(2) ?? '-'}</td><td>${a.pinLatencyNs.count ? us(a.pinLatencyNs.p50) + ' / ' + us(a.pinLatencyNs.p99) : '-'}</td><td>${(a.rate * 100).toFixed(1)}%</td></tr>`
    );
  });
  return `<table><thead><tr><th>cell</th><th>trials</th><th>drain-alls</th><th>p50 µs</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>CPUs/drain-all</th><th>gen skips</th><th>mutex wait p99</th><th>work/CPU µs</th><th>drain-alls/pin</th><th>pin p50/p99 µs</th><th>fail rate</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtml(docs: readonly StudyDoc[], figures: readonly Figure[]): string {
  const hosts = uniq(docs.flatMap((d) => d.hosts.map((h) => `${h.cores} cores, ${h.cpuModel}, Node ${h.node}, ${h.platform}/${h.arch}`)));
  const body = [
    '<h1>folio-race timing report</h1>',
    `<p>Studies: ${docs.map((d) => `${esc(d.study)} (${d.mode}, ${d.cells.length} of ${d.totalCells} cells, shards ${esc(d.shards.join(', '))})`).join('; ')}.<br>Hosts: ${hosts.map(esc).join('; ')}.</p>`,
    ...figures.map((f) => `<figure id="${esc(f.id)}">${renderSvg(f)}<figcaption>${esc(f.title)}${f.note ? ` — ${esc(f.note)}` : ''}</figcaption></figure>`),
    ...docs.map((d) => `<h2>${esc(d.study)}: every cell</h2>${table(d)}`),
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>folio-race timing report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}figure{margin:1.5em 0}figcaption{font-size:13px;color:#333}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}</style>
</head><body>
${body.join('\n')}
</body></html>
`;
}
