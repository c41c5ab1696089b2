// The logical-time model against the free-run emulator, side by side in one run: the costs of
// this host's emulator are measured (kernel functions timed in one thread, thread wake-ups from
// the doorbell floor), the drain-latency study runs on worker threads and in logical time with
// those costs for 1..8 CPUs, and the shapes (latency relative to 1 CPU) are printed together.
// Then the logical model alone, with the default (server) costs, from 16 to 512 CPUs: how long
// the simulation takes on this host.
import { availableParallelism, cpus as hostCpus } from 'node:os';
import { FREE_RUN_HOOKS, FreeRunCpu, waitSpinNs } from '../src/cpu/freerun.js';
import { type CostModel, DEFAULT_COSTS } from '../src/cost/model.js';
import { Batch } from '../src/mm/constants.js';
import { folio_batch_count } from '../src/mm/folio_batch.js';
import { cpu_needs_drain, folio_add_lru, lru_add_drain } from '../src/mm/swap.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { folio_isolate_lru, folio_putback_lru } from '../src/mm/vmscan.js';
import { queue_work_on } from '../src/mm/workqueue.js';
import { kworker_run_pending, lru_add_drain_all } from '../src/mm/lru_add_drain_all.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { runCells } from '../src/study/run_cells.js';
import { runCellsParallel } from '../src/study/run_cells_parallel.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells } from '../src/study/studies.js';
import { measureFloor } from './floor.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** ns per call of `f`, the median of 7 timed batches of `n` calls. */
function timeNs(n: number, f: () => void): number {
  for (let i = 0; i < n; i++) f(); // warm-up
  const per: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    per.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(per);
}

/** This host's emulator, priced as a cost model. */
export async function hostCosts(): Promise<{ costs: CostModel; how: Record<string, string> }> {
  const k = new InlineKernel({ nCpus: 2, policy: getPolicy('v6.11'), dims: { nFolios: 256 } });
  const ctx = k.ctx(0);
  const occ = 8;
  const pool: number[] = [];
  for (let i = 0; i < occ; i++) pool.push(folio_alloc(ctx, 0, true));
  for (const f of pool) k.run(0, folio_add_lru(ctx, f));
  lru_add_drain(ctx);
  // One refill (isolate + putback into the lru_add batch) and one drain of 8 entries.
  const refill = () => {
    for (const f of pool) if (folio_isolate_lru(ctx, f)) k.run(0, folio_putback_lru(ctx, f));
  };
  // Time the refill and the drain apart, each on the state the other leaves.
  const split = (rounds: number): { refill: number; drain: number } => {
    const r: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      refill();
      const t1 = process.hrtime.bigint();
      lru_add_drain(ctx);
      const t2 = process.hrtime.bigint();
      r.push(Number(t1 - t0));
      d.push(Number(t2 - t1));
    }
    return { refill: median(r), drain: median(d) };
  };
  split(5000); // warm-up
  const { refill: refillNs, drain: drainNs } = split(20000);
  if (folio_batch_count(ctx, 0, Batch.lru_add) !== 0) throw new Error('bench logical: the drain left entries');
  const scanNs = timeNs(20000, () => cpu_needs_drain(ctx, 1));
  const queueNs = timeNs(20000, () => {
    queue_work_on(ctx, 0);
    kworker_run_pending(ctx);
  });
  // Thread wake-ups: the doorbell floor's round trip is two of them (there and back).
  const idleRt = median(await measureFloor(1, false, 200, 0)); // a thread asleep every round
  const busyRt = median(await measureFloor(1, true, 200));
  const costs: CostModel = {
    ...DEFAULT_COSTS,
    name: `this host's emulator (${hostCpus().length} cores)`,
    batchAddNs: refillNs / occ,
    lruvecLockNs: 0, // inside the per-entry figure
    lruMoveNs: drainNs / occ,
    drainScanNs: scanNs,
    queueWorkNs: queueNs,
    // The emulator neither copies a migrating page's data nor flushes a TLB.
    migrateCopyNs: 0,
    tlbFlushNs: 0,
    tlbFlushPerCpuNs: 0,
    tlbFlushLocalNs: 0,
    stepNs: 0, // calibrated by calibrateStep()
    kworkerWakeIdleNs: idleRt / 2,
    // The emulator runs a CPU's kworker in that CPU's own thread, and a spinning CPU sees its
    // doorbell at its next scheduling point: no switch, only the signal's trip between cores.
    kworkerSwitchNs: 0,
    ipiNs: busyRt / 2,
    wakeupNs: idleRt / 2,
    wakeupLocalNs: 0, // a CPU's kworker runs in the flusher's own thread: no wake at all
    idlePollNs: 0, // per CPU count: benchLogical() costsFor()
    wakePollingNs: busyRt / 2,
    busySpacingNs: 0,
    remoteNodeNs: 0, // one node
    numaNodes: 1, // one lruvec lock word in the emulator's shared memory
  };
  return {
    costs,
    how: {
      batchAddNs: 'folio_isolate_lru + folio_putback_lru of 8 folios, per folio',
      lruMoveNs: 'lru_add_drain() of 8 entries, per entry (lruvec lock included)',
      kworkerWakeIdleNs: 'half the doorbell round trip to a sleeping thread',
      ipiNs: 'half the doorbell round trip to a spinning thread',
    },
  };
}

export interface LogicalBench {
  costs: CostModel;
  how: Record<string, string>;
  calibration: { driveNs: number; kernelNs: number; stepsPerDrain: number };
  shape: Array<{
    load: 'busy' | 'idle';
    cpus: number;
    freeRunP50: number;
    freeRunDrains: number;
    logicalP50: number;
    /** The free-run cell's threads fit this host's cores (else time slicing decides it). */
    fits: boolean;
  }>;
  scale: Array<{ cpus: number; cells: number; seconds: number; p50: number }>;
  /** The scale rows' cells again, all on the pool's threads (study --jobs auto): its time, and whether every cell came out the same. */
  parallelScale: { threads: number; cells: number; seconds: number; sequentialSeconds: number; same: boolean };
}

/** A cell's latencies, refusing a cell with failures (a hang would otherwise read as 0 µs). */
function checked(out: Awaited<ReturnType<typeof runCells>>, what: string) {
  const a = out[0]!.aggregate;
  if (a.failures.total > 0) throw new Error(`bench logical: ${what}: ${a.failures.total} failed trial(s): ${JSON.stringify(a.examples).slice(0, 300)}`);
  return a.drainAllLatencyNs;
}

const shapeCells = (n: number, load: 'idle' | 'busy', trials: number, rounds: number) =>
  drainLatencyCells({ ...DRAIN_LATENCY_DEFAULTS, cpus: [n], mechanisms: ['workqueue'], hog: ['off'], load: [load], spacingUs: [0], trials, rounds });

/** p50 drain latency of the 1-CPU idle cell in logical time under `costs`. */
async function logicalOneCpu(costs: CostModel): Promise<number> {
  return (await runCells(shapeCells(1, 'idle', 3, 200), { mode: 'logical', costs }))[0]!.aggregate.drainAllLatencyNs.p50;
}

/**
 * The cost per scheduling point of the free-run driver (FreeRunCpu: its yield handling, wait
 * loop, doorbells), which the kernel-function timings leave out: a 1-CPU lru_add_drain_all()
 * of 8 entries driven by FreeRunCpu in this thread, less what the model prices without it,
 * over the steps the model counts inside one drain (the latency's slope in stepNs).
 */
async function calibrateStep(costs: CostModel): Promise<LogicalBench['calibration'] & { stepNs: number }> {
  const k = new InlineKernel({ nCpus: 1, policy: getPolicy(DRAIN_LATENCY_DEFAULTS.policy), dims: { nFolios: 256 } });
  const ctx = k.ctx(0);
  Object.assign(ctx.hooks, FREE_RUN_HOOKS(k.w)); // doorbells and the process clock, as in a worker
  const cpu = new FreeRunCpu(ctx);
  const pool: number[] = [];
  for (let i = 0; i < 8; i++) pool.push(folio_alloc(ctx, 0, true));
  for (const f of pool) cpu.drive(folio_add_lru(ctx, f));
  const drains = (rounds: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const f of pool) if (folio_isolate_lru(ctx, f)) cpu.drive(folio_putback_lru(ctx, f));
      const t0 = process.hrtime.bigint();
      cpu.drive(lru_add_drain_all(ctx));
      out.push(Number(process.hrtime.bigint() - t0));
    }
    return out;
  };
  drains(5000); // warm-up
  const driveNs = median(drains(20000));
  const kernelNs = await logicalOneCpu({ ...costs, stepNs: 0 });
  const stepsPerDrain = ((await logicalOneCpu({ ...costs, stepNs: 1000 })) - kernelNs) / 1000;
  return { driveNs, kernelNs, stepsPerDrain, stepNs: Math.max(0, (driveNs - kernelNs) / stepsPerDrain) };
}

export async function benchLogical(): Promise<LogicalBench> {
  const base = await hostCosts();
  const cal = await calibrateStep(base.costs);
  const cores = availableParallelism();
  // What a cell of n CPUs costs on this host: a thread spins in its waits (a polling idle CPU:
  // woken by a signal, not a futex wake) exactly when the free-run rule lets it.
  const costsFor = (n: number): CostModel => ({
    ...base.costs,
    stepNs: cal.stepNs,
    idlePollNs: waitSpinNs({ scripted: n, nCpus: n, mine: true, coordinatorRuns: false, cores }),
    wakePollingNs: base.costs.ipiNs,
  });
  const counts = (process.env.BENCH_LOGICAL_CPUS ?? '1,2,4,8').split(',').map(Number);
  const shape: LogicalBench['shape'] = [];
  for (const n of counts) {
    const fits = n <= cores;
    // Warm this thread set's JIT first, in the same threads (one coordinator per CPU count is
    // kept between cells): a worker takes thousands of drains to tier up.
    await runCells(shapeCells(n, 'idle', 1, 2000), { mode: 'free-run' });
    for (const load of ['idle', 'busy'] as const) {
      // Oversubscribed busy cells take milliseconds a drain (time slices): fewer rounds.
      const cells = shapeCells(n, load, 3, fits || load === 'idle' ? 1000 : 100);
      const free = checked(await runCells(cells, { mode: 'free-run' }), `free-run ${load} ${n}`);
      const logical = checked(await runCells(cells, { mode: 'logical', costs: costsFor(n) }), `logical ${load} ${n}`);
      shape.push({ load, cpus: n, freeRunP50: free.p50, freeRunDrains: free.count, logicalP50: logical.p50, fits });
    }
  }
  const scale: LogicalBench['scale'] = [];
  const sweep: Parameters<typeof runCells>[0][number][] = [];
  const sequential: Awaited<ReturnType<typeof runCells>> = [];
  for (const n of [16, 64, 256, 512]) {
    // What `study drain-latency --model logical --cpus N` runs: every mechanism, hog off and on.
    const cells = drainLatencyCells({ ...DRAIN_LATENCY_DEFAULTS, cpus: [n], spacingUs: [DEFAULT_COSTS.busySpacingNs / 1000] });
    const t0 = performance.now();
    const out = await runCells(cells, { mode: 'logical' });
    const wq = out.find((_, i) => cells[i]!.params.mechanism === 'workqueue' && cells[i]!.params.hog === 'off')!;
    scale.push({ cpus: n, cells: cells.length, seconds: (performance.now() - t0) / 1000, p50: wq.aggregate.drainAllLatencyNs.p50 });
    sweep.push(...cells);
    sequential.push(...out);
  }
  // The same cells on every core, as `study ... --jobs auto` runs them (worker start-up included).
  const t0 = performance.now();
  const par = await runCellsParallel(sweep, { mode: 'logical', jobs: cores });
  const parallelScale = {
    threads: Math.min(cores, sweep.length),
    cells: sweep.length,
    seconds: (performance.now() - t0) / 1000,
    sequentialSeconds: scale.reduce((s, x) => s + x.seconds, 0),
    same: JSON.stringify(par) === JSON.stringify(sequential),
  };
  return { costs: { ...base.costs, stepNs: cal.stepNs }, how: base.how, calibration: cal, shape, scale, parallelScale };
}
