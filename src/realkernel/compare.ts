// The real kernel's figures beside the emulator's, per scenario: pin failures (with errno), pins
// whose page migrated and left ZONE_MOVABLE, drain works queued per pin, /proc/vmstat deltas per
// trial. Each metric is judged: rates agree when their 95% intervals overlap, means when within
// 0.1 or 10%. Disagreements come first in the report: each is an emulator bug or a finding.
import { STAT_NAMES } from '../mm/layout.js';
import { VMSTAT } from '../report/vmstat.js';
import type { PolicyAggregate } from '../stats/aggregate.js';
import { newcombeDiff, wilson } from '../stats/wilson.js';
import type { Op, Scenario } from '../scenario/schema.js';
import { lineUp, parsePageRef, pinnedPfn, type LineUp } from '../trace/page_ref_lineup.js';
import type { GuestScenarioResult } from './guest_output.js';
import { renderColumns } from '../report/columns.js';

/** Linux x86-64 errno numbers the pin can return (include/uapi/asm-generic/errno-base.h, errno.h). */
const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  4: 'EINTR',
  5: 'EIO',
  11: 'EAGAIN',
  12: 'ENOMEM',
  14: 'EFAULT',
  16: 'EBUSY',
  22: 'EINVAL',
  28: 'ENOSPC',
  95: 'EOPNOTSUPP',
};
export const errnoText = (n: number) => `-${ERRNO[n] ?? `errno ${n}`}`;

export interface SideFigures {
  trials: number;
  pins: number;
  /** Trials with at least one failed pin, and the rate's 95% interval. */
  failedTrials: number;
  rate: number;
  ci95: [number, number];
  /** Failed pins by error ("-ENOMEM": 200). */
  errors: Record<string, number>;
  /** Pins whose page was migrated (real: the pfn changed; emulator: a successful migration), per pin. */
  migratedPerPin: number | null;
  /** Real kernel only: pins after which the page was outside ZONE_MOVABLE, per pin. */
  leftMovablePerPin: number | null;
  /** lru_add_drain_per_cpu works queued, per pin (null: not measured or no pins). */
  drainWorksPerPin: number | null;
  drainWorksPerTrial: number | null;
  /** Per-trial means of the /proc/vmstat counters. */
  vmstat: Record<string, number>;
  /** Real kernel only: trials in which an op failed unexpectedly, and the first message. */
  opErrors?: { trials: number; first: string | null };
}

/**
 * ok: the figures agree. DISAGREE: an emulator bug or a finding. timing: they differ in a
 * scenario whose outcome depends on time or interleaving (it has pauses or hogs, or the emulator's
 * rate lies strictly between 0 and 100%): TCG's emulated time and its coarse interleaving of
 * vCPUs are not the emulator's, so such a difference is reported but not counted. too few trials:
 * the failure rates show no difference, but the trials cannot rule out one of 50 points either
 * (0/1 against 1/1, 0/3 against 1/3).
 */
export type Verdict = 'ok' | 'DISAGREE' | 'timing' | 'too few trials';

export interface Comparison {
  metric: string;
  real: string;
  emulator: string;
  verdict: Verdict;
}

/** Does the scenario's order of events depend on time (pauses, hogs, jitter)? */
export function isTimedScenario(s: Scenario): boolean {
  if (s.timing.delayAfterUs > 0 || s.timing.jitterUs > 0) return true;
  const timed = (ops: readonly Op[]): boolean =>
    ops.some((op) => op.op === 'delay' || op.op === 'hog' || (op.delayAfterUs ?? 0) > 0 || (op.jitterUs ?? 0) > 0 || (op.op === 'repeat' && timed(op.ops)));
  return Object.values(s.steps).some(timed);
}

/** Pages the scenario's setup mlocks: the emulator counts them in NR_MLOCK, the guest before its first snapshot. */
function setupMlockedPages(s: Scenario): number {
  return s.folios.filter((f) => f.flags.includes('mlocked')).reduce((n, f) => n + f.count * (1 << f.order), 0);
}

export interface ScenarioComparison {
  id: string;
  real: SideFigures;
  emulator: SideFigures;
  comparisons: Comparison[];
  /** The first trial's page_ref events of the pinned folio, lined up (CONFIG_DEBUG_PAGE_REF kernels). */
  pageRef?: LineUp & { realLines: string[] };
}

/** Add the page_ref line-up to a comparison: a row judged like the others. */
export function addPageRefLineUp(c: ScenarioComparison, realLines: readonly string[], emulatedLines: readonly string[], timedScenario: boolean): void {
  const real = parsePageRef(realLines);
  const emu = parsePageRef(emulatedLines);
  const pfn = pinnedPfn(emu);
  const u = lineUp(real, pfn === null ? [] : emu.filter((e) => e.pfn === pfn));
  c.pageRef = { ...u, realLines: [...realLines] };
  const raced = timedScenario || (c.emulator.rate > 0 && c.emulator.rate < 1);
  c.comparisons.push({
    metric: 'page_ref events of the pinned folio, trial 1',
    real: u.firstDifference === null ? `${u.real} events` : `${u.real} events; #${u.firstDifference + 1}: ${u.realAt}`,
    emulator: u.firstDifference === null ? `${u.emulator} events, the same` : `${u.emulator} events; #${u.firstDifference + 1}: ${u.emulatorAt}`,
    verdict: u.firstDifference === null ? 'ok' : raced ? 'timing' : 'DISAGREE',
  });
}

const perPin = (n: number, pins: number) => (pins > 0 ? n / pins : null);

export function realFigures(r: GuestScenarioResult, traced: boolean): SideFigures {
  const trials = r.trials.length;
  let pins = 0,
    failedTrials = 0,
    migrated = 0,
    leftMovable = 0,
    works = 0,
    opErrTrials = 0;
  let firstOpErr: string | null = null;
  const errors: Record<string, number> = {};
  const vm: Record<string, number> = {};
  for (const t of r.trials) {
    let failed = false;
    for (const p of t.pins) {
      pins++;
      if (p.errno !== 0) {
        failed = true;
        const k = errnoText(p.errno);
        errors[k] = (errors[k] ?? 0) + 1;
      }
      if (p.moved === 1) migrated++;
      if (p.movableAfter === 0) leftMovable++;
    }
    if (failed) failedTrials++;
    if (t.drainWorks > 0) works += t.drainWorks;
    for (const [k, v] of Object.entries(t.vmstat)) vm[k] = (vm[k] ?? 0) + v;
    if (t.opError) {
      opErrTrials++;
      firstOpErr ??= t.opError;
    }
  }
  const ci = wilson(failedTrials, trials);
  return {
    trials,
    pins,
    failedTrials,
    rate: trials ? failedTrials / trials : 0,
    ci95: ci,
    errors,
    migratedPerPin: perPin(migrated, pins),
    leftMovablePerPin: perPin(leftMovable, pins),
    drainWorksPerPin: traced ? perPin(works, pins) : null,
    drainWorksPerTrial: traced && trials ? works / trials : null,
    vmstat: Object.fromEntries(VMSTAT.map(({ name }) => [name, trials ? (vm[name] ?? 0) / trials : 0])),
    opErrors: { trials: opErrTrials, first: firstOpErr },
  };
}

export function emulatorFigures(a: PolicyAggregate, s: Scenario): SideFigures {
  const stat = (name: string) => a.stats[name] ?? 0;
  const setupMlock = setupMlockedPages(s);
  const pinFailedTrials = a.failures.byKind.ENOMEM + a.failures.byKind.pin_error;
  const errors: Record<string, number> = {};
  if (a.pins.enomem) errors['-ENOMEM'] = a.pins.enomem;
  if (a.pins.otherErr) errors['(other errors)'] = a.pins.otherErr;
  const migrated = stat('MIGRATE_SUCCEEDED');
  return {
    trials: a.trials,
    pins: a.pins.calls,
    failedTrials: pinFailedTrials,
    rate: a.trials ? pinFailedTrials / a.trials : 0,
    ci95: wilson(pinFailedTrials, a.trials),
    errors,
    migratedPerPin: perPin(migrated, a.pins.calls),
    // A migrated folio's target is always pinnable (outside ZONE_MOVABLE and CMA) in the model.
    leftMovablePerPin: null,
    drainWorksPerPin: perPin(a.drains.cpusQueued, a.pins.calls),
    drainWorksPerTrial: a.trials ? a.drains.cpusQueued / a.trials : null,
    vmstat: Object.fromEntries(
      VMSTAT.map(({ name, stat: id }) => [name, a.trials ? stat(STAT_NAMES[id]!) / a.trials - (name === 'nr_mlock' ? setupMlock : 0) : 0]),
    ),
  };
}

const fmt = (x: number | null) => (x === null ? '-' : x === 0 ? '0' : x.toFixed(2));
const pct = (x: number) => `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)}%`;
/** A difference of failure rates (50 points) that trials which cannot rule it out are too few to judge. */
const WIDE = 0.5;
/** Means agree within 0.1 absolute or 10% of the larger. */
export function closeEnough(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(0.1, 0.1 * Math.max(Math.abs(a), Math.abs(b)));
}
const errorsText = (e: Record<string, number>) =>
  Object.entries(e)
    .map(([k, n]) => `${k} x${n}`)
    .join(', ') || '-';

export function compareScenario(id: string, real: SideFigures, emu: SideFigures, timedScenario: boolean): ScenarioComparison {
  const c: Comparison[] = [];
  const raced = timedScenario || (emu.rate > 0 && emu.rate < 1) || (real.rate > 0 && real.rate < 1);
  const judge = (agree: boolean, sensitive: boolean): Verdict => (agree ? 'ok' : sensitive ? 'timing' : 'DISAGREE');
  // The rates differ when the 95% interval of their difference excludes 0; it may still be too
  // wide to rule out a large difference.
  const [lo, hi] = newcombeDiff(real.rate, real.ci95, emu.rate, emu.ci95);
  const same = lo <= 0 && 0 <= hi;
  const unsettled = same && (lo <= -WIDE || hi >= WIDE);
  c.push({
    metric: 'trials with a failed pin',
    real: `${real.failedTrials}/${real.trials} (${pct(real.rate)}, CI ${pct(real.ci95[0])}-${pct(real.ci95[1])})`,
    emulator: `${emu.failedTrials}/${emu.trials} (${pct(emu.rate)}, CI ${pct(emu.ci95[0])}-${pct(emu.ci95[1])})`,
    verdict: unsettled ? 'too few trials' : judge(same, raced),
  });
  const realErr = Object.keys(real.errors).sort();
  const emuErr = Object.keys(emu.errors).sort();
  // Errors the emulator never produces are a disagreement even in a race; missing ones may be luck.
  const errAgree = realErr.join(',') === emuErr.join(',');
  const realOnly = realErr.some((e) => !emuErr.includes(e));
  c.push({ metric: 'pin errors', real: errorsText(real.errors), emulator: errorsText(emu.errors), verdict: judge(errAgree, raced && !realOnly) });
  const mean = (metric: string, a: number | null, b: number | null) => {
    if (a === null && b === null) return;
    c.push({ metric, real: fmt(a), emulator: fmt(b), verdict: a === null || b === null ? 'ok' : judge(closeEnough(a, b), raced) });
  };
  mean('pins migrated, per pin', real.migratedPerPin, emu.migratedPerPin);
  // Shown, not judged: the emulator's aggregate does not keep where a pinned folio ended up.
  if (real.leftMovablePerPin !== null)
    c.push({ metric: 'page outside ZONE_MOVABLE after the pin, per pin', real: fmt(real.leftMovablePerPin), emulator: '-', verdict: 'ok' });
  if (real.pins > 0) mean('drain works queued, per pin', real.drainWorksPerPin, emu.drainWorksPerPin);
  else mean('drain works queued, per trial', real.drainWorksPerTrial, emu.drainWorksPerTrial);
  for (const { name } of VMSTAT) {
    const a = real.vmstat[name] ?? 0,
      b = emu.vmstat[name] ?? 0;
    if (a === 0 && b === 0) continue;
    c.push({ metric: `${name}, per trial`, real: fmt(a), emulator: fmt(b), verdict: judge(closeEnough(a, b), raced) });
  }
  if (real.opErrors && real.opErrors.trials > 0) {
    c.push({ metric: 'ops that failed in the guest', real: `${real.opErrors.trials} trials: ${real.opErrors.first}`, emulator: '-', verdict: 'DISAGREE' });
  }
  return { id, real, emulator: emu, comparisons: c };
}

/** Disagreements first (all scenarios), then one table per scenario. */
export function renderComparisons(rows: readonly ScenarioComparison[], realLabel: string, emuLabel: string): string {
  const out: string[] = [];
  const of = (v: Verdict) => rows.flatMap((r) => r.comparisons.filter((c) => c.verdict === v).map((c) => ({ id: r.id, c })));
  const bad = of('DISAGREE');
  const timing = of('timing');
  const unsettled = of('too few trials');
  if (bad.length > 0) {
    out.push(`DISAGREEMENTS (${bad.length}): each is an emulator bug or a finding about this kernel`);
    for (const { id, c } of bad) out.push(`  ${id}: ${c.metric}: real ${c.real}, emulator ${c.emulator}`);
  } else {
    out.push(`No disagreements in ${rows.length} scenario${rows.length === 1 ? '' : 's'}.`);
  }
  if (unsettled.length > 0) {
    out.push(
      '',
      `Too few trials to judge (${unsettled.length}): no difference shown, but a difference of 50 points is not ruled out either; run more with --trials:`,
    );
    for (const { id, c } of unsettled) out.push(`  ${id}: ${c.metric}: real ${c.real}, emulator ${c.emulator}`);
  }
  if (timing.length > 0) {
    out.push(
      '',
      `Differences in time- or interleaving-dependent scenarios (${timing.length}, not counted: TCG's emulated time and coarse vCPU interleaving are not the emulator's):`,
    );
    for (const { id, c } of timing) out.push(`  ${id}: ${c.metric}: real ${c.real}, emulator ${c.emulator}`);
  }
  for (const r of rows) {
    out.push('', `${r.id}: ${r.real.trials} trials on the real kernel, ${r.emulator.trials} in the emulator`);
    const head = ['metric', realLabel, emuLabel, ''];
    const cells = r.comparisons.map((c) => [c.metric, c.real, c.emulator, c.verdict]);
    out.push(...renderColumns(head, cells, { indent: '  ' }));
  }
  return out.join('\n') + '\n';
}
