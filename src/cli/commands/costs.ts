// `folio-race costs [file]`: the logical-time model's cost table: each field, its value (the
// defaults, or a cost file's values over them) and where the default comes from.
import type { Command } from 'commander';
import { loadCostFile } from '../../cost/file.js';
import { COST_SOURCES, type CostField, DEFAULT_COSTS, isTimeField } from '../../cost/model.js';
import type { CliContext } from '../io.js';

const fmtNs = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 })} µs` : `${ns} ns`);

export function registerCosts(program: Command, ctx: CliContext): void {
  program
    .command('costs')
    .description('the cost model of `study ... --model logical`: every cost, its value and its source (with a file: its values over the defaults)')
    .argument('[file]', 'a cost file (YAML or JSON) to check and show')
    .option('--json', 'print the cost model as JSON (a starting point for a cost file)')
    .action((file: string | undefined, f: { json?: boolean }) => {
      const m = file === undefined ? DEFAULT_COSTS : loadCostFile(file);
      if (f.json) {
        ctx.out.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const fields = Object.keys(COST_SOURCES) as CostField[];
      const w = Math.max(...fields.map((k) => k.length));
      ctx.out.write(`cost model: ${m.name}\n`);
      for (const k of fields) {
        const fmt = isTimeField(k) ? fmtNs : String;
        const changed = m[k] !== DEFAULT_COSTS[k];
        ctx.out.write(`  ${k.padEnd(w)}  ${fmt(m[k]).padStart(10)}${changed ? `  (default ${fmt(DEFAULT_COSTS[k])})` : ''}\n`);
        ctx.out.write(`  ${' '.repeat(w)}  ${COST_SOURCES[k]}\n`);
      }
    });
}
