// `folio-race hunt <scenario> --policy P`: run deterministic schedules (seed, seed+1, ...) until
// the first failure; print how many schedules and how long it took, the seed and the schedule,
// write a replay file, and with --shrink the minimal interleaving as a per-CPU timeline.
import type { Command } from 'commander';
import { poolThreads } from '../../runtime/pool_jobs.js';
import { type HuntOutcome, huntAsync } from '../../sched/hunt.js';
import { huntParallel } from '../../sched/hunt_parallel.js';
import { SearchProgress } from '../../report/search_progress.js';
import { DetSession } from '../../sched/session.js';
import { EXIT, UsageError } from '../errors.js';
import { ONE_KERNEL_HELP, ONE_POLICY_HELP, onePolicyFrom } from '../policy_flags.js';
import type { CliContext } from '../io.js';
import { interruptSignal } from '../signals.js';
import { loadScenario } from '../modules.js';
import { defaultReplayPath, depthFlag, outFlag, reportFailure, strategyFlag } from '../sched_flags.js';
import { cpusFlag, intFlag, jobsFlag, jobsNote, randomSeed, seedFlag } from '../validate.js';

interface HuntFlags {
  policy?: string;
  kernel?: string;
  cpus?: string;
  seed?: string;
  strategy: string;
  depth: string;
  maxSchedules: string;
  timeLimit?: string;
  shrink?: boolean;
  out?: string;
  replayFile: boolean;
  timeless?: boolean;
  jobs: string;
  progress: boolean;
}

export function registerHunt(program: Command, ctx: CliContext): void {
  program
    .command('hunt')
    .description('deterministic search until the first failure: schedules and time to it, the seed, the schedule, a replay file')
    .argument('<scenario>', 'built-in scenario id or a .yaml/.yml/.json file')
    .option('--policy <spec>', ONE_POLICY_HELP)
    .option('--kernel <version>', ONE_KERNEL_HELP)
    .option('--cpus <n>', "emulated CPUs, 1-64 (default: the scenario's own count)")
    .option('--seed <s>', 'first seed, 0-4294967295 (default: random, printed); schedule i uses seed+i')
    .option('--strategy <name>', 'random, pct or round-robin', 'pct')
    .option('--depth <d>', 'PCT depth: d-1 priority-change points, 1-16', '3')
    .option('--max-schedules <n>', 'give up after this many schedules', '100000')
    .option('--time-limit <s>', 'give up after this many seconds')
    .option('--shrink', 'shrink the failing schedule (fewer preemptions and steps, same failure) and print it per CPU')
    .option('--out <file>', 'replay file to write (default ./folio-race-<scenario>-<policy>-seed<seed>.replay.json)')
    .option('--no-replay-file', 'do not write a replay file')
    .option('--timeless', 'delays and hogs are plain scheduling points (no logical time)')
    .option('--jobs <n>', "threads that run schedules, or 'auto' (one per core, at most the host's cores); the first failing seed is the same as with 1", '1')
    .option('--no-progress', 'no live progress display (schedules so far, on stderr)')
    .action(async (scenarioArg: string, f: HuntFlags) => {
      const policy = onePolicyFrom(f, 'hunt');
      const strategy = strategyFlag(f.strategy);
      const depth = depthFlag(f.depth);
      const maxSchedules = intFlag('--max-schedules', f.maxSchedules, 1, 100_000_000);
      const timeLimitMs = f.timeLimit === undefined ? undefined : intFlag('--time-limit', f.timeLimit, 1, 86_400) * 1000;
      const cpusGiven = f.cpus === undefined ? undefined : cpusFlag(f.cpus);
      const seed = f.seed === undefined ? randomSeed() : seedFlag(f.seed);
      const asked = jobsFlag(f.jobs);
      const jobs = poolThreads(asked);
      if (f.replayFile === false && f.out !== undefined)
        throw new UsageError('--out and --no-replay-file: --out names the replay file that --no-replay-file says not to write; give one of them');
      const out = f.out === undefined ? null : outFlag(f.out);
      const scenario = await loadScenario(scenarioArg, cpusGiven);
      const cpus = cpusGiven ?? scenario.cpus;
      const timeless = f.timeless === true;
      ctx.err.write(
        `folio-race hunt: ${scenario.id} under ${policy.id} on ${cpus} CPUs, strategy ${strategy}${strategy === 'pct' ? ` (depth ${depth})` : ''}, seeds from ${seed}${jobsNote(asked, jobs)}\n`,
      );
      const session = new DetSession({ scenario, policy, cpus, strategy, depth, timeless });
      const limits = { seed, maxSchedules, ...(timeLimitMs !== undefined ? { timeLimitMs } : {}) };
      let h: HuntOutcome;
      let ran: number;
      let note = '';
      const progress = f.progress ? new SearchProgress({ label: 'hunt', unit: 'schedules', cap: maxSchedules, stream: ctx.err }) : null;
      const watch = progress ? { onProgress: (n: number) => progress.update(n) } : {};
      try {
        if (jobs > 1) {
          const p = await huntParallel(session, { ...limits, jobs, signal: interruptSignal, ...watch });
          h = p;
          ran = p.ran;
          if (p.found && p.ran > p.schedules) note = `; ${p.ran} run on ${p.threads} threads`;
          if (p.stopped && !p.found) note = interruptSignal.aborted ? '; interrupted' : '; time limit reached';
        } else {
          // In slices: Ctrl-C stops the hunt where it is, not after its last schedule.
          const a = await huntAsync(session, { ...limits, signal: interruptSignal, ...watch });
          h = a;
          ran = a.schedules;
          if (a.stopped) note = '; interrupted';
        }
      } finally {
        progress?.stop();
      }
      const rate = ran / Math.max(h.elapsedMs / 1000, 1e-9);
      if (!h.found) {
        ctx.out.write(`no failure in ${h.schedules} schedules (${(h.elapsedMs / 1000).toFixed(2)} s, ${rate.toFixed(0)} schedules/s${note})\n`);
        ctx.exitCode = EXIT.OK;
        return;
      }
      ctx.out.write(
        `first failure after ${h.schedules} schedule${h.schedules > 1 ? 's' : ''}, ${h.elapsedMs.toFixed(1)} ms (${rate.toFixed(0)} schedules/s${note})\n`,
      );
      const path = f.replayFile === false ? null : (out ?? defaultReplayPath(scenario, policy.id, h.found.seed));
      await reportFailure(ctx, session, { scenario, source: scenarioArg, policy, cpus, seed: h.found.seed, strategy, depth, timeless }, h.found.run, {
        shrink: f.shrink === true,
        out: path,
        signal: interruptSignal,
      });
      ctx.exitCode = EXIT.FAIL_ON;
    });
}
