// Many callers of lru_add_drain_all() at once (a drain storm): the generation skip of eef1a429f234
// (v5.8) as a policy switch, on one CPU step by step; the drain-latency study's `callers` and
// `genSkip` dimensions in the sweep, in logical time, on the deterministic runtime and on genuine
// worker threads; the invariants after every trial; the callers figure of the report.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Holder } from '../src/mm/constants.js';
import { ledger_get } from '../src/mm/folio.js';
import { C, G, Stat, cpuBase, gw } from '../src/mm/layout.js';
import { __lru_add_drain_all } from '../src/mm/lru_add_drain_all.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { getPolicy, withSwitches } from '../src/mm/policy.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { DRAIN_MUTEX } from '../src/mm/wait.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { drainLatencyFigures } from '../src/report/plots/drain_latency.js';
import { buildStudyDoc, parseStudyDoc } from '../src/study/doc.js';
import { PolicyAggregator } from '../src/stats/aggregate.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells, type DrainLatencyParams } from '../src/study/studies.js';
import { cli } from './helpers/cli.js';
import { DEFAULT_DRAIN_STUDY, DrainStudyJob } from '../src/job/drain_study_job.js';

afterAll(async () => {
  await shutdownAll();
});

/**
 * CPU 0 calls lru_add_drain_all() while CPU 1 holds the drain mutex and has a folio in its
 * lru_add batch; a drain by someone else completes meanwhile (the generation moves on), then the
 * mutex is released. Returns what CPU 0's call did.
 */
function waitedWhileAnotherDrained(genSkip: boolean) {
  const k = new InlineKernel({ nCpus: 2, policy: withSwitches(getPolicy('v6.11'), { drainGenSkip: genSkip }) });
  const f = folio_alloc(k.ctx(1), 0, true);
  k.run(1, folio_add_lru(k.ctx(1), f));
  Atomics.store(k.w, gw(DRAIN_MUTEX), 2); // CPU 1 (owner + 1) holds it
  const g = __lru_add_drain_all(k.ctx(0), false);
  let blockedOnMutex = false;
  for (let i = 0; i < 20 && !blockedOnMutex; i++) {
    expect(g.next().done).toBe(false);
    blockedOnMutex = k.ctx(0).blockReason === 'mutex';
  }
  expect(blockedOnMutex).toBe(true);
  Atomics.add(k.w, gw(G.DRAIN_GEN), 1); // the holder's drain started after CPU 0's sample
  Atomics.store(k.w, gw(DRAIN_MUTEX), 0);
  k.run(0, g);
  const stat = (cpu: number, s: number) => k.w[cpuBase(cpu) + C.STATS + s]!;
  return { skipped: stat(0, Stat.DRAIN_ALL_GEN_SKIP), queued: stat(0, Stat.DRAIN_ALL_CPUS_QUEUED), inBatch: ledger_get(k.ctx(0), f, Holder.LRU_BATCH) };
}

describe('__lru_add_drain_all(): the generation skip (drainGenSkip)', () => {
  test('on (eef1a429f234, every modelled release): a caller that waited while a newer drain ran returns without draining', () => {
    expect(getPolicy('v6.11').switches.drainGenSkip).toBe(true);
    expect(waitedWhileAnotherDrained(true)).toEqual({ skipped: 1, queued: 0, inBatch: 1 });
  });
  test('off (before v5.8): the same caller drains in turn, queueing work on the CPU with entries', () => {
    expect(waitedWhileAnotherDrained(false)).toEqual({ skipped: 0, queued: 1, inBatch: 0 });
  });
});

const params = (over: Partial<DrainLatencyParams>): DrainLatencyParams => ({
  ...DRAIN_LATENCY_DEFAULTS,
  mechanisms: ['workqueue'],
  hog: ['off'],
  ...over,
});

describe('drain-latency sweep: callers and generation skip', () => {
  test('cells: one caller, one hog and the policy skip keep the old keys; callers and hogs on different CPUs; no duplicate skip cells', () => {
    const plain = drainLatencyCells(params({ cpus: [4] }));
    expect(plain.map((c) => c.key)).toEqual(['cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy']);
    expect(plain[0]!.params).toMatchObject({ callers: 1, genSkip: 'on', hogs: 0 });
    const storm = drainLatencyCells(params({ cpus: [2, 4], callers: [1, 3], genSkip: ['on', 'off'], hog: ['off', 'on'], hogs: [1, 2] }));
    // v6.11 has the skip: 'on' is its own value (no key word); 'off' differs.
    expect(storm.map((c) => c.key)).toEqual([
      'cpus=2 mech=workqueue occ=8 spacing=0us hog=off load=busy',
      'cpus=2 mech=workqueue occ=8 spacing=0us hog=off load=busy genskip=off',
      'cpus=2 mech=workqueue occ=8 spacing=0us hog=on load=busy',
      'cpus=2 mech=workqueue occ=8 spacing=0us hog=on load=busy genskip=off',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy genskip=off',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy callers=3',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy callers=3 genskip=off',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy genskip=off',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy callers=3',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy callers=3 genskip=off',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy hogs=2',
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=on load=busy hogs=2 genskip=off',
    ]);
    const off = storm.find((c) => c.key.endsWith('hog=off load=busy callers=3 genskip=off'))!;
    expect(off.policy.switches.drainGenSkip).toBe(false);
    expect(off.job).toMatchObject({ params: { callers: 3, hogCpu: -1 } });
    const twoHogs = storm.find((c) => c.key.endsWith('hogs=2'))!;
    expect(twoHogs.job).toMatchObject({ params: { hogCpu: 2, hogCount: 2, callers: 1 } });
    // 'policy' and the value the policy has name one cell; targeted drains are no drain-all: one cell.
    expect(drainLatencyCells(params({ cpus: [4], genSkip: ['policy', 'on'] })).map((c) => c.key)).toEqual([
      'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy',
    ]);
    expect(drainLatencyCells(params({ cpus: [4], mechanisms: ['targeted'], genSkip: ['on', 'off'] }))).toHaveLength(1);
    // A program spec of its own that makes a hog a caller is refused.
    expect(() => new DrainStudyJob({ ...DEFAULT_DRAIN_STUDY, callers: 3, hogCpu: 2 })).toThrow(/hogCpu 2 is one of the 3 callers/);
  });

  test('logical time, 32 CPUs, 16 callers: skips cut the tail; without them every call drains in turn', async () => {
    const cells = drainLatencyCells(params({ cpus: [32], callers: [16], genSkip: ['on', 'off'], trials: 2, rounds: 8 }));
    const outs = await runCells(cells, { mode: 'logical' });
    // Busy CPUs without spacing draw nothing random: one trial, its copy not run.
    expect(outs.map((o) => [o.aggregate.trials, o.identicalTrials])).toEqual([
      [1, 2],
      [1, 2],
    ]);
    const [on, off] = outs.map((o) => o.aggregate);
    const calls = 16 * 8;
    for (const a of [on!, off!]) {
      expect(a.failures.total).toBe(0); // the invariants of spec §10 after every trial
      expect(a.drains.lruAddDrainAll).toBe(calls);
      expect(a.drainAllCallNs!.count).toBe(calls);
    }
    expect(on!.drains.genSkips).toBeGreaterThan(calls / 2);
    expect(on!.drainAllLatencyNs.count).toBe(calls - on!.drains.genSkips);
    expect(off!.drains.genSkips).toBe(0);
    expect(off!.drainAllLatencyNs.count).toBe(calls);
    // Serialised on the mutex, the last of 16 callers waits for the others' scans.
    expect(off!.drainAllCallNs!.p99).toBeGreaterThan(on!.drainAllCallNs!.p99);
    expect(off!.drainAllMutexWaitNs.p99).toBeGreaterThan(on!.drainAllMutexWaitNs.p99);
  });

  test('continuous refill: drains in turn find the batches refilled and queue work again; the skip spares them that', async () => {
    const cells = drainLatencyCells(
      params({ cpus: [32], callers: [8], genSkip: ['on', 'off'], refill: ['round', 'continuous'], spacingUs: [100], trials: 2, rounds: 6 }),
    );
    expect(cells.map((c) => c.key.replace(/^cpus=32 mech=workqueue occ=8 spacing=100us hog=off load=busy ?/, ''))).toEqual([
      'callers=8',
      'callers=8 genskip=off',
      'refill=continuous callers=8',
      'refill=continuous callers=8 genskip=off',
    ]);
    expect(cells[2]!.job).toMatchObject({ params: { continuous: 1 } });
    // Idle CPUs put nothing back between rounds, and targeted drains extract one folio: one cell each, keyed round.
    for (const refill of [['round', 'continuous'], ['continuous']] as const)
      expect(
        drainLatencyCells(params({ cpus: [4], mechanisms: ['workqueue', 'targeted'], load: ['busy', 'idle'], refill: [...refill] })).map((c) => c.key),
      ).toEqual([
        ...(refill.length === 2 ? ['cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy'] : []),
        'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=busy refill=continuous',
        'cpus=4 mech=workqueue occ=8 spacing=0us hog=off load=idle',
        'cpus=4 mech=targeted occ=8 spacing=0us hog=off load=busy',
        'cpus=4 mech=targeted occ=8 spacing=0us hog=off load=idle',
      ]);
    const [roundOn, roundOff, contOn, contOff] = (await runCells(cells, { mode: 'logical' })).map((o) => o.aggregate);
    for (const a of [roundOn, roundOff, contOn, contOff]) expect(a!.failures.total).toBe(0);
    // Once per round, a second drainer finds the batches empty: (32 + 7 x 0) / 8 CPUs queued per drain.
    expect(roundOff!.cpusQueuedPerDrainAll).toBe(4);
    // Refilled meanwhile, each drainer in turn queues work on most CPUs again, and waits for it.
    expect(contOff!.cpusQueuedPerDrainAll!).toBeGreaterThan(16);
    expect(contOff!.drainAllCallNs!.p50).toBeGreaterThan(2 * roundOff!.drainAllCallNs!.p50);
    expect(contOn!.drainAllCallNs!.p50).toBeLessThan(contOff!.drainAllCallNs!.p50 / 2);
    // Every CPU a caller: only the callers' own put-backs give a later drainer work (round refill: 8 + 0 x 7 over 8).
    const all = drainLatencyCells(
      params({ cpus: [8], callers: [8], genSkip: ['off'], refill: ['round', 'continuous'], spacingUs: [100], trials: 2, rounds: 6 }),
    );
    const [allRound, allCont] = (await runCells(all, { mode: 'logical' })).map((o) => o.aggregate);
    expect(allRound!.cpusQueuedPerDrainAll).toBe(1);
    expect(allCont!.cpusQueuedPerDrainAll!).toBeGreaterThan(2);
    // Isolations fail only where a round's refill meets folios already put back: not at every scheduling point.
    expect(allCont!.stats.ISOLATE_FAIL!).toBeLessThanOrEqual(8 * 6 * 2 * 8);
  });

  test('deterministic runtime: the same cell twice gives the same figures, skips included', async () => {
    const cells = drainLatencyCells(params({ cpus: [4], callers: [4], load: ['idle'], trials: 3, rounds: 5 }));
    const a = (await runCells(cells, { mode: 'deterministic' }))[0]!.aggregate;
    const b = (await runCells(cells, { mode: 'deterministic' }))[0]!.aggregate;
    expect(a.failures.total).toBe(0);
    expect(a.drains.lruAddDrainAll).toBe(4 * 5 * 3);
    expect(a.drains.genSkips).toBeGreaterThan(0);
    expect(b.drainAllCallNs!.hdr).toBe(a.drainAllCallNs!.hdr);
    expect(b.drains).toEqual(a.drains);
  });

  test('worker threads: 4 idle CPUs all calling at once; every call is counted, skipped or drained, and no trial fails', async () => {
    const cells = drainLatencyCells(params({ cpus: [4], callers: [4], load: ['idle'], genSkip: ['on', 'off'], trials: 3, rounds: 10 }));
    const outs = await runCells(cells, { mode: 'free-run' });
    for (const o of outs) {
      const a = o.aggregate;
      expect(a.failures.total).toBe(0);
      expect(a.emulatorErrors.trials).toBe(0);
      expect(a.drains.lruAddDrainAll).toBe(4 * 10 * 3);
      expect(a.drainAllCallNs!.count).toBe(4 * 10 * 3);
      expect(a.drainAllLatencyNs.count + a.drains.genSkips).toBe(4 * 10 * 3);
      // Every queued work ran.
      expect(a.drains.workRun).toBe(a.drains.cpusQueued);
    }
    // Woken together, the callers sample the generation before the first of them bumps it.
    expect(outs[0]!.aggregate.drains.genSkips).toBeGreaterThan(0);
    expect(outs[1]!.aggregate.drains.genSkips).toBe(0);
  });

  test('targeted: each caller extracts a folio of its own (one per call), not one victim for all', async () => {
    const cells = drainLatencyCells(params({ cpus: [4], callers: [3], mechanisms: ['targeted'], load: ['idle'], trials: 2, rounds: 4 }));
    const a = (await runCells(cells, { mode: 'deterministic' }))[0]!.aggregate;
    expect(a.failures.total).toBe(0);
    expect(a.stats.EXTRACTED).toBe(3 * 4 * 2);
  });
});

describe('drain-latency sweep: several hog CPUs', () => {
  test('logical time, 64 CPUs: workqueue drains wait longer for 8 hogs than for one; remote-locked drains wait for none', async () => {
    // Busy CPUs reach a scheduling point every 100 µs, as the logical model's CLI default.
    const cells = drainLatencyCells(
      params({ cpus: [64], mechanisms: ['workqueue', 'remote-locked'], hog: ['off', 'on'], hogs: [1, 8], spacingUs: [100], trials: 2, rounds: 8 }),
    );
    expect(cells.map((c) => c.key.replace(/ occ=8 spacing=100us/, ''))).toEqual([
      'cpus=64 mech=workqueue hog=off load=busy',
      'cpus=64 mech=workqueue hog=on load=busy',
      'cpus=64 mech=workqueue hog=on load=busy hogs=8',
      'cpus=64 mech=remote-locked hog=off load=busy',
      'cpus=64 mech=remote-locked hog=on load=busy',
      'cpus=64 mech=remote-locked hog=on load=busy hogs=8',
    ]);
    const [wOff, wOne, wEight, rOff, rOne, rEight] = (await runCells(cells, { mode: 'logical' })).map((o) => o.aggregate);
    for (const a of [wOff, wOne, wEight, rOff, rOne, rEight]) expect(a!.failures.total).toBe(0);
    expect(wOne!.drainAllLatencyNs.p50).toBeGreaterThan(wOff!.drainAllLatencyNs.p50);
    expect(wEight!.drainAllLatencyNs.p50).toBeGreaterThan(wOne!.drainAllLatencyNs.p50);
    expect(rOne!.drainAllLatencyNs.p50).toBe(rOff!.drainAllLatencyNs.p50);
    expect(rEight!.drainAllLatencyNs.p50).toBe(rOff!.drainAllLatencyNs.p50);
  });
});

describe('report: the callers figure', () => {
  test('drawn when the callers vary: call p99 against callers, a line per mechanism and generation skip', async () => {
    const cells = drainLatencyCells(params({ cpus: [16], callers: [1, 4, 16], genSkip: ['on', 'off'], trials: 2, rounds: 5 }));
    const outs = await runCells(cells, { mode: 'logical' });
    const done = cells.map((c, i) => ({ key: c.key, index: c.index, params: c.params, aggregate: outs[i]!.aggregate }));
    const doc = buildStudyDoc('drain-latency', 'logical', {}, cells.length, null, done, false);
    const fig = drainLatencyFigures(doc).find((f) => f.id === 'drain-callers-p99')!;
    expect(fig.xTicks).toEqual([1, 2, 4, 8, 16]);
    expect(fig.xLabel).toMatch(/\(count\)$/);
    expect(fig.yLabel).toMatch(/\(µs\)$/);
    expect(fig.series.map((s) => s.name)).toEqual(['workqueue', 'workqueue no-skip']);
    for (const s of fig.series) expect(s.points.map((p) => p.x)).toEqual([1, 4, 16]);
    const at16 = (name: string) => fig.series.find((s) => s.name === name)!.points[2]!.y!;
    expect(at16('workqueue no-skip')).toBeGreaterThan(at16('workqueue'));
    expect(fig.caption).toMatch(/^Call p99 from 1 caller to 16 callers: workqueue \d.* µs, workqueue no-skip /);
    expect(fig.note).toMatch(/^Bars: 95% intervals of the percentile .* no-skip: every caller drains in turn/);
    // At most 160 calls a cell: too few to bound a p99 from above, so no point has a bar.
    for (const p of fig.series.flatMap((s) => s.points)) expect(p.lo, JSON.stringify(p)).toBeUndefined();
    // One caller everywhere: no such figure.
    const one = buildStudyDoc('drain-latency', 'logical', {}, 1, null, [done[0]!], false);
    expect(drainLatencyFigures(one).some((f) => f.id === 'drain-callers-p99')).toBe(false);
  });
});

describe('study drain-latency --callers from the command line', () => {
  test('a caller count out of range, or above every CPU count, is refused naming the flag (exit 2)', async () => {
    const zero = await cli('study', 'drain-latency', '--model', 'logical', '--callers', '0', '--no-progress');
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/--callers: expected integers from 1 to 512, got '0'/);
    const many = await cli('study', 'drain-latency', '--model', 'logical', '--cpus', '4,8', '--callers', '16', '--no-progress');
    expect(many.code).toBe(2);
    expect(many.err).toMatch(/no cell fits in its CPUs: .*\(--cpus 4,8, --callers 16, --hog off,on, --hogs 1\)/);
    const hog = await cli('study', 'drain-latency', '--model', 'logical', '--cpus', '4', '--callers', '4', '--hog', 'on', '--no-progress');
    expect(hog.code).toBe(2);
    expect(hog.err).toMatch(
      /callers \(the first CPUs\) and, with --hog on, hogs \(the last\) must be different CPUs \(--cpus 4, --callers 4, --hog on, --hogs 1\)/,
    );
    const hogs = await cli('study', 'drain-latency', '--hogs', '0', '--no-progress');
    expect(hogs.code).toBe(2);
    expect(hogs.err).toMatch(/--hogs: expected integers from 1 to 63, got '0'/);
    const skip = await cli('study', 'drain-latency', '--gen-skip', 'maybe', '--no-progress');
    expect(skip.code).toBe(2);
    expect(skip.err).toMatch(/--gen-skip: expected one of policy, on, off, got 'maybe'/);
  });
});

describe('files written before drainGenSkip and the callers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'folio-race-storm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a replay file whose switch set lacks drainGenSkip replays, reading it as on (what it ran)', async () => {
    const file = join(dir, 'old.replay.json');
    const hunt = await cli('hunt', 'S1', '--seed', '1', '--out', file, '--no-progress');
    expect(hunt.code).toBe(1); // S1 fails under v6.11: a failing schedule is written
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.policy.switches.drainGenSkip).toBe(true);
    delete doc.policy.switches.drainGenSkip;
    writeFileSync(file, JSON.stringify(doc));
    const r = await cli('replay', file);
    expect(r.err).not.toMatch(/not a folio-race replay file/);
    expect(r.code).toBe(0); // reproduced: the same failure again (1 would be: not reproduced)
    expect(r.out).toMatch(/reproduced/);
  });

  test('shards of one sweep merge whether or not their documents name the new dimensions at their defaults', async () => {
    const shard = async (i: number, strip: boolean) => {
      const out = join(dir, `s${i}${strip ? 'old' : ''}.json`);
      const r = await cli(
        ...([
          'study',
          'drain-latency',
          '--model',
          'logical',
          '--cpus',
          '2,4',
          '--mechanisms',
          'workqueue',
          '--hog',
          'off',
          '--trials',
          '2',
          '--rounds',
          '3',
          '--shard',
          `${i}/2`,
          '--json',
          out,
          '--no-progress',
        ] as const),
      );
      expect(r.code).toBe(0);
      const d = JSON.parse(readFileSync(out, 'utf8'));
      expect(Object.keys(d.params)).not.toContain('callers'); // at its default: left out
      if (strip)
        for (const c of d.cells) {
          // As a document from before: no call histogram, no callers/genSkip/hogs in the cells' params.
          delete c.aggregate.drainAllCallNs;
          for (const k of ['callers', 'genSkip', 'hogs']) delete c.params[k];
        }
      writeFileSync(out, JSON.stringify(d));
      return out;
    };
    const merged = join(dir, 'merged.json');
    const r = await cli('merge', await shard(1, true), await shard(2, false), '-o', merged);
    expect(r.err).not.toMatch(/different parameters/);
    expect(r.code).toBe(0);
    const m = parseStudyDoc(readFileSync(merged, 'utf8'));
    expect(m.cells).toHaveLength(2);
    // The old shard's cell has no call histogram, the new one's keeps it: none is invented.
    expect(m.cells.filter((c) => c.aggregate.drainAllCallNs === undefined)).toHaveLength(1);
  });

  test('aggregates merged with one from before the call histogram write none (its calls are unknown)', () => {
    const a = new PolicyAggregator('v6.11');
    a.add({
      trial: 0,
      failures: [],
      pins: [],
      drainAlls: [{ startNs: 0, endNs: 500, mutexWaitNs: 0, cpusQueued: 1, genSkipped: false, forced: false }],
      stats: [],
      durationNs: 1,
    });
    const old = a.toJSON();
    delete old.drainAllCallNs;
    expect(PolicyAggregator.fromJSON(old).toJSON().drainAllCallNs).toBeUndefined();
    expect(PolicyAggregator.fromJSON(a.toJSON()).merge(PolicyAggregator.fromJSON(old)).toJSON().drainAllCallNs).toBeUndefined();
    expect(PolicyAggregator.fromJSON(a.toJSON()).toJSON().drainAllCallNs!.count).toBe(1);
  });
});
