// `folio-race list`: the built-in scenarios (top-level scenarios/), id and title.
import type { Command } from 'commander';
import type { CliContext } from '../io.js';
import { listBuiltinScenarios } from '../modules.js';

export function registerList(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('list the built-in scenarios')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const items = await listBuiltinScenarios();
      if (opts.json) {
        ctx.out.write(JSON.stringify(items, null, 2) + '\n');
        return;
      }
      if (items.length === 0) {
        ctx.err.write('folio-race: no built-in scenarios found (scenarios/ is empty)\n');
        return;
      }
      const w = Math.max(...items.map((i) => i.id.length));
      for (const i of items) ctx.out.write(`${i.id.padEnd(w)}  ${i.title}\n`);
    });
}
