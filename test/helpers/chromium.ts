// Headless Chromium (Debian's `chromium`) for the report tests: the page's DOM after load, and a
// screenshot. Each run gets its own throw-away profile and no network services.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export function findChromium(): string | null {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

export interface ChromiumRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run headless Chromium on `file://page` with `extra` flags (`--dump-dom`, `--screenshot=...`). */
export function headless(chromium: string, profileDir: string, page: string, ...extra: string[]): ChromiumRun {
  const r = spawnSync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(profileDir, 'profile')}`,
      '--enable-logging=stderr',
      '--v=0',
      ...extra,
      `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Run in the page (a test copy of the report; the report itself has no script): every text label
 * of every plot (tick labels, axis titles, bar labels) and every legend entry, by the boxes
 * Chromium laid them out in. Reports labels that overlap another label of the same figure, or
 * run outside their plot, and the page's height; the result lands in <pre id="layout-check">.
 */
export const LAYOUT_CHECK = `(() => {
  const problems = [];
  let labels = 0;
  const box = (e) => e.getBoundingClientRect();
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  for (const fig of document.querySelectorAll('figure.plot-figure')) {
    const svg = fig.querySelector('svg.plot');
    const frame = box(svg);
    const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim()).map((t) => ({ s: t.textContent, r: box(t) }));
    const legend = [...fig.querySelectorAll('.plot-swatch, .plot-legend-title')].map((e) => ({ s: e.textContent, r: box(e) }));
    labels += texts.length;
    for (const t of texts)
      if (t.r.left < frame.left - 0.5 || t.r.right > frame.right + 0.5 || t.r.top < frame.top - 0.5 || t.r.bottom > frame.bottom + 0.5)
        problems.push(fig.id + ": '" + t.s + "' runs outside the plot");
    const all = [...texts, ...legend];
    for (let i = 0; i < all.length; i++)
      for (let j = i + 1; j < all.length; j++) if (overlap(all[i].r, all[j].r)) problems.push(fig.id + ": '" + all[i].s + "' overlaps '" + all[j].s + "'");
  }
  const pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify({ problems, labels, height: Math.ceil(document.documentElement.scrollHeight) });
  document.body.append(pre);
})();`;

export function layoutResult(dom: string): { problems: string[]; labels: number; height: number } {
  const m = /<pre id="layout-check">([^<]*)<\/pre>/.exec(dom);
  if (!m) throw new Error('the layout check left no result in the page');
  return JSON.parse(
    m[1]!
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}
