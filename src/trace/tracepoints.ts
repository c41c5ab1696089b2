// The kernel tracepoints around a drain, printed as `trace-cmd report -t` prints them: the
// workqueue events of the lru_add_drain_per_cpu work item (include/trace/events/workqueue.h,
// v5.6+ formats), mm_lru_insertion (include/trace/events/pagemap.h) and sched_switch
// (include/trace/events/sched.h). The logical-time runtime writes its drains this way, so that a
// model's trace and a real machine's read alike (and `costs --from-trace` fits either).

import { formatTimestamp } from './ftrace.js';

/** A task as the trace names it. */
export interface TraceTask {
  comm: string;
  pid: number;
}

export const idleTask = (cpu: number): TraceTask => ({ comm: `swapper/${cpu}`, pid: 0 });
export const kworkerTask = (cpu: number): TraceTask => ({ comm: `kworker/${cpu}:1`, pid: 100_000 + cpu });
/** The scripted task of an emulated CPU. */
export const cpuTask = (cpu: number): TraceTask => ({ comm: `cpu${cpu}`, pid: 1000 + cpu });

/** A stable per-CPU address for that CPU's lru_add_drain_work (a per-CPU variable). */
const workStruct = (cpu: number) => `ffff88817${(0x1f000 + cpu * 0x40).toString(16).padStart(7, '0')}`;

export const queueWorkBody = (cpu: number) => `work struct=${workStruct(cpu)} function=lru_add_drain_per_cpu workqueue=mm_percpu_wq req_cpu=${cpu} cpu=${cpu}`;
export const executeBody = (cpu: number) => `work struct ${workStruct(cpu)}: function lru_add_drain_per_cpu`;
export const lruInsertionBody = (pfn: number) => `folio=ffffea00${(pfn * 0x40).toString(16).padStart(8, '0')} pfn=0x${pfn.toString(16)} lru=2 flags=`;
export function schedSwitchBody(prev: TraceTask, next: TraceTask, prevState = 'S'): string {
  return `prev_comm=${prev.comm} prev_pid=${prev.pid} prev_prio=120 prev_state=${prevState} ==> next_comm=${next.comm} next_pid=${next.pid} next_prio=120`;
}

export function formatTracepoint(t: number, cpu: number, task: TraceTask, event: string, body: string, micro = false): string {
  return `${`${task.comm}-${task.pid}`.padStart(16)} [${String(cpu).padStart(3, '0')}] ..... ${formatTimestamp(t, !micro)}: ${event}: ${body}`;
}

interface Entry {
  t: number;
  seq: number;
  line: string;
}

/**
 * Tracepoint lines collected out of order (a runtime may learn of a switch after later events),
 * printed in time order. `offsetNs` is added to every time: a runtime whose clock restarts at 0
 * each trial moves it on, so that trials follow each other in one trace.
 */
export class TracepointLog {
  private readonly entries: Entry[] = [];
  offsetNs = 1e9;
  /** The task each CPU was last shown running, and since when (sched_switch bookkeeping). */
  private readonly current = new Map<number, { task: TraceTask; since: number }>();
  private latest = 0;

  emit(t: number, cpu: number, task: TraceTask, event: string, body: string): void {
    const at = t + this.offsetNs;
    this.latest = Math.max(this.latest, at);
    this.entries.push({ t: at, seq: this.entries.length, line: formatTracepoint(at, cpu, task, event, body) });
  }

  /**
   * sched_switch on `cpu` to `next` at `t`, unless `next` already runs there. `prevState`: what
   * the task switched out does (S sleeping, D in an uninterruptible kernel wait, R preempted).
   */
  switchTo(t: number, cpu: number, next: TraceTask, prevState = 'S'): void {
    const cur = this.current.get(cpu)?.task ?? idleTask(cpu);
    if (cur.pid === next.pid) return;
    this.emit(t, cpu, cur, 'sched_switch', schedSwitchBody(cur, next, cur.pid === 0 ? 'R' : prevState));
    this.current.set(cpu, { task: next, since: t });
  }

  /** Start the next trial `gapNs` after everything so far; every CPU shown idle. */
  nextTrial(gapNs = 1_000_000): void {
    for (const [cpu, c] of this.current) if (c.task.pid !== 0) this.switchTo(this.latest - this.offsetNs, cpu, idleTask(cpu));
    this.offsetNs = Math.max(this.offsetNs, this.latest + gapNs);
    this.current.clear();
  }

  get size(): number {
    return this.entries.length;
  }

  text(): string {
    const lines = [...this.entries].sort((a, b) => a.t - b.t || a.seq - b.seq).map((e) => e.line);
    return `# tracer: nop\n#\n${lines.join('\n')}\n`;
  }
}
