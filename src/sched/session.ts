// One scenario under one policy on the deterministic runtime, run again and again with different
// seeds or schedulers: the unit that hunting, replay, shrinking and exhaustive search share.
// Every run is trial 0 of a freshly reseeded job, so a run depends only on (seed, schedule).
import type { Policy } from '../mm/policy.js';
import { CooperativeRuntime } from '../runtime/cooperative.js';
import { dimsFor } from '../runtime/dims.js';
import type { TrialResult } from '../trial/result.js';
import type { Scenario } from '../scenario/schema.js';
import { formatFtrace } from '../trace/ftrace.js';
import { createTraceSink, type RingTraceSink } from '../trace/sink.js';
import { countPreemptions, encodeSchedule, explicitPrefix, type DecisionRecord } from './schedule.js';
import { PctScheduler } from './pct.js';
import { RandomScheduler } from './random.js';
import type { Scheduler, StrategyName } from './scheduler.js';
import { failureSignature } from './signature.js';

export interface SessionOptions {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  strategy?: StrategyName;
  depth?: number;
  /** Delays and hogs as plain scheduling points (no logical time). */
  timeless?: boolean;
  /** Keep a trace ring (page_ref_* events) for traceText(). */
  trace?: boolean;
  maxSteps?: number;
}

export interface DetRun {
  result: TrialResult;
  decisions: DecisionRecord[];
  signature: string | null;
  preemptions: number;
  /** The whole schedule, compact (every decision). */
  readonly schedule: string;
}

const PCT_PROBE_RUNS = 8;

export class DetSession {
  readonly rt: CooperativeRuntime;
  private readonly sink: RingTraceSink | null;
  private pctSteps: number | null = null;

  constructor(readonly o: SessionOptions) {
    this.sink = o.trace ? createTraceSink(o.cpus, 1 << 14) : null;
    this.rt = new CooperativeRuntime({
      nCpus: o.cpus,
      policy: o.policy,
      dims: dimsFor(o.scenario, o.cpus),
      seed: 0,
      strategy: o.strategy ?? 'random',
      depth: o.depth ?? 3,
      trace: this.sink,
      timeless: o.timeless ?? false,
      maxSteps: o.maxSteps ?? 200_000,
    });
    this.rt.configure({ kind: 'scenario', scenario: o.scenario });
  }

  /** One run from `seed`, scheduled by the session's strategy or by `scheduler`. */
  run(seed: number, scheduler?: Scheduler): DetRun {
    if (!scheduler && this.o.strategy === 'pct') scheduler = new PctScheduler(seed, this.o.depth ?? 3, this.o.cpus, this.expectedSteps());
    this.rt.reseed(seed, scheduler);
    const result = this.rt.runTrial(0);
    const decisions = this.rt.decisions;
    // The schedule string is made on first use: hunts and searches read it for failing runs only.
    let schedule: string | undefined;
    return {
      result,
      decisions,
      signature: failureSignature(result),
      preemptions: countPreemptions(decisions),
      get schedule(): string {
        schedule ??= encodeSchedule(decisions);
        return schedule;
      },
    };
  }

  /**
   * PCT's k, the number of steps its change points are drawn over: the longest of a few seeded
   * random schedules of this scenario, measured once per session on an untraced runtime of its
   * own. Every seed's run then depends on (scenario, policy, CPUs, seed) alone, as a hunt's
   * replay needs; a fixed guess (64) would put most change points past the end of S6's ~20-step runs.
   */
  expectedSteps(): number {
    if (this.pctSteps !== null) return this.pctSteps;
    const probe = new DetSession({ ...this.o, strategy: 'random', trace: false });
    let k = 0;
    for (let s = 0; s < PCT_PROBE_RUNS; s++) {
      const r = probe.run(s, new RandomScheduler(s));
      // a run the watchdog stopped measures the watchdog, not the scenario
      if (!r.result.failures.some((f) => f.kind === 'watchdog')) k = Math.max(k, r.decisions.length);
    }
    this.pctSteps = k > 0 ? k : 64;
    return this.pctSteps; // (returned k before: 0 on the first call when every probe hit the watchdog, 64 after)
  }

  /** The page_ref_* trace of every run since the session began (ftrace lines with holders). */
  traceText(): string {
    if (!this.sink) return '';
    return formatFtrace(this.sink.ring.read().events, { holders: true });
  }
}

/** The explicit (non-default) part of a run's schedule, compact. */
export const explicitSchedule = (r: DetRun): string => encodeSchedule(explicitPrefix(r.decisions));
