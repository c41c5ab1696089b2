// A cost model fitted to a real kernel's trace of lru_add_drain_all() (`folio-race costs
// --from-trace`), so that the logical-time model prices drains as the user's own machine does.
// It reads the workqueue tracepoints of the lru_add_drain_per_cpu work items
// (include/trace/events/workqueue.h: workqueue_queue_work on the caller, execute_start/end on
// each target CPU's kworker; all versions since v5.6 print the function), mm_lru_insertion
// (include/trace/events/pagemap.h, one per folio lru_add moves) for each work's batch entries, and
// sched_switch (include/trace/events/sched.h) for which CPUs were idle when their work was queued
// and when the flusher ran again. Each field is fitted the way the model spends it
// (src/runtime/logical.ts), with its sample count; a field the trace cannot tell is left out,
// and the cost file keeps the default (or the base model's value) for it.
import type { FtraceLine } from '../trace/ftrace.js';
import type { CostField, CostModel } from './model.js';

/** The work function __lru_add_drain_all() queues on every CPU with something to drain (mm/swap.c). */
export const DRAIN_WORK_FN = 'lru_add_drain_per_cpu';

/** One fitted field: its value (ns), the samples behind it and how it was derived. */
export interface FittedField {
  field: CostField;
  value: number;
  n: number;
  how: string;
}

/** A distribution the fit measured (ns): count and quartiles. */
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
  /** CPUs that ran drain work. */
  cpus: number;
  fitted: FittedField[];
  /** Fields the trace could not tell, and why. */
  missing: Array<{ field: CostField; why: string }>;
  measured: {
    queueGap: Measured;
    wakeIdle: Measured;
    wakePolling: Measured;
    wakeBusy: Measured;
    work: Measured;
    flusherWake: Measured;
    /** First queue_work of a drain to its last work's end: the part of a drain-all the trace shows. */
    drainSpan: Measured;
  };
}

/** A trace with no drain work to fit (the message names what was looked for). */
export class TraceFitError extends Error {}

const MIN_SAMPLES = 3;
/** A two-parameter fit to a distribution's tails wants more. */
const MIN_BUSY = 20;
/** A drain's queue_work events follow each other within this (ns); a longer gap starts another. */
const DRAIN_GAP_NS = 1_000_000;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
function measure(xs: readonly number[]): Measured {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p5: quantile(s, 0.05), p10: quantile(s, 0.1), p50: quantile(s, 0.5), p90: quantile(s, 0.9), p95: quantile(s, 0.95) };
}

/**
 * A sample's centre: its median, or where the timestamps have µs resolution (the trace file's
 * default) its 10%-trimmed mean: a sub-µs interval reads as 0 or 1 µs, and only a mean over many
 * such readings, at phases random to the µs grid, comes back to it.
 */
type Centre = (xs: readonly number[]) => number;
const median: Centre = (xs) => measure(xs).p50;
const trimmedMean: Centre = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(s.length / 10);
  const kept = s.slice(cut, s.length - cut);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
};

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

/** The works whose run overlapped no other drain work's (on any CPU). */
function ranAlone<T extends { start: number; end: number }>(works: readonly T[]): T[] {
  const s = [...works].sort((a, b) => a.start - b.start);
  const out: T[] = [];
  let maxEnd = -Infinity;
  for (let i = 0; i < s.length; i++) {
    const w = s[i]!;
    const next = s[i + 1];
    if (w.start >= maxEnd && (!next || next.start >= w.end)) out.push(w);
    maxEnd = Math.max(maxEnd, w.end);
  }
  return out;
}

/** Fields of a `key=value` tracepoint body. */
function fields(body: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const tok of body.split(/\s+/)) {
    const i = tok.indexOf('=');
    if (i > 0) kv.set(tok.slice(0, i), tok.slice(i + 1));
  }
  return kv;
}

/** `work struct %p: function %ps` (execute_start/end). */
const EXEC_RE = /^work struct (\S+?):? function (\S+)/;

interface Drain {
  pid: number;
  cpu: number;
  lastQueueNs: number;
  lastTarget: number;
  firstQueueNs: number;
  outstanding: number;
  /** Each work's end: time and CPU. */
  ends: Array<{ t: number; cpu: number }>;
  /** The caller was switched out after its queueing (it sleeps in flush_work()). */
  asleep: boolean;
}

/**
 * Fit the cost fields a trace can tell. `base` supplies the fields the fit subtracts but cannot
 * measure (stepNs, the spacing of a step; drainScanNs where the scan cannot be told apart;
 * idlePollNs, the line between a polling and a sleeping idle CPU).
 */
export function fitCostsFromTrace(lines: readonly FtraceLine[], base: CostModel): TraceFit {
  const ev = [...lines].sort((a, b) => a.timeNs - b.timeNs);
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
  let insertions = 0;
  let sawSched = false;
  const flushLocal: number[] = [];
  const flushRemote: number[] = [];
  const workCpus = new Set<number>();

  for (const e of ev) {
    const t = e.timeNs;
    switch (e.event) {
      case 'workqueue_queue_work': {
        const kv = fields(e.body);
        if (kv.get('function') !== DRAIN_WORK_FN) break;
        const target = Number(kv.get('cpu') ?? kv.get('req_cpu'));
        if (!Number.isInteger(target)) break;
        let d = open.get(e.pid);
        // __lru_add_drain_all() queues in CPU order, within microseconds: a lower CPU or a long
        // pause is the next drain.
        if (!d || target <= d.lastTarget || t - d.lastQueueNs > DRAIN_GAP_NS || d.asleep) {
          d = { pid: e.pid, cpu: e.cpu, lastQueueNs: t, lastTarget: target, firstQueueNs: t, outstanding: 0, ends: [], asleep: false };
          open.set(e.pid, d);
          drains.push(d);
        } else {
          gaps.push({ x: target - d.lastTarget, y: t - d.lastQueueNs });
          d.lastQueueNs = t;
          d.lastTarget = target;
        }
        d.outstanding++;
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
        const lat = t - p.t;
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
        r.drain.ends.push({ t, cpu: e.cpu });
        r.drain.outstanding--;
        break;
      }
      case 'sched_switch': {
        sawSched = true;
        const kv = fields(e.body.replace(' ==> ', ' '));
        const prev = Number(kv.get('prev_pid'));
        const next = Number(kv.get('next_pid'));
        const d = open.get(prev);
        if (d && !d.asleep && d.outstanding > 0) d.asleep = true; // into flush_work()'s wait
        const w = open.get(next);
        if (w?.asleep) {
          w.asleep = false;
          if (w.outstanding === 0) {
            // The flusher runs again, woken by the completion of the last work it waited for
            // (woken earlier, with works outstanding, it waits again for the next one).
            const last = w.ends.reduce((a, x) => (x.t <= t && x.t > a.t ? x : a), { t: -1, cpu: -1 });
            if (last.cpu >= 0) (last.cpu === e.cpu ? flushLocal : flushRemote).push(t - last.t);
            open.delete(next);
          }
        }
        curPid.set(e.cpu, { pid: next, since: t });
        break;
      }
    }
  }
  if (drains.length === 0)
    throw new TraceFitError(
      `no drain work in the trace: expected workqueue_queue_work events with function=${DRAIN_WORK_FN} (record them with -e workqueue:workqueue_queue_work -e workqueue:workqueue_execute_start -e workqueue:workqueue_execute_end)`,
    );

  const micro = ev.every((e) => e.timeNs % 1000 === 0);
  const centre = micro ? trimmedMean : median;
  const avg = micro ? 'trimmed mean' : 'median';
  const fitted: FittedField[] = [];
  const missing: TraceFit['missing'] = [];
  const put = (field: CostField, value: number, n: number, how: string) => fitted.push({ field, value: Math.max(0, Math.round(value)), n, how });

  // The scan between two queued CPUs: the model spends drainScanNs + stepNs per CPU it steps
  // over (cpu_needs_drain() and a yield) and queueWorkNs per CPU it queues.
  const line = fitLine(gaps, centre);
  if (line) {
    put('queueWorkNs', line.a, gaps.length, `queue_work gaps over CPUs stepped (${line.groups} step sizes): intercept`);
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

  const wake = (xs: number[], field: CostField, what: string) => {
    if (xs.length >= MIN_SAMPLES) put(field, centre(xs), xs.length, `${avg} queue_work -> execute_start on ${what}`);
    else
      missing.push({
        field,
        why: sawSched ? `fewer than ${MIN_SAMPLES} works queued on ${what}` : 'no sched_switch events: idle and busy CPUs are not told apart',
      });
  };
  wake(wakeIdle, 'kworkerWakeIdleNs', `CPUs idle for idlePollNs (${base.idlePollNs} ns) or longer`);
  wake(wakePolling, 'wakePollingNs', `CPUs idle for less than idlePollNs (still polling)`);
  // A busy CPU: the kworker runs at the task's next scheduling point, then switches in. With the
  // point uniform over a spacing S, latency = switch + U(0, S): p95 - p5 = 0.9 S.
  if (wakeBusy.length >= MIN_BUSY) {
    const b = measure(wakeBusy);
    const spacing = (b.p95 - b.p5) / 0.9;
    put('kworkerSwitchNs', b.p5 - spacing / 20, wakeBusy.length, 'busy CPUs: queue_work -> execute_start as switch + U(0, spacing), from p5 and p95');
    put('busySpacingNs', spacing, wakeBusy.length, 'the same fit: (p95 - p5) / 0.9');
  } else {
    const why = sawSched ? `fewer than ${MIN_BUSY} works queued on busy CPUs` : 'no sched_switch events: idle and busy CPUs are not told apart';
    missing.push({ field: 'kworkerSwitchNs', why }, { field: 'busySpacingNs', why });
  }

  // Drain work: the model spends stepNs + lruvecLockNs + lruMoveNs per entry on it, and adds the
  // wait for a lruvec lock another kworker holds itself: fitted on the works that ran alone (no
  // other drain work running meanwhile) where there are enough of them.
  const alone = ranAlone(works);
  const pick = alone.length >= 2 * MIN_SAMPLES ? alone : works;
  const which =
    pick === alone ? `${alone.length} of ${works.length} works that ran alone` : `all ${works.length} works (too few ran alone: lruvec lock waits included)`;
  const work = pick.map((x) => ({ x: x.inserts, y: x.end - x.start }));
  const wl = insertions > 0 ? fitLine(work, centre) : null;
  if (wl) {
    put('lruMoveNs', wl.b, work.length, `execute_start -> execute_end over mm_lru_insertion events per work, ${which} (${wl.groups} batch sizes): slope`);
    put('lruvecLockNs', wl.a - base.stepNs, work.length, `the same fit's intercept, less stepNs (${base.stepNs} ns)`);
  } else {
    const why =
      insertions === 0 ? 'no mm_lru_insertion events (-e pagemap:mm_lru_insertion): batch sizes unknown' : 'fewer than two batch sizes with 3+ works each';
    missing.push({ field: 'lruMoveNs', why }, { field: 'lruvecLockNs', why });
  }

  const flush = (xs: number[], field: CostField, what: string) => {
    if (xs.length >= MIN_SAMPLES) put(field, centre(xs), xs.length, `${avg} last execute_end -> the flusher's sched_switch in, ${what}`);
    else missing.push({ field, why: sawSched ? `fewer than ${MIN_SAMPLES} flusher wake-ups ${what}` : 'no sched_switch events' });
  };
  flush(flushRemote, 'wakeupNs', 'woken from another CPU');
  flush(flushLocal, 'wakeupLocalNs', "woken by its own CPU's kworker");

  return {
    resolutionNs: micro ? 1000 : 1,
    drains: drains.length,
    cpus: workCpus.size,
    fitted,
    missing,
    measured: {
      queueGap: measure(gaps.map((p) => p.y)),
      wakeIdle: measure(wakeIdle),
      wakePolling: measure(wakePolling),
      wakeBusy: measure(wakeBusy),
      work: measure(works.map((x) => x.end - x.start)),
      flusherWake: measure([...flushLocal, ...flushRemote]),
      drainSpan: measure(drains.filter((d) => d.ends.length > 0).map((d) => Math.max(...d.ends.map((x) => x.t)) - d.firstQueueNs)),
    },
  };
}

/** The fit as a cost file (YAML): the fitted fields, each with a comment on its samples and method. */
export function costFileFromFit(fit: TraceFit, source: string): string {
  const out = [
    `# Fitted by folio-race costs --from-trace ${source}: ${fit.drains} drain-alls, drain work on ${fit.cpus} CPUs.`,
    '# Fields not listed keep the defaults (folio-race costs lists them).',
    ...(fit.resolutionNs > 1
      ? [
          '# The timestamps have µs resolution: sub-µs costs are trimmed means over readings of 0 or 1 µs; a trace with ns timestamps (trace-cmd report -t) fits them better.',
        ]
      : []),
    `name: ${JSON.stringify(`fitted to ${source}`)}`,
  ];
  for (const f of fit.fitted) out.push(`${f.field}: ${f.value} # n=${f.n}: ${f.how}`);
  for (const m of fit.missing) out.push(`# ${m.field}: not fitted: ${m.why}`);
  // What the trace itself measured, to set beside `study drain-latency --model logical --costs` with this file.
  const us = (ns: number) => (Number.isNaN(ns) ? '-' : `${(ns / 1000).toFixed(1)} µs`);
  const line = (what: string, m: Measured) => `#   ${what}: n=${m.n}, p10 ${us(m.p10)}, p50 ${us(m.p50)}, p90 ${us(m.p90)}`;
  const ms = fit.measured;
  out.push(
    '# Measured in the trace:',
    line('drain-all, first queue_work to last execute_end', ms.drainSpan),
    line('kworker start after queue_work, idle CPU', ms.wakeIdle),
    line('kworker start after queue_work, busy CPU', ms.wakeBusy),
    line('drain work (execute_start to execute_end)', ms.work),
    line("flusher's wake-up after the last work", ms.flusherWake),
  );
  return `${out.join('\n')}\n`;
}
