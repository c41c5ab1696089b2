// S5 at server scale (`study pin-storm --cpus --pinners --faulters`): the scaled scenario is S5's
// own scripts in S5's layout, S5 itself at S5's scale; the sweep's cells, keys and left-out
// scales; pins in logical time at 8 to 512 CPUs, with the migration's page copy and TLB flush in
// the pin's time (cost model); the CLI's bad input.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { cpusNeeded, hogCpuOf, S5_SCALE, scaleS5 } from '../src/study/pin_storm_scale.js';
import { runCells } from '../src/study/run_cells.js';
import { PIN_STORM_DEFAULTS, pinStormCells, raceWindowCells, type PinStormParams } from '../src/study/studies.js';
import { pinStormFigures } from '../src/report/plots/pin_storm.js';
import { cli } from './helpers/cli.js';
import { studyDocOf } from './helpers/study_doc.js';

afterAll(async () => {
  await shutdownAll();
});

const s5 = loadScenario('S5');
/** The pages a CPU's script names in `vma` (repeats unrolled by their stride). */
function pagesOf(ops: readonly unknown[], vma: string): number[] {
  const out: number[] = [];
  for (const op of ops as { op: string; vma?: string; page?: number; times?: number; stride?: number; ops?: unknown[] }[]) {
    if (op.op === 'repeat') {
      const inner = pagesOf(op.ops!, vma);
      for (let i = 0; i < op.times!; i++) for (const p of inner) out.push(p + i * op.stride!);
    } else if (op.vma === vma) out.push(op.page!);
  }
  return out;
}

describe('scaleS5', () => {
  test("at S5's scale it is S5: the same setup and scripts", () => {
    const same = scaleS5(s5, S5_SCALE);
    expect(same.id).toBe('S5');
    for (const k of ['cpus', 'objects', 'vmas', 'folios', 'steps'] as const) expect(same[k], k).toEqual(s5[k]);
  });

  test("scaled: pinners first with 8 pages each, one idle CPU, the hog CPU with S5's CPU 5 script, the faulters with 64 pages each, the rest idle", () => {
    const s = scaleS5(s5, { cpus: 64, pinners: 16, faulters: 8 });
    expect(s.cpus).toBe(64);
    expect(hogCpuOf({ pinners: 16 })).toBe(17);
    expect(Object.keys(s.steps).map(Number)).toEqual([...Array.from({ length: 16 }, (_, i) => i), 17, ...Array.from({ length: 8 }, (_, j) => 18 + j)]);
    for (let i = 0; i < 16; i++) expect(pagesOf(s.steps[i]!, 'guest')).toEqual(Array.from({ length: 8 }, (_, k) => 8 * i + k));
    expect(JSON.stringify(s.steps[17])).toBe(JSON.stringify(s5.steps[5]).replaceAll('steps.5[', 'steps.17['));
    // Messages name the scaled scenario's own ops: CPU 9's pin is steps.9[1].
    expect(JSON.stringify(s.steps[9])).toContain('"path":"steps.9[1].repeat.ops[0]"');
    expect(JSON.stringify(s.steps[9])).not.toContain('steps.0[');
    for (let j = 0; j < 8; j++) expect(pagesOf(s.steps[18 + j]!, 'busy_heap')).toEqual(Array.from({ length: 60 }, (_, k) => 64 * j + k));
    expect(s.vmas.find((v) => v.name === 'guest')!.pages).toBe(128);
    expect(s.objects.find((o) => o.name === 'guestmem')!.pages).toBe(128);
    expect(s.folios.find((f) => f.object === 'guestmem')!.count).toBe(128);
    expect(s.vmas.find((v) => v.name === 'busy_heap')!.pages).toBe(512);
  });

  test('roles that do not fit in the CPUs: a RangeError naming the field', () => {
    expect(cpusNeeded({ pinners: 4, faulters: 1 })).toBe(7);
    expect(() => scaleS5(s5, { cpus: 6, pinners: 4, faulters: 1 })).toThrow(/^cpus: 6 CPUs cannot hold 4 pinner\(s\).*\(7 CPUs\)/);
    expect(() => scaleS5(s5, { cpus: 8, pinners: 0, faulters: 1 })).toThrow(/^pinners: /);
  });
});

describe('pin-storm cells at scale', () => {
  const p = (over: Partial<PinStormParams>): PinStormParams => ({ ...PIN_STORM_DEFAULTS, policies: ['v6.11'], hog: ['on'], trials: 1, ...over });

  test("keys name the scale only where it is not S5's; scales that do not fit are left out and counted", () => {
    const unfit = { count: 0 };
    const cells = pinStormCells(s5, p({ cpus: [8, 64], pinners: [4, 16], faulters: [1] }), unfit);
    expect(cells.map((c) => c.key)).toEqual([
      'policy=v6.11 mech=workqueue hog=on',
      'policy=v6.11 mech=workqueue hog=on cpus=64',
      'policy=v6.11 mech=workqueue hog=on cpus=64 pinners=16',
    ]);
    expect(unfit.count).toBe(1); // 16 pinners on 8 CPUs
    expect(cells.map((c) => c.cpus)).toEqual([8, 64, 64]);
    expect(cells[0]!.params).toEqual({ policy: 'v6.11', mechanism: 'workqueue', hog: 'on' });
    expect(cells[2]!.params).toMatchObject({ cpus: 64, pinners: 16, faulters: 1 });
    // A document's parameters from before the scale (no cpus, pinners, faulters) give S5's cells.
    const { cpus: _c, pinners: _p, faulters: _f, ...old } = p({});
    expect(pinStormCells(s5, old).map((c) => c.key)).toEqual(['policy=v6.11 mech=workqueue hog=on']);
  });

  test('logical time, 8 to 512 CPUs: every pin succeeds, the invariants hold after every trial, and a drain-all scans every CPU', async () => {
    // (Jittered pauses: without them the second trial would repeat the first and not be run.)
    const cells = pinStormCells(
      s5,
      p({ policies: ['v6.11', 'merged'], hog: ['off'], cpus: [8, 512], pinners: [4, 64], faulters: [1], jitterUs: 5, trials: 2 }),
    );
    const outs = await runCells(cells, { mode: 'logical', costs: DEFAULT_COSTS });
    const by = (key: string) => outs[cells.findIndex((c) => c.key === `${key} jitter=5us`)]!.aggregate;
    for (const [i, c] of cells.entries()) {
      const a = outs[i]!.aggregate;
      const pinners = Number(c.params.pinners ?? 4);
      expect(a.failures.total, c.key).toBe(0);
      expect(a.pinLatencyNs.count, c.key).toBe(pinners * 8 * 2);
    }
    // v6.11 drains only for a folio in a batch (none here); merged drains on every pin of a small CMA folio.
    expect(by('policy=v6.11 mech=workqueue hog=off cpus=512').drainsPerPin.all).toBe(0);
    expect(by('policy=merged mech=workqueue hog=off cpus=512').drainsPerPin.all).toBe(1);
    // Its scan of 512 CPUs (drainScanNs each) alone outlasts the whole drain at 8.
    const small = by('policy=merged mech=workqueue hog=off').drainAllLatencyNs;
    const big = by('policy=merged mech=workqueue hog=off cpus=512').drainAllLatencyNs;
    expect(big.min).toBeGreaterThanOrEqual(512 * DEFAULT_COSTS.drainScanNs);
    expect(big.min).toBeGreaterThan(small.max);
    // 64 pinners: most of their drain-alls are covered by another's (the generation skip).
    expect(by('policy=merged mech=workqueue hog=off cpus=512 pinners=64').genSkipsPerDrainAll).toBeGreaterThan(0.5);
  });

  test("a pin's time includes its migration: one page copied and one TLB flush (batched v6.3+ and 6.1.y's per-folio flush)", async () => {
    const pinP50 = async (policy: string, costs: typeof DEFAULT_COSTS) => {
      const cells = pinStormCells(s5, p({ policies: [policy], hog: ['off'], trials: 2 }));
      const [o] = await runCells(cells, { mode: 'logical', costs });
      return o!.aggregate.pinLatencyNs.p50;
    };
    for (const policy of ['6.12.45', '6.1.119']) {
      const free = await pinP50(policy, { ...DEFAULT_COSTS, migrateCopyNs: 0, tlbFlushNs: 0 });
      const priced = await pinP50(policy, { ...DEFAULT_COSTS, migrateCopyNs: 4000, tlbFlushNs: 20_000 });
      // HDR percentiles are exact to 3 significant digits.
      expect(Math.abs(priced - free - 24_000), policy).toBeLessThan(0.002 * priced);
    }
  });

  test('a move attempt that fails is charged no copy where the kernel copies only after the freeze (6.1.y, v6.8) or checks first (6.12.y)', async () => {
    // S1w with a 200 µs window: every move attempt of the pin fails (a reference held in a batch).
    const cells = raceWindowCells(loadScenario('S1w'), { policies: ['6.1.119', 'v6.8', '6.12.45'], windowsUs: [200], trials: 2, seed: 1 });
    const run = async (migrateCopyNs: number) =>
      (await runCells(cells, { mode: 'logical', costs: { ...DEFAULT_COSTS, migrateCopyNs } })).map((o) => o.aggregate);
    const cheap = await run(0);
    const dear = await run(100_000);
    for (const [i, c] of cells.entries()) {
      expect(cheap[i]!.migrationAttemptsPerPin, c.key).toBeGreaterThan(1);
      expect(cheap[i]!.migration.succeeded, c.key).toBe(0);
      expect(dear[i]!.pinLatencyNs.max, c.key).toBe(cheap[i]!.pinLatencyNs.max);
      expect(dear[i]!.failures.total, c.key).toBe(cheap[i]!.failures.total);
    }
  });

  test('line figures hold the other dimensions where the plotted one has most points; none with one point', async () => {
    const params = p({ policies: ['merged'], hog: ['off'], cpus: [8, 64], pinners: [4, 16], trials: 1 });
    const cells = pinStormCells(s5, params); // 16 pinners do not fit in 8 CPUs
    const outs = await runCells(cells, { mode: 'logical', costs: DEFAULT_COSTS });
    const doc = studyDocOf('pin-storm', 'logical', params, cells, outs);
    const lines = pinStormFigures(doc).filter((f) => f.kind === 'lines');
    expect(lines.map((f) => [f.id, f.series[0]!.points.map((q) => q.x)])).toEqual([
      ['pin-storm-cpus-p99', [8, 64]], // at 4 pinners, where both CPU counts fit
      ['pin-storm-pinners-p99', [4, 16]], // at 64 CPUs
    ]);
    expect(lines[0]!.title).toContain('(4 pinners, 1 faulter)');
    // A document of 8 CPUs with 4 pinners and 64 CPUs with 16 only: both vary, no two points share the rest.
    const apart = { ...doc, cells: doc.cells.filter((c) => c.key !== 'policy=merged mech=workqueue hog=off cpus=64') };
    expect(apart.cells).toHaveLength(2);
    expect(pinStormFigures(apart).filter((f) => f.kind === 'lines')).toEqual([]);
  });

  test('the report: bars at the largest scale, and pin p99 against CPUs', async () => {
    const params = p({ policies: ['v6.11', 'merged'], hog: ['off'], cpus: [8, 32], trials: 1 });
    const cells = pinStormCells(s5, params);
    const outs = await runCells(cells, { mode: 'logical', costs: DEFAULT_COSTS });
    const doc = studyDocOf('pin-storm', 'logical', { ...params, model: 'logical', costs: DEFAULT_COSTS }, cells, outs);
    const figs = pinStormFigures(doc);
    expect(figs.map((f) => f.id)).toEqual(['pin-storm-drains-per-pin', 'pin-storm-pin-p50', 'pin-storm-pin-p99', 'pin-storm-drain-p99', 'pin-storm-cpus-p99']);
    expect(figs[0]!.title).toContain('(32 CPUs, 4 pinners, 1 faulter)');
    const merged32 = outs[cells.findIndex((c) => c.key === 'policy=merged mech=workqueue hog=off cpus=32')]!.aggregate;
    expect(figs[2]!.series[0]!.points.find((q) => q.x === 'merged')!.y).toBe(merged32.pinLatencyNs.p99 / 1000);
    const line = figs[4]!;
    expect(line.logX).toBe(true);
    expect(line.xTicks).toEqual([8, 16, 32]);
    expect(line.series.map((s) => s.name)).toEqual(['v6.11', 'merged']);
    expect(line.series[1]!.points.map((q) => q.x)).toEqual([8, 32]);
  });
});

describe('study pin-storm CLI at scale', () => {
  test('scales that do not fit: left out and said so; none fits: an error naming the flags, non-zero exit', async () => {
    const some = await cli(
      ...['study', 'pin-storm', '--model', 'logical', '--policy', 'v6.11', '--hog', 'off', '--cpus', '8', '--pinners', '4,8', '--trials', '1', '--no-progress'],
    );
    expect(some.code).toBe(0);
    expect(some.err).toContain('1 scale(s) left out');
    expect(some.out).toContain('policy=v6.11 mech=workqueue hog=off');
    const none = await cli(...['study', 'pin-storm', '--model', 'logical', '--cpus', '6', '--trials', '1']);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('no scale fits in its CPUs');
    expect(none.err).toContain('--cpus 6, --pinners 4, --faulters 1');
    const bad = await cli(...['study', 'pin-storm', '--pinners', '0', '--trials', '1']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("--pinners: expected integers from 1 to 64, got '0'");
  });
});

// Logical time has no randomness of its own: a trial that draws no random number (no jitter)
// is repeated exactly by every further trial, so a cell runs it once and says so; --jitter-us
// gives the pinners' and faulters' pauses a seeded random part, and trials that differ.
describe('identical trials in logical time', () => {
  test('without jitter: trials repeat exactly and the runtime knows it drew nothing; with jitter they differ', async () => {
    const { LogicalRuntime } = await import('../src/runtime/logical.js');
    const { getPolicy } = await import('../src/mm/policy.js');
    const { dimsFor } = await import('../src/runtime/dims.js');
    const { withPauseJitter } = await import('../src/study/studies.js');
    const pinTimes = (jitter: number) => {
      const s = withPauseJitter(s5, jitter);
      const rt = new LogicalRuntime({ nCpus: 8, policy: getPolicy('merged'), dims: dimsFor(s, 8), seed: 1, costs: DEFAULT_COSTS });
      rt.configure({ kind: 'scenario', scenario: s });
      return [0, 1, 2].map((t) => {
        const r = rt.runTrial(t);
        return { random: rt.lastTrialRandom, pins: r.pins.map((p) => p.endNs - p.startNs), end: r.durationNs };
      });
    };
    const fixed = pinTimes(0);
    expect(fixed.map((t) => t.random)).toEqual([false, false, false]);
    expect(fixed[0]!.pins.length).toBe(32);
    expect(fixed[1]).toEqual(fixed[0]);
    expect(fixed[2]).toEqual(fixed[0]);
    const jittered = pinTimes(20);
    expect(jittered.map((t) => t.random)).toEqual([true, true, true]);
    expect(jittered[1]!.end).not.toBe(jittered[0]!.end);
    expect(jittered[1]!.pins).not.toEqual(jittered[0]!.pins);
  });

  test('the CLI runs one trial of such a cell, says so and records it; --jitter-us runs them all, in cells of their own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-identical-'));
    const base = ['study', 'pin-storm', '--model', 'logical', '--policy', 'merged', '--hog', 'off', '--trials', '4', '--no-progress'];
    type Doc = {
      params: Record<string, unknown>;
      cells: Array<{ key: string; params: Record<string, unknown>; identicalTrials?: number; aggregate: { trials: number } }>;
    };
    const studyDoc = async (args: string[]) => {
      const json = join(dir, `${args.length}.json`);
      const r = await cli(...args, '--json', json);
      expect(r.code, r.err).toBe(0);
      return { r, doc: JSON.parse(readFileSync(json, 'utf8')) as Doc };
    };
    const fixed = await studyDoc(base);
    expect(fixed.r.err).toContain('1 cell(s) ran 1 trial of 4: nothing in them is random in logical time');
    expect(fixed.r.err).toContain('--jitter-us varies');
    expect(fixed.doc.cells[0]!.aggregate.trials).toBe(1);
    expect(fixed.doc.cells[0]!.identicalTrials).toBe(4);
    const jittered = await studyDoc([...base, '--jitter-us', '10']);
    expect(jittered.r.err).not.toContain('ran 1 trial');
    expect(jittered.doc.cells[0]!.key).toBe('policy=merged mech=workqueue hog=off jitter=10us');
    expect(jittered.doc.cells[0]!.params.jitterUs).toBe(10);
    expect(jittered.doc.cells[0]!.aggregate.trials).toBe(4);
    expect(jittered.doc.cells[0]!.identicalTrials).toBeUndefined();
    expect(jittered.doc.params.jitterUs).toBe(10);
    const bad = await cli(...base, '--jitter-us', 'x');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--jitter-us: expected an integer from 0 to 1000000, got x');
    rmSync(dir, { recursive: true, force: true });
  });
});
