// The table a timing study prints as its cells finish: one row per cell, columns aligned whatever
// the cell labels' width (known before the first row), the failure rate with its interval first,
// durations in a unit that suits each value (ns, µs, ms, s), and "-" where a cell has no data.
// p50..max are the drain-alls that drained; "call" columns every call, generation skips included.
// "trials failed": the share of trials with a failure (a pin error, an invariant broken, a hang).
import type { PolicyAggregate } from '../stats/aggregate.js';
import { formatPct } from './table.js';

/** 850 -> "850ns", 12_300 -> "12.3µs", 4_560_000 -> "4.56ms", 1.2e9 -> "1.20s"; "-" for no data. */
export function formatDuration(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '-';
  const a = Math.abs(ns);
  const three = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${three(ns / 1e3)}µs`;
  if (a < 1e9) return `${three(ns / 1e6)}ms`;
  return `${three(ns / 1e9)}s`;
}

const COLS = [
  ['trials failed [95% CI]', 24],
  ['drains', 6],
  ['p50', 8],
  ['p90', 8],
  ['p99', 8],
  ['p99.9', 8],
  ['max', 8],
  ['CPUs/drain', 10],
  ['gen skips', 9],
  ['mutex p99', 9],
  ['call p50', 8],
  ['call p99', 8],
  ['work/CPU', 8],
  ['drain-alls/pin', 14],
  ['pin p50', 8],
  ['pin p99', 8],
] as const;

export interface StudyTable {
  header: string;
  row(key: string, a: PolicyAggregate): string;
}

/** A table for cells labelled by `keys` (all of them, so the first column fits the longest). */
export function studyTable(keys: readonly string[], basis: string): StudyTable {
  const kw = Math.max(4, ...keys.map((k) => k.length));
  const line = (label: string, cells: readonly string[]) =>
    `${label.padEnd(kw)}  ${cells.map((c, i) => c.padStart(Math.max(COLS[i]![1], COLS[i]![0].length))).join('  ')}`;
  const title = `drain-all latency, ${basis}`;
  const header = `${title}\n${line(
    'cell',
    COLS.map((c) => c[0]),
  )}`;
  return {
    header,
    row(key, a) {
      const l = a.drainAllLatencyNs;
      const has = l.count > 0;
      const work = a.stats.DRAIN_WORK_RUN ? (a.stats.DRAIN_WORK_NS ?? 0) / a.stats.DRAIN_WORK_RUN : null;
      const pins = a.pinLatencyNs.count > 0;
      // Every call, generation skips included: what each of several callers waited.
      const calls = (a.drainAllCallNs?.count ?? 0) > 0;
      return line(key, [
        a.trials ? `${formatPct(a.rate)} [${formatPct(a.ci95[0])}, ${formatPct(a.ci95[1])}]` : '-',
        String(l.count),
        has ? formatDuration(l.p50) : '-',
        has ? formatDuration(l.p90) : '-',
        has ? formatDuration(l.p99) : '-',
        has ? formatDuration(l.p999) : '-',
        has ? formatDuration(l.max) : '-',
        a.cpusQueuedPerDrainAll === null ? '-' : a.cpusQueuedPerDrainAll.toFixed(2),
        has ? String(a.drains.genSkips) : '-',
        a.drainAllMutexWaitNs.count ? formatDuration(a.drainAllMutexWaitNs.p99) : '-',
        calls ? formatDuration(a.drainAllCallNs!.p50) : '-',
        calls ? formatDuration(a.drainAllCallNs!.p99) : '-',
        formatDuration(work),
        a.drainsPerPin.all === null ? '-' : a.drainsPerPin.all.toFixed(2),
        pins ? formatDuration(a.pinLatencyNs.p50) : '-',
        pins ? formatDuration(a.pinLatencyNs.p99) : '-',
      ]);
    },
  };
}
