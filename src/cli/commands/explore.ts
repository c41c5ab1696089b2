// `folio-race explore <scenario> --policy P --preemptions k`: bounded exhaustive search of the
// interleavings (depth-first, preemption-bounded, re-executing each one): how many were explored,
// whether the search was complete, every distinct failure signature with one minimal schedule.
import { poolThreads } from '../../runtime/pool_jobs.js';
import type { Command } from 'commander';
import { compactCpus } from '../../sched/compact.js';
import { checkReduction } from '../../sched/end_state.js';
import { exploreParallel } from '../../sched/explore_parallel.js';
import { encodeSchedule } from '../../sched/schedule.js';
import { makeReplayFile } from '../../sched/replay_file.js';
import { SearchProgress } from '../../report/search_progress.js';
import { DetSession } from '../../sched/session.js';
import { formatTimeline } from '../../sched/timeline.js';
import { EXIT } from '../errors.js';
import { ONE_KERNEL_HELP, ONE_POLICY_HELP, onePolicyFrom } from '../policy_flags.js';
import type { CliContext } from '../io.js';
import { loadScenario } from '../modules.js';
import { outFlag, preemptionsFlag } from '../sched_flags.js';
import { cpusFlag, intFlag, jobsFlag, jobsNote } from '../validate.js';
import { interruptSignal } from '../signals.js';
import { writeOutput } from '../output.js';

interface ExploreFlags {
  policy?: string;
  kernel?: string;
  cpus?: string;
  compact?: boolean;
  preemptions: string;
  maxInterleavings: string;
  timeLimit?: string;
  timeless?: boolean;
  reduction: boolean;
  checkReduction?: boolean;
  jobs: string;
  out?: string;
  progress: boolean;
}

export function registerExplore(program: Command, ctx: CliContext): void {
  program
    .command('explore')
    .description('bounded exhaustive search of interleavings: count, completeness, each distinct failure with a minimal schedule')
    .argument('<scenario>', 'built-in scenario id or a .yaml/.yml/.json file')
    .option('--policy <spec>', ONE_POLICY_HELP)
    .option('--kernel <version>', ONE_KERNEL_HELP)
    .option('--cpus <n>', "emulated CPUs, 1-64 (default: the scenario's own count)")
    .option('--compact', 'renumber the scripted CPUs 0..k-1 (S1 on --cpus 3: CPU 3 -> 0, CPU 7 -> 1)')
    .option('--preemptions <k>', 'preemption bound, 0-8', '2')
    .option(
      '--max-interleavings <n>',
      'stop after this many (the search is then incomplete; with --jobs N each thread ends the run in hand, so up to N-1 more)',
      '1000000',
    )
    .option('--time-limit <s>', 'stop after this many seconds (the search is then incomplete)')
    .option('--timeless', 'delays and hogs are plain scheduling points (no logical time)')
    .option('--no-reduction', 'explore every interleaving, also those that only swap independent steps (no sleep sets)')
    .option('--check-reduction', 'also search without the reduction and check both reach the same end states and failure signatures (exit 3 if not)')
    .option('--out <prefix>', 'write one replay file per failure signature: <prefix>-<n>.replay.json')
    .option(
      '--jobs <n>',
      "threads that search subtrees, or 'auto' (one per core, at most the host's cores); a complete search finds the same counts and failures as with 1 (one stopped by --max-interleavings or --time-limit searches other runs)",
      '1',
    )
    .option('--no-progress', 'no live progress display (interleavings so far, on stderr)')
    .action(async (scenarioArg: string, f: ExploreFlags) => {
      const policy = onePolicyFrom(f, 'explore');
      const bound = preemptionsFlag(f.preemptions);
      const maxInterleavings = intFlag('--max-interleavings', f.maxInterleavings, 1, 1_000_000_000);
      const timeLimitMs = f.timeLimit === undefined ? undefined : intFlag('--time-limit', f.timeLimit, 1, 86_400) * 1000;
      const cpusGiven = f.cpus === undefined ? undefined : cpusFlag(f.cpus);
      const out = f.out === undefined ? null : outFlag(f.out);
      let scenario = await loadScenario(scenarioArg, f.compact ? undefined : cpusGiven);
      if (f.compact) scenario = compactCpus(scenario, cpusGiven ?? Object.keys(scenario.steps).length);
      const cpus = f.compact ? scenario.cpus : (cpusGiven ?? scenario.cpus);
      const timeless = f.timeless === true;
      const asked = jobsFlag(f.jobs);
      const jobs = poolThreads(asked);
      ctx.err.write(
        `folio-race explore: ${scenario.id}${f.compact ? ' (CPUs renumbered)' : ''} under ${policy.id} on ${cpus} CPUs, preemption bound ${bound}${timeless ? ', timeless' : ''}${jobsNote(asked, jobs)}\n`,
      );
      const session = new DetSession({ scenario, policy, cpus, timeless });
      const reduction = f.reduction ? 'sleep-sets' : 'none';
      const limits = { preemptionBound: bound, reduction, maxInterleavings, ...(timeLimitMs !== undefined ? { timeLimitMs } : {}) } as const;
      const progress = f.progress ? new SearchProgress({ label: 'explore', unit: 'interleavings', cap: maxInterleavings, stream: ctx.err }) : null;
      let r: Awaited<ReturnType<typeof exploreParallel>>;
      try {
        // On one thread too: the search gives the event loop turns, so Ctrl-C stops it where it is.
        r = await exploreParallel(session, {
          ...limits,
          jobs,
          signal: interruptSignal,
          ...(progress ? { onProgress: (n: number) => progress.update(n) } : {}),
        });
      } finally {
        progress?.stop();
      }
      const w = (s: string) => ctx.out.write(s + '\n');
      w(
        `${r.interleavings} interleavings explored in ${(r.elapsedMs / 1000).toFixed(2)} s (${(r.interleavings / Math.max(r.elapsedMs / 1000, 1e-9)).toFixed(0)}/s); longest ${r.maxDecisions} decisions, at most ${r.maxBranching} runnable threads at a decision`,
      );
      w(
        r.reduction === 'sleep-sets'
          ? `partial-order reduction (sleep sets): ${r.pruned} more run${r.pruned === 1 ? '' : 's'} abandoned part-way as equivalent to one explored (--no-reduction explores them all)`
          : 'no partial-order reduction (--no-reduction)',
      );
      w(
        r.complete
          ? `complete: every interleaving with at most ${bound} preemption${bound === 1 ? '' : 's'} was explored${r.reduction === 'sleep-sets' ? ', or one equivalent to it (the same steps, independent ones swapped; with a preemption bound that equivalent may lie outside the bound: --no-reduction for a guarantee)' : ''}`
          : `INCOMPLETE: stopped by ${r.stoppedBy === 'time' ? '--time-limit' : r.stoppedBy === 'interrupted' ? 'an interrupt' : '--max-interleavings'}`,
      );
      if (!r.failures.length) w('no failure');
      r.failures.forEach((fl, i) => {
        w(`\nfailure ${i + 1}: ${fl.signature}`);
        w(
          `  in ${fl.count} of ${r.interleavings} interleavings; minimal: ${fl.run.preemptions} preemptions, schedule ${encodeSchedule(fl.explicit) || '(the default order)'}`,
        );
        for (const l of formatTimeline(fl.run.decisions, (c) => session.rt.stepsOf(c))) w(`    ${l}`);
        if (out) {
          const path = `${out.replace(/\.replay\.json$/, '')}-${i + 1}.replay.json`;
          const file = makeReplayFile(
            { scenario, source: scenarioArg, policy, cpus, seed: 0, strategy: 'exhaustive', timeless },
            encodeSchedule(fl.explicit),
          ).file;
          w(`  replay file: ${writeOutput(ctx, '--out', path, JSON.stringify(file, null, 2) + '\n') || 'not written (above)'}`);
        }
      });
      ctx.exitCode = r.failures.length ? EXIT.FAIL_ON : EXIT.OK;
      if (f.checkReduction && f.reduction && interruptSignal.aborted) w('\nreduction check: not run (interrupted)');
      else if (f.checkReduction && f.reduction) {
        const c = await checkReduction(
          () => new DetSession({ scenario, policy, cpus, timeless }),
          { preemptionBound: bound, maxInterleavings, ...(timeLimitMs !== undefined ? { timeLimitMs } : {}) },
          interruptSignal,
        );
        const complete = c.with.complete && c.without.complete;
        w(
          `\nreduction check: without it ${c.without.interleavings} interleavings${c.without.complete ? '' : ' (incomplete)'} reached ${c.statesWithout} end state${c.statesWithout === 1 ? '' : 's'}; with it ${c.with.interleavings}${c.with.complete ? '' : ' (incomplete)'} reached ${c.statesWith}`,
        );
        // An incomplete search (a limit, an interrupt during the check) gives no verdict either way.
        if (!complete) w(`  ${c.lost} end state(s) reached only without it, but a search was incomplete: no verdict`);
        else if (c.lost === 0 && c.sameSignatures) w('  the same end states and failure signatures');
        else {
          w(
            `  REDUCTION CHECK FAILED: ${c.lost} end state(s) reached only without it${c.sameSignatures ? '' : ', and the failure signatures differ'} (a bug in folio-race: please report it with this command line)`,
          );
          ctx.exitCode = EXIT.INTERNAL;
        }
      }
    });
}
