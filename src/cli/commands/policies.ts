// `folio-race policies`: every kernel variant, its description and source, and the switches in
// which it differs from the v6.11 baseline.
import type { Command } from 'commander';
import { POLICIES, deltaFromBaseline, type Policy } from '../../mm/policy.js';
import type { CliContext } from '../io.js';

export function formatSwitches(p: Policy): string {
  const d = deltaFromBaseline(p);
  const parts = Object.entries(d).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(' ') : '(none: this is the baseline)';
}

export function renderPolicies(): string {
  const w = Math.max(...POLICIES.map((p) => p.id.length));
  const lines: string[] = [];
  for (const p of POLICIES) {
    lines.push(`${p.id.padEnd(w)}  ${p.description}`);
    lines.push(`${''.padEnd(w)}  source:   ${p.source}`);
    lines.push(`${''.padEnd(w)}  switches: ${formatSwitches(p)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerPolicies(program: Command, ctx: CliContext): void {
  program
    .command('policies')
    .description('list the kernel variants (policies) and the switches that differ from v6.11')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        const rows = POLICIES.map((p) => ({ id: p.id, description: p.description, source: p.source, delta: deltaFromBaseline(p), switches: p.switches }));
        ctx.out.write(JSON.stringify(rows, null, 2) + '\n');
      } else {
        ctx.out.write(renderPolicies());
      }
    });
}
