// The logical model's drains written as kernel tracepoints (study --ftrace in logical time), and
// the round trip through costs --from-trace: a trace of the model, fitted, gives back the costs
// the model ran with. That pins what each fitted field means to what the runtime spends.
import { describe, expect, test } from 'vitest';
import { fitCostsFromTrace } from '../src/cost/from_trace.js';
import { type CostModel, DEFAULT_COSTS } from '../src/cost/model.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells } from '../src/study/studies.js';
import { parseFtrace } from '../src/trace/ftrace.js';
import { TracepointLog } from '../src/trace/tracepoints.js';

async function traceOf(costs: CostModel, load: 'idle' | 'busy', cpus: number, occupancy: number[], trials: number, spacingUs = 0): Promise<string> {
  const log = new TracepointLog();
  const cells = drainLatencyCells({
    ...DRAIN_LATENCY_DEFAULTS,
    cpus: [cpus],
    mechanisms: ['workqueue'],
    hog: ['off'],
    load: [load],
    occupancy,
    spacingUs: [spacingUs],
    trials,
    rounds: 10,
  });
  await runCells(cells, { mode: 'logical', costs, tracepoints: log });
  return log.text();
}
const fitted = (f: ReturnType<typeof fitCostsFromTrace>, k: string) => f.fitted.find((x) => x.field === k);

describe('the logical model as kernel tracepoints', () => {
  const costs: CostModel = {
    ...DEFAULT_COSTS,
    name: 'round trip',
    numaNodes: 1,
    queueWorkNs: 410,
    lruMoveNs: 130,
    lruvecLockNs: 90,
    kworkerWakeIdleNs: 12_000,
    wakeupNs: 3_500,
    wakeupLocalNs: 1_700,
  };

  test('lines the kernel would print: queue_work on the caller, execute_start/end on each kworker, sched_switch', async () => {
    const text = await traceOf(costs, 'idle', 4, [8], 1);
    const ev = parseFtrace(text);
    const kinds = new Set(ev.map((e) => e.event));
    for (const k of ['workqueue_queue_work', 'workqueue_execute_start', 'workqueue_execute_end', 'mm_lru_insertion', 'sched_switch'])
      expect(kinds.has(k), k).toBe(true);
    const q = ev.find((e) => e.event === 'workqueue_queue_work')!;
    expect(q.body).toMatch(/^work struct=[0-9a-f]+ function=lru_add_drain_per_cpu workqueue=mm_percpu_wq req_cpu=\d+ cpu=\d+$/);
    // Every work's end follows its start on the same CPU, and the flush returns after the last end.
    const start = new Map<number, number>();
    for (const e of ev) {
      if (e.event === 'workqueue_execute_start') start.set(e.cpu, e.timeNs);
      if (e.event === 'workqueue_execute_end') expect(e.timeNs).toBeGreaterThanOrEqual(start.get(e.cpu)!);
    }
  });

  test('busy CPUs, a hog, 16 CPUs, workers queued for the lruvec lock: the trace is causal', async () => {
    const log = new TracepointLog();
    const cells = drainLatencyCells({
      ...DRAIN_LATENCY_DEFAULTS,
      cpus: [16],
      mechanisms: ['workqueue'],
      hog: ['on'],
      load: ['busy'],
      occupancy: [8],
      spacingUs: [20],
      trials: 2,
      rounds: 5,
    });
    await runCells(cells, { mode: 'logical', costs: DEFAULT_COSTS, tracepoints: log });
    const current = new Map<number, number>();
    const started = new Map<number, number>();
    let works = 0;
    for (const e of parseFtrace(log.text())) {
      const cur = current.get(e.cpu) ?? 0; // every CPU is shown idle at a trial's start
      if (e.event === 'sched_switch') {
        const prev = Number(/prev_pid=(\d+)/.exec(e.body)![1]);
        expect(prev, `${e.timestamp} cpu ${e.cpu}: ${e.body}`).toBe(cur);
        current.set(e.cpu, Number(/next_pid=(\d+)/.exec(e.body)![1]));
        continue;
      }
      // Drain work runs on its CPU's kworker, and ends after it starts.
      expect(e.pid, `${e.timestamp} cpu ${e.cpu} ${e.event}`).toBe(e.event === 'workqueue_queue_work' ? cur : 100_000 + e.cpu);
      if (e.event !== 'workqueue_queue_work') expect(cur, `${e.timestamp} cpu ${e.cpu} ${e.event} with ${cur} running`).toBe(100_000 + e.cpu);
      if (e.event === 'workqueue_execute_start') started.set(e.cpu, e.timeNs);
      if (e.event === 'workqueue_execute_end') {
        expect(e.timeNs).toBeGreaterThanOrEqual(started.get(e.cpu)!);
        works++;
      }
    }
    expect(works).toBe(2 * 5 * 16);
  });

  test('idle CPUs, 2 CPUs, four batch sizes: the fit gives back the costs the model ran with', async () => {
    const f = fitCostsFromTrace(parseFtrace(await traceOf(costs, 'idle', 2, [2, 8, 16, 24], 3)), costs);
    for (const k of ['queueWorkNs', 'kworkerWakeIdleNs', 'lruMoveNs', 'lruvecLockNs', 'wakeupNs', 'wakeupLocalNs'] as const) {
      const x = fitted(f, k);
      expect(x, `${k}: ${JSON.stringify(f.missing)}`).toBeDefined();
      expect(x!.value, k).toBeCloseTo(costs[k], 0);
    }
  });

  test('busy CPUs: the switch at the scheduling point and the spacing come back', async () => {
    const c = { ...costs, kworkerSwitchNs: 3_000 };
    const f = fitCostsFromTrace(parseFtrace(await traceOf(c, 'busy', 4, [8], 8, 20)), c);
    const spacing = fitted(f, 'busySpacingNs')!;
    expect(Math.abs(spacing.value - 20_000)).toBeLessThanOrEqual(20_000 * 0.1);
    const sw = fitted(f, 'kworkerSwitchNs');
    expect(sw, JSON.stringify(f.missing)).toBeDefined();
    expect(Math.abs(sw!.value - 3_000)).toBeLessThanOrEqual(3 * sw!.se!);
  });
});
