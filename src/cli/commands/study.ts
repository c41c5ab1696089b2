// `folio-race study`: the default study, S1 (Will's pKVM/crosvm sequence) under every policy.
// A thin wrapper over stress: same flags apart from the scenario and --policy.
import type { Command } from 'commander';
import type { CliContext } from '../io.js';
import { addRunOptions, parseStressFlags, runStressRequest, type StressFlags } from './stress.js';
import { registerTimingStudies } from './timing.js';

export const STUDY_SCENARIO = 'S1';
export const STUDY_POLICIES = 'all';

export function registerStudy(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('study')
    .description(`the default study: stress ${STUDY_SCENARIO} under every policy (same as \`stress ${STUDY_SCENARIO} --policy ${STUDY_POLICIES}\`)`);
  addRunOptions(cmd).action(async (flags: Omit<StressFlags, 'policy'>) => {
    const req = parseStressFlags(STUDY_SCENARIO, { ...flags, policy: STUDY_POLICIES });
    ctx.exitCode = await runStressRequest(req, ctx);
  });
  // study drain-latency | pin-storm | race-window: study's own flags only before the subcommand.
  program.enablePositionalOptions();
  cmd.enablePositionalOptions();
  registerTimingStudies(cmd, ctx);
}
