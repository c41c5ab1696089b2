// Timing studies (issue 6): the drain mechanisms in the kernel model, the drain-latency sweep on
// the deterministic runtime, shards merged against the unsharded run, Perfetto / ftrace export,
// and the HTML report in headless Chromium.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { buildStudyDoc, mergeStudyDocs, parseShard, parseStudyDoc, selectShard, type StudyCell } from '../src/study/doc.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells, raceWindowCells, withoutHog, withRaceWindow } from '../src/study/studies.js';
import { toPerfetto, validateTraceEvents } from '../src/trace/perfetto.js';
import { formatFtrace, parseFtrace } from '../src/trace/ftrace.js';
import { buildFigures, renderHtml } from '../src/report/html.js';
import { loadScenario } from '../src/scenario/load.js';

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

function findChromium(): string | null {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}
const chromium = findChromium();
if (!chromium) console.warn('timing_study.test: chromium not found (apt-get install -y chromium): skipping the headless report test');

describe('HTML report', () => {
  test('figures from drain-latency, pin-storm and race-window documents; S5 and S1 variants', async () => {
    const s5 = loadScenario('S5');
    const nohog = withoutHog(s5);
    expect(JSON.stringify(nohog.steps)).not.toContain('"hog"');
    expect(JSON.stringify(withRaceWindow(loadScenario('S1w'), 7).steps[7])).toContain('"us":7');
    const rw = raceWindowCells(loadScenario('S1w'), { policies: ['v6.11'], windowsUs: [0, 100], trials: 2, seed: 1 });
    expect(rw.map((c) => c.key)).toEqual(['policy=v6.11 window=0us', 'policy=v6.11 window=100us']);
  });

  test.skipIf(!chromium)('the page loads in headless Chromium without errors and shows its plots', async () => {
    const doc = await runDoc(null);
    const figures = buildFigures([doc]);
    expect(figures.map((f) => f.id)).toEqual(['drain-latency-p50', 'drain-latency-p99', 'drain-latency-cdf', 'drain-cpus-queued']);
    const html = renderHtml([doc], figures);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-report-'));
    try {
      const page = join(dir, 'report.html');
      writeFileSync(page, html);
      const r = spawnSync(
        chromium!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--no-first-run',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--enable-logging=stderr',
          '--v=0',
          '--dump-dom',
          `file://${page}`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status).toBe(0);
      const dom = r.stdout;
      expect(dom.match(/<svg[^>]*class="plot"/g)?.length).toBe(figures.length);
      expect(dom.match(/<polyline class="line"/g)?.length ?? 0).toBeGreaterThan(3);
      expect(dom).toContain('class="bar"');
      expect(r.stderr).not.toMatch(/CONSOLE\(|Uncaught|ERR_FILE_NOT_FOUND|net::ERR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
