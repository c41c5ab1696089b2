// The end-of-run table of `folio-race stress`: one row per policy, then where the failing
// references were (ledger attribution), permitted findings, and emulator errors. Plain aligned
// text; ANSI colour only when asked for (the CLI asks when stdout is a TTY and NO_COLOR is unset).
import { renderVmstatTable } from './vmstat.js';
import { COUNTED_KINDS, type PolicyAggregate } from '../stats/aggregate.js';
import { placeText } from './place.js';
import { schedulerClock } from '../runtime/tick.js';

export interface TableOptions {
  color?: boolean;
  /** Attribution lines shown per policy and kind (default 5). */
  topAttribution?: number;
  /**
   * The pin times are on the deterministic scheduler's clock (a tick a decision plus scripted
   * delays), not the kernel's cost: their columns are starred and a note says so.
   */
  schedulerClock?: { tickNs: number };
}

const ESC = '\u001b[';
function paint(on: boolean, code: string, s: string): string {
  return on ? `${ESC}${code}m${s}${ESC}0m` : s;
}

/** 850ns, 12.3us, 4.56ms, 1.23s (ASCII "us" so columns align in any terminal). */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${sig3(ns / 1e3)}us`;
  if (a < 1e9) return `${sig3(ns / 1e6)}ms`;
  return `${sig3(ns / 1e9)}s`;
}
function sig3(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}
/** 0.1234 -> "12.3%"; small rates keep two significant digits ("0.012%"). */
export function formatPct(p: number): string {
  const v = p * 100;
  if (v === 0) return '0%';
  if (v >= 10) return `${v.toFixed(1)}%`;
  if (v >= 0.1) return `${v.toFixed(2)}%`;
  return `${v.toPrecision(2)}%`;
}
function formatRatio(x: number | null): string {
  if (x === null) return '-';
  if (x === 0) return '0';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

interface Col {
  head: string;
  right: boolean;
  cell: (a: PolicyAggregate) => string;
}
const COLUMNS: Col[] = [
  { head: 'policy', right: false, cell: (a) => a.policy },
  { head: 'trials', right: true, cell: (a) => String(a.trials) },
  { head: 'fail', right: true, cell: (a) => String(a.failures.total) },
  { head: 'rate', right: true, cell: (a) => formatPct(a.rate) },
  { head: '95% CI', right: false, cell: (a) => `[${formatPct(a.ci95[0])}, ${formatPct(a.ci95[1])}]` },
  { head: 'drains/pin local', right: true, cell: (a) => formatRatio(a.drainsPerPin.local) },
  { head: 'all', right: true, cell: (a) => formatRatio(a.drainsPerPin.all) },
  { head: 'CPUs/drain-all', right: true, cell: (a) => formatRatio(a.cpusQueuedPerDrainAll) },
  { head: 'migr/pin', right: true, cell: (a) => formatRatio(a.migrationAttemptsPerPin) },
  { head: 'pin p50', right: true, cell: (a) => (a.pinLatencyNs.count ? formatNs(a.pinLatencyNs.p50) : '-') },
  { head: 'pin p99', right: true, cell: (a) => (a.pinLatencyNs.count ? formatNs(a.pinLatencyNs.p99) : '-') },
];

function pad(s: string, w: number, right: boolean): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/** The per-policy table (no trailing newline). */
export function renderSummaryTable(aggs: readonly PolicyAggregate[], opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const rows = aggs.map((a) => COLUMNS.map((c) => c.cell(a)));
  const star = opts.schedulerClock ? '*' : '';
  const heads = COLUMNS.map((c) => (c.head.startsWith('pin p') ? c.head + star : c.head));
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((s, i) => pad(s, widths[i]!, COLUMNS[i]!.right))
      .join('  ')
      .trimEnd();
  const out = [paint(color, '1', line(heads))];
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((r, i) => {
    const text = line(r);
    out.push(aggs[i]!.failures.total > 0 ? paint(color, '31', text) : text);
  });
  if (opts.schedulerClock)
    out.push(
      `* deterministic mode: on ${schedulerClock(opts.schedulerClock.tickNs)}; compare policies of this run only (a study with --model logical prices it, free-run times this host)`,
    );
  return out.join('\n');
}

function topEntries(t: Record<string, number>, n: number): [string, number][] {
  return Object.entries(t)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n);
}

/** Attribution, permitted findings and emulator errors (empty string when there is none). */
export function renderDetails(aggs: readonly PolicyAggregate[], opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const top = opts.topAttribution ?? 5;
  const out: string[] = [];
  for (const a of aggs) {
    const lines: string[] = [];
    for (const k of COUNTED_KINDS) {
      const trials = a.failures.byKind[k];
      if (trials === 0) continue;
      lines.push(
        `  ${k}: ${trials} trial${trials === 1 ? '' : 's'} (${a.failureRecords[k]} failure${a.failureRecords[k] === 1 ? '' : 's'}), ${formatPct(a.rateByKind[k].rate)} [${formatPct(a.rateByKind[k].ci95[0])}, ${formatPct(a.rateByKind[k].ci95[1])}]`,
      );
      const attr = topEntries(a.attribution[k], top);
      if (attr.length === 0) lines.push('    (no attribution reported)');
      for (const [who, n] of attr) lines.push(`    ${String(n).padStart(6)}  ${who}`);
      const more = Object.keys(a.attribution[k]).length - attr.length;
      if (more > 0) lines.push(`            ... ${more} more holder${more === 1 ? '' : 's'} (see --json)`);
      const ex = a.examples[k][0];
      if (ex) lines.push(`    e.g. ${placeText({ trial: ex.trial, cpu: ex.cpu, op: ex.op })}${ex.invariant ? ` [${ex.invariant}]` : ''}: ${ex.message}`);
    }
    if (a.permitted.trials > 0) {
      const by = topEntries(a.permitted.byInvariant, top)
        .map(([inv, n]) => `${inv} x${n}`)
        .join(', ');
      lines.push(
        `  permitted by this policy (findings, not failures): ${a.permitted.trials} trial${a.permitted.trials === 1 ? '' : 's'}, ${formatPct(a.permitted.rate)}: ${by}`,
      );
      for (const [who, n] of topEntries(a.permitted.attribution, top)) lines.push(`    ${String(n).padStart(6)}  ${who}`);
    }
    if (a.emulatorErrors.trials > 0) {
      lines.push(
        paint(
          color,
          '33',
          `  EMULATOR ERRORS (a bug in folio-race, please report): ${a.emulatorErrors.trials} trial${a.emulatorErrors.trials === 1 ? '' : 's'}`,
        ),
      );
      for (const e of a.emulatorErrors.examples) lines.push(`    ${placeText({ trial: e.trial, cpu: e.cpu, op: e.op })}: ${e.message}`);
    }
    if (lines.length > 0) out.push(paint(color, '1', `${a.policy}:`), ...lines);
  }
  return out.length ? ['Where the references were (reference ledger, by holder):', ...out].join('\n') : '';
}

/** Table, then details; ends with a newline. */
export function renderStressReport(aggs: readonly PolicyAggregate[], opts: TableOptions = {}): string {
  const details = renderDetails(aggs, opts);
  const vm = renderVmstatTable(aggs);
  return renderSummaryTable(aggs, opts) + '\n' + (vm ? '\n' + vm + '\n' : '') + (details ? '\n' + details + '\n' : '');
}
