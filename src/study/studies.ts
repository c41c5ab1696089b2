// The timing studies as sweeps of cells (src/study/run_cells.ts):
// - drain-latency: lru_add_drain_all() latency against CPU count, drain mechanism, batch
//   occupancy, spacing of scheduling points, busy/idle CPUs, one CPU running non-preemptible
//   stretches, and the number of CPUs calling it at once, with and without the generation skip
//   (the drain-latency program, src/job/drain_study_job.ts);
// - pin-storm: scenario S5 per policy (and mechanism), with CPU 5's non-preemptible stretches or
//   the same time as a preemptible delay ("hog=off"), at S5's scale or scaled up (more CPUs,
//   pinning vCPUs, faulting CPUs: pin_storm_scale.ts): pin latency, drains per pin, and what one
//   non-preemptible CPU does to everyone else's drains;
// - race-window: S1 per policy with CPU 7's race window (its delay) swept: failure rate against
//   window length.
// Cells are enumerated in a fixed order, so `--shard i/N` selects the same cells everywhere.
import { DEFAULT_DRAIN_STUDY } from '../job/drain_study_job.js';
import { DRAIN_MECHANISMS, withSwitches, type DrainMechanism, type Policy } from '../mm/policy.js';
import { resolvePolicySpec } from '../policy/resolve.js';
import { dimsFor } from '../runtime/dims.js';
import type { Op, Scenario } from '../scenario/schema.js';
import { ScenarioBoard, resolveNames } from '../scenario/setup.js';
import type { CellSpec } from './run_cells.js';
import { cpusNeeded, S5_SCALE, scaleS5, type PinStormScale } from './pin_storm_scale.js';

export interface DrainLatencyParams {
  cpus: number[];
  mechanisms: DrainMechanism[];
  occupancy: number[];
  /** Non-preemptible work between scheduling points on busy CPUs (µs). */
  spacingUs: number[];
  hog: ('off' | 'on')[];
  /** With hog on: how many CPUs (the last ones) run the non-preemptible stretches. */
  hogs: number[];
  load: ('busy' | 'idle')[];
  /** Busy CPUs put their drained folios back once per round, or one at every scheduling point. */
  refill: ('round' | 'continuous')[];
  /** CPUs calling lru_add_drain_all() in each round (CPUs 0..k-1). */
  callers: number[];
  /** The generation skip (drainGenSkip): 'policy' = the policy's own value; on/off force it. */
  genSkip: ('policy' | 'on' | 'off')[];
  hogUs: number;
  rounds: number;
  trials: number;
  seed: number;
  policy: string;
}
export const DRAIN_LATENCY_DEFAULTS: DrainLatencyParams = {
  cpus: [1, 2, 4, 8],
  mechanisms: [...DRAIN_MECHANISMS],
  occupancy: [8],
  spacingUs: [0],
  hog: ['off', 'on'],
  hogs: [1],
  load: ['busy'],
  refill: ['round'],
  callers: [1],
  genSkip: ['policy'],
  hogUs: 250,
  rounds: 20,
  trials: 10,
  seed: 1,
  policy: 'v6.11',
};

/** A study's policy (a built-in id, a release, an inline variant or a file), resolved once per sweep. */
function studyPolicy(spec: string): Policy {
  const ps = resolvePolicySpec(spec);
  if (ps.length !== 1) throw new RangeError(`policy '${spec}': a study cell takes one policy, this names ${ps.length}`);
  return ps[0]!;
}

/** One combination of a drain-latency sweep's dimensions. */
interface DrainCellDims {
  cpus: number;
  mech: DrainMechanism;
  occ: number;
  sp: number;
  hog: 'off' | 'on';
  /** CPUs running the stretches: 0 with hog off. */
  hogs: number;
  load: 'busy' | 'idle';
  refill: 'round' | 'continuous';
  callers: number;
  /** drainGenSkip for the cell. */
  genSkip: boolean;
}

/**
 * The dimensions' combinations in sweep order (CPUs outermost, generation skip innermost). The
 * generation skip values are resolved against the policy's own (`policy` and the value it has
 * name one cell), and a targeted cell, whose drain is no lru_add_drain_all(), has only the policy's.
 * Idle CPUs put nothing back and a targeted drain extracts one folio: their cells have one refill, round.
 */
function* drainCellDims(p: DrainLatencyParams, policySkip: boolean): Generator<DrainCellDims> {
  const skips = [...new Set(p.genSkip.map((g) => (g === 'policy' ? policySkip : g === 'on')))];
  for (const cpus of p.cpus)
    for (const mech of p.mechanisms)
      for (const occ of p.occupancy)
        for (const sp of p.spacingUs)
          for (const hog of p.hog)
            for (const hogs of hog === 'on' ? p.hogs : [0])
              for (const load of p.load)
                for (const refill of load === 'idle' || mech === 'targeted' ? (['round'] as const) : p.refill)
                  for (const callers of p.callers)
                    for (const genSkip of mech === 'targeted' ? [policySkip] : skips) yield { cpus, mech, occ, sp, hog, hogs, load, refill, callers, genSkip };
}

/**
 * Every cell of a drain-latency sweep, in sweep order. The callers are the first CPUs and the
 * hogs the last: a cell with more of them than CPUs is left out (a hog cell needs a CPU besides
 * CPU 0) and counted in `unfit`, and so is an idle cell of a spacing other than the first
 * (spacing only matters to busy CPUs), not counted.
 */
export function drainLatencyCells(p: DrainLatencyParams, unfit?: { count: number }): CellSpec[] {
  const out: CellSpec[] = [];
  const base = studyPolicy(p.policy);
  const policySkip = base.switches.drainGenSkip;
  for (const { cpus, mech, occ, sp, hog, hogs, load, refill, callers, genSkip } of drainCellDims(p, policySkip)) {
    if (callers + hogs > cpus) {
      if (unfit) unfit.count++;
      continue;
    }
    if (load === 'idle' && sp !== p.spacingUs[0]) continue;
    const index = out.length;
    // Keys of one hog, one caller and the policy's own skip read as before.
    const extra = `${hogs > 1 ? ` hogs=${hogs}` : ''}${refill !== 'round' ? ` refill=${refill}` : ''}${callers !== 1 ? ` callers=${callers}` : ''}${genSkip !== policySkip ? ` genskip=${genSkip ? 'on' : 'off'}` : ''}`;
    out.push({
      key: `cpus=${cpus} mech=${mech} occ=${occ} spacing=${sp}us hog=${hog} load=${load}${extra}`,
      index,
      params: { cpus, mechanism: mech, occupancy: occ, spacingUs: sp, hog, hogs, load, refill, callers, genSkip: genSkip ? 'on' : 'off' },
      job: {
        kind: 'program',
        name: 'drain-latency',
        params: {
          ...DEFAULT_DRAIN_STUDY,
          occupancy: occ,
          spacingNs: Math.round(sp * 1000),
          busy: load === 'busy' ? 1 : 0,
          continuous: load === 'busy' && refill === 'continuous' ? 1 : 0,
          hogCpu: hog === 'on' ? cpus - hogs : -1,
          hogCount: Math.max(1, hogs),
          hogUs: p.hogUs,
          rounds: p.rounds,
          callers,
        },
      },
      policy: withSwitches(base, { drainMechanism: mech, drainGenSkip: genSkip }),
      cpus,
      dims: { nFolios: Math.max(1024, cpus * 64 + 256), nPtes: 1024, nCacheSlots: 1024 },
      trials: p.trials,
      seed: (p.seed + index * 7919) >>> 0,
    });
  }
  return out;
}

/** Apply `f` to every op of every CPU (repeat bodies included). */
function mapOps(s: Scenario, f: (op: Op) => Op): Scenario {
  const walk = (ops: Op[]): Op[] => ops.map((op) => (op.op === 'repeat' ? { ...op, ops: walk(op.ops) } : f(op)));
  const steps: Scenario['steps'] = {};
  for (const [cpu, ops] of Object.entries(s.steps)) steps[cpu as unknown as number] = walk(ops as Op[]);
  return { ...s, steps };
}

/** S5 with CPU 5's non-preemptible stretches turned into preemptible delays of the same length. */
export function withoutHog(s: Scenario): Scenario {
  const t = mapOps(s, (op) => (op.op === 'hog' ? { ...op, op: 'delay', us: op.us ?? s.timing.hogUs } : op));
  return { ...t, id: `${s.id}-nohog`, title: `${s.title} (stretches preemptible)` };
}

/** `s` with a random extra pause of up to `us` after every op that pauses after itself (delayAfterUs). */
export function withPauseJitter(s: Scenario, us: number): Scenario {
  if (us <= 0) return s;
  const t = mapOps(s, (op) => ((op.delayAfterUs ?? 0) > 0 && op.jitterUs === undefined ? { ...op, jitterUs: us } : op));
  return { ...t, id: `${s.id}-j${us}`, title: `${s.title} (pauses + up to ${us} µs)` };
}

/** S1 with the race window (CPU 7's delay) set to `us`. */
export function withRaceWindow(s: Scenario, us: number): Scenario {
  const t = mapOps(s, (op) => (op.op === 'delay' ? { ...op, us } : op));
  return { ...t, id: `${s.id}-w${us}`, timing: { ...s.timing, delayUs: us } };
}

function scenarioCell(
  s: Scenario,
  key: string,
  index: number,
  params: CellSpec['params'],
  policy: Policy,
  mech: DrainMechanism,
  cpus: number,
  trials: number,
  seed: number,
): CellSpec {
  const board = new ScenarioBoard(resolveNames(s));
  const { nCpus: _n, ...dims } = dimsFor(s, cpus);
  return {
    key,
    index,
    params,
    job: { kind: 'scenario', scenario: s, board: board.sab },
    policy: withSwitches(policy, { drainMechanism: mech }),
    cpus,
    dims,
    trials,
    seed,
  };
}

export interface PinStormParams {
  policies: string[];
  mechanisms: DrainMechanism[];
  hog: ('off' | 'on')[];
  /** S5 at server scale (pin_storm_scale.ts): CPUs, pinning vCPUs, faulting CPUs; S5's own where absent. */
  cpus?: number[];
  pinners?: number[];
  faulters?: number[];
  /**
   * Extra random pause after each pin and each fault, uniform in [0, jitterUs] µs: arrivals that
   * are not in step (vCPUs take stage-2 faults when the guest touches memory, not on a clock).
   * 0: S5's fixed pauses, which in logical time make every trial the same.
   */
  jitterUs?: number;
  trials: number;
  seed: number;
}
export const PIN_STORM_DEFAULTS: PinStormParams = {
  policies: ['v6.11', 'merged', 'pin-refs-fix', 'targeted-extraction'],
  mechanisms: ['workqueue'],
  hog: ['on', 'off'],
  cpus: [S5_SCALE.cpus],
  pinners: [S5_SCALE.pinners],
  faulters: [S5_SCALE.faulters],
  jitterUs: 0,
  trials: 50,
  seed: 1,
};

/**
 * Every cell of a pin-storm sweep: S5 (scaled where the scale is not S5's) per policy, mechanism,
 * hog and scale, in that order. Keys name the scale only where it differs from S5's, so documents
 * from before the scale merge with new ones. A scale whose roles do not fit in its CPUs is left
 * out and counted in `unfit`.
 */
export function pinStormCells(s5: Scenario, p: PinStormParams, unfit?: { count: number }): CellSpec[] {
  const out: CellSpec[] = [];
  const scales: PinStormScale[] = [];
  // A value given twice is one scale (one key).
  const once = (xs: number[] | undefined, dflt: number) => [...new Set(xs ?? [dflt])];
  for (const cpus of once(p.cpus, S5_SCALE.cpus))
    for (const pinners of once(p.pinners, S5_SCALE.pinners))
      for (const faulters of once(p.faulters, S5_SCALE.faulters)) {
        if (cpusNeeded({ pinners, faulters }) > cpus) {
          if (unfit) unfit.count++;
          continue;
        }
        scales.push({ cpus, pinners, faulters });
      }
  const jitter = p.jitterUs ?? 0;
  const jitterKey = jitter > 0 ? ` jitter=${jitter}us` : '';
  // One scenario per scale (and per hog), shared by the policies' cells.
  const scenarios = new Map<string, Scenario>();
  const scenarioFor = (sc: PinStormScale, hog: 'on' | 'off'): Scenario => {
    const k = `${sc.cpus}/${sc.pinners}/${sc.faulters}/${hog}`;
    let s = scenarios.get(k);
    if (!s) scenarios.set(k, (s = withPauseJitter(hog === 'on' ? scaleS5(s5, sc) : withoutHog(scaleS5(s5, sc)), jitter)));
    return s;
  };
  for (const policy of p.policies) {
    const base = studyPolicy(policy);
    for (const mech of p.mechanisms)
      for (const hog of p.hog)
        for (const sc of scales) {
          const scaleKey = `${sc.cpus !== S5_SCALE.cpus ? ` cpus=${sc.cpus}` : ''}${sc.pinners !== S5_SCALE.pinners ? ` pinners=${sc.pinners}` : ''}${sc.faulters !== S5_SCALE.faulters ? ` faulters=${sc.faulters}` : ''}`;
          const key = `policy=${policy} mech=${mech} hog=${hog}${scaleKey}${jitterKey}`;
          const params = {
            policy,
            mechanism: mech,
            hog,
            ...(scaleKey ? { cpus: sc.cpus, pinners: sc.pinners, faulters: sc.faulters } : {}),
            ...(jitter > 0 ? { jitterUs: jitter } : {}),
          };
          out.push(scenarioCell(scenarioFor(sc, hog), key, out.length, params, base, mech, sc.cpus, p.trials, p.seed));
        }
  }
  return out;
}

export interface RaceWindowParams {
  policies: string[];
  windowsUs: number[];
  trials: number;
  seed: number;
}
export const RACE_WINDOW_DEFAULTS: RaceWindowParams = {
  policies: ['v6.11', 'hugh-unevictable', 'merged'],
  windowsUs: [0, 10, 25, 50, 100, 200],
  trials: 100,
  seed: 1,
};

export function raceWindowCells(s1: Scenario, p: RaceWindowParams): CellSpec[] {
  const out: CellSpec[] = [];
  for (const policy of p.policies) {
    const base = studyPolicy(policy);
    for (const w of p.windowsUs) {
      out.push(
        scenarioCell(
          withRaceWindow(s1, w),
          `policy=${policy} window=${w}us`,
          out.length,
          { policy, windowUs: w },
          base,
          'workqueue',
          s1.cpus,
          p.trials,
          p.seed,
        ),
      );
    }
  }
  return out;
}
