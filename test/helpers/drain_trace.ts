// A synthetic ftrace of lru_add_drain_all() calls with known costs, in the kernel's tracepoint
// formats (workqueue.h, pagemap.h, sched.h TP_printk()s), for testing the cost fit against: a
// caller on CPU 0 queues drain work in CPU order, idle CPUs' kworkers start after a wake-up (a
// polling CPU's sooner), busy CPUs' at a scheduling point uniform over the spacing, each work
// moves its batch (one mm_lru_insertion per folio), and the caller sleeps until the last work ends.
import { mulberry32 } from '../../src/rng/mulberry32.js';
import {
  cpuTask,
  executeBody,
  formatTracepoint,
  idleTask,
  kworkerTask,
  lruInsertionBody,
  queueWorkBody,
  schedSwitchBody,
  type TraceTask,
} from '../../src/trace/tracepoints.js';

/** Costs in the logical model's terms (src/cost/model.ts); the trace shows them as the model spends them. */
export interface DrainTraceCosts {
  stepNs: number;
  queueWorkNs: number;
  drainScanNs: number;
  wakeIdleNs: number;
  wakePollingNs: number;
  switchNs: number;
  spacingNs: number;
  lruvecLockNs: number;
  lruMoveNs: number;
  wakeupNs: number;
  wakeupLocalNs: number;
}

export const TRACE_COSTS: DrainTraceCosts = {
  stepNs: 50,
  queueWorkNs: 400,
  drainScanNs: 70,
  wakeIdleNs: 14_000,
  wakePollingNs: 1_500,
  switchNs: 2_000,
  spacingNs: 100_000,
  lruvecLockNs: 300,
  lruMoveNs: 120,
  wakeupNs: 3_000,
  wakeupLocalNs: 2_000,
};

const CALLER = { comm: 'compact', pid: 4242 };
const kworker = kworkerTask;
const task = cpuTask;
const IDLE = idleTask;

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
  /** sched_switch as trace-cmd's plugin prints it (comm:pid [prio] S ==> comm:pid [prio]). */
  plugin?: boolean;
  /** Online CPUs numbered 0, 2, 4, ... (SMT siblings offline). */
  sparse?: boolean;
  idlePollNs?: number;
}

export function drainTrace(opts: DrainTraceOptions = {}, c: DrainTraceCosts = TRACE_COSTS): string {
  const rnd = mulberry32(opts.seed ?? 7);
  const nCpus = opts.cpus ?? 8;
  const idlePoll = opts.idlePollNs ?? 2_000;
  const id = (i: number) => (opts.sparse ? 2 * i : i); // the i-th online CPU
  const out: Array<{ t: number; line: string }> = [];
  const emit = (t: number, who: TraceTask, cpu: number, event: string, body: string) =>
    out.push({ t, line: formatTracepoint(t, cpu, who, event, body, opts.micro === true) });
  const sw = (t: number, cpu: number, prev: TraceTask, next: TraceTask, state = 'S') => {
    if (opts.noSched) return;
    const body = opts.plugin ? `${prev.comm}:${prev.pid} [120] ${state} ==> ${next.comm}:${next.pid} [120]` : schedSwitchBody(prev, next, state);
    emit(t, prev, cpu, 'sched_switch', body);
  };
  for (let d = 0; d < (opts.drains ?? 200); d++) {
    const t0 = 1e9 + d * 10_000_000 + Math.floor(rnd() * 997); // at no fixed phase to a µs
    // Which CPUs have something to drain (by online index), and what each other CPU is doing.
    // One drain in ten finds only the caller's own CPU with work: its kworker wakes the caller.
    const targets: number[] = [];
    if (rnd() < 0.1) targets.push(0);
    else for (let i = 0; i < nCpus; i++) if (rnd() < 0.75) targets.push(i);
    if (targets.length === 0) targets.push(1);
    const kind = new Map<number, 'idle' | 'polling' | 'busy'>();
    for (let i = 1; i < nCpus; i++) {
      const r = rnd();
      kind.set(i, r < 0.35 ? 'idle' : r < 0.55 ? 'polling' : 'busy');
    }
    sw(t0 - 5_000_000, 0, IDLE(0), CALLER);
    for (let i = 1; i < nCpus; i++) sw(t0 - 5_000_000 + i, id(i), IDLE(id(i)), kind.get(i) === 'idle' ? IDLE(id(i)) : task(id(i)));
    let t = t0;
    let prev = -1;
    const queued: Array<{ i: number; t: number }> = [];
    for (const i of targets) {
      if (prev >= 0) t += c.queueWorkNs + (c.drainScanNs + c.stepNs) * (i - prev);
      emit(t, CALLER, 0, 'workqueue_queue_work', queueWorkBody(id(i)));
      queued.push({ i, t });
      prev = i;
    }
    // The caller sleeps in flush_work() (D); its own CPU's work, if any, runs meanwhile.
    const sleepAt = t + 300;
    const end = new Map<number, number>();
    let cpu0IdleSince = sleepAt;
    sw(sleepAt, 0, CALLER, targets[0] === 0 ? kworker(0) : IDLE(0), 'D');
    for (const q of queued) {
      const cpu = id(q.i);
      let start: number;
      if (q.i === 0) start = sleepAt + c.stepNs;
      else {
        const k = kind.get(q.i)!;
        if (k === 'polling') sw(q.t - 500, cpu, task(cpu), IDLE(cpu)); // went idle just now
        start = q.t + c.stepNs + (k === 'idle' ? c.wakeIdleNs : k === 'polling' ? c.wakePollingNs : c.switchNs + rnd() * c.spacingNs);
        sw(start - c.stepNs, cpu, k === 'busy' ? task(cpu) : IDLE(cpu), kworker(cpu), 'R');
      }
      const n = 1 + Math.floor(rnd() * 31);
      emit(start, kworker(cpu), cpu, 'workqueue_execute_start', executeBody(cpu));
      if (!opts.noInsertions)
        for (let k = 0; k < n; k++) emit(start + 50 + k * c.lruMoveNs, kworker(cpu), cpu, 'mm_lru_insertion', lruInsertionBody(0x134b00 + k));
      const e = start + c.lruvecLockNs + n * c.lruMoveNs;
      emit(e, kworker(cpu), cpu, 'workqueue_execute_end', executeBody(cpu));
      end.set(q.i, e);
      if (q.i === 0) {
        sw(e, 0, kworker(0), IDLE(0));
        cpu0IdleSince = e;
      } else sw(e + 100, cpu, kworker(cpu), kind.get(q.i) === 'busy' ? task(cpu) : IDLE(cpu));
    }
    // flush_work() on each queued CPU in order: asleep until the work it waits for has ended,
    // woken by that completion (locally, onto a CPU still polling, or from afar).
    let now = sleepAt;
    let asleep = true;
    for (const q of queued) {
      const e = end.get(q.i)!;
      if (e <= now) continue;
      if (!asleep) {
        sw(now, 0, CALLER, IDLE(0), 'D');
        cpu0IdleSince = now;
      }
      const wake = q.i === 0 ? c.wakeupLocalNs : e - cpu0IdleSince < idlePoll ? c.wakePollingNs : c.wakeupNs;
      now = e + wake;
      sw(now, 0, IDLE(0), CALLER, 'R');
      asleep = false;
      now += 200; // back in the flush loop
    }
  }
  out.sort((a, b) => a.t - b.t);
  return `# tracer: nop\n#\n${out.map((x) => x.line).join('\n')}\n`;
}
