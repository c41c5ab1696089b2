// Chrome trace-event JSON (loads in ui.perfetto.dev and chrome://tracing) from trace records:
// one process per traced run (a study cell), one thread track per emulated CPU (the coordinator
// as its own track); slices for lru_add_drain_all() calls and for drain work (kworker work on the
// target CPU, or remote-locked drains nested in the caller's drain-all); a flow arrow from each
// queue_work_on() inside a drain-all to the drain work it caused; counters for each CPU's batch
// occupancy; page_ref_* events and IPI drains as instant events.
import { HOLDER_NAMES } from '../mm/constants.js';
import { COORDINATOR } from '../mm/layout.js';
import type { TraceRecord } from './ring.js';

export interface TraceEvent {
  name: string;
  ph: 'B' | 'E' | 'X' | 'i' | 'C' | 's' | 'f' | 'M';
  /** Microseconds. */
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  id?: number;
  bp?: 'e';
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}
export interface PerfettoTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  metadata?: Record<string, unknown>;
}

export interface TracedRun {
  /** Shown as the process name (e.g. the study cell's key). */
  name: string;
  events: readonly TraceRecord[];
}

const threadName = (cpu: number) => (cpu >= COORDINATOR ? 'coordinator' : `CPU ${cpu}`);

/** Build the trace-event document. Times start at 0 (the earliest event of all runs). */
export function toPerfetto(runs: readonly TracedRun[], opts: { pageRefs?: boolean } = {}): PerfettoTrace {
  const out: TraceEvent[] = [];
  let t0 = Infinity;
  for (const r of runs) for (const e of r.events) if (e.timeNs < t0) t0 = e.timeNs;
  if (!Number.isFinite(t0)) t0 = 0;
  const us = (ns: number) => (ns - t0) / 1000;
  let flowId = 1;
  runs.forEach((run, k) => {
    const pid = k + 1;
    out.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: run.name } });
    const cpus = new Set(run.events.map((e) => e.cpu));
    for (const c of [...cpus].sort((a, b) => a - b)) {
      out.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: c, args: { name: threadName(c) } });
      out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid: c, args: { sort_index: c } });
    }
    // Open slices per track, so an end whose begin was overwritten in the ring is dropped.
    const open = new Map<number, string[]>();
    const begin = (tid: number, name: string, ts: number, args?: Record<string, unknown>) => {
      (open.get(tid) ?? open.set(tid, []).get(tid)!).push(name);
      out.push({ name, ph: 'B', ts, pid, tid, cat: 'drain', ...(args ? { args } : {}) });
    };
    const end = (tid: number, name: string, ts: number, args?: Record<string, unknown>) => {
      const st = open.get(tid);
      const i = st ? st.lastIndexOf(name) : -1;
      if (i < 0) return;
      // Close anything opened inside it first (a slice cut short by the ring).
      while (st!.length > i + 1) out.push({ name: st!.pop()!, ph: 'E', ts, pid, tid, cat: 'drain' });
      st!.pop();
      out.push({ name, ph: 'E', ts, pid, tid, cat: 'drain', ...(args ? { args } : {}) });
    };
    const flows = new Map<string, number>(); // `${cpu}:${seq}` -> flow id
    let lastTs = 0;
    for (const e of run.events) {
      const ts = us(e.timeNs);
      lastTs = Math.max(lastTs, ts);
      if (e.event !== 'mark') {
        if (opts.pageRefs === false) continue;
        out.push({
          name: e.event,
          ph: 'i',
          s: 't',
          ts,
          pid,
          tid: e.cpu,
          cat: 'page_ref',
          args: { pfn: `0x${(e.pfn >>> 0).toString(16)}`, count: e.count, val: e.delta, holder: HOLDER_NAMES[e.holder] ?? e.holder, fn: e.fn },
        });
        continue;
      }
      switch (e.fn) {
        case 'lru_add_drain_all start':
          begin(e.cpu, 'lru_add_drain_all', ts, { gen: e.folio, force: e.delta });
          break;
        case 'lru_add_drain_all end':
          end(e.cpu, 'lru_add_drain_all', ts, { cpus_drained: e.folio, remote_locked: e.delta });
          break;
        case 'lru_add_drain_all genskip':
          end(e.cpu, 'lru_add_drain_all', ts, { generation_skip: 1 });
          break;
        case 'drain work queued': {
          const id = flowId++;
          flows.set(`${e.folio}:${e.delta}`, id);
          out.push({ name: 'queue_work_on', ph: 'i', s: 't', ts, pid, tid: e.cpu, cat: 'drain', args: { target_cpu: e.folio, seq: e.delta } });
          out.push({ name: 'drain work', ph: 's', ts, pid, tid: e.cpu, cat: 'drain', id });
          break;
        }
        case 'drain work start': {
          begin(e.cpu, 'drain work', ts, { seq: e.delta });
          const id = flows.get(`${e.cpu}:${e.delta}`);
          if (id !== undefined) {
            out.push({ name: 'drain work', ph: 'f', bp: 'e', ts, pid, tid: e.cpu, cat: 'drain', id });
            flows.delete(`${e.cpu}:${e.delta}`);
          }
          break;
        }
        case 'drain work end':
          end(e.cpu, 'drain work', ts, { entries: e.delta });
          break;
        case 'remote drain start':
          begin(e.cpu, `remote drain CPU ${e.folio}`, ts, { entries: e.delta });
          break;
        case 'remote drain end':
          end(e.cpu, `remote drain CPU ${e.folio}`, ts);
          break;
        case 'batch occupancy':
          out.push({ name: `${threadName(e.folio)} batch occupancy`, ph: 'C', ts, pid, tid: e.folio, cat: 'batch', args: { entries: e.delta } });
          break;
        default:
          out.push({ name: e.fn, ph: 'i', s: 't', ts, pid, tid: e.cpu, cat: 'mark', args: { a: e.folio, b: e.delta } });
      }
    }
    // Slices still open at the end of the trace end there.
    for (const [tid, st] of open) while (st.length) out.push({ name: st.pop()!, ph: 'E', ts: lastTs, pid, tid, cat: 'drain' });
  });
  return { traceEvents: out, displayTimeUnit: 'ns', metadata: { tool: 'folio-race' } };
}

/** Check an object against the trace-event format's required fields; returns the problems found. */
export function validateTraceEvents(doc: unknown): string[] {
  const errs: string[] = [];
  const d = doc as PerfettoTrace;
  if (!d || !Array.isArray(d.traceEvents)) return ['traceEvents: expected an array'];
  const phases = new Set(['B', 'E', 'X', 'i', 'I', 'C', 's', 't', 'f', 'M', 'b', 'e', 'n']);
  d.traceEvents.forEach((e, i) => {
    const at = `traceEvents[${i}]`;
    if (typeof e.name !== 'string') errs.push(`${at}.name: expected a string`);
    if (!phases.has(e.ph)) errs.push(`${at}.ph: unknown phase '${String(e.ph)}'`);
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) errs.push(`${at}.ts: expected a number >= 0`);
    if (!Number.isInteger(e.pid)) errs.push(`${at}.pid: expected an integer`);
    if (!Number.isInteger(e.tid)) errs.push(`${at}.tid: expected an integer`);
    if ((e.ph === 's' || e.ph === 'f') && e.id === undefined) errs.push(`${at}.id: flow events need an id`);
    if ((e.ph === 'C' || e.ph === 'M') && (typeof e.args !== 'object' || e.args === null)) errs.push(`${at}.args: ${e.ph} events need args`);
    if (e.ph === 'M' && typeof e.args?.name !== 'string' && e.args?.sort_index === undefined) errs.push(`${at}.args.name: metadata needs a name`);
    if (e.ph === 'C' && Object.values(e.args ?? {}).some((v) => typeof v !== 'number')) errs.push(`${at}.args: counter values must be numbers`);
    if (e.ph === 'i' && e.s !== undefined && !['t', 'p', 'g'].includes(e.s)) errs.push(`${at}.s: instant scope must be t, p or g`);
  });
  // Every B has its E on the same track, properly nested.
  const stacks = new Map<string, string[]>();
  for (const e of d.traceEvents) {
    if (e.ph !== 'B' && e.ph !== 'E') continue;
    const k = `${e.pid}/${e.tid}`;
    const st = stacks.get(k) ?? stacks.set(k, []).get(k)!;
    if (e.ph === 'B') st.push(e.name);
    else if (st.pop() !== e.name) errs.push(`E '${e.name}' on ${k} does not close the innermost open slice`);
  }
  for (const [k, st] of stacks) if (st.length) errs.push(`${st.length} slice(s) left open on ${k}`);
  return errs;
}
