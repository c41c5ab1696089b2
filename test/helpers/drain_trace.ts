// A synthetic ftrace of lru_add_drain_all() calls with known costs, in the kernel's tracepoint
// formats (workqueue.h, pagemap.h, sched.h TP_printk()s), for testing the cost fit against: a
// caller on CPU 0 queues drain work in CPU order, idle CPUs' kworkers start after a wake-up (a
// polling CPU's sooner), busy CPUs' at a scheduling point uniform over the spacing, each work
// moves its batch (one mm_lru_insertion per folio), and the caller sleeps until the last work ends.
import { mulberry32 } from '../../src/rng/mulberry32.js';

export interface DrainTraceCosts {
  queueWorkNs: number;
  /** Per CPU stepped over by the scan: drainScanNs + stepNs. */
  scanStepNs: number;
  wakeIdleNs: number;
  wakePollingNs: number;
  switchNs: number;
  spacingNs: number;
  /** stepNs + lruvecLockNs. */
  workFixedNs: number;
  lruMoveNs: number;
  wakeupNs: number;
  wakeupLocalNs: number;
}

export const TRACE_COSTS: DrainTraceCosts = {
  queueWorkNs: 400,
  scanStepNs: 120,
  wakeIdleNs: 14_000,
  wakePollingNs: 1_500,
  switchNs: 2_000,
  spacingNs: 100_000,
  workFixedNs: 350,
  lruMoveNs: 120,
  wakeupNs: 3_000,
  wakeupLocalNs: 2_000,
};

const CALLER = { comm: 'compact', pid: 4242 };
const kworker = (cpu: number) => ({ comm: `kworker/${cpu}:1`, pid: 100 + cpu });
const task = (cpu: number) => ({ comm: `stress-ng-${cpu}`, pid: 3000 + cpu });
const IDLE = (cpu: number) => ({ comm: `swapper/${cpu}`, pid: 0 });

/** `sec.nanoseconds`, as `trace-cmd report -t` prints it (or µs: `sec.micro`, as /sys/kernel/tracing/trace). */
function ts(ns: number, micro: boolean): string {
  const sec = Math.floor(ns / 1e9);
  const rest = ns - sec * 1e9;
  return micro ? `${sec}.${String(Math.floor(rest / 1000)).padStart(6, '0')}` : `${sec}.${String(Math.round(rest)).padStart(9, '0')}`;
}

export interface DrainTraceOptions {
  drains?: number;
  cpus?: number;
  seed?: number;
  /** Leave out sched_switch (a trace of the workqueue events only). */
  noSched?: boolean;
  /** Leave out mm_lru_insertion. */
  noInsertions?: boolean;
  /** µs timestamps. */
  micro?: boolean;
}

export function drainTrace(opts: DrainTraceOptions = {}, c: DrainTraceCosts = TRACE_COSTS): string {
  const rnd = mulberry32(opts.seed ?? 7);
  const nCpus = opts.cpus ?? 8;
  const out: Array<{ t: number; line: string }> = [];
  const emit = (t: number, who: { comm: string; pid: number }, cpu: number, event: string, body: string) =>
    out.push({ t, line: `${`${who.comm}-${who.pid}`.padStart(16)} [${String(cpu).padStart(3, '0')}] ..... ${ts(t, opts.micro === true)}: ${event}: ${body}` });
  const sw = (t: number, cpu: number, prev: { comm: string; pid: number }, next: { comm: string; pid: number }) => {
    if (!opts.noSched)
      emit(
        t,
        prev,
        cpu,
        'sched_switch',
        `prev_comm=${prev.comm} prev_pid=${prev.pid} prev_prio=120 prev_state=S ==> next_comm=${next.comm} next_pid=${next.pid} next_prio=120`,
      );
  };
  const work = (cpu: number) => `ffff8881f5a${String(cpu).padStart(2, '0')}c3a0`;
  for (let d = 0; d < (opts.drains ?? 200); d++) {
    const t0 = 1e9 + d * 10_000_000 + Math.floor(rnd() * 997); // at no fixed phase to a µs
    // Which CPUs have something to drain, and what each other CPU is doing.
    // One drain in ten finds only the caller's own CPU with work: its kworker wakes the caller.
    const targets: number[] = [];
    if (rnd() < 0.1) targets.push(0);
    else for (let cpu = 0; cpu < nCpus; cpu++) if (rnd() < 0.75) targets.push(cpu);
    if (targets.length === 0) targets.push(1);
    const kind = new Map<number, 'idle' | 'polling' | 'busy'>();
    for (let cpu = 1; cpu < nCpus; cpu++) {
      const r = rnd();
      kind.set(cpu, r < 0.35 ? 'idle' : r < 0.55 ? 'polling' : 'busy');
    }
    sw(t0 - 5_000_000, 0, IDLE(0), CALLER);
    for (let cpu = 1; cpu < nCpus; cpu++) sw(t0 - 5_000_000 + cpu, cpu, IDLE(cpu), kind.get(cpu) === 'idle' ? IDLE(cpu) : task(cpu));
    let t = t0;
    let prev = -1;
    const queued: Array<{ cpu: number; t: number }> = [];
    for (const cpu of targets) {
      if (prev >= 0) t += c.queueWorkNs + c.scanStepNs * (cpu - prev);
      emit(t, CALLER, 0, 'workqueue_queue_work', `work struct=${work(cpu)} function=lru_add_drain_per_cpu workqueue=mm_percpu_wq req_cpu=${cpu} cpu=${cpu}`);
      queued.push({ cpu, t });
      prev = cpu;
    }
    const sleepAt = t + 300; // into flush_work()
    sw(sleepAt, 0, CALLER, targets[0] === 0 ? kworker(0) : IDLE(0));
    const ends: Array<{ cpu: number; t: number }> = [];
    for (const q of queued) {
      let start: number;
      if (q.cpu === 0) start = sleepAt + 200;
      else {
        const k = kind.get(q.cpu)!;
        if (k === 'polling') sw(q.t - 500, q.cpu, task(q.cpu), IDLE(q.cpu)); // went idle just now
        start = q.t + (k === 'idle' ? c.wakeIdleNs : k === 'polling' ? c.wakePollingNs : c.switchNs + rnd() * c.spacingNs);
        sw(start - 100, q.cpu, k === 'busy' ? task(q.cpu) : IDLE(q.cpu), kworker(q.cpu));
      }
      const n = 1 + Math.floor(rnd() * 31);
      emit(start, kworker(q.cpu), q.cpu, 'workqueue_execute_start', `work struct ${work(q.cpu)}: function lru_add_drain_per_cpu`);
      if (!opts.noInsertions)
        for (let i = 0; i < n; i++)
          emit(
            start + 50 + i * c.lruMoveNs,
            kworker(q.cpu),
            q.cpu,
            'mm_lru_insertion',
            `folio=ffffea0004d2${String(i).padStart(4, '0')} pfn=0x134b${String(i).padStart(2, '0')} lru=2 flags=M|SB|U`,
          );
      const end = start + c.workFixedNs + n * c.lruMoveNs;
      emit(end, kworker(q.cpu), q.cpu, 'workqueue_execute_end', `work struct ${work(q.cpu)}: function lru_add_drain_per_cpu`);
      ends.push({ cpu: q.cpu, t: end });
      if (q.cpu !== 0) sw(end + 100, q.cpu, kworker(q.cpu), kind.get(q.cpu) === 'busy' ? task(q.cpu) : IDLE(q.cpu));
    }
    const last = ends.reduce((a, x) => (x.t > a.t ? x : a));
    const own = ends.find((x) => x.cpu === 0);
    if (own && last.cpu !== 0) sw(own.t + 100, 0, kworker(0), IDLE(0));
    sw(last.t + (last.cpu === 0 ? c.wakeupLocalNs : c.wakeupNs), 0, last.cpu === 0 ? kworker(0) : IDLE(0), CALLER);
  }
  out.sort((a, b) => a.t - b.t);
  return `# tracer: nop\n#\n${out.map((x) => x.line).join('\n')}\n`;
}
