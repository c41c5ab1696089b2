// `folio-race report`: a self-contained HTML page (inline SVG drawn by Observable Plot on the
// server, inline CSS, no scripts, fonts or network) with the figures of one or more study
// documents, and the same figures as JSON. Figures (src/report/plots/): lru_add_drain_all()
// latency against CPU count per mechanism (p50, p99) and its distribution (CDF from the merged HDR
// histograms), drain work per drained CPU; per policy, drains per pin, pin latency and everyone
// else's drain latency with and without a non-preemptible CPU (pin-storm); failure rate against
// race-window length with 95% intervals (race-window).
import type { StudyDoc } from '../study/doc.js';
import { newDocument, renderFigure } from './plots/render.js';
import type { Figure } from './plots/figure.js';

export { buildFigures } from './plots/build.js';
export type { Figure, Point, Series } from './plots/figure.js';

const uniq = <T>(xs: T[]) => [...new Set(xs)];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = [
  'body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}',
  'figure.plot-figure{margin:2em 0;max-width:760px}',
  'figure.plot-figure h2{font-size:16px;margin:0 0 .3em}',
  '.plot-legend-title{font-weight:600;margin-right:1em}',
  'figure.plot-figure figcaption{font-size:13px;color:#222;margin-top:.3em}',
  '.plot-note{display:block;font-size:12px;color:#555;margin-top:.2em}',
  'table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}',
].join('');

function table(d: StudyDoc): string {
  const us = (ns: number) => (ns / 1000).toFixed(1);
  const rows = d.cells.map((c) => {
    const a = c.aggregate;
    const l = a.drainAllLatencyNs;
    const work = a.stats.DRAIN_WORK_RUN ? us((a.stats.DRAIN_WORK_NS ?? 0) / a.stats.DRAIN_WORK_RUN) : '-';
    return (
      `<tr><td>${esc(c.key)}</td><td>${a.trials}${c.identicalTrials ? ` (of ${c.identicalTrials}: the others would repeat it)` : ''}</td><td>${l.count}</td><td>${us(l.p50)}</td><td>${us(l.p90)}</td><td>${us(l.p99)}</td><td>${us(l.p999)}</td><td>${us(l.max)}</td>` +
      `<td>${a.cpusQueuedPerDrainAll?.toFixed(2) ?? '-'}</td><td>${a.drains.genSkips}</td><td>${us(a.drainAllMutexWaitNs.p99)}</td><td>${a.drainAllCallNs?.count ? us(a.drainAllCallNs.p99) : '-'}</td><td>${work}</td>` +
      `<td>${a.drainsPerPin.all?.toFixed(2) ?? '-'}</td><td>${a.pinLatencyNs.count ? us(a.pinLatencyNs.p50) + ' / ' + us(a.pinLatencyNs.p99) : '-'}</td><td>${(a.rate * 100).toFixed(1)}%</td></tr>`
    );
  });
  return `<table><thead><tr><th>cell</th><th>trials</th><th>drain-alls</th><th>p50 µs</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>CPUs/drain-all</th><th>gen skips</th><th>mutex wait p99</th><th>call p99 (skips too)</th><th>work/CPU µs</th><th>drain-alls/pin</th><th>pin p50/p99 µs</th><th>fail rate</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtml(docs: readonly StudyDoc[], figures: readonly Figure[]): string {
  const document = newDocument();
  const hosts = uniq(docs.flatMap((d) => d.hosts.map((h) => `${h.cores} cores, ${h.cpuModel}, Node ${h.node}, ${h.platform}/${h.arch}`)));
  const body = [
    '<h1>folio-race timing report</h1>',
    `<p>Studies: ${docs.map((d) => `${esc(d.study)} (${d.mode}, ${d.cells.length} of ${d.totalCells} cells, shards ${esc(d.shards.join(', '))})`).join('; ')}.<br>Hosts: ${hosts.map(esc).join('; ')}.</p>`,
    ...figures.map((f) => renderFigure(f, document)),
    ...docs.map((d) => `<h2>${esc(d.study)}: every cell</h2>${table(d)}`),
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>folio-race timing report</title>
<style>${CSS}</style>
</head><body>
${body.join('\n')}
</body></html>
`;
}
