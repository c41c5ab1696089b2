// A/B of the deterministic engine against another build, both in this one process: slices of
// schedules alternate between the two builds' sessions (the order flipped every slice), so the
// drift of a shared host moves both sides alike and the per-slice ratios keep the comparison.
// `npm run bench -- ab <root>`, where <root> is another checkout with `npm run build` done.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getPolicy } from '../src/mm/policy.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { explore, type Reduction } from '../src/sched/explore.js';
import { DetSession } from '../src/sched/session.js';
import type { StrategyName } from '../src/sched/scheduler.js';

/** What a build offers for this comparison (the same entry points in both). */
interface Build {
  getPolicy: typeof getPolicy;
  loadScenario: typeof loadScenario;
  DetSession: typeof DetSession;
  compactCpus: typeof compactCpus;
  explore: typeof explore;
}

/** One comparison's figures. */
export interface AbTiming {
  /** Median µs per decision over the slices: the other build, this one. */
  otherUs: number;
  thisUs: number;
  /** This build's time over the other's, per slice pair: median and quartiles. */
  ratio: { p25: number; p50: number; p75: number };
}

export interface AbRow extends AbTiming {
  scenario: string;
  policy: string;
  strategy: StrategyName;
}

/** An exhaustive search timed the same way: each slice is the search from its start, for a fixed time. */
export interface AbExploreRow extends AbTiming {
  scenario: string;
  policy: string;
  bound: number;
  cpus: number;
  reduction: Reduction;
}

/** [scenario, policy, preemption bound, CPUs (scripted ones renumbered), reduction]: S9 is where footprints cost most (long ops). */
export const AB_EXPLORE_CASES: ReadonlyArray<[string, string, number, number, Reduction]> = [
  ['S9', 'merged', 3, 3, 'sleep-sets'],
  ['S9', 'merged', 3, 3, 'none'],
  ['S6', 'merged', 3, 3, 'sleep-sets'],
];

export const AB_CASES: ReadonlyArray<[string, string, StrategyName]> = [
  ['S1', 'v6.11', 'random'],
  ['S1', 'will-v1', 'random'],
  ['S6', 'will-v1', 'random'],
  ['S6', 'will-v1', 'pct'],
  ['S6', 'merged', 'pct'],
];

async function loadBuild(root: string): Promise<Build> {
  const dist = resolve(root, 'dist', 'src');
  const file = (p: string) => resolve(dist, p);
  for (const p of ['mm/policy.js', 'scenario/load.js', 'sched/session.js', 'sched/compact.js', 'sched/explore.js'])
    if (!existsSync(file(p))) throw new Error(`bench ab: ${file(p)} not found: build the other checkout first (npm ci && npm run build in ${root})`);
  const at = (p: string) => import(pathToFileURL(file(p)).href);
  return {
    getPolicy: (await at('mm/policy.js')).getPolicy,
    loadScenario: (await at('scenario/load.js')).loadScenario,
    DetSession: (await at('sched/session.js')).DetSession,
    compactCpus: (await at('sched/compact.js')).compactCpus,
    explore: (await at('sched/explore.js')).explore,
  };
}

/** This build's entry points. */
const MINE: Build = { getPolicy, loadScenario, DetSession, compactCpus, explore };

/**
 * Run `slices` slice pairs, the other build's (`a`) and this one's (`b`), each returning its µs
 * per decision, the order flipped every pair; each side's median and the per-pair ratio.
 */
function alternate(slices: number, a: (k: number) => number, b: (k: number) => number): AbTiming {
  const usA: number[] = [];
  const usB: number[] = [];
  for (let k = 0; k < slices; k++) {
    if (k % 2 === 0) {
      usA.push(a(k));
      usB.push(b(k));
    } else {
      usB.push(b(k));
      usA.push(a(k));
    }
  }
  const ratios = usA.map((x, i) => usB[i]! / x);
  return {
    otherUs: quantile(usA, 0.5),
    thisUs: quantile(usB, 0.5),
    ratio: { p25: quantile(ratios, 0.25), p50: quantile(ratios, 0.5), p75: quantile(ratios, 0.75) },
  };
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

export async function benchAb(otherRoot: string, slices = 20, perSlice = 400): Promise<AbRow[]> {
  const other = await loadBuild(otherRoot);
  const rows: AbRow[] = [];
  for (const [scenario, policy, strategy] of AB_CASES) {
    const session = (b: Build) => {
      const s = b.loadScenario(scenario);
      return new b.DetSession({ scenario: s, policy: b.getPolicy(policy), cpus: s.cpus, strategy, depth: 3 });
    };
    const a = session(other);
    const b = session(MINE);
    for (let i = 0; i < Math.min(1500, 4 * perSlice); i++) {
      a.run(i);
      b.run(i);
    }
    const slice = (s: InstanceType<typeof DetSession>, k: number) => {
      let decisions = 0;
      const t0 = performance.now();
      for (let i = 0; i < perSlice; i++) decisions += s.run(2000 + k * perSlice + i).decisions.length;
      return ((performance.now() - t0) * 1000) / decisions;
    };
    rows.push({
      scenario,
      policy,
      strategy,
      ...alternate(
        slices,
        (k) => slice(a, k),
        (k) => slice(b, k),
      ),
    });
  }
  return rows;
}

/**
 * Exhaustive searches, this build against `otherRoot`: each slice runs the search from its start
 * for `sliceMs` (or to its end), the two builds alternating, and counts µs per decision (every
 * decision of every interleaving run, abandoned ones too).
 */
export async function benchAbExplore(otherRoot: string, slices = 10, sliceMs = 2000): Promise<AbExploreRow[]> {
  const other = await loadBuild(otherRoot);
  const rows: AbExploreRow[] = [];
  for (const [scenario, policy, bound, cpus, reduction] of AB_EXPLORE_CASES) {
    const slice = (b: Build) => {
      const s = new b.DetSession({ scenario: b.compactCpus(b.loadScenario(scenario), cpus), policy: b.getPolicy(policy), cpus });
      let decisions = 0;
      // The session's runs, abandoned ones included: wrap its run() to count their decisions.
      const run = s.run.bind(s);
      s.run = (...a: Parameters<typeof s.run>) => {
        const r = run(...a);
        decisions += r.decisions.length;
        return r;
      };
      const r = b.explore(s, { preemptionBound: bound, reduction, timeLimitMs: sliceMs });
      return (r.elapsedMs * 1000) / Math.max(1, decisions);
    };
    rows.push({
      scenario,
      policy,
      bound,
      cpus,
      reduction,
      ...alternate(
        slices,
        () => slice(other),
        () => slice(MINE),
      ),
    });
  }
  return rows;
}
