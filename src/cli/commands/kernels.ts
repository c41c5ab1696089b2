// `folio-race kernels [version|line]`: the release table — which switch set each mainline range
// and each stable point-release range runs, and the commit and release behind every change.
import type { Command } from 'commander';
import { deltaFromBaseline, type PolicySwitches } from '../../mm/policy.js';
import { RELEASES, releasePolicy, resolveKernels, type KernelRelease } from '../../policy/releases.js';
import { UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { renderColumns } from '../../report/columns.js';

/** The switches that matter for the pin, shown as short columns. */
const COLUMNS: { head: string; get: (s: PolicySwitches) => string }[] = [
  { head: 'batch', get: (s) => String(s.batchCapacity) },
  { head: 'PG_lru@queue', get: (s) => (s.lruClearOnQueue ? 'clear' : '-') },
  {
    head: 'GUP drain rule',
    get: (s) =>
      (({ notLru: '!lru', refNeExpectedPlus1: 'ref!=exp+1', refNeExpectedPlusPinBias: 'ref!=exp+pin_refs' }) as Record<string, string>)[s.gupDrainRule] ??
      s.gupDrainRule,
  },
  { head: 'local 1st', get: (s) => (s.gupPreLocalDrain === 'onMismatch' ? 'yes' : s.gupPreLocalDrain === 'none' ? '-' : s.gupPreLocalDrain) },
  { head: 'skip large', get: (s) => (s.gupSkipLarge ? 'yes' : '-') },
  { head: 'empty=>ok', get: (s) => (s.gupEmptyListSucceeds ? 'yes' : '-') },
  { head: 'drain-all local', get: (s) => (s.drainAllLocalFirst ? 'yes' : '-') },
  { head: 'swapcache refs', get: (s) => s.expectedRefSwapCache },
  { head: 'migrate_pages', get: (s) => (s.migrateStyle === 'passes10' ? '10 passes' : 'batched') },
];

export function renderKernels(rs: readonly KernelRelease[]): string {
  const rows = rs.map((r) => [r.line, `${r.from}..${r.openEnded ? `${r.to}+` : r.to}`, ...COLUMNS.map((c) => c.get(r.switches))]);
  const head = ['line', 'releases', ...COLUMNS.map((c) => c.head)];
  const out = [...renderColumns(head, rows), ''];
  out.push('Changes (commit, release, what):');
  for (const r of rs) {
    for (const c of r.changes) out.push(`  ${r.id.padEnd(18)} ${c.commit.padEnd(20)} ${c.release.padEnd(10)} ${c.switches.join(',')}: ${c.what}`);
  }
  out.push('', 'Open-ended rows (x+) are the newest checked; later point releases are assumed to keep them.');
  out.push('Use a row as a variant: --kernel 6.12.45, --kernel 6.1.y, --policy 6.12.45+batchCapacity=15.');
  return out.join('\n') + '\n';
}

export function registerKernels(program: Command, ctx: CliContext): void {
  program
    .command('kernels')
    .description('the kernel release table: the switch set of each mainline and stable release range, with the commits behind it')
    .argument('[which]', 'a version (6.12.45), a line (6.1.y, mainline) or all', 'all')
    .option('--json', 'print JSON')
    .action((which: string, opts: { json?: boolean }) => {
      let ids: Set<string>;
      try {
        ids = new Set(resolveKernels(which).map((p) => p.id));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const rs = RELEASES.filter((r) => ids.has(r.id));
      if (opts.json) {
        ctx.out.write(
          JSON.stringify(
            rs.map((r) => ({ ...r, delta: deltaFromBaseline(releasePolicy(r)) })),
            null,
            2,
          ) + '\n',
        );
      } else ctx.out.write(renderKernels(rs));
    });
}
