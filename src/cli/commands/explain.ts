// `folio-race explain <scenario>`: what a scenario does, step by step, and which race it aims at.
import type { Command } from 'commander';
import type { CliContext } from '../io.js';
import { explainScenario, loadScenario } from '../modules.js';

export function registerExplain(program: Command, ctx: CliContext): void {
  program
    .command('explain')
    .description("explain a scenario: its setup, each CPU's steps and the race window")
    .argument('<scenario>', 'built-in scenario id (see `folio-race list`) or a .yaml/.yml/.json file')
    .action(async (scenarioArg: string) => {
      const s = await loadScenario(scenarioArg);
      const text = await explainScenario(s);
      ctx.out.write(text.endsWith('\n') ? text : text + '\n');
    });
}
