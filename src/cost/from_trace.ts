// A cost model fitted to a real kernel's trace of lru_add_drain_all() (`folio-race costs
// --from-trace`), so that the logical-time model prices drains as the user's own machine does.
// It reads the workqueue tracepoints of the lru_add_drain_per_cpu work items
// (include/trace/events/workqueue.h: workqueue_queue_work on the caller, execute_start/end on
// each target CPU's kworker; all versions since v5.6 print the function), mm_lru_insertion
// (include/trace/events/pagemap.h, one per folio lru_add moves) for each work's batch entries, and
// sched_switch (include/trace/events/sched.h, as the kernel or trace-cmd's plugin prints it) for
// which CPUs were idle when their work was queued and when the flusher ran again. Each field is
// fitted the way the logical runtime (src/runtime/logical.ts) spends it, with its sample count; a
// field the trace cannot tell is left out with the reason, and the file keeps for it the base
// model's value (the defaults, or the cost file given beside the trace).
import type { FtraceLine } from '../trace/ftrace.js';
import { type CostField, type CostModel, DEFAULT_COSTS } from './model.js';

/** The work function __lru_add_drain_all() queues on every CPU with something to drain (mm/swap.c). */
export const DRAIN_WORK_FN = 'lru_add_drain_per_cpu';

/** One fitted field: its value (ns), the samples behind it, how it was derived, and its standard error where estimated. */
export interface FittedField {
  field: CostField;
  value: number;
  n: number;
  how: string;
  se?: number;
}

/** A distribution the fit measured (ns): count and percentiles. */
export interface Measured {
  n: number;
  p5: number;
  p10: number;
  p50: number;
  p90: number;
  p95: number;
}

export interface TraceFit {
  /** The timestamps' resolution (ns): 1, or 1000 for a trace printed in µs. */
  resolutionNs: number;
  /** Drain-alls found (runs of queue_work events for the drain work from one task). */
  drains: number;
  /** CPUs that ran drain work, and CPUs seen at all (taken as the online ones). */
  cpus: number;
  onlineCpus: number;
  fitted: FittedField[];
  /** Fields the trace could not tell, and why. */
  missing: Array<{ field: CostField; why: string }>;
  /** The base model's fields the fit took as given (stepNs, idlePollNs) or kept: written into the cost file. */
  kept: Partial<CostModel>;
  measured: {
    queueGap: Measured;
    wakeIdle: Measured;
    wakePolling: Measured;
    wakeBusy: Measured;
    work: Measured;
    flusherWake: Measured;
    /** First queue_work of a drain to its last work's end. */
    drainSpan: Measured;
    /** First queue_work of a drain to its caller running again after its last flush: the drain-all as the trace shows it. */
    drainAll: Measured;
  };
  /** lru_add entries per drain work (mm_lru_insertion events), mean: the occupancy to set a study's cells to. */
  entriesPerWork: number;
}

/** A trace with nothing to fit (the message names what was looked for). */
export class TraceFitError extends Error {}

const MIN_SAMPLES = 3;
/** switch + U(0, spacing) from the distribution's tails wants many samples. */
const MIN_BUSY = 100;
/** A drain's queue_work events follow each other within this (ns) unless its caller stalled. */
const DRAIN_GAP_NS = 1_000_000;
/** No stall of a caller between two of its queue_work events is longer than this (ns). */
const DRAIN_STALL_MAX_NS = 100_000_000;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
function measure(xs: readonly number[]): Measured {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p5: quantile(s, 0.05), p10: quantile(s, 0.1), p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95) };
}

/**
 * A sample's centre: its median, or where the timestamps have µs resolution (the tracing/trace
 * file's) its mean: a sub-µs interval reads as 0 or 1 µs there, and only the mean of many such
 * readings, at phases random to the µs grid, estimates it (roughly: the file says so).
 */
type Centre = (xs: readonly number[]) => number;
const median: Centre = (xs) => measure(xs).p50;
const mean: Centre = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Least squares y = a + b x over points grouped by x (each group's centre, weighted by its size). */
function fitLine(points: ReadonlyArray<{ x: number; y: number }>, centre: Centre): { a: number; b: number; groups: number } | null {
  const by = new Map<number, number[]>();
  for (const p of points) {
    const g = by.get(p.x);
    if (g) g.push(p.y);
    else by.set(p.x, [p.y]);
  }
  const groups = [...by].filter(([, ys]) => ys.length >= MIN_SAMPLES).map(([x, ys]) => ({ x, y: centre(ys), w: ys.length }));
  if (groups.length < 2) return null;
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (const g of groups) {
    sw += g.w;
    sx += g.w * g.x;
    sy += g.w * g.y;
  }
  const mx = sx / sw;
  const my = sy / sw;
  let sxx = 0;
  let sxy = 0;
  for (const g of groups) {
    sxx += g.w * (g.x - mx) ** 2;
    sxy += g.w * (g.x - mx) * (g.y - my);
  }
  const b = sxy / sxx;
  return { a: my - b * mx, b, groups: groups.length };
}

/** The works whose run overlapped no other drain work's (on any CPU), within `slack` ns. */
function ranAlone<T extends { start: number; end: number }>(works: readonly T[], slack: number): T[] {
  const s = [...works].sort((a, b) => a.start - b.start);
  const out: T[] = [];
  let maxEnd = -Infinity;
  for (let i = 0; i < s.length; i++) {
    const w = s[i]!;
    const next = s[i + 1];
    if (w.start > maxEnd + slack && (!next || next.start > w.end + slack)) out.push(w);
    maxEnd = Math.max(maxEnd, w.end);
  }
  return out;
}

/** Fields of a `key=value` tracepoint body. */
function fields(body: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const tok of body.trim().split(/\s+/)) {
    const i = tok.indexOf('=');
    if (i > 0) kv.set(tok.slice(0, i), tok.slice(i + 1));
  }
  return kv;
}

/** `work struct %p: function %ps` (execute_start/end). */
const EXEC_RE = /^\s*work struct (\S+?):? function (\S+)/;
/** trace-cmd's sched_switch plugin: `prev_comm:prev_pid [prio] STATE ==> next_comm:next_pid [prio]`. */
const PLUGIN_SWITCH_RE = /^\s*(.*):(\d+) \[(-?\d+)\] (\S+) ==> (.*):(\d+) \[(-?\d+)\]\s*$/;

/** sched_switch as the kernel prints it (prev_pid=...) or as trace-cmd's plugin does; null if neither. */
export function parseSchedSwitch(body: string): { prevPid: number; prevState: string; nextPid: number } | null {
  const kv = fields(body.replace(' ==> ', ' '));
  if (kv.has('prev_pid') && kv.has('next_pid')) {
    return { prevPid: Number(kv.get('prev_pid')), prevState: kv.get('prev_state') ?? '', nextPid: Number(kv.get('next_pid')) };
  }
  const m = PLUGIN_SWITCH_RE.exec(body);
  return m ? { prevPid: Number(m[2]), prevState: m[4]!, nextPid: Number(m[6]) } : null;
}

interface Drain {
  pid: number;
  cpu: number;
  lastQueueNs: number;
  lastTarget: number;
  firstQueueNs: number;
  outstanding: number;
  /** The CPUs queued, in order (flush_work() waits for them in this order). */
  order: number[];
  /** Each queued CPU's work end. */
  ended: Map<number, number>;
  /** Asleep in flush_work() (switched out in state D with works outstanding), waiting for this CPU's work. */
  waitingOn: number;
  /** The caller has woken from a flush sleep: its queueing is over. */
  flushed: boolean;
}

/**
 * Fit the cost fields a trace can tell. `base` supplies the fields the fit subtracts but cannot
 * measure (stepNs, the spacing of a step; drainScanNs where the scan cannot be told apart;
 * idlePollNs, the line between a polling and a sleeping idle CPU).
 */
export function fitCostsFromTrace(lines: readonly FtraceLine[], base: CostModel): TraceFit {
  const ev = [...lines].sort((a, b) => a.timeNs - b.timeNs);
  // The CPUs seen: the scan steps over the online ones only (for_each_online_cpu).
  const online = [...new Set(ev.map((e) => e.cpu))].sort((a, b) => a - b);
  const rank = new Map(online.map((c, i) => [c, i]));
  const curPid = new Map<number, { pid: number; since: number }>();
  const pending = new Map<number, { t: number; drain: Drain; idle: boolean | null; idleFor: number }>();
  const running = new Map<number, { t: number; inserts: number; drain: Drain }>();
  const open = new Map<number, Drain>();
  const drains: Drain[] = [];
  const gaps: Array<{ x: number; y: number }> = [];
  const wakeIdle: number[] = [];
  const wakePolling: number[] = [];
  const wakeBusy: number[] = [];
  const works: Array<{ start: number; end: number; inserts: number }> = [];
  const flush = { local: [] as number[], polling: [] as number[], remote: [] as number[] };
  const drainAll: number[] = [];
  const workCpus = new Set<number>();
  let insertions = 0;
  let switches = 0;
  let switchesRead = 0;
  let otherQueued = 0;

  for (const e of ev) {
    const t = e.timeNs;
    switch (e.event) {
      case 'workqueue_queue_work': {
        const kv = fields(e.body);
        if (kv.get('function') !== DRAIN_WORK_FN) {
          otherQueued++;
          break;
        }
        const target = Number(kv.get('cpu') ?? kv.get('req_cpu'));
        if (!Number.isInteger(target)) break;
        let d = open.get(e.pid);
        // __lru_add_drain_all() queues in CPU order, under its mutex, before its flushes: a lower
        // CPU, a caller that has slept in flush_work() since, a pause after every work so far has
        // ended, or a pause too long for any stall is the next drain (a pause alone is not:
        // under TCG a vCPU can stall for milliseconds, and a work whose events were lost never ends).
        const gap = d ? t - d.lastQueueNs : 0;
        if (!d || target <= d.lastTarget || d.waitingOn >= 0 || d.flushed || (gap > DRAIN_GAP_NS && (d.outstanding === 0 || gap > DRAIN_STALL_MAX_NS))) {
          d = {
            pid: e.pid,
            cpu: e.cpu,
            lastQueueNs: t,
            lastTarget: target,
            firstQueueNs: t,
            outstanding: 0,
            order: [],
            ended: new Map(),
            waitingOn: -1,
            flushed: false,
          };
          open.set(e.pid, d);
          drains.push(d);
        } else {
          gaps.push({ x: (rank.get(target) ?? target) - (rank.get(d.lastTarget) ?? d.lastTarget), y: t - d.lastQueueNs });
          d.lastQueueNs = t;
          d.lastTarget = target;
        }
        d.outstanding++;
        d.order.push(target);
        // The caller's own CPU runs its work once the caller sleeps in flush_work(): no wake-up
        // latency of either kind (idle: null).
        const cur = target === e.cpu ? undefined : curPid.get(target);
        pending.set(target, { t, drain: d, idle: cur ? cur.pid === 0 : null, idleFor: cur ? t - cur.since : 0 });
        break;
      }
      case 'workqueue_execute_start': {
        const m = EXEC_RE.exec(e.body);
        if (!m || m[2] !== DRAIN_WORK_FN) break;
        const p = pending.get(e.cpu);
        if (!p) break; // queued before the trace began
        pending.delete(e.cpu);
        // The model starts the work function a step (stepNs) after its kworker gets the CPU.
        const lat = t - p.t - base.stepNs;
        if (p.idle === true) (p.idleFor >= base.idlePollNs ? wakeIdle : wakePolling).push(lat);
        else if (p.idle === false) wakeBusy.push(lat);
        running.set(e.cpu, { t, inserts: 0, drain: p.drain });
        workCpus.add(e.cpu);
        break;
      }
      case 'mm_lru_insertion': {
        const r = running.get(e.cpu);
        if (r) r.inserts++;
        insertions++;
        break;
      }
      case 'workqueue_execute_end': {
        const m = EXEC_RE.exec(e.body);
        if (!m || m[2] !== DRAIN_WORK_FN) break;
        const r = running.get(e.cpu);
        if (!r) break;
        running.delete(e.cpu);
        works.push({ start: r.t, end: t, inserts: r.inserts });
        r.drain.ended.set(e.cpu, t);
        r.drain.outstanding--;
        break;
      }
      case 'sched_switch': {
        switches++;
        const sw = parseSchedSwitch(e.body);
        if (!sw) break;
        switchesRead++;
        const d = open.get(sw.prevPid);
        // Into flush_work()'s wait_for_completion() (uninterruptible, D): it waits for the first
        // queued CPU whose work has not ended. A preemption (R) is no sleep.
        if (d && d.waitingOn < 0 && d.outstanding > 0 && sw.prevState.startsWith('D')) d.waitingOn = d.order.find((c) => !d.ended.has(c)) ?? -1;
        const w = open.get(sw.nextPid);
        if (w && w.waitingOn >= 0) {
          // Woken by the completion of the work it waited for: from its own CPU's kworker, or
          // another CPU, onto a CPU still polling in idle or one that had left it (as the model
          // prices the wake: wakeupLocalNs, wakePollingNs, wakeupNs).
          const end = w.ended.get(w.waitingOn);
          if (end !== undefined && end <= t) {
            const mine = curPid.get(e.cpu);
            const polling = mine?.pid === 0 && end - mine.since < base.idlePollNs;
            (w.waitingOn === e.cpu ? flush.local : polling ? flush.polling : flush.remote).push(t - end);
          }
          w.waitingOn = -1;
          w.flushed = true;
          if (w.outstanding === 0) {
            drainAll.push(t - w.firstQueueNs);
            open.delete(sw.nextPid);
          }
        }
        curPid.set(e.cpu, { pid: sw.nextPid, since: t });
        break;
      }
    }
  }
  if (drains.length === 0)
    throw new TraceFitError(
      `no drain work in the trace: expected workqueue_queue_work events with function=${DRAIN_WORK_FN} (record them with -e workqueue:workqueue_queue_work -e workqueue:workqueue_execute_start -e workqueue:workqueue_execute_end)${otherQueued > 0 ? `; ${otherQueued} queue_work events name other functions (a kernel without kallsyms prints addresses)` : ''}`,
    );
  if (switches > 0 && switchesRead === 0)
    throw new TraceFitError(
      `${switches} sched_switch events, none in a format read here (the kernel's prev_comm=... prev_pid=... ==> next_comm=... next_pid=..., or trace-cmd's comm:pid [prio] S ==> comm:pid [prio])`,
    );
  const sawSched = switchesRead > 0;

  const micro = ev.every((e) => e.timeNs % 1000 === 0);
  const centre = micro ? mean : median;
  const avg = micro ? 'mean' : 'median';
  const fitted: FittedField[] = [];
  const missing: TraceFit['missing'] = [];
  const put = (field: CostField, value: number, n: number, how: string, se?: number) =>
    fitted.push({
      field,
      value: Math.max(0, Math.round(value)),
      n,
      how: value < 0 ? `${how} (came out at ${Math.round(value)}, set to 0)` : how,
      ...(se !== undefined ? { se: Math.round(se) } : {}),
    });

  // The scan between two queued CPUs: the model spends drainScanNs + stepNs per online CPU it
  // steps over (cpu_needs_drain() and a yield) and queueWorkNs per CPU it queues.
  const line = fitLine(gaps, centre);
  if (line) {
    put('queueWorkNs', line.a, gaps.length, `queue_work gaps over online CPUs stepped (${line.groups} step sizes): intercept`);
    put('drainScanNs', line.b - base.stepNs, gaps.length, `the same fit's slope per CPU stepped, less stepNs (${base.stepNs} ns)`);
  } else if (gaps.length >= MIN_SAMPLES) {
    const g = centre(gaps.map((p) => p.y / p.x));
    put(
      'queueWorkNs',
      g - base.drainScanNs - base.stepNs,
      gaps.length,
      `${avg} queue_work gap per CPU, less drainScanNs and stepNs (every queued CPU was next to the last: the scan is not told apart)`,
    );
    missing.push({ field: 'drainScanNs', why: 'every queued CPU followed the one before: no gap over skipped CPUs' });
  } else {
    missing.push({ field: 'queueWorkNs', why: `fewer than ${MIN_SAMPLES} gaps between queue_work events of one drain` });
    missing.push({ field: 'drainScanNs', why: 'no queue_work gaps' });
  }

  const noSched = 'no sched_switch events: idle and busy CPUs are not told apart';
  const wake = (xs: number[], field: CostField, what: string) => {
    if (xs.length >= MIN_SAMPLES) put(field, centre(xs), xs.length, `${avg} queue_work -> execute_start, less stepNs, on ${what}`);
    else missing.push({ field, why: sawSched ? `fewer than ${MIN_SAMPLES} works queued on ${what}` : noSched });
  };
  wake(wakeIdle, 'kworkerWakeIdleNs', `CPUs idle for idlePollNs (${base.idlePollNs} ns) or longer`);
  wake(wakePolling, 'wakePollingNs', 'CPUs idle for less than idlePollNs (still polling)');
  // A busy CPU: its kworker switches in at the task's next scheduling point. With the point
  // uniform over a spacing S: latency = switch + U(0, S), so p95 - p5 = 0.9 S; the switch, read
  // off the 5th percentile, is known to about S * sqrt(0.0475 / n).
  if (wakeBusy.length >= MIN_BUSY) {
    const b = measure(wakeBusy);
    const spacing = (b.p95 - b.p5) / 0.9;
    const se = spacing * Math.sqrt(0.0475 / wakeBusy.length);
    put('busySpacingNs', spacing, wakeBusy.length, 'busy CPUs: queue_work -> execute_start as switch + U(0, spacing): (p95 - p5) / 0.9');
    const sw = b.p5 - spacing / 20;
    if (se < sw) put('kworkerSwitchNs', sw, wakeBusy.length, `the same fit: p5 - spacing / 20 (± ${Math.round(se)} ns)`, se);
    else
      missing.push({
        field: 'kworkerSwitchNs',
        why: `the fit's error (± ${Math.round(se)} ns) is larger than the switch itself (${Math.round(sw)} ns): more busy samples, or a smaller spacing`,
      });
  } else {
    const why = sawSched ? `fewer than ${MIN_BUSY} works queued on busy CPUs` : noSched;
    missing.push({ field: 'kworkerSwitchNs', why }, { field: 'busySpacingNs', why });
  }

  // Drain work: between the work's start and end the model spends lruvecLockNs per batch walked
  // and lruMoveNs per entry (its step's stepNs comes before the start), and adds the wait for a
  // lruvec lock another kworker holds itself: fitted on the works that ran alone (no other drain
  // work running meanwhile) where there are enough, with at least one lru_add entry
  // (mm_lru_insertion counts those only: entries of the other batches and the mlock batch add
  // to the intercept unseen, and a work with none took no lruvec lock).
  const moved = works.filter((x) => x.inserts > 0);
  const alone = ranAlone(moved, micro ? 1000 : 0);
  const pick = alone.length >= 2 * MIN_SAMPLES ? alone : moved;
  const which =
    pick === alone ? `${alone.length} of ${moved.length} works that ran alone` : `all ${moved.length} works (too few ran alone: lruvec lock waits included)`;
  const wl =
    insertions > 0
      ? fitLine(
          pick.map((x) => ({ x: x.inserts, y: x.end - x.start })),
          centre,
        )
      : null;
  if (wl) {
    put('lruMoveNs', wl.b, pick.length, `execute_start -> execute_end over mm_lru_insertion events per work, ${which} (${wl.groups} batch sizes): slope`);
    put('lruvecLockNs', wl.a, pick.length, "the same fit's intercept");
  } else {
    const why =
      insertions === 0 ? 'no mm_lru_insertion events (-e pagemap:mm_lru_insertion): batch sizes unknown' : 'fewer than two batch sizes with 3+ works each';
    missing.push({ field: 'lruMoveNs', why }, { field: 'lruvecLockNs', why });
  }

  const flushed = (xs: number[], field: CostField, what: string) => {
    if (xs.length >= MIN_SAMPLES) put(field, centre(xs), xs.length, `${avg} end of the work flush_work() waited for -> the flusher's sched_switch in, ${what}`);
    else missing.push({ field, why: sawSched ? `fewer than ${MIN_SAMPLES} flusher wake-ups ${what}` : 'no sched_switch events' });
  };
  flushed(flush.remote, 'wakeupNs', 'woken from another CPU');
  flushed(flush.local, 'wakeupLocalNs', "woken by its own CPU's kworker");
  if (flush.polling.length >= MIN_SAMPLES && !fitted.some((f) => f.field === 'wakePollingNs')) {
    put('wakePollingNs', centre(flush.polling), flush.polling.length, `${avg} flusher wake-ups onto its CPU still polling in idle`);
    const i = missing.findIndex((m) => m.field === 'wakePollingNs');
    if (i >= 0) missing.splice(i, 1);
  }

  // What the fit took as given, and the base file's own values for what it did not fit.
  const kept: Partial<CostModel> = { stepNs: base.stepNs, idlePollNs: base.idlePollNs };
  for (const k of Object.keys(DEFAULT_COSTS) as Array<keyof CostModel>) {
    if (k === 'name' || fitted.some((f) => f.field === k)) continue;
    if (base[k] !== DEFAULT_COSTS[k]) (kept as Record<string, unknown>)[k] = base[k];
  }
  return {
    resolutionNs: micro ? 1000 : 1,
    drains: drains.length,
    cpus: workCpus.size,
    onlineCpus: online.length,
    fitted,
    missing,
    kept,
    measured: {
      queueGap: measure(gaps.map((p) => p.y)),
      wakeIdle: measure(wakeIdle),
      wakePolling: measure(wakePolling),
      wakeBusy: measure(wakeBusy),
      work: measure(works.map((x) => x.end - x.start)),
      flusherWake: measure([...flush.local, ...flush.polling, ...flush.remote]),
      drainSpan: measure(drains.filter((d) => d.ended.size > 0).map((d) => Math.max(...d.ended.values()) - d.firstQueueNs)),
      drainAll: measure(drainAll),
    },
    entriesPerWork: works.length > 0 ? works.reduce((a, x) => a + x.inserts, 0) / works.length : 0,
  };
}

/** The fit as a cost file (YAML): the fitted fields, each with a comment on its samples and method. */
export function costFileFromFit(fit: TraceFit, source: string): string {
  const out = [
    `# Fitted by folio-race costs --from-trace ${source}: ${fit.drains} drain-alls, drain work on ${fit.cpus} of ${fit.onlineCpus} CPUs seen.`,
    '# Fields not listed keep the defaults (folio-race costs lists them).',
    ...(fit.resolutionNs > 1
      ? ['# The timestamps have µs resolution: sub-µs costs are means over readings of 0 or 1 µs, rough at best; record ns timestamps (trace-cmd report -t).']
      : []),
    '# Tracing itself costs each event some 100-200 ns, which the fitted costs include.',
    `name: ${JSON.stringify(`fitted to ${source}`)}`,
  ];
  for (const f of fit.fitted) out.push(`${f.field}: ${f.value} # n=${f.n}: ${f.how}`);
  for (const [k, v] of Object.entries(fit.kept)) out.push(`${k}: ${v} # taken as given${k === 'stepNs' || k === 'idlePollNs' ? ' by the fit' : ''}`);
  for (const m of fit.missing) out.push(`# ${m.field}: not fitted: ${m.why}`);
  // What the trace itself measured, to set beside `study drain-latency --model logical --costs` with this file.
  const us = (ns: number) => (Number.isNaN(ns) ? '-' : `${(ns / 1000).toFixed(1)} µs`);
  const row = (what: string, m: Measured) => `#   ${what}: n=${m.n}, p10 ${us(m.p10)}, p50 ${us(m.p50)}, p90 ${us(m.p90)}`;
  const ms = fit.measured;
  out.push(
    '# Measured in the trace:',
    row('drain-all, first queue_work to last execute_end', ms.drainSpan),
    row('drain-all, first queue_work to the flusher running again after its last flush', ms.drainAll),
    row('kworker start after queue_work, idle CPU', ms.wakeIdle),
    row('kworker start after queue_work, busy CPU', ms.wakeBusy),
    row('drain work (execute_start to execute_end)', ms.work),
    row("flusher's wake-up after the work it waited for", ms.flusherWake),
    `#   lru_add entries per drain work: ${fit.entriesPerWork.toFixed(1)} (a study's --occupancy)`,
  );
  return `${out.join('\n')}\n`;
}
