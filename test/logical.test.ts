// The logical-time runtime (src/runtime/logical.ts) and its cost model: times that follow from
// the costs and the kernel code (parallel kworkers, a serial remote-locked caller, wake-ups, a
// hog that holds off workqueue drains but not IPIs), reproducibility, 512 CPUs, cost files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCostFile } from '../src/cost/file.js';
import { COST_SOURCES, type CostModel, DEFAULT_COSTS } from '../src/cost/model.js';
import type { DrainMechanism } from '../src/mm/policy.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, type DrainLatencyParams, drainLatencyCells } from '../src/study/studies.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-logical-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every cost 0: a test turns on only the costs it is about. */
const ZERO: CostModel = {
  ...(Object.fromEntries(Object.entries(DEFAULT_COSTS).map(([k, v]) => [k, typeof v === 'number' ? 0 : v])) as CostModel),
  numaNodes: 1, // one lruvec unless a test says otherwise
};

async function latencies(costs: Partial<CostModel>, p: Partial<DrainLatencyParams>): Promise<Map<string, { p50: number; max: number; count: number }>> {
  const cells = drainLatencyCells({ ...DRAIN_LATENCY_DEFAULTS, hog: ['off'], load: ['idle'], spacingUs: [0], trials: 2, rounds: 3, ...p });
  const out = await runCells(cells, { mode: 'logical', costs: { ...ZERO, ...costs } });
  return new Map(out.map((o, i) => [`${cells[i]!.params.mechanism} ${cells[i]!.params.cpus}`, o.aggregate.drainAllLatencyNs]));
}

describe('logical time follows from the costs and the kernel code', () => {
  test('every batch is walked under the one lruvec lock: kworkers take turns, as the remote-locked caller does alone', async () => {
    const l = await latencies({ lruMoveNs: 1000 }, { cpus: [1, 2, 8], mechanisms: ['workqueue', 'remote-locked'] });
    // 8 entries per CPU at 1 µs each under lruvec->lru_lock, nothing else costs anything
    for (const n of [1, 2, 8]) expect(l.get(`workqueue ${n}`)!.max).toBe(8000 * n);
    for (const n of [1, 2, 8]) expect(l.get(`remote-locked ${n}`)!.max).toBe(8000 * n);
  });
  test('each NUMA node has its own lruvec lock: with 2 nodes, two queues of walks run side by side', async () => {
    const one = await latencies({ lruMoveNs: 1000, numaNodes: 1 }, { cpus: [8], mechanisms: ['workqueue'] });
    const two = await latencies({ lruMoveNs: 1000, numaNodes: 2 }, { cpus: [8], mechanisms: ['workqueue'] });
    const four = await latencies({ lruMoveNs: 1000, numaNodes: 4 }, { cpus: [8], mechanisms: ['workqueue'] });
    expect(one.get('workqueue 8')!.max).toBe(8 * 8000);
    expect(two.get('workqueue 8')!.max).toBe(4 * 8000);
    expect(four.get('workqueue 8')!.max).toBe(2 * 8000);
  });
  test("another node's CPUs cost remoteNodeNs more to queue work on (a line they wrote last), not to scan; the caller's own node's do not", async () => {
    // Caller CPU 0 on node 0 of 2: CPUs 4-7 are remote. Each has a batch: scanned and queued.
    const scan = await latencies({ drainScanNs: 100, numaNodes: 2, remoteNodeNs: 1000 }, { cpus: [8], mechanisms: ['workqueue'] });
    expect(scan.get('workqueue 8')!.max).toBe(8 * 100 + 4 * 1000); // the queueing's premium only
    const queue = await latencies({ queueWorkNs: 100, numaNodes: 2, remoteNodeNs: 1000 }, { cpus: [8], mechanisms: ['workqueue'] });
    expect(queue.get('workqueue 8')!.max).toBe(8 * 100 + 4 * 1000); // its own CPU's work too, as __lru_add_drain_all() queues it
    const one = await latencies({ queueWorkNs: 100, numaNodes: 1, remoteNodeNs: 1000 }, { cpus: [8], mechanisms: ['workqueue'] });
    expect(one.get('workqueue 8')!.max).toBe(8 * 100);
    const locked = await latencies({ remoteLockNs: 100, numaNodes: 2, remoteNodeNs: 1000 }, { cpus: [8], mechanisms: ['remote-locked'] });
    const local = await latencies({ remoteLockNs: 100, numaNodes: 2, remoteNodeNs: 0 }, { cpus: [8], mechanisms: ['remote-locked'] });
    expect(locked.get('remote-locked 8')!.max - local.get('remote-locked 8')!.max).toBeGreaterThanOrEqual(4 * 1000);
  });
  test('work outside the lock overlaps: kworkers woken at once finish together', async () => {
    const l = await latencies({ lruMoveNs: 1000, kworkerWakeIdleNs: 20_000 }, { cpus: [8], mechanisms: ['workqueue'] });
    // the local drain (8 µs) runs while the seven wake-ups (20 µs) are in flight; then 7 walks in turn
    expect(l.get('workqueue 8')!.max).toBe(20_000 + 7 * 8000);
  });
  test('an idle CPU costs one kworker wake-up; they overlap', async () => {
    const l = await latencies({ kworkerWakeIdleNs: 5000 }, { cpus: [2, 8], mechanisms: ['workqueue'] });
    expect(l.get('workqueue 2')!.max).toBe(5000);
    expect(l.get('workqueue 8')!.max).toBe(5000);
  });
  test('a CPU that went idle less than idlePollNs ago still polls: its kworker is woken for wakePollingNs, not an idle exit', async () => {
    const costs = { kworkerWakeIdleNs: 5000, wakePollingNs: 500, wakeupNs: 3000 };
    const polling = await latencies({ ...costs, idlePollNs: 1e9 }, { cpus: [2, 8], mechanisms: ['workqueue'] });
    const deep = await latencies({ ...costs, idlePollNs: 0 }, { cpus: [2, 8], mechanisms: ['workqueue'] });
    // there: the kworker's wake; back: the requester, blocked in flush_work(), polls too
    expect(polling.get('workqueue 8')!.max).toBe(500 + 500);
    expect(deep.get('workqueue 8')!.max).toBe(5000 + 3000);
    expect(polling.get('workqueue 2')!.max).toBe(1000);
  });
  test('the scan of cpu_needs_drain() and queue_work_on() is serial in the caller', async () => {
    const l = await latencies({ drainScanNs: 100, queueWorkNs: 400 }, { cpus: [4, 16], mechanisms: ['workqueue'] });
    expect(l.get('workqueue 4')!.max).toBe(4 * 500);
    expect(l.get('workqueue 16')!.max).toBe(16 * 500);
  });
  test('a non-preemptible CPU holds off a workqueue drain until its stretch ends; an IPI drain lands inside it', async () => {
    const l = await latencies(
      { ipiNs: 3000, kworkerWakeIdleNs: 5000 },
      { cpus: [4], mechanisms: ['workqueue', 'ipi'] as DrainMechanism[], hog: ['on'], load: ['busy'], spacingUs: [10], hogUs: 250 },
    );
    expect(l.get('workqueue 4')!.p50).toBeGreaterThan(100_000);
    expect(l.get('workqueue 4')!.max).toBeLessThanOrEqual(250_000 + 20_000);
    expect(l.get('ipi 4')!.max).toBe(3000);
  });
  test('busy CPUs: a drain waits for the latest of their next scheduling points, so it grows with the CPU count', async () => {
    const l = await latencies({ kworkerSwitchNs: 1000 }, { cpus: [2, 16], mechanisms: ['workqueue'], load: ['busy'], spacingUs: [100], trials: 4, rounds: 10 });
    const two = l.get('workqueue 2')!;
    const sixteen = l.get('workqueue 16')!;
    expect(two.max).toBeLessThanOrEqual(100_000 + 1000);
    expect(sixteen.p50).toBeGreaterThan(two.p50);
  });
});

describe('the logical-time runtime', () => {
  test('any cost model: every drain of every trial completes (a kworker queued for the lruvec lock is never left behind)', async () => {
    const cost = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 }));
    const fields = [
      'batchAddNs',
      'lruvecLockNs',
      'lruMoveNs',
      'drainScanNs',
      'queueWorkNs',
      'stepNs',
      'kworkerWakeIdleNs',
      'kworkerSwitchNs',
      'ipiNs',
      'wakeupNs',
      'wakeupLocalNs',
      'wakePollingNs',
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(fields.map((f) => [f, cost])) as Record<(typeof fields)[number], fc.Arbitrary<number>>),
        fc.oneof(fc.constant(0), fc.constant(1e9), fc.integer({ min: 1, max: 50_000 })),
        fc.constantFrom(1, 2, 3, 8),
        fc.constantFrom<'idle' | 'busy'>('idle', 'busy'),
        fc.integer({ min: 1, max: 4 }),
        async (c, idlePollNs, cpus, load, numaNodes) => {
          const cells = drainLatencyCells({
            ...DRAIN_LATENCY_DEFAULTS,
            cpus: [cpus],
            mechanisms: ['workqueue', 'ipi'],
            hog: ['off'],
            load: [load],
            spacingUs: [5],
            trials: 1,
            rounds: 4,
          });
          const out = await runCells(cells, { mode: 'logical', costs: { ...ZERO, ...c, idlePollNs, numaNodes } });
          for (const o of out) {
            expect(o.aggregate.failures.total, JSON.stringify(o.aggregate.examples).slice(0, 400)).toBe(0);
            expect(o.aggregate.drainAllLatencyNs.count).toBe(4);
          }
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
  test('reproducible: the same seed gives the same latencies, another seed other ones', async () => {
    const p = { cpus: [8], mechanisms: ['workqueue'] as DrainMechanism[], load: ['busy'] as ('busy' | 'idle')[], spacingUs: [100] };
    const run = async (seed: number) => {
      const cells = drainLatencyCells({ ...DRAIN_LATENCY_DEFAULTS, ...p, hog: ['off'], trials: 3, rounds: 5, seed });
      return JSON.stringify((await runCells(cells, { mode: 'logical' }))[0]!.aggregate.drainAllLatencyNs);
    };
    expect(await run(1)).toBe(await run(1));
    expect(await run(2)).not.toBe(await run(1));
  });
  test('512 CPUs with the default costs: every round drains every CPU, and costs more than at 16', async () => {
    const cells = drainLatencyCells({
      ...DRAIN_LATENCY_DEFAULTS,
      cpus: [16, 512],
      mechanisms: ['workqueue'],
      hog: ['off'],
      load: ['idle'],
      trials: 1,
      rounds: 2,
    });
    const out = await runCells(cells, { mode: 'logical' });
    const [a16, a512] = out.map((o) => o.aggregate);
    expect(a512!.drainAllLatencyNs.count).toBe(2);
    expect(a512!.stats.DRAIN_WORK_RUN).toBe(2 * 512);
    expect(a512!.drainAllLatencyNs.p50).toBeGreaterThan(4 * a16!.drainAllLatencyNs.p50);
    expect(a512!.failures.total).toBe(0);
  });
});

describe('cost files', () => {
  test('every default cost says where its number comes from', () => {
    for (const k of Object.keys(DEFAULT_COSTS)) if (k !== 'name') expect(COST_SOURCES[k as keyof typeof COST_SOURCES]?.length ?? 0).toBeGreaterThan(20);
  });
  test('a partial file keeps the other defaults and takes its file name as its name', () => {
    const f = join(dir, 'host.yaml');
    writeFileSync(f, 'lruMoveNs: 250\nkworkerWakeIdleNs: 40000\n');
    const m = loadCostFile(f);
    expect(m).toEqual({ ...DEFAULT_COSTS, name: f, lruMoveNs: 250, kworkerWakeIdleNs: 40000 });
  });
  test('a wrong value or an unknown field is named with its line', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'name: x\nlruMoveNs: -3\n');
    expect(() => loadCostFile(f)).toThrow(/bad\.yaml: lruMoveNs \(line 2\): expected .*0.*found -3/);
    writeFileSync(f, 'lruMoveNS: 3\n');
    expect(() => loadCostFile(f)).toThrow(/lruMoveNS/);
    expect(() => loadCostFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml.*ENOENT/);
  });
  test('a cost above a second or an infinite one is refused up front (sums of such times outgrow the latency histograms mid-study)', () => {
    const f = join(dir, 'huge.yaml');
    writeFileSync(f, 'stepNs: 1e15\n');
    expect(() => loadCostFile(f)).toThrow(/huge\.yaml: stepNs \(line 1\): expected a number <= 1000000000, found 1000000000000000/);
    writeFileSync(f, 'batchAddNs: .inf\n');
    expect(() => loadCostFile(f)).toThrow(/huge\.yaml: batchAddNs \(line 1\): expected a finite number of ns, found Infinity/);
    writeFileSync(f, 'stepNs: 1000000000\n');
    expect(loadCostFile(f).stepNs).toBe(1e9);
  });
});
