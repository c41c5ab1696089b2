// `folio-race run <scenario> --policy P [--trace]`: one trial, explained. With --trace the
// page_ref_* lines (ftrace style, like the ones in the linux-mm thread) print as they happen;
// the reference ledger of every folio follows at the end, then each failure with its attribution.
import type { Command } from 'commander';
import type { TrialResult } from '../../trial/result.js';
import { aggregateTrials } from '../../stats/aggregate.js';
import { EXIT } from '../errors.js';
import type { CliContext } from '../io.js';
import { loadRunOne, loadScenario } from '../modules.js';
import { cpusFlag, failOnFlag, randomSeed, seedFlag } from '../validate.js';
import { depthFlag, outFlag, reportRunSchedule, strategyFlag } from '../sched_flags.js';
import { failOnMatches } from './stress.js';
import { renderVmstat } from '../../report/vmstat.js';
import { ONE_KERNEL_HELP, ONE_POLICY_HELP, onePolicyFrom } from '../policy_flags.js';
import { placeText } from '../../report/place.js';
import { renderMeasures } from '../../report/measures.js';

interface RunFlags {
  policy?: string;
  kernel?: string;
  cpus?: string;
  seed?: string;
  trace?: boolean;
  failOn?: string;
  strategy: string;
  depth: string;
  out?: string;
}

/** The failures of one trial, each with its ledger attribution (empty when the trial passed). */
export function describeTrialFailures(r: TrialResult): string[] {
  const lines: string[] = [];
  for (const f of r.failures) {
    const where = placeText({ cpu: f.cpu, ...(f.step !== undefined ? { step: f.step } : {}), ...(f.op ? { op: f.op } : {}) });
    const tag = f.permittedBy ? ` (permitted by ${f.permittedBy})` : '';
    lines.push(`${f.kind}${f.invariant ? ` ${f.invariant}` : ''}${tag} on ${where}: ${f.message}`);
    for (const a of f.attribution ?? []) lines.push(`    ${a}`);
  }
  return lines;
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run one trial of a scenario under one policy; print the ledger (and with --trace the page_ref_mod lines)')
    .argument('<scenario>', 'built-in scenario id (see `folio-race list`) or a .yaml/.yml/.json file')
    .option('--policy <spec>', ONE_POLICY_HELP)
    .option('--kernel <version>', ONE_KERNEL_HELP)
    .option('--cpus <n>', "emulated CPUs, 1-64 (default: the scenario's own count)")
    .option('--seed <s>', 'seed, 0-4294967295 (default: random, printed)')
    .option('--trace', 'print page_ref_* trace lines as the trial runs')
    .option('--fail-on <kinds>', 'exit 1 if the trial failed with one of these kinds (see `stress --help`)')
    .option('--strategy <name>', 'scheduling strategy: random, pct or round-robin', 'random')
    .option('--depth <d>', 'PCT depth: d-1 priority-change points, 1-16', '3')
    .option('--out <file>', 'on a failure, write a replay file (`folio-race replay <file>`)')
    .action(async (scenarioArg: string, f: RunFlags) => {
      const policy = onePolicyFrom(f, 'run');
      const cpusGiven = f.cpus === undefined ? undefined : cpusFlag(f.cpus);
      const seed = f.seed === undefined ? randomSeed() : seedFlag(f.seed);
      const failOn = f.failOn === undefined ? [] : failOnFlag(f.failOn);
      const strategy = strategyFlag(f.strategy);
      const depth = depthFlag(f.depth);
      const out = f.out === undefined ? null : outFlag(f.out);
      const scenario = await loadScenario(scenarioArg, cpusGiven);
      const cpus = cpusGiven ?? scenario.cpus;
      const runOne = await loadRunOne();
      ctx.err.write(
        `folio-race run: ${scenario.id} under ${policy.id} on ${cpus} CPUs, seed ${seed}, strategy ${strategy}${strategy === 'pct' ? ` (depth ${depth})` : ''}\n`,
      );
      // CALL SITE (runtime owner): one traced trial.
      const { result, ledger, batches, decisions } = await runOne({
        scenario,
        policy,
        cpus,
        seed,
        strategy,
        depth,
        trace: f.trace === true,
        out: (l) => ctx.out.write(l + '\n'),
      });
      ctx.out.write('\n/proc/vmstat deltas of this trial:\n');
      for (const l of renderVmstat(result.stats)) ctx.out.write(`  ${l}\n`);
      const measures = renderMeasures(scenario.measure, [aggregateTrials(policy.id, [result])], {
        single: true,
        clock: "the scheduler's clock",
        endState: `printed below (the reference ledger${scenario.measure.includes('batch_occupancy') ? ' and the batch occupancy' : ''} at the end)`,
      });
      if (measures) ctx.out.write(`\n${measures}\n`);
      ctx.out.write('\nReference ledger at the end:\n');
      for (const l of ledger) ctx.out.write(`  ${l}\n`);
      if (scenario.measure.includes('batch_occupancy')) {
        ctx.out.write('\nBatch occupancy at the end:\n');
        for (const l of batches) ctx.out.write(`  ${l}\n`);
      }
      const fails = describeTrialFailures(result);
      ctx.out.write(fails.length ? `\nFailures:\n${fails.map((l) => `  ${l}\n`).join('')}` : '\nNo failures.\n');
      if (decisions && fails.length)
        reportRunSchedule(ctx, { scenario, source: scenarioArg, policy, cpus, seed, strategy, depth, timeless: false }, decisions, out);
      const matched = failOnMatches([aggregateTrials(policy.id, [result])], failOn);
      for (const l of matched) ctx.err.write(`folio-race: ${l}\n`);
      ctx.exitCode = matched.length ? EXIT.FAIL_ON : EXIT.OK;
    });
}
