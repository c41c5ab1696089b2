// `folio-race study`: the default study, S1 (Will's pKVM/crosvm sequence) under every policy.
// A thin wrapper over stress: same flags apart from the scenario and --policy.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { addRunOptions, parseStressFlags, runStressRequest, type StressFlags } from './stress.js';
import { registerTimingStudies } from './timing.js';

export const STUDY_SCENARIO = 'S1';
export const STUDY_POLICIES = 'all';

export function registerStudy(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('study')
    .description(`the default study: stress ${STUDY_SCENARIO} under every policy (same as \`stress ${STUDY_SCENARIO} --policy ${STUDY_POLICIES}\`)`);
  // An argument that names no subcommand reaches this action: say which studies there are.
  cmd.argument('[study]', 'drain-latency, pin-storm or race-window (none: the default study)');
  addRunOptions(cmd).action(async (name: string | undefined, flags: Omit<StressFlags, 'policy'>) => {
    if (name !== undefined) {
      const known = cmd.commands.map((c) => c.name());
      throw new UsageError(`study: no study '${name}' (known: ${known.join(', ')}; none for the default study)`);
    }
    const req = parseStressFlags(STUDY_SCENARIO, { ...flags, policy: STUDY_POLICIES });
    ctx.exitCode = await runStressRequest(req, ctx);
  });
  // study drain-latency | pin-storm | race-window: study's own flags only before the subcommand.
  program.enablePositionalOptions();
  cmd.enablePositionalOptions();
  registerTimingStudies(cmd, ctx);
}
