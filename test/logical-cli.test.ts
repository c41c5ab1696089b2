// `study ... --model logical` and `costs` from the command line: a 512-CPU sweep, its study
// document, and the usage errors (exit 2, the flag and value named, nothing run).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseStudyDoc } from '../src/study/doc.js';
import { cli } from './helpers/cli.js';
import { drainTrace } from './helpers/drain_trace.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-logical-cli-'));
/** `study drain-latency --model logical` of workqueue drains on idle CPUs, hog off. */
const logicalStudy = (costs: string, cpus: string, trials: string, rounds: string) =>
  [
    'study',
    'drain-latency',
    '--model',
    'logical',
    '--costs',
    costs,
    '--cpus',
    cpus,
    '--mechanisms',
    'workqueue',
    '--hog',
    'off',
    '--load',
    'idle',
    '--trials',
    trials,
    '--rounds',
    rounds,
  ] as const;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('study drain-latency --model logical', () => {
  test('512 CPUs: a table in logical time and a study document that names its cost model', async () => {
    const json = join(dir, 'dl.json');
    const costs = join(dir, 'costs.yaml');
    writeFileSync(costs, 'name: slow wake-ups\nkworkerWakeIdleNs: 133000\n');
    const r = await cli(...logicalStudy(costs, '16,512', '2', '3'), '--json', json, '--no-progress');
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/logical time \(the logical-time model, cost model: slow wake-ups\), not this host/);
    expect(r.out).toMatch(/cpus=512 mech=workqueue/);
    const d = parseStudyDoc(readFileSync(json, 'utf8'));
    expect(d.mode).toBe('logical');
    expect((d.params.costs as { kworkerWakeIdleNs: number }).kworkerWakeIdleNs).toBe(133000);
    const cell = d.cells.find((c) => c.params.cpus === 512)!;
    // every drain waits at least for an idle CPU's wake-up, as the cost file says
    expect(cell.aggregate.drainAllLatencyNs.p50).toBeGreaterThanOrEqual(133000);
    // Idle CPUs draw nothing random: the second trial would repeat the first, so it is not run, and that is said.
    expect(cell.identicalTrials).toBe(2);
    expect(cell.aggregate.trials).toBe(1);
    expect(r.err).toContain('2 cell(s) ran 1 trial of 2: nothing in them is random in logical time');
    expect(cell.aggregate.stats.DRAIN_WORK_RUN).toBe(3 * 512);
  });
  test.each([
    [['--model', 'logical', '--cpus', '513'], /--cpus: expected integers from 1 to 512, got '513'/],
    [['--cpus', '65'], /--cpus: expected integers from 1 to 64, got '65'/],
    [['--model', 'logical', '--deterministic'], /--model logical and --deterministic: choose one/],
    [['--model', 'bogus'], /--model: expected wall or logical, got 'bogus'/],
    [['--costs', 'x.yaml'], /--costs: a cost file is for --model logical/],
    [['--model', 'logical', '--perfetto', 'x.json'], /--perfetto: not with --model logical/],
  ])('%j is refused with exit 2', async (args, msg) => {
    const r = await cli('study', 'drain-latency', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });
  test('a bad cost file: exit 2 naming the file, the field, its line and the value', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nipiNs: fast\n');
    const r = await cli('study', 'drain-latency', '--model', 'logical', '--costs', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml: ipiNs \(line 2\): expected a number, found 'fast'/);
  });
});

test('costs lists every cost with its value and source; with a file, what it changed', async () => {
  const f = join(dir, 'mine.yaml');
  writeFileSync(f, 'lruMoveNs: 250\n');
  const r = await cli('costs', f);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/lruMoveNs\s+250 ns\s+\(default 100 ns\)/);
  expect(r.out).toMatch(/intel_idle\.c/);
  const j = await cli('costs', '--json');
  expect(JSON.parse(j.out).kworkerWakeIdleNs).toBe(14000);
});

describe('costs --from-trace', () => {
  test('fits a cost file to a kernel trace, which study --costs then takes', async () => {
    const trace = join(dir, 'drains.txt');
    writeFileSync(trace, drainTrace({ drains: 40 }));
    const r = await cli('costs', '--from-trace', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# Fitted by folio-race costs --from-trace .*drains\.txt: 40 drain-alls/);
    expect(r.out).toMatch(/^kworkerWakeIdleNs: 14000 # n=\d+: median queue_work -> execute_start/m);
    const fitted = join(dir, 'fitted.yaml');
    writeFileSync(fitted, r.out);
    const s = await cli(...logicalStudy(fitted, '4', '2', '3'), '--no-progress');
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/cost model: fitted to .*drains\.txt/);
    const j = await cli('costs', '--from-trace', trace, '--json');
    expect(JSON.parse(j.out)).toMatchObject({ drains: 40, cpus: 8, resolutionNs: 1 });
  });
  test('study --ftrace in logical time writes the model as kernel tracepoints, which costs --from-trace reads back', async () => {
    const trace = join(dir, 'model.txt');
    const costs = join(dir, 'slow.yaml');
    writeFileSync(costs, 'name: slow\nkworkerWakeIdleNs: 40000\nnumaNodes: 1\n');
    // One trial of 15 rounds: idle CPUs in logical time draw nothing random, so more trials would repeat it.
    const s = await cli(...logicalStudy(costs, '2', '1', '15'), '--ftrace', trace, '--no-progress');
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/wrote .*model\.txt \(workqueue, mm_lru_insertion and sched_switch events in logical time/);
    const r = await cli('costs', '--from-trace', trace, costs);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kworkerWakeIdleNs: 40000 # n=15:/m);
    expect(r.out).toMatch(/^numaNodes: 1 # taken as given$/m);
  });
  test('a trace without drain work, or no trace at all: exit 2 naming the file', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# tracer: nop\n');
    const r = await cli('costs', '--from-trace', empty);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--from-trace: .*empty\.txt: no drain work in the trace: expected workqueue_queue_work events with function=lru_add_drain_per_cpu/);
    const n = await cli('costs', '--from-trace', join(dir, 'nope.txt'));
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/--from-trace: cannot read '.*nope\.txt': ENOENT/);
  });
});
