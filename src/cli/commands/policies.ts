// `folio-race policies`: every built-in kernel variant, its description and source, and the
// switches in which it differs from the v6.11 baseline; `--json` adds the switch schema (every
// switch, the values it takes, one line of meaning), which policy files are checked against.
import type { Command } from 'commander';
import { POLICIES, deltaFromBaseline, type Policy } from '../../mm/policy.js';
import { SWITCH_DOCS, SWITCH_KEYS, describeValues, switchSchemaJson } from '../../mm/policy_schema.js';
import type { CliContext } from '../io.js';

export function formatSwitches(p: Policy): string {
  const d = deltaFromBaseline(p);
  const parts = Object.entries(d).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(' ') : '(none: this is the baseline)';
}

export function renderPolicies(ps: readonly Policy[] = POLICIES): string {
  const w = Math.max(...ps.map((p) => p.id.length));
  const lines: string[] = [];
  for (const p of ps) {
    lines.push(`${p.id.padEnd(w)}  ${p.description}`);
    lines.push(`${''.padEnd(w)}  source:   ${p.source}`);
    lines.push(`${''.padEnd(w)}  switches: ${formatSwitches(p)}`);
  }
  return lines.join('\n') + '\n';
}

export function renderSwitchSchema(): string {
  const w = Math.max(...SWITCH_KEYS.map((k) => k.length));
  const lines = ["Switches (a policy file's `switches:`, or inline as --policy '<base>+<switch>=<value>'):"];
  for (const k of SWITCH_KEYS) {
    lines.push(`  ${k.padEnd(w)}  ${describeValues(k)}`);
    lines.push(`  ${''.padEnd(w)}  ${SWITCH_DOCS[k].meaning}`);
  }
  return lines.join('\n') + '\n';
}

export function registerPolicies(program: Command, ctx: CliContext): void {
  program
    .command('policies')
    .description('list the built-in kernel variants (policies), the switches they differ in from v6.11, and the switch schema')
    .option('--json', 'print JSON: { switches: [schema], policies: [...] }')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        const policies = POLICIES.map((p) => ({ id: p.id, description: p.description, source: p.source, delta: deltaFromBaseline(p), switches: p.switches }));
        ctx.out.write(JSON.stringify({ switches: switchSchemaJson(), policies }, null, 2) + '\n');
      } else {
        ctx.out.write(renderPolicies());
        ctx.out.write('\n' + renderSwitchSchema());
        ctx.out.write('\nKernel releases (6.1.150, 6.12.y ...) are variants too: see `folio-race kernels`.\n');
      }
    });
}
