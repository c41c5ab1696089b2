// Flags shared by the deterministic-mode commands (run, hunt, explore, replay): strategy, PCT
// depth, budgets, the scenario with optional CPU renumbering, and the failure report (seed,
// schedule, replay file, shrunk timeline). Every bad value: UsageError naming flag and value.
import { resolve } from 'node:path';
import type { Scenario } from '../scenario/schema.js';
import { makeReplayFile, type ReplaySetup } from '../sched/replay_file.js';
import { STRATEGIES, type StrategyName } from '../sched/scheduler.js';
import type { DetRun, DetSession } from '../sched/session.js';
import { explicitSchedule } from '../sched/session.js';
import { shrinkAsync } from '../sched/shrink.js';
import { countPreemptions, encodeSchedule, explicitPrefix, type DecisionRecord } from '../sched/schedule.js';
import { formatTimeline } from '../sched/timeline.js';
import { UsageError } from './errors.js';
import type { CliContext } from './io.js';
import { intFlag, outputPathFlag } from './validate.js';
import { writeOutput } from './output.js';

export function strategyFlag(raw: string): StrategyName {
  const hit = STRATEGIES.find((s) => s === raw.trim().toLowerCase());
  if (!hit) throw new UsageError(`--strategy: expected one of ${STRATEGIES.join(', ')}, got '${raw}'`);
  return hit;
}
export const depthFlag = (raw: string): number => intFlag('--depth', raw, 1, 16);
export const preemptionsFlag = (raw: string): number => intFlag('--preemptions', raw, 0, 8);

/** A replay-file path: its directory must exist. */
export const outFlag = (raw: string): string => outputPathFlag('--out', raw);

export const defaultReplayPath = (s: Scenario, policy: string, seed: number): string =>
  resolve(`folio-race-${s.id}-${policy}-seed${seed}.replay.json`.replace(/[^A-Za-z0-9._-]/g, '_'));

/**
 * Report a failing run: seed, schedule, (with shrinking) the shrunk schedule and its per-CPU
 * timeline; write the replay file when `out` is given. Returns the run finally recorded.
 */
export async function reportFailure(
  ctx: CliContext,
  session: DetSession,
  setup: ReplaySetup,
  found: DetRun,
  o: { shrink: boolean; out: string | null; signal?: AbortSignal },
): Promise<DetRun> {
  const w = (s: string) => ctx.out.write(s + '\n');
  w(`failure: ${found.signature}`);
  w(
    `seed ${setup.seed}, strategy ${setup.strategy}${setup.depth !== undefined && setup.strategy === 'pct' ? ` (depth ${setup.depth})` : ''}: ${found.decisions.length} decisions, ${found.preemptions} preemptions`,
  );
  w(`schedule: ${found.schedule}`);
  let schedule = found.schedule;
  let run = found;
  let file = setup;
  if (o.shrink) {
    const t0 = performance.now();
    // In slices: Ctrl-C stops the shrinking and keeps the smallest schedule found so far.
    const sh = await shrinkAsync(session, setup.seed, found, o.signal ? { signal: o.signal } : {});
    run = sh.run;
    schedule = encodeSchedule(sh.explicit);
    file = { ...setup, strategy: 'shrunk' };
    if (o.signal?.aborted) w('\nshrinking interrupted: the smallest failing schedule so far follows');
    w(
      `\nshrunk in ${sh.attempts} replays (${(performance.now() - t0).toFixed(0)} ms): ${sh.before.preemptions} -> ${run.preemptions} preemptions, explicit schedule ${sh.before.explicit} -> ${sh.explicit.length} decisions (the rest: each CPU runs on until it stops)`,
    );
    w(`shrunk schedule: ${schedule || '(empty: the default order alone fails)'}`);
    w(`failure (same signature): ${run.signature}\n`);
    for (const l of formatTimeline(run.decisions, (c) => session.rt.stepsOf(c))) w(`  ${l}`);
  } else if (explicitSchedule(found) !== found.schedule) {
    // The explicit prefix replays the same run and is shorter to hand on.
    schedule = explicitSchedule(found);
  }
  if (o.out) {
    const { file: f } = makeReplayFile(file, schedule, found.schedule);
    const at = writeOutput(ctx, '--out', o.out, JSON.stringify(f, null, 2) + '\n');
    if (at) w(`\nreplay file: ${at}\n  folio-race replay ${at} [--trace]`);
  }
  return run;
}

/** `run`: on a failure, the seed and schedule; with --out, the replay file. */
export function reportRunSchedule(ctx: CliContext, setup: ReplaySetup, decisions: readonly DecisionRecord[], out: string | null): void {
  const schedule = encodeSchedule(explicitPrefix(decisions));
  ctx.out.write(
    `\nseed ${setup.seed}, strategy ${setup.strategy}; schedule (${decisions.length} decisions, ${countPreemptions(decisions)} preemptions): ${schedule || '(the default order)'}\n`,
  );
  if (!out) {
    ctx.out.write('  (--out <file> writes a replay file; `folio-race hunt --shrink` shrinks it)\n');
    return;
  }
  const at = writeOutput(ctx, '--out', out, JSON.stringify(makeReplayFile(setup, schedule, encodeSchedule(decisions)).file, null, 2) + '\n');
  if (at) ctx.out.write(`replay file: ${at}\n  folio-race replay ${at} [--trace]\n`);
}
