// The figures a scenario's `measure` list asks for (schema.ts MEASURES), read from a policy's
// aggregate: the emulated kernel's counters summed over trials, their per-trial means, and for a
// counter the trials in which it moved, k of n with the 95% Wilson interval (a per-trial yes/no:
// "the write fault copied in 10 of 10 trials"). stress, run and affected print them; nothing here
// knows what a scenario is expected to show.
import { MEASURES, type MeasureName } from '../scenario/schema.js';
import type { LatencySummary } from '../stats/histogram.js';
import type { PolicyAggregate } from '../stats/aggregate.js';
import { proportion } from '../stats/wilson.js';
import { renderColumns } from './columns.js';
import { formatNs, formatPct } from './table.js';

/** k of n, its rate and 95% Wilson interval; `of` names the population (trials, pin calls). */
export interface MeasureRate {
  k: number;
  n: number;
  of: string;
  rate: number;
  ci95: [number, number];
}

/** One figure of a declared measure. */
export interface MeasureFigure {
  measure: MeasureName;
  /** What is counted: a counter (layout.ts Stat name) or a derived figure. */
  counter: string;
  /** Sum over the trials; null where the figure is not a count. */
  total: number | null;
  /** total / trials; null with no trials or no count. */
  perTrial: number | null;
  /** A per-trial yes/no (trials in which the counter moved) or a per-call rate. */
  rate?: MeasureRate;
  /** Percentiles of a latency, or where an end-of-trial state is printed. */
  note?: string;
}

export interface MeasureOptions {
  /** Where the end-of-trial states among the declared measures are printed (renderMeasures' note). */
  endState?: string;
  /** One trial (`run`): each counter's value, no means or intervals (which say nothing at n = 1). */
  single?: boolean;
  /** Whose clock the latency measures are on, when it is not the host's (`the scheduler's clock`). */
  clock?: string;
}

/** Measures of the state a trial ends in (not counters): not aggregated over trials. */
export const END_STATE_MEASURES: readonly MeasureName[] = ['folio_state', 'ledger', 'batch_occupancy'];
const END_STATE_NOTE = 'an end-of-trial state, not aggregated over trials (`folio-race run` prints it)';

function rateOf(k: number, n: number, of: string): MeasureRate {
  const p = proportion(k, n);
  return { k, n, of, rate: p.rate, ci95: p.ci95 };
}

function latency(m: MeasureName, counter: string, l: LatencySummary, trials: number): MeasureFigure {
  return {
    measure: m,
    counter,
    total: l.count,
    perTrial: trials > 0 ? l.count / trials : null,
    note: l.count ? `p50 ${formatNs(l.p50)}, p99 ${formatNs(l.p99)}, max ${formatNs(l.max)}` : 'none ran',
  };
}

/** The figures of each declared measure, in the order declared. */
export function measureFigures(measures: readonly MeasureName[], a: PolicyAggregate): MeasureFigure[] {
  const n = a.trials;
  const mean = (x: number) => (n > 0 ? x / n : null);
  const out: MeasureFigure[] = [];
  for (const m of measures) {
    if (END_STATE_MEASURES.includes(m)) {
      out.push({ measure: m, counter: '-', total: null, perTrial: null, note: END_STATE_NOTE });
      continue;
    }
    if (m === 'pin_latency') {
      out.push(latency(m, 'pin_user_pages()', a.pinLatencyNs, n));
      continue;
    }
    if (m === 'drain_all_latency') {
      out.push(latency(m, 'lru_add_drain_all()', a.drainAllLatencyNs, n));
      out.push(latency(m, 'drain mutex wait', a.drainAllMutexWaitNs, n));
      continue;
    }
    if (m === 'invariants') {
      const records = a.failureRecords.invariant;
      out.push({ measure: m, counter: 'violations', total: records, perTrial: mean(records), rate: rateOf(a.failures.byKind.invariant, n, 'trials') });
      if (a.permitted.trials > 0)
        out.push({
          measure: m,
          counter: 'permitted violations',
          total: a.permitted.records,
          perTrial: mean(a.permitted.records),
          rate: rateOf(a.permitted.trials, n, 'trials'),
          note: Object.entries(a.permitted.byInvariant)
            .map(([id, k]) => `${id} x${k}`)
            .join(', '),
        });
      continue;
    }
    for (const stat of MEASURES[m].stats) {
      const total = a.stats[stat] ?? 0;
      const k = a.statTrials?.[stat];
      out.push({ measure: m, counter: stat, total, perTrial: mean(total), ...(k !== undefined ? { rate: rateOf(k, n, 'trials') } : {}) });
    }
    if (m === 'pin_success_rate') {
      const calls = a.stats.PIN_CALLS ?? 0;
      out.push({
        measure: m,
        counter: 'PIN_OK/PIN_CALLS',
        total: null,
        perTrial: null,
        rate: rateOf(Math.min(a.stats.PIN_OK ?? 0, calls), calls, 'pin calls'),
      });
    }
  }
  return out;
}

/** A total as it is; a mean with two decimals (0 as 0), as the vmstat table prints them. */
function fmtTotal(x: number | null): string {
  return x === null ? '-' : String(x);
}
function fmtMean(x: number | null): string {
  return x === null ? '-' : x === 0 ? '0' : x.toFixed(2);
}

/** `10/10 trials 100.0% [72.2%, 100.0%]`. */
export function formatMeasureRate(r: MeasureRate): string {
  const of = r.n === 1 ? r.of.replace(/s$/, '') : r.of;
  return `${r.k}/${r.n} ${of} ${formatPct(r.rate)} [${formatPct(r.ci95[0])}, ${formatPct(r.ci95[1])}]`;
}

function detail(f: MeasureFigure): string {
  const parts: string[] = [];
  if (f.rate) parts.push(formatMeasureRate(f.rate));
  if (f.note) parts.push(f.note);
  return parts.join('; ') || '-';
}

/** What each declared measure counts, one line each (schema.ts MEASURES doc). */
export function measureDocLines(measures: readonly MeasureName[], indent = '  '): string[] {
  return measures.map((m) => `${indent}${m}: ${MEASURES[m].doc}`);
}

/** A table layout of the declared measures: what its title says they are, its columns, one row per figure. */
interface MeasureTable {
  what: string;
  head: string[];
  right: (col: number) => boolean;
  row: (policy: string, f: MeasureFigure) => string[];
}

/** Over many trials: per policy and figure its total, per-trial mean and, for a counter, the trials it moved in. */
const OVER_TRIALS: MeasureTable = {
  what: 'summed over the trials',
  head: ['policy', 'measure', 'counter', 'total', 'per trial', 'moved in k/n trials [95% CI]; detail'],
  right: (i) => i === 3 || i === 4,
  row: (policy, f) => [policy, f.measure, f.counter, fmtTotal(f.total), fmtMean(f.perTrial), detail(f)],
};

/** One trial (`run`): each figure's value (a rate as k/n); no means or intervals, which say nothing at n = 1. */
const oneTrial = (clock: string | undefined): MeasureTable => ({
  what: 'in this trial',
  head: ['measure', 'counter', 'value', 'detail'],
  right: (i) => i === 2,
  row: (_policy, f) => [
    f.measure,
    f.counter,
    f.total !== null ? String(f.total) : f.rate ? `${f.rate.k}/${f.rate.n}` : '-',
    f.note && clock && f.measure.endsWith('_latency') ? `${f.note} (${clock})` : (f.note ?? ''),
  ],
});

/**
 * The declared measures, one row per policy and figure (`opts.single`: one trial's values); the
 * end-of-trial states in a note under the table. Empty string for no measures.
 */
export function renderMeasures(measures: readonly MeasureName[], aggs: readonly PolicyAggregate[], opts: MeasureOptions = {}): string {
  if (measures.length === 0 || aggs.length === 0) return '';
  const t = opts.single ? oneTrial(opts.clock) : OVER_TRIALS;
  const rows = aggs.flatMap((a) =>
    measureFigures(measures, a)
      .filter((f) => !END_STATE_MEASURES.includes(f.measure))
      .map((f) => t.row(a.policy, f)),
  );
  const end = measures.filter((m) => END_STATE_MEASURES.includes(m));
  const out = [`Declared measures (the scenario's \`measure\` list; the emulated kernel's counters, ${t.what}):`, ...measureDocLines(measures)];
  if (rows.length) out.push(...renderColumns(t.head, rows, { right: t.right }));
  if (end.length) out.push(`${end.join(', ')}: ${opts.endState ?? END_STATE_NOTE}`);
  return out.join('\n');
}

/** A compact cell for one figure (affected's per-range columns): `1.00/trial, 10/10 [72.2%, 100%]`. */
export function measureCell(f: MeasureFigure): string {
  const parts: string[] = [];
  if (f.perTrial !== null) parts.push(`${fmtMean(f.perTrial)}/trial`);
  if (f.rate)
    parts.push(`${f.rate.k}/${f.rate.n}${f.rate.of === 'trials' ? '' : ` ${f.rate.of}`} [${formatPct(f.rate.ci95[0])}, ${formatPct(f.rate.ci95[1])}]`);
  if (f.note && f.rate === undefined && f.counter !== '-') parts.push(f.note);
  return parts.join(', ') || '-';
}
