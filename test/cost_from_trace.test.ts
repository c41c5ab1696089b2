// The cost fit to a kernel trace (costs --from-trace): a synthetic trace with known costs, in
// the kernel's tracepoint formats, gives those costs back; what a trace lacks is named, not guessed.
import { describe, expect, test } from 'vitest';
import { validateCostFile } from '../src/cost/file.js';
import { costFileFromFit, fitCostsFromTrace, TraceFitError } from '../src/cost/from_trace.js';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import { parseFtrace, parseFtraceLine } from '../src/trace/ftrace.js';
import { parse as parseYaml } from 'yaml';
import { drainTrace, TRACE_COSTS as K } from './helpers/drain_trace.js';

const base = { ...DEFAULT_COSTS, stepNs: K.stepNs, idlePollNs: 2_000 };
const fitText = (text: string) => fitCostsFromTrace(parseFtrace(text), base);
const value = (f: ReturnType<typeof fitText>, field: string) => f.fitted.find((x) => x.field === field)?.value;

describe('parseFtraceLine: the formats traces come in', () => {
  test('nanosecond timestamps (trace-cmd report -t) and no latency column (trace-cmd report)', () => {
    const a = parseFtraceLine(
      '   kworker/3:1-103   [003] 12.000014400: workqueue_execute_start: work struct ffff8881f5a03c3a0: function lru_add_drain_per_cpu',
    )!;
    expect(a).toMatchObject({ task: 'kworker/3:1', pid: 103, cpu: 3, latency: '', preempt: 0, timeNs: 12_000_014_400, event: 'workqueue_execute_start' });
    expect(a.body).toBe('work struct ffff8881f5a03c3a0: function lru_add_drain_per_cpu');
    const b = parseFtraceLine(
      '  <idle>-0     [001] d..2. 7.168463: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kworker/1:1 next_pid=77 next_prio=120',
    )!;
    expect(b).toMatchObject({ task: '<idle>', pid: 0, cpu: 1, latency: 'd..2.', preempt: 2, timeNs: 7_168_463_000, event: 'sched_switch' });
  });
});

describe('fitCostsFromTrace', () => {
  test('gives back the costs a synthetic trace was made with', () => {
    const f = fitText(drainTrace());
    expect(f.drains).toBe(200);
    expect(f.cpus).toBe(8);
    expect(f.missing).toEqual([]);
    const near = (field: string, want: number, rel: number) => {
      const v = value(f, field);
      expect(v, field).toBeDefined();
      expect(Math.abs(v! - want), `${field} = ${v}, want ${want}`).toBeLessThanOrEqual(want * rel);
    };
    near('queueWorkNs', K.queueWorkNs, 0.02);
    near('drainScanNs', K.drainScanNs, 0.02);
    near('kworkerWakeIdleNs', K.wakeIdleNs, 0.01);
    near('wakePollingNs', K.wakePollingNs, 0.01);
    near('lruMoveNs', K.lruMoveNs, 0.02);
    near('lruvecLockNs', K.lruvecLockNs, 0.05);
    near('wakeupNs', K.wakeupNs, 0.01);
    near('wakeupLocalNs', K.wakeupLocalNs, 0.01);
    // switch + U(0, spacing) from its tails: the spacing to a few per cent, the switch (2% of
    // the spacing) within three standard errors, which the fit reports.
    near('busySpacingNs', K.spacingNs, 0.05);
    const sw = f.fitted.find((x) => x.field === 'kworkerSwitchNs')!;
    expect(sw.se).toBeGreaterThan(0);
    expect(sw.se!).toBeLessThan(K.switchNs);
    expect(Math.abs(sw.value - K.switchNs)).toBeLessThanOrEqual(3 * sw.se!);
  });

  test("trace-cmd's sched_switch format and CPUs numbered with holes fit the same", () => {
    const f = fitText(drainTrace({ plugin: true, sparse: true }));
    expect(f.onlineCpus).toBe(8);
    expect(f.missing).toEqual([]);
    for (const [field, want] of [
      ['queueWorkNs', K.queueWorkNs],
      ['drainScanNs', K.drainScanNs],
      ['kworkerWakeIdleNs', K.wakeIdleNs],
      ['wakeupNs', K.wakeupNs],
      ['wakeupLocalNs', K.wakeupLocalNs],
    ] as const)
      expect(Math.abs(value(f, field)! - want), field).toBeLessThanOrEqual(want * 0.02);
  });

  test('sched_switch lines in no format it reads are refused, not taken as "all CPUs busy"', () => {
    const text = drainTrace({ drains: 5 }).replace(/prev_pid=(\d+)/g, 'prev=$1');
    expect(() => fitText(text)).toThrow(/none in a format read here/);
  });

  test('a caller preempted while queueing (R) is not taken for a flusher woken', () => {
    // Three drains: the caller on CPU 0 queues CPUs 0 and 1, is preempted by its own kworker in
    // between, then sleeps in flush_work() (D) until CPU 1's work ends.
    const lines: string[] = [];
    const L = (t: number, cpu: number, task: string, pid: number, ev: string, body: string) =>
      lines.push(`${task}-${pid} [00${cpu}] ..... 1.${String(t).padStart(9, '0')}: ${ev}: ${body}`);
    for (let d = 0; d < 3; d++) {
      const o = d * 1_000_000;
      const q = (t: number, cpu: number) =>
        L(
          o + t,
          0,
          'caller',
          42,
          'workqueue_queue_work',
          `work struct=ffff${cpu} function=lru_add_drain_per_cpu workqueue=mm_percpu_wq req_cpu=${cpu} cpu=${cpu}`,
        );
      const x = (t: number, cpu: number, ev: string) =>
        L(o + t, cpu, `kworker/${cpu}:1`, 100 + cpu, ev, `work struct ffff${cpu}: function lru_add_drain_per_cpu`);
      const s = (t: number, cpu: number, p: string, pp: number, st: string, n: string, np: number) =>
        L(o + t, cpu, p, pp, 'sched_switch', `prev_comm=${p} prev_pid=${pp} prev_prio=120 prev_state=${st} ==> next_comm=${n} next_pid=${np} next_prio=120`);
      s(0, 1, 'swapper/1', 0, 'R', 'swapper/1', 0);
      q(1000, 0);
      s(1100, 0, 'caller', 42, 'R', 'kworker/0:1', 100); // preempted by its own kworker
      x(1200, 0, 'workqueue_execute_start');
      x(1500, 0, 'workqueue_execute_end');
      s(1600, 0, 'kworker/0:1', 100, 'S', 'caller', 42);
      q(2000, 1);
      s(2300, 0, 'caller', 42, 'D', 'swapper/0', 0);
      x(16_000, 1, 'workqueue_execute_start');
      x(16_500, 1, 'workqueue_execute_end');
      s(19_500, 0, 'swapper/0', 0, 'R', 'caller', 42);
    }
    const f = fitText(lines.join('\n'));
    expect(f.drains).toBe(3);
    expect(value(f, 'wakeupLocalNs')).toBeUndefined();
    expect(value(f, 'wakeupNs')).toBe(3000);
  });

  describe('which queue_work events make one drain', () => {
    // Lines of one caller (pid 42 on CPU 0): queue_work to `cpu` at `us`, a work's start and end.
    const lines: string[] = [];
    const at = (us: number) => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
    const q = (us: number, cpu: number) =>
      lines.push(
        `caller-42 [000] ..... ${at(us)}: workqueue_queue_work: work struct=ffff${cpu} function=lru_add_drain_per_cpu workqueue=mm_percpu_wq req_cpu=${cpu} cpu=${cpu}`,
      );
    const x = (us: number, cpu: number, ev: 'start' | 'end') =>
      lines.push(`kworker/${cpu}:1-${100 + cpu} [00${cpu}] ..... ${at(us)}: workqueue_execute_${ev}: work struct ffff${cpu}: function lru_add_drain_per_cpu`);
    const fitLines = () => {
      const f = fitCostsFromTrace(parseFtrace(lines.join('\n')), base);
      lines.length = 0;
      return f;
    };
    test('a caller stalled for 5 ms between two CPUs, a work still running: one drain', () => {
      q(1_000_000, 1);
      x(1_000_010, 1, 'start');
      q(1_005_000, 2); // CPU 1's work is still running
      x(1_005_100, 1, 'end');
      x(1_005_200, 2, 'start');
      x(1_005_300, 2, 'end');
      expect(fitLines().drains).toBe(1);
    });
    test('a pause after every work so far ended: the next drain, even at a higher CPU', () => {
      q(1_000_000, 1);
      x(1_000_010, 1, 'start');
      x(1_000_020, 1, 'end');
      q(1_050_000, 2);
      x(1_050_010, 2, 'start');
      x(1_050_020, 2, 'end');
      expect(fitLines().drains).toBe(2);
    });
    test("a work whose events were lost and a 5 s pause: the next drain, and no 5 s gap in the scan's fit", () => {
      q(1_000_000, 2);
      q(1_000_001, 5); // CPU 5's work never shows
      x(1_000_010, 2, 'start');
      x(1_000_020, 2, 'end');
      q(6_000_000, 7);
      q(6_000_001, 9);
      x(6_000_010, 7, 'start');
      x(6_000_020, 7, 'end');
      x(6_000_030, 9, 'start');
      x(6_000_040, 9, 'end');
      const f = fitLines();
      expect(f.drains).toBe(2);
      expect(f.measured.queueGap.p95).toBeLessThan(10_000);
    });
  });

  test("the cost file carries the costs the fit took as given, and a base file's own values", () => {
    const f = fitCostsFromTrace(parseFtrace(drainTrace({ drains: 60 })), { ...base, stepNs: 20, numaNodes: 4 });
    const m = validateCostFile(parseYaml(costFileFromFit(f, 't')), 'fitted.yaml');
    expect(m.stepNs).toBe(20);
    expect(m.idlePollNs).toBe(2000);
    expect(m.numaNodes).toBe(4);
  });

  test('µs timestamps (the tracing/trace file): sub-µs costs from trimmed means, and the file says so', () => {
    const f = fitText(drainTrace({ micro: true }));
    expect(f.resolutionNs).toBe(1000);
    const rel = (field: string, want: number) => Math.abs(value(f, field)! - want) / want;
    expect(rel('queueWorkNs', K.queueWorkNs)).toBeLessThan(0.1);
    expect(rel('lruMoveNs', K.lruMoveNs)).toBeLessThan(0.05);
    expect(rel('kworkerWakeIdleNs', K.wakeIdleNs)).toBeLessThan(0.01);
    expect(rel('wakePollingNs', K.wakePollingNs)).toBeLessThan(0.05);
    expect(costFileFromFit(f, 't')).toMatch(/µs resolution/);
    expect(costFileFromFit(fitText(drainTrace({ drains: 20 })), 't')).not.toMatch(/µs resolution/);
  });

  test('without sched_switch the wake-ups are not fitted (idle and busy CPUs cannot be told apart), and say so', () => {
    const f = fitText(drainTrace({ noSched: true, drains: 50 }));
    const missing = f.missing.map((m) => m.field).sort();
    expect(missing).toEqual(['busySpacingNs', 'kworkerSwitchNs', 'kworkerWakeIdleNs', 'wakePollingNs', 'wakeupLocalNs', 'wakeupNs']);
    expect(f.missing.find((m) => m.field === 'kworkerWakeIdleNs')!.why).toMatch(/sched_switch/);
    expect(value(f, 'queueWorkNs')).toBeCloseTo(K.queueWorkNs, -1);
    expect(value(f, 'lruMoveNs')).toBeCloseTo(K.lruMoveNs, -1);
  });

  test('without mm_lru_insertion the per-entry cost is not fitted', () => {
    const f = fitText(drainTrace({ noInsertions: true, drains: 50 }));
    expect(f.missing.find((m) => m.field === 'lruMoveNs')!.why).toMatch(/mm_lru_insertion/);
    expect(value(f, 'lruMoveNs')).toBeUndefined();
  });

  test('a trace with no drain work is refused with what to record', () => {
    const text =
      '  bash-1 [000] ..... 1.000000: sched_switch: prev_comm=bash prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n';
    expect(() => fitText(text)).toThrow(TraceFitError);
    expect(() => fitText(text)).toThrow(/workqueue:workqueue_queue_work/);
  });

  test('the cost file it writes is a valid cost file with the fitted values', () => {
    const f = fitText(drainTrace({ drains: 60 }));
    const text = costFileFromFit(f, 'trace.txt');
    const m = validateCostFile(parseYaml(text), 'fitted.yaml');
    for (const x of f.fitted) expect(m[x.field]).toBe(x.value);
    expect(m.numaNodes).toBe(DEFAULT_COSTS.numaNodes); // not fitted: the default
    expect(text).toMatch(/^# Fitted by folio-race costs --from-trace trace.txt: 60 drain-alls/);
  });
});
