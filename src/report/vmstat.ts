// The emulator's event counters under the names kernel developers read in /proc/vmstat, so a
// trial's figures line up with `grep -E 'unevictable|pgmigrate' /proc/vmstat` deltas taken
// around the same sequence on a real kernel. Only counters the model keeps are listed.
import { STAT_NAMES, Stat, type StatId } from '../mm/layout.js';
import type { PolicyAggregate } from '../stats/aggregate.js';
import { renderColumns } from './columns.js';

/** /proc/vmstat name -> the emulator counter (mm/vmstat.c vmstat_text, all modelled versions). */
export const VMSTAT: readonly { name: string; stat: StatId }[] = [
  { name: 'nr_mlock', stat: Stat.NR_MLOCK },
  { name: 'pgactivate', stat: Stat.PGACTIVATE },
  { name: 'pgdeactivate', stat: Stat.PGDEACTIVATE },
  { name: 'pglazyfree', stat: Stat.PGLAZYFREE },
  { name: 'pgrotated', stat: Stat.PGROTATED },
  { name: 'pgmigrate_success', stat: Stat.MIGRATE_SUCCEEDED },
  { name: 'pgmigrate_fail', stat: Stat.MIGRATE_FAILED },
  { name: 'unevictable_pgs_culled', stat: Stat.UNEVICTABLE_PGCULLED },
  { name: 'unevictable_pgs_rescued', stat: Stat.UNEVICTABLE_PGRESCUED },
  { name: 'unevictable_pgs_mlocked', stat: Stat.UNEVICTABLE_PGMLOCKED },
  { name: 'unevictable_pgs_munlocked', stat: Stat.UNEVICTABLE_PGMUNLOCKED },
  { name: 'unevictable_pgs_cleared', stat: Stat.UNEVICTABLE_PGCLEARED },
  { name: 'unevictable_pgs_stranded', stat: Stat.UNEVICTABLE_PGSTRANDED },
];

/** The vmstat deltas of a stats vector (indexed by Stat), every listed counter, zeros included. */
export function vmstatDeltas(stats: ArrayLike<number>, perTrials = 1): { name: string; value: number }[] {
  return VMSTAT.map(({ name, stat }) => ({ name, value: (stats[stat] ?? 0) / perTrials }));
}

/** Per-trial means of the counters that moved, one row per policy (stress output). */
export function renderVmstatTable(aggs: readonly PolicyAggregate[]): string {
  const mean = (a: PolicyAggregate, stat: StatId) => (a.trials > 0 ? (a.stats[STAT_NAMES[stat]!] ?? 0) / a.trials : 0);
  const cols = VMSTAT.filter(({ stat }) => aggs.some((a) => mean(a, stat) !== 0));
  if (cols.length === 0) return '';
  const head = ['policy', ...cols.map((c) => c.name.replace(/^unevictable_pgs_/, 'unev_'))];
  const rows = aggs.map((a) => [a.policy, ...cols.map((c) => mean(a, c.stat).toFixed(2))]);
  return ['/proc/vmstat deltas per trial (mean; unev_ = unevictable_pgs_):', ...renderColumns(head, rows, { right: (i) => i > 0 })].join('\n');
}

/** One line per counter that moved, `name delta` (per trial: a mean, two decimals). */
export function renderVmstat(stats: ArrayLike<number>, perTrials = 1): string[] {
  const rows = vmstatDeltas(stats, perTrials).filter((r) => r.value !== 0);
  if (rows.length === 0) return ['(no vmstat counter moved)'];
  const w = Math.max(...rows.map((r) => r.name.length));
  const fmt = (v: number) => (perTrials === 1 ? String(v) : v.toFixed(2));
  return rows.map((r) => `${r.name.padEnd(w)}  ${fmt(r.value)}`);
}
