// `folio-race demo` (what `npm start` runs): a short guided run. The runtime owner provides
// runDemo() in src/runtime/demo.ts; this file only wires it to the command line.
import type { Command } from 'commander';
import type { CliContext } from '../io.js';
import { loadRunDemo } from '../modules.js';

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('the CPU runtime alone: 4 CPU threads queue batch entries while CPU 0 runs lru_add_drain_all(), checked by state')
    .action(async () => {
      // CALL SITE (runtime owner): runDemo() from src/runtime/demo.ts.
      const runDemo = await loadRunDemo();
      const code = await runDemo();
      if (typeof code === 'number') ctx.exitCode = code;
    });
}
