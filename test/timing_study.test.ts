// Timing studies (issue 6): the drain mechanisms in the kernel model, the drain-latency sweep on
// the deterministic runtime, shards merged against the unsharded run, Perfetto / ftrace export,
// and the HTML report: its figures, the page in headless Chromium (labels laid out without
// overlaps) and a screenshot written to test-output/report-screenshot.png.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseHTML } from 'linkedom';
import { describe, expect, test } from 'vitest';
import { PG, Holder } from '../src/mm/constants.js';
import { folio_test, ledger_get } from '../src/mm/folio.js';
import { C, Stat, cpuBase } from '../src/mm/layout.js';
import { lru_add_drain_all } from '../src/mm/lru_add_drain_all.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { getPolicy, withSwitches, type DrainMechanism } from '../src/mm/policy.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { queue_work_on } from '../src/mm/workqueue.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { FreeRunCpu, FREE_RUN_HOOKS } from '../src/cpu/freerun.js';
import { createKernelMemory, makeCtx, resetForTrial, DEFAULT_DIMS } from '../src/mm/boot.js';
import { buildStudyDoc, mergeStudyDocs, parseShard, parseStudyDoc, selectShard, type StudyCell, type StudyDoc } from '../src/study/doc.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells, pinStormCells, raceWindowCells, withoutHog, withRaceWindow } from '../src/study/studies.js';
import { toPerfetto, validateTraceEvents } from '../src/trace/perfetto.js';
import { formatFtrace, parseFtrace } from '../src/trace/ftrace.js';
import { buildFigures, renderHtml, type Figure } from '../src/report/html.js';
import { loadScenario } from '../src/scenario/load.js';
import { findChromium, headless, LAYOUT_CHECK, layoutResult } from './helpers/chromium.js';
import { countColour, decodePng, PNG_SIGNATURE } from './helpers/png.js';
import { studyDocOf } from './helpers/study_doc.js';

function twoCpus(mech: DrainMechanism) {
  const k = new InlineKernel({ nCpus: 2, policy: withSwitches(getPolicy('v6.11'), { drainMechanism: mech }) });
  const f = folio_alloc(k.ctx(1), 0, true);
  k.run(1, folio_add_lru(k.ctx(1), f));
  const stat = (cpu: number, s: number) => k.w[k.ctx(cpu).base + C.STATS + s]!;
  return { k, f, stat };
}

describe('drain mechanisms in lru_add_drain_all()', () => {
  test('workqueue: the work is queued on CPU 1 and run by its kworker', () => {
    const { k, f, stat } = twoCpus('workqueue');
    expect(ledger_get(k.ctx(0), f, Holder.LRU_BATCH)).toBe(1);
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(k.w[cpuBase(1) + C.WQ_QUEUED_SEQ]).toBe(1);
    expect(stat(1, Stat.DRAIN_WORK_RUN)).toBe(1);
    expect(stat(1, Stat.DRAIN_WORK_FOLIOS)).toBe(1);
    expect(stat(0, Stat.DRAIN_REMOTE)).toBe(0);
    expect(folio_test(k.ctx(0), f, PG.lru)).toBe(true);
    expect(ledger_get(k.ctx(0), f, Holder.LRU_BATCH)).toBe(0);
  });

  test("remote-locked: CPU 0 drains CPU 1's batch itself under its lock; nothing is queued", () => {
    const { k, f, stat } = twoCpus('remote-locked');
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(k.w[cpuBase(1) + C.WQ_QUEUED_SEQ]).toBe(0);
    expect(stat(1, Stat.DRAIN_WORK_RUN)).toBe(0);
    expect(stat(0, Stat.DRAIN_REMOTE)).toBe(1);
    expect(stat(0, Stat.DRAIN_WORK_FOLIOS)).toBe(1);
    expect(stat(0, Stat.DRAIN_ALL_CPUS_QUEUED)).toBe(1);
    expect(folio_test(k.ctx(0), f, PG.lru)).toBe(true);
    expect(ledger_get(k.ctx(0), f, Holder.LRU_BATCH)).toBe(0);
    expect(k.w[cpuBase(1) + C.LOCK]).toBe(0); // lock released
  });

  test('remote-locked: a CPU holding its own local lock makes the drainer wait', () => {
    const { k, f } = twoCpus('remote-locked');
    Atomics.store(k.w, cpuBase(1) + C.LOCK, 2); // CPU 1 holds cpu_fbatches.lock
    const g = lru_add_drain_all(k.ctx(0));
    let blocked = false;
    for (let i = 0; i < 50; i++) {
      const r = g.next();
      if (r.done) break;
      if (k.ctx(0).blockReason === 'qpw_lock' && k.ctx(0).blockedOn) {
        blocked = true;
        break;
      }
    }
    expect(blocked).toBe(true);
    expect(ledger_get(k.ctx(0), f, Holder.LRU_BATCH)).toBe(1); // still in CPU 1's batch
    Atomics.store(k.w, cpuBase(1) + C.LOCK, 0);
    for (let r = g.next(); !r.done; r = g.next()) {
      /* finish */
    }
    expect(ledger_get(k.ctx(0), f, Holder.LRU_BATCH)).toBe(0);
  });

  test('ipi: a non-preemptible stretch runs queued drain work; workqueue: it does not', () => {
    for (const mech of ['ipi', 'workqueue'] as const) {
      const mem = createKernelMemory({ ...DEFAULT_DIMS, nCpus: 2 });
      resetForTrial(mem.w, mem.lay);
      const policy = withSwitches(getPolicy('v6.11'), { drainMechanism: mech });
      const c0 = makeCtx(mem.w, mem.lay, 0, policy, FREE_RUN_HOOKS(mem.w));
      const c1 = makeCtx(mem.w, mem.lay, 1, policy, FREE_RUN_HOOKS(mem.w));
      const cpu1 = new FreeRunCpu(c1);
      const seq = queue_work_on(c0, 1);
      c1.hooks.spinNoPreempt(100_000); // the hog, on CPU 1's own thread
      expect(Atomics.load(mem.w, cpuBase(1) + C.WQ_DONE_SEQ), mech).toBe(mech === 'ipi' ? seq : 0);
      cpu1.schedulePoint(0); // the stretch ends: a scheduling point runs it in any case
      expect(Atomics.load(mem.w, cpuBase(1) + C.WQ_DONE_SEQ)).toBe(seq);
    }
  });
});

const tiny = {
  ...DRAIN_LATENCY_DEFAULTS,
  cpus: [1, 3],
  mechanisms: ['workqueue', 'remote-locked', 'targeted'] as DrainMechanism[],
  hog: ['off', 'on'] as ('off' | 'on')[],
  trials: 2,
  rounds: 3,
  hogUs: 50,
};

async function runDoc(shard: { index: number; count: number } | null) {
  const cells = drainLatencyCells(tiny);
  const mine = selectShard(cells, shard);
  const outs = await runCells(mine, { mode: 'deterministic' });
  const done: StudyCell[] = mine.map((c, i) => ({ key: c.key, index: c.index, params: c.params, aggregate: outs[i]!.aggregate }));
  return buildStudyDoc('drain-latency', 'deterministic', tiny as unknown as Record<string, unknown>, cells.length, shard, done);
}

describe('drain-latency study', () => {
  test('cells: figures per cell, a non-preemptible CPU delays workqueue drains but not remote-locked ones', async () => {
    const doc = await runDoc(null);
    expect(doc.cells.map((c) => c.key)).toContain('cpus=3 mech=workqueue occ=8 spacing=0us hog=on load=busy');
    expect(doc.cells.some((c) => c.key.startsWith('cpus=1') && c.key.includes('hog=on'))).toBe(false);
    const cell = (mech: string, hog: string) => doc.cells.find((c) => c.params.cpus === 3 && c.params.mechanism === mech && c.params.hog === hog)!.aggregate;
    for (const m of ['workqueue', 'remote-locked', 'targeted']) expect(cell(m, 'off').drainAllLatencyNs.count).toBe(tiny.trials * tiny.rounds);
    expect(cell('workqueue', 'off').cpusQueuedPerDrainAll).toBe(3);
    expect(cell('remote-locked', 'off').stats.DRAIN_REMOTE).toBe(3 * tiny.trials * tiny.rounds);
    // Logical time: the hog (50 µs) holds workqueue drains; remote-locked drains do not wait for it.
    expect(cell('workqueue', 'on').drainAllLatencyNs.p50).toBeGreaterThanOrEqual(40_000);
    expect(cell('remote-locked', 'on').drainAllLatencyNs.max).toBeLessThan(40_000);
    expect(cell('targeted', 'on').stats.EXTRACTED).toBe(tiny.trials * tiny.rounds);
  });

  test('deterministic mode models the IPI too: it drains inside the stretch, the workqueue waits for its end', async () => {
    const cells = drainLatencyCells({ ...tiny, cpus: [3], mechanisms: ['workqueue', 'ipi'], hog: ['on'] });
    const outs = await runCells(cells, { mode: 'deterministic' });
    const p50 = (mech: string) => outs[cells.findIndex((c) => c.params.mechanism === mech)]!.aggregate.drainAllLatencyNs.p50;
    expect(p50('workqueue')).toBeGreaterThanOrEqual(40_000); // logical time: the 50 µs hog
    expect(p50('ipi')).toBeLessThan(40_000);
  });

  test('two shards merged give the same figures as the unsharded run', async () => {
    const whole = await runDoc(null);
    const a = await runDoc(parseShard('1/2'));
    const b = await runDoc(parseShard('2/2'));
    expect(a.cells.length + b.cells.length).toBe(whole.cells.length);
    expect(a.cells.some((c) => b.cells.some((d) => d.key === c.key))).toBe(false);
    const merged = mergeStudyDocs([parseStudyDoc(JSON.stringify(b)), parseStudyDoc(JSON.stringify(a))]);
    expect(merged.shards).toEqual(['2/2', '1/2']);
    expect(merged.cells.map((c) => c.key)).toEqual(whole.cells.map((c) => c.key));
    merged.cells.forEach((c, i) => {
      const w = whole.cells[i]!.aggregate;
      expect(c.aggregate.drainAllLatencyNs).toEqual(w.drainAllLatencyNs);
      expect(c.aggregate.drainAllMutexWaitNs.hdr).toBe(w.drainAllMutexWaitNs.hdr);
      expect(c.aggregate.stats).toEqual(w.stats);
      expect(c.aggregate.trials).toBe(w.trials);
    });
    // The same shard twice, or a merged document with one of its own shards, would count trials twice.
    expect(() => mergeStudyDocs([whole, whole])).toThrow(/shard 1\/1 is in document 1 and in document 2/);
    expect(() => mergeStudyDocs([merged, a])).toThrow(/shard 1\/2 is in document 1 and in document 2/);
    expect(() => mergeStudyDocs([a, { ...b, shards: ['2/3'] }])).toThrow(/belongs to none of its shards/);
    // Documents that do not fit the sweep: another cell count, an edited index.
    expect(() => mergeStudyDocs([a, { ...b, totalCells: b.totalCells + 1 }])).toThrow(/says the sweep has/);
    const edited = { ...b, cells: b.cells.map((c, i) => (i === 0 ? { ...c, index: 999 } : c)) };
    expect(() => mergeStudyDocs([a, edited])).toThrow(/has index 999, outside the sweep/);
    expect(() => mergeStudyDocs([whole, { ...whole, study: 'pin-storm' }])).toThrow(/cannot merge/);
    expect(() => parseShard('3/2')).toThrow(/1 <= i <= N/);
  });
});

describe('exports', () => {
  test('Perfetto trace: required fields, a track per CPU, drain slices, flows from drain-all to drain work, occupancy counters; ftrace lines parse', async () => {
    const cells = drainLatencyCells({ ...tiny, cpus: [3], mechanisms: ['workqueue', 'remote-locked'], hog: ['off'], trials: 1 });
    const outs = await runCells(cells, { mode: 'deterministic', tracePerCpu: 4096 });
    const runs = cells.map((c, i) => ({ name: c.key, events: outs[i]!.trace! }));
    const doc = JSON.parse(JSON.stringify(toPerfetto(runs)));
    expect(validateTraceEvents(doc)).toEqual([]);
    const ev = doc.traceEvents as { ph: string; name: string; pid: number; tid: number; id?: number; args?: Record<string, unknown> }[];
    expect(
      ev
        .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === 1)
        .map((e) => e.args!.name)
        .sort(),
    ).toEqual(['CPU 0', 'CPU 1', 'CPU 2']);
    expect(ev.filter((e) => e.ph === 'B' && e.name === 'lru_add_drain_all' && e.pid === 1)).toHaveLength(tiny.rounds);
    const drainWork = ev.filter((e) => e.ph === 'B' && e.name === 'drain work' && e.pid === 1);
    expect(new Set(drainWork.map((e) => e.tid))).toEqual(new Set([0, 1, 2]));
    const starts = ev.filter((e) => e.ph === 's' && e.pid === 1);
    const ends = ev.filter((e) => e.ph === 'f' && e.pid === 1);
    expect(starts.length).toBe(3 * tiny.rounds);
    expect(new Set(ends.map((e) => e.id))).toEqual(new Set(starts.map((e) => e.id)));
    expect(ev.some((e) => e.ph === 'C' && e.name === 'CPU 2 batch occupancy' && e.args!.entries === 8)).toBe(true);
    // remote-locked (process 2): drains nested in the caller's track, no flows.
    expect(ev.some((e) => e.ph === 'B' && e.pid === 2 && e.tid === 0 && e.name === 'remote drain CPU 2')).toBe(true);
    expect(ev.filter((e) => e.ph === 's' && e.pid === 2)).toHaveLength(0);
    const lines = parseFtrace(formatFtrace(runs[0]!.events, { holders: true }));
    expect(lines.some((l) => l.event === 'page_ref_mod' && l.holder === 'LRU_BATCH' && l.val === 1)).toBe(true);
    expect(lines.some((l) => l.event === 'tracing_mark_write' && l.what === 'drain work start')).toBe(true);
    expect(validateTraceEvents({ traceEvents: [{ name: 'x', ph: 'B', ts: -1, pid: 1, tid: 0 }] }).length).toBeGreaterThan(0);
  });
});

const chromium = findChromium();
if (!chromium)
  console.warn('timing_study.test: chromium not found (apt-get install -y chromium): skipping the headless report tests (page load, label layout, screenshot)');

/** A drain-latency, a pin-storm and a race-window document, as small as they come. */
async function reportDocs() {
  const dl = await runDoc(null);
  const study = async (kind: 'pin-storm' | 'race-window', cells: ReturnType<typeof raceWindowCells>, params: Record<string, unknown>) => {
    return studyDocOf(kind, 'deterministic', params, cells, await runCells(cells, { mode: 'deterministic' }));
  };
  const ps = { policies: ['v6.11', 'merged'], mechanisms: ['workqueue' as DrainMechanism], hog: ['on', 'off'] as ('on' | 'off')[], trials: 2, seed: 1 };
  const rw = { policies: ['v6.11', 'merged'], windowsUs: [0, 50, 100], trials: 4, seed: 1 };
  // A drain storm: 1 to 4 callers of 4 CPUs, with and without the generation skip.
  const st = {
    ...tiny,
    cpus: [4],
    mechanisms: ['workqueue', 'remote-locked'] as DrainMechanism[],
    hog: ['off'] as 'off'[],
    callers: [1, 2, 4],
    genSkip: ['on', 'off'] as ('on' | 'off')[],
  };
  const stCells = drainLatencyCells(st);
  const stOuts = await runCells(stCells, { mode: 'deterministic' });
  const storm = studyDocOf('drain-latency', 'deterministic', st, stCells, stOuts);
  // S5 scaled to 16 CPUs beside S5 itself: the bars at 16 CPUs, and pin p99 against CPUs.
  const scaled = { ...ps, cpus: [8, 16], hog: ['on'] as 'on'[] };
  return [
    dl,
    await study('pin-storm', pinStormCells(loadScenario('S5'), ps), ps),
    await study('race-window', raceWindowCells(loadScenario('S1w'), rw), rw),
    storm,
    await study('pin-storm', pinStormCells(loadScenario('S5'), scaled), scaled),
  ];
}
let page: Promise<{ docs: StudyDoc[]; figures: Figure[]; html: string }> | undefined;
/** The report page of reportDocs(), built once for the tests below. */
function reportPage() {
  page ??= reportDocs().then((docs) => {
    const figures = buildFigures(docs);
    return { docs, figures, html: renderHtml(docs, figures) };
  });
  return page;
}

const SCREENSHOT = join(import.meta.dirname, '..', 'test-output', 'report-screenshot.png');

describe('HTML report', () => {
  test('figures from drain-latency, pin-storm and race-window documents; S5 and S1 variants', async () => {
    const s5 = loadScenario('S5');
    const nohog = withoutHog(s5);
    expect(JSON.stringify(nohog.steps)).not.toContain('"hog"');
    expect(JSON.stringify(withRaceWindow(loadScenario('S1w'), 7).steps[7])).toContain('"us":7');
    const rw = raceWindowCells(loadScenario('S1w'), { policies: ['v6.11'], windowsUs: [0, 100], trials: 2, seed: 1 });
    expect(rw.map((c) => c.key)).toEqual(['policy=v6.11 window=0us', 'policy=v6.11 window=100us']);
  });

  test('one offline page, one plot per figure: CPU ticks are powers of 2, every axis title has its unit, every plot a caption, legends in a few words', async () => {
    const { figures, html } = await reportPage();
    expect(figures.map((f) => f.id)).toEqual([
      'drain-latency-p50',
      'drain-latency-p99',
      'drain-latency-cdf',
      'drain-cpus-queued',
      'pin-storm-drains-per-pin',
      'pin-storm-pin-p50',
      'pin-storm-pin-p99',
      'pin-storm-drain-p99',
      'race-window-failure-rate',
      // The drain storm: a second drain-latency document, its figures' ids numbered.
      'drain-latency-p50-2',
      'drain-latency-p99-2',
      'drain-latency-cdf-2',
      'drain-cpus-queued-2',
      'drain-callers-p99',
      // S5 scaled: a second pin-storm document.
      'pin-storm-drains-per-pin-2',
      'pin-storm-pin-p50-2',
      'pin-storm-pin-p99-2',
      'pin-storm-drain-p99-2',
      'pin-storm-cpus-p99',
    ]);
    expect(html).not.toMatch(/<script|<link|@import|url\(|https?:\/\/(?!www\.w3\.org)/i);
    const { document } = parseHTML(html);
    const text = (e: { textContent: string | null }) => (e.textContent ?? '').trim();
    for (const f of figures) {
      const fig = document.getElementById(f.id)!;
      expect(fig, f.id).not.toBeNull();
      expect(fig.querySelectorAll('svg.plot'), f.id).toHaveLength(1);
      expect(fig.querySelector('h2')?.textContent, f.id).toBe(f.title);
      // A sentence under the plot, from its data.
      const caption = text(fig.querySelector('figcaption')!);
      expect(f.caption, f.id).toMatch(/^[A-Z].{20,}\.$/);
      expect(caption.startsWith(f.caption), f.id).toBe(true);
      // Units in every quantitative axis title (bars: the category axis names the categories).
      const axes = ['x', 'y'].map((a) => fig.querySelector(`g[aria-label="${a}-axis label"]`)).filter((g) => g !== null);
      expect(axes.length, f.id).toBe(f.kind === 'bars' ? 1 : 2);
      for (const a of axes) expect(text(a), f.id).toMatch(/\((µs|%|count|calls)\)/);
      // Legends: the mechanism or policy in a few words.
      const swatches = [...fig.querySelectorAll('.plot-swatch')].map(text);
      expect(swatches, f.id).toEqual(f.series.length > 1 ? f.series.map((s) => s.name) : []);
      for (const s of swatches) expect(s.split(/\s+/).length, `${f.id}: '${s}'`).toBeLessThanOrEqual(4);
      if (swatches.length) expect(text(fig.querySelector('.plot-legend-title')!)).toBe(`${f.legend}:`);
    }
    // CPU counts: integer ticks, the powers of 2 around the sweep's 1 and 3 CPUs.
    for (const id of ['drain-latency-p50', 'drain-latency-p99']) {
      const ticks = [...document.querySelectorAll(`#${id} g[aria-label="x-axis tick label"] text`)].map(text);
      expect(ticks, id).toEqual(['1', '2', '4']);
      for (const t of ticks) expect(Number.isInteger(Math.log2(Number(t))), t).toBe(true);
      expect(text(document.querySelector(`#${id} g[aria-label="x-axis label"]`)!)).toMatch(/^CPUs \(count\)/);
    }
    // The drain-work chart: a row of bars per CPU count, its labels stacked down the left edge.
    const rows = [...document.querySelectorAll('#drain-cpus-queued g[aria-label="fy-axis tick label"] text')].map(text);
    expect(rows).toEqual(['1 CPU', '3 CPUs', '3 CPUs + hog']);
    // The drain storm's callers on a log-2 axis of integers; its legend names mechanism and skip.
    const callerTicks = [...document.querySelectorAll('#drain-callers-p99 g[aria-label="x-axis tick label"] text')].map(text);
    expect(callerTicks).toEqual(['1', '2', '4']);
    expect([...document.querySelectorAll('#drain-callers-p99 .plot-swatch')].map(text)).toEqual([
      'workqueue',
      'workqueue no-skip',
      'remote-locked',
      'remote-locked no-skip',
    ]);
  });

  test.skipIf(!chromium)('the page loads in headless Chromium without errors, and no two labels of a plot overlap or run outside it', async () => {
    const { figures, html } = await reportPage();
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-report-'));
    try {
      // The layout is measured in a copy of the page with a script added: the report has none.
      const checked = join(dir, 'checked.html');
      writeFileSync(checked, html.replace('</body>', `<script>${LAYOUT_CHECK}</script></body>`));
      const r = headless(chromium!, dir, checked, '--dump-dom');
      expect(r.status).toBe(0);
      const dom = r.stdout;
      expect(dom.match(/<svg[^>]*class="plot"/g)?.length).toBe(figures.length);
      expect(dom.match(/aria-label="line"/g)?.length ?? 0).toBe(figures.filter((f) => f.kind === 'lines').length);
      expect(dom.match(/aria-label="bar"/g)?.length ?? 0).toBe(figures.filter((f) => f.kind === 'bars').length);
      expect(r.stderr).not.toMatch(/CONSOLE\(|Uncaught|ERR_FILE_NOT_FOUND|net::ERR/);
      const layout = layoutResult(dom);
      expect(layout.labels).toBeGreaterThan(figures.length * 5);
      expect(layout.problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(!chromium)(`a screenshot of the page for a person to look at (${SCREENSHOT})`, async () => {
    const { html } = await reportPage();
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-shot-'));
    try {
      const plain = join(dir, 'report.html');
      writeFileSync(plain, html);
      // The page's height, measured by the layout check in a copy, sizes the window: the whole page.
      const checked = join(dir, 'checked.html');
      writeFileSync(checked, html.replace('</body>', `<script>${LAYOUT_CHECK}</script></body>`));
      const { height } = layoutResult(headless(chromium!, dir, checked, '--dump-dom').stdout);
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      rmSync(SCREENSHOT, { force: true });
      const width = 1280;
      const r = headless(
        chromium!,
        dir,
        plain,
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--window-size=${width},${height}`,
        `--screenshot=${SCREENSHOT}`,
      );
      expect(r.status).toBe(0);
      const buf = readFileSync(SCREENSHOT);
      expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(buf.length).toBeGreaterThan(50_000);
      const png = decodePng(buf);
      expect([png.width, png.height]).toEqual([width, height]);
      // Not blank: the legend swatch of each plot's first series shows in its colour.
      const colours = [...new Set([...html.matchAll(/<span class="plot-swatch"><svg fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]!))];
      expect(colours.length).toBeGreaterThan(2);
      for (const c of colours) {
        const rgb = [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
        expect(countColour(png, rgb, 2), c).toBeGreaterThanOrEqual(15 * 15);
      }
      expect(countColour(png, [255, 255, 255])).toBeLessThan(png.width * png.height * 0.97);
      console.log(`report screenshot: ${SCREENSHOT}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
