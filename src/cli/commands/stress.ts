// `folio-race stress <scenario|file> --policy <ids|all> --cpus N --trials K [--seed S]
// [--json out.json] [--fail-on kinds]`: free-run trials on genuine worker threads, one policy
// after another (same seed for each, so variants are compared on the same scenario stream),
// live progress on stderr, the table at the end, and the JSON document when asked.
import type { Command } from 'commander';
import type { Policy } from '../../mm/policy.js';
import { policiesFrom, policyOptions } from '../policy_flags.js';
import { buildStressDoc, stringifyStressDoc } from '../../report/json.js';
import { StressProgress } from '../../report/progress.js';
import { renderStressReport } from '../../report/table.js';
import { renderMeasures } from '../../report/measures.js';
import { TICK_NS } from '../../runtime/tick.js';
import { scenarioPins } from '../../scenario/has_pin.js';
import { sawFailureKind, type PolicyAggregate } from '../../stats/aggregate.js';
import { EXIT, UsageError } from '../errors.js';
import { useColor, type CliContext } from '../io.js';
import { interruptSignal, interruptedBy } from '../signals.js';
import { loadRunStress, loadScenario } from '../modules.js';
import { cpusFlag, failOnFlag, intFlag, jobsFlag, outputPathFlag, randomSeed, seedFlag, trialsFlag, type FailOnKind } from '../validate.js';
import { writeOutput } from '../output.js';

export const DEFAULT_TRIALS = 200;

/** Flags as commander hands them over (strings; validated by parseStressFlags). */
export interface StressFlags {
  policy?: string;
  kernel?: string;
  cpus?: string;
  trials?: string;
  seed?: string;
  json?: string;
  failOn?: string;
  progress: boolean;
  color?: boolean;
  mode?: string;
  watchdog?: string;
  jobs?: string;
  measures?: boolean;
}

export interface StressRequest {
  scenarioArg: string;
  policies: Policy[];
  /** undefined: the scenario's own CPU count. */
  cpus: number | undefined;
  trials: number;
  seed: number;
  seedGiven: boolean;
  /** Free-run watchdog (ms). */
  watchdogMs: number | undefined;
  /** '-' = stdout. */
  jsonPath: string | undefined;
  failOn: FailOnKind[];
  progress: boolean;
  color: boolean | undefined;
  mode: RunMode;
  /** --mode deterministic: pool threads asked for (undefined: every core). */
  jobs: number | undefined;
  /** --measures: the declared measures' table even for a scenario that pins (its main table covers the pin). */
  measures: boolean;
}

export type RunMode = 'free-run' | 'deterministic';

/** --mode: free-run (CPU worker threads, genuine races) or deterministic (seeded, replayable). */
function modeFlag(raw: string | undefined): RunMode {
  if (raw === undefined || raw === 'free-run') return 'free-run';
  if (raw === 'deterministic') return raw;
  throw new UsageError(`--mode: expected free-run or deterministic, got '${raw}'`);
}

function jsonFlag(raw: string): string {
  return raw === '-' ? raw : outputPathFlag('--json', raw);
}

/** Validate every flag before anything starts (no worker is started for bad input). */
export function parseStressFlags(scenarioArg: string, f: StressFlags): StressRequest {
  return {
    scenarioArg,
    policies: policiesFrom(f),
    cpus: f.cpus === undefined ? undefined : cpusFlag(f.cpus),
    trials: f.trials === undefined ? DEFAULT_TRIALS : trialsFlag(f.trials),
    seed: f.seed === undefined ? randomSeed() : seedFlag(f.seed),
    seedGiven: f.seed !== undefined,
    watchdogMs: f.watchdog === undefined ? undefined : intFlag('--watchdog', f.watchdog, 1, 86_400) * 1000,
    jsonPath: f.json === undefined ? undefined : jsonFlag(f.json),
    failOn: f.failOn === undefined ? [] : failOnFlag(f.failOn),
    progress: f.progress,
    color: f.color,
    mode: modeFlag(f.mode),
    jobs: jobsFor(f),
    measures: f.measures === true,
  };
}

/** --jobs: for --mode deterministic only (free-run runs one thread per emulated CPU). */
function jobsFor(f: StressFlags): number | undefined {
  if (f.jobs === undefined) return undefined;
  const n = jobsFlag(f.jobs);
  if (modeFlag(f.mode) !== 'deterministic')
    throw new UsageError(`--jobs ${f.jobs}: for --mode deterministic (free-run runs one thread per emulated CPU, one trial at a time)`);
  return n;
}

/** The --fail-on verdict: one line per matching kind, empty when nothing matched. */
export function failOnMatches(results: readonly PolicyAggregate[], failOn: readonly FailOnKind[]): string[] {
  const lines: string[] = [];
  for (const k of failOn) {
    const hits = results.map((a) => [a.policy, sawFailureKind(a, k)] as const).filter(([, n]) => n > 0);
    if (hits.length) lines.push(`--fail-on ${k}: ${hits.map(([p, n]) => `${p} ${n} trial${n === 1 ? '' : 's'}`).join(', ')}`);
  }
  return lines;
}

/** Run a validated stress request; returns the exit code. */
export async function runStressRequest(req: StressRequest, ctx: CliContext): Promise<number> {
  const scenario = await loadScenario(req.scenarioArg, req.cpus);
  const cpus = req.cpus ?? scenario.cpus;
  const runStress = await loadRunStress(req.mode);
  const toStdoutJson = req.jsonPath === '-';
  const tableStream = toStdoutJson ? ctx.err : ctx.out;

  ctx.err.write(
    `folio-race stress: ${scenario.id} (${scenario.title}); ${req.policies.length} polic${req.policies.length === 1 ? 'y' : 'ies'} x ${req.trials} trials on ${cpus} CPUs; seed ${req.seed}${req.seedGiven ? '' : req.mode === 'deterministic' ? ' (pass --seed to repeat this run exactly)' : " (pass --seed to repeat the scenario's random choices; free-run thread timing is not repeatable)"}\n`,
  );

  const startedAt = new Date();
  // Ctrl-C / SIGTERM (signals.ts) stop the running coordinators and this policy loop.
  const progress = req.progress ? new StressProgress({ total: req.trials * req.policies.length, stream: ctx.err }) : null;
  const results: PolicyAggregate[] = [];
  let aborted = false;
  try {
    for (const policy of req.policies) {
      if (interruptSignal.aborted) {
        aborted = true;
        break;
      }
      progress?.policy(policy.id);
      // CALL SITE (runtime owner): one policy's free-run trials.
      const outcome = await runStress({
        scenario,
        policy,
        cpus,
        trials: req.trials,
        seed: req.seed,
        onTrial: progress ? (r) => progress.trial(r) : undefined,
        signal: interruptSignal,
        ...(req.watchdogMs !== undefined ? { watchdogMs: req.watchdogMs } : {}),
        ...(req.jobs !== undefined ? { jobs: req.jobs } : {}),
      });
      results.push(outcome.aggregate);
      if (outcome.aborted) {
        aborted = true;
        break;
      }
    }
  } finally {
    progress?.stop();
  }

  if (aborted)
    ctx.err.write(
      `folio-race: ${interruptedBy() === 'SIGTERM' ? 'terminated' : 'interrupted'}: results cover ${results.length} of ${req.policies.length} policies (the last one partly)\n`,
    );
  tableStream.write(
    renderStressReport(results, {
      color: useColor(ctx, tableStream, req.color),
      ...(req.mode === 'deterministic' ? { schedulerClock: { tickNs: TICK_NS } } : {}),
    }),
  );
  // A scenario without a pin has no figure in the main table: its measures are its result.
  const measures =
    (req.measures || !scenarioPins(scenario)) &&
    renderMeasures(scenario.measure, results, {
      endState: `end-of-trial states, not aggregated over trials (\`folio-race run ${req.scenarioArg} --policy P\` prints them)`,
    });
  if (measures) tableStream.write('\n' + measures + '\n');

  if (req.jsonPath !== undefined) {
    const doc = buildStressDoc({
      scenario: { name: scenario.id, source: req.scenarioArg, description: scenario.title, definition: scenario },
      cpus,
      trials: req.trials,
      seed: req.seed,
      mode: req.mode,
      policies: req.policies,
      failOn: [...req.failOn],
      results,
      aborted,
      startedAt,
    });
    if (toStdoutJson) ctx.out.write(stringifyStressDoc(doc));
    else {
      const at = writeOutput(ctx, '--json', req.jsonPath, stringifyStressDoc(doc));
      if (at === req.jsonPath) ctx.err.write(`folio-race: wrote ${req.jsonPath}\n`);
    }
  }

  const matched = failOnMatches(results, req.failOn);
  for (const l of matched) ctx.err.write(`folio-race: ${l}\n`);
  if (aborted) return EXIT.INTERRUPTED;
  return matched.length ? EXIT.FAIL_ON : EXIT.OK;
}

/** The options stress and study share. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--cpus <n>', "emulated CPUs, 1-64 (default: the scenario's own count)")
    .option('--trials <k>', `trials per policy (default: ${DEFAULT_TRIALS})`)
    .option('--seed <s>', "seed for the scenario's random choices, 0-4294967295 (default: random, printed)")
    .option('--json <file>', "write every figure and the run's parameters as JSON (- = stdout)")
    .option(
      '--fail-on <kinds>',
      'exit 1 if a failure of these kinds occurred: ENOMEM, pin_error, invariant, watchdog, emulator, permitted, any (comma-separated)',
    )
    .option('--mode <mode>', 'free-run (CPU worker threads, genuine races; default) or deterministic (seeded cooperative CPUs, on a pool of all host cores)')
    .option('--watchdog <s>', 'free-run: a trial that has not finished after s seconds ends as a watchdog finding (default 10)')
    .option('--jobs <n>', "--mode deterministic: pool threads, or 'auto' (default: every core); the results do not depend on it")
    .option('--measures', "print the scenario's declared measures per policy (always for a scenario without a pin)")
    .option('--no-progress', 'no live progress display')
    .option('--no-color', 'no colour in the table');
}

export function registerStress(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('stress')
    .description(
      'run many trials of a scenario per policy (free-run on CPU threads, or --mode deterministic); print rates with 95% intervals, drain counts and latencies',
    )
    .argument('<scenario>', 'built-in scenario id (see `folio-race list`) or a .yaml/.yml/.json file');
  policyOptions(cmd);
  addRunOptions(cmd).action(async (scenarioArg: string, flags: StressFlags) => {
    const req = parseStressFlags(scenarioArg, flags);
    ctx.exitCode = await runStressRequest(req, ctx);
  });
}
