// Folding TrialResults into one PolicyAggregate per kernel variant. The runtime calls
// PolicyAggregator.add() once per trial and hands toJSON() back from runStress(); nothing keeps
// the TrialResults themselves (counts, attribution maps, a few examples and HDR histograms only),
// so memory stays flat however many trials run. Aggregators merge exactly (shards).
//
// Counting rules (documented in docs/cli-and-json.md):
// - A failure "counts" unless it is permitted by the policy (Failure.permittedBy: a finding about
//   the variant, reported under `permitted`) or an emulator error (a bug in this tool, reported
//   under `emulatorErrors`). Neither enters the failure rate.
// - failures.total and failures.byKind count trials (a trial with two ENOMEMs counts once), so
//   rate = failures.total / trials is a binomial proportion and the Wilson interval applies.
import type { Failure, FailureKind, TrialResult } from '../trial/result.js';
import { NR_STATS, STAT_NAMES, Stat } from '../mm/layout.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { proportion, wilson } from './wilson.js';

/** Failure kinds that count towards the failure rate. */
export const COUNTED_KINDS = ['ENOMEM', 'pin_error', 'invariant', 'watchdog'] as const;
export type CountedKind = (typeof COUNTED_KINDS)[number];
export const ALL_FAILURE_KINDS: readonly FailureKind[] = [...COUNTED_KINDS, 'emulator'];

/** At most this many distinct attribution strings are kept per key; the rest go to OTHER. */
export const MAX_ATTRIBUTION_KEYS = 256;
export const OTHER_ATTRIBUTION = '(other)';
/** Examples (for reproducing) kept per failure kind / for permitted findings / emulator errors. */
export const MAX_EXAMPLES = 3;

export interface FailureExample {
  trial: number;
  kind: FailureKind;
  cpu: number;
  step?: number;
  op?: string;
  invariant?: string;
  permittedBy?: string;
  message: string;
  attribution?: string[];
}

export interface RateCI {
  rate: number;
  ci95: [number, number];
}

export interface PolicyAggregate {
  policy: string;
  trials: number;
  /** Trials with at least one counted failure, in total and by kind. */
  failures: { total: number; byKind: Record<CountedKind, number> };
  /** Individual counted failure records by kind (a trial may report several). */
  failureRecords: Record<CountedKind, number>;
  /** failures.total / trials with its 95% Wilson interval (rate 0, [0, 1] when no trials ran). */
  rate: number;
  ci95: [number, number];
  rateByKind: Record<CountedKind, RateCI>;
  /** Ledger attribution per counted kind: holder string (e.g. "cpu7:MLOCK_BATCH") -> failures it appeared in. */
  attribution: Record<CountedKind, Record<string, number>>;
  /** Violations the policy permits: findings about the variant, not failures. */
  permitted: {
    trials: number;
    records: number;
    rate: number;
    ci95: [number, number];
    /** By invariant id (or failure kind when none). */
    byInvariant: Record<string, number>;
    attribution: Record<string, number>;
    examples: FailureExample[];
  };
  /** Errors inside the emulator itself (tool bugs). Any non-zero count deserves a bug report. */
  emulatorErrors: { trials: number; records: number; examples: FailureExample[] };
  examples: Record<CountedKind, FailureExample[]>;
  pins: {
    /** pin_user_pages() calls (stat PIN_CALLS) and outcomes. */
    calls: number;
    ok: number;
    enomem: number;
    otherErr: number;
    /** -EAGAIN iterations of __gup_longterm_locked() (stat GUP_RETRY). */
    retries: number;
    /** Pin records the runtime reported (the latency histogram's population). */
    recorded: number;
  };
  /** lru_add_drain() / lru_add_drain_all() calls made by GUP collect, per pin_user_pages() call. */
  drainsPerPin: { local: number | null; all: number | null };
  drains: {
    /** All lru_add_drain() calls on any CPU (stat LRU_ADD_DRAIN). */
    lruAddDrain: number;
    /** All lru_add_drain_all() calls (stat LRU_ADD_DRAIN_ALL), generation skips included. */
    lruAddDrainAll: number;
    /** ... of which returned early through the generation check (stat DRAIN_ALL_GEN_SKIP). */
    genSkips: number;
    /** Drain works queued by all drain-alls (stat DRAIN_ALL_CPUS_QUEUED). */
    cpusQueued: number;
    /** lru_add_drain_per_cpu() works run (stat DRAIN_WORK_RUN). */
    workRun: number;
    /** Made by GUP collect (stats DRAIN_ALL_LOCAL_PIN, DRAIN_ALL_PIN). */
    localFromPin: number;
    allFromPin: number;
  };
  /** CPUs queued per drain-all that scanned (generation skips excluded); null when none scanned. */
  cpusQueuedPerDrainAll: number | null;
  /** Generation skips per drain-all call; null when no drain-all ran. */
  genSkipsPerDrainAll: number | null;
  migration: { attempts: number; succeeded: number; failed: number; passes: number };
  /** Move-phase refcount checks (stat MIGRATE_MOVE_ATTEMPT) per pin_user_pages() call. */
  migrationAttemptsPerPin: number | null;
  /** pin_user_pages() latency (end - start of each PinRecord). */
  pinLatencyNs: LatencySummary;
  /** lru_add_drain_all() latency, drain-alls that scanned (not generation skips). */
  drainAllLatencyNs: LatencySummary;
  /** Time spent waiting for the drain mutex, every drain-all. */
  drainAllMutexWaitNs: LatencySummary;
  /**
   * lru_add_drain_all() as its caller sees it: every call, generation skips included (a skip
   * returns after its wait for the mutex). Absent from documents written before it existed.
   */
  drainAllCallNs?: LatencySummary;
  trialDurationNs: LatencySummary;
  /** Every event counter (layout.ts Stat), summed over CPUs and trials. */
  stats: Record<string, number>;
  /**
   * Per counter, the trials in which it moved (its per-trial sum was not 0): the k of a per-trial
   * yes/no rate ("the write fault copied in k of n trials"). Absent from documents written
   * before it existed.
   */
  statTrials?: Record<string, number>;
}

function byCounted<T>(f: (k: CountedKind) => T): Record<CountedKind, T> {
  const o = {} as Record<CountedKind, T>;
  for (const k of COUNTED_KINDS) o[k] = f(k);
  return o;
}
function isCounted(kind: FailureKind): kind is CountedKind {
  return (COUNTED_KINDS as readonly string[]).includes(kind);
}
/** Does this trial count as failed (a counted failure: not permitted, not an emulator error)? */
export function trialFailed(r: TrialResult): boolean {
  return r.failures.some((f) => f.permittedBy === undefined && isCounted(f.kind));
}
function ratio(num: number, den: number): number | null {
  return den === 0 ? null : num / den;
}

/** Counts of strings with a cap on distinct keys (attribution strings come from the runtime). */
class Tally {
  readonly m = new Map<string, number>();
  add(key: string, n = 1): void {
    const k = this.m.has(key) || this.m.size < MAX_ATTRIBUTION_KEYS ? key : OTHER_ATTRIBUTION;
    this.m.set(k, (this.m.get(k) ?? 0) + n);
  }
  merge(o: Tally | Record<string, number>): void {
    const entries = o instanceof Tally ? o.m.entries() : Object.entries(o);
    for (const [k, n] of entries) this.add(k, n);
  }
  /** Most frequent first, ties by name, as a plain object (JSON keeps insertion order). */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, n] of [...this.m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) out[k] = n;
    return out;
  }
}

function example(trial: number, f: Failure): FailureExample {
  const e: FailureExample = { trial, kind: f.kind, cpu: f.cpu, message: f.message };
  if (f.step !== undefined) e.step = f.step;
  if (f.op !== undefined) e.op = f.op;
  if (f.invariant !== undefined) e.invariant = f.invariant;
  if (f.permittedBy !== undefined) e.permittedBy = f.permittedBy;
  if (f.attribution !== undefined) e.attribution = [...f.attribution];
  return e;
}
function pushExample(list: FailureExample[], e: FailureExample): void {
  if (list.length < MAX_EXAMPLES) list.push(e);
}

export class PolicyAggregator {
  trials = 0;
  private failTrials = 0;
  private failKindTrials = byCounted(() => 0);
  private failRecords = byCounted(() => 0);
  private attr = byCounted(() => new Tally());
  private examples = byCounted((): FailureExample[] => []);
  private permTrials = 0;
  private permRecords = 0;
  private permBy = new Tally();
  private permAttr = new Tally();
  private permExamples: FailureExample[] = [];
  private emuTrials = 0;
  private emuRecords = 0;
  private emuExamples: FailureExample[] = [];
  private pinsRecorded = 0;
  private readonly stats = new Array<number>(NR_STATS).fill(0);
  /** Trials in which each counter moved. */
  private readonly statTrials = new Array<number>(NR_STATS).fill(0);
  /** False once an aggregate from before statTrials was folded in (then it is not written). */
  private statTrialsKnown = true;
  readonly pinLatency = new LatencyHistogram();
  readonly drainAllLatency = new LatencyHistogram();
  readonly drainAllMutexWait = new LatencyHistogram();
  readonly drainAllCall = new LatencyHistogram();
  /** False once an aggregate from before drainAllCallNs was folded in: the histogram then lacks its calls, and is not written. */
  private callKnown = true;
  readonly trialDuration = new LatencyHistogram();

  constructor(readonly policy: string) {}

  /** Fold one trial in. */
  add(r: TrialResult): void {
    this.trials++;
    let failed = false;
    let permitted = false;
    let emulator = false;
    const kindsSeen = new Set<CountedKind>();
    for (const f of r.failures) {
      if (f.kind === 'emulator') {
        emulator = true;
        this.emuRecords++;
        pushExample(this.emuExamples, example(r.trial, f));
      } else if (f.permittedBy !== undefined) {
        permitted = true;
        this.permRecords++;
        this.permBy.add(f.invariant ?? f.kind);
        for (const a of f.attribution ?? []) this.permAttr.add(a);
        pushExample(this.permExamples, example(r.trial, f));
      } else if (isCounted(f.kind)) {
        failed = true;
        kindsSeen.add(f.kind);
        this.failRecords[f.kind]++;
        for (const a of f.attribution ?? []) this.attr[f.kind].add(a);
        pushExample(this.examples[f.kind], example(r.trial, f));
      }
    }
    if (failed) this.failTrials++;
    for (const k of kindsSeen) this.failKindTrials[k]++;
    if (permitted) this.permTrials++;
    if (emulator) this.emuTrials++;
    const n = Math.min(r.stats.length, NR_STATS);
    for (let i = 0; i < n; i++) {
      this.stats[i]! += r.stats[i]!;
      if (r.stats[i] !== 0) this.statTrials[i]!++;
    }
    for (const p of r.pins) {
      this.pinsRecorded++;
      this.pinLatency.record(p.endNs - p.startNs);
    }
    for (const d of r.drainAlls) {
      this.drainAllMutexWait.record(d.mutexWaitNs);
      this.drainAllCall.record(d.endNs - d.startNs);
      if (!d.genSkipped) this.drainAllLatency.record(d.endNs - d.startNs);
    }
    this.trialDuration.record(r.durationNs);
  }

  /** Cheap running counts for progress displays. */
  get failedTrials(): number {
    return this.failTrials;
  }

  /** Add another aggregator of the same policy (shards). */
  merge(o: PolicyAggregator): this {
    if (o.policy !== this.policy) throw new Error(`aggregate: cannot merge policy '${o.policy}' into '${this.policy}'`);
    this.trials += o.trials;
    this.failTrials += o.failTrials;
    for (const k of COUNTED_KINDS) {
      this.failKindTrials[k] += o.failKindTrials[k];
      this.failRecords[k] += o.failRecords[k];
      this.attr[k].merge(o.attr[k]);
      for (const e of o.examples[k]) pushExample(this.examples[k], e);
    }
    this.permTrials += o.permTrials;
    this.permRecords += o.permRecords;
    this.permBy.merge(o.permBy);
    this.permAttr.merge(o.permAttr);
    for (const e of o.permExamples) pushExample(this.permExamples, e);
    this.emuTrials += o.emuTrials;
    this.emuRecords += o.emuRecords;
    for (const e of o.emuExamples) pushExample(this.emuExamples, e);
    this.pinsRecorded += o.pinsRecorded;
    for (let i = 0; i < NR_STATS; i++) {
      this.stats[i]! += o.stats[i]!;
      this.statTrials[i]! += o.statTrials[i]!;
    }
    this.statTrialsKnown &&= o.statTrialsKnown;
    this.pinLatency.merge(o.pinLatency);
    this.drainAllLatency.merge(o.drainAllLatency);
    this.drainAllMutexWait.merge(o.drainAllMutexWait);
    this.drainAllCall.merge(o.drainAllCall);
    this.callKnown &&= o.callKnown;
    this.trialDuration.merge(o.trialDuration);
    return this;
  }

  toJSON(): PolicyAggregate {
    const s = this.stats;
    const pinCalls = s[Stat.PIN_CALLS]!;
    const drainAll = s[Stat.LRU_ADD_DRAIN_ALL]!;
    const genSkips = s[Stat.DRAIN_ALL_GEN_SKIP]!;
    const stats: Record<string, number> = {};
    STAT_NAMES.forEach((name) => (stats[name] = s[Stat[name]]!));
    const statTrials: Record<string, number> = {};
    STAT_NAMES.forEach((name) => (statTrials[name] = this.statTrials[Stat[name]]!));
    const perm = proportion(this.permTrials, this.trials);
    return {
      policy: this.policy,
      trials: this.trials,
      failures: { total: this.failTrials, byKind: { ...this.failKindTrials } },
      failureRecords: { ...this.failRecords },
      rate: this.trials === 0 ? 0 : this.failTrials / this.trials,
      ci95: wilson(this.failTrials, this.trials),
      rateByKind: byCounted((k) => proportion(this.failKindTrials[k], this.trials)),
      attribution: byCounted((k) => this.attr[k].toJSON()),
      permitted: {
        trials: this.permTrials,
        records: this.permRecords,
        rate: perm.rate,
        ci95: perm.ci95,
        byInvariant: this.permBy.toJSON(),
        attribution: this.permAttr.toJSON(),
        examples: [...this.permExamples],
      },
      emulatorErrors: { trials: this.emuTrials, records: this.emuRecords, examples: [...this.emuExamples] },
      examples: byCounted((k) => [...this.examples[k]]),
      pins: {
        calls: pinCalls,
        ok: s[Stat.PIN_OK]!,
        enomem: s[Stat.PIN_ENOMEM]!,
        otherErr: s[Stat.PIN_OTHER_ERR]!,
        retries: s[Stat.GUP_RETRY]!,
        recorded: this.pinsRecorded,
      },
      drainsPerPin: { local: ratio(s[Stat.DRAIN_ALL_LOCAL_PIN]!, pinCalls), all: ratio(s[Stat.DRAIN_ALL_PIN]!, pinCalls) },
      drains: {
        lruAddDrain: s[Stat.LRU_ADD_DRAIN]!,
        lruAddDrainAll: drainAll,
        genSkips,
        cpusQueued: s[Stat.DRAIN_ALL_CPUS_QUEUED]!,
        workRun: s[Stat.DRAIN_WORK_RUN]!,
        localFromPin: s[Stat.DRAIN_ALL_LOCAL_PIN]!,
        allFromPin: s[Stat.DRAIN_ALL_PIN]!,
      },
      cpusQueuedPerDrainAll: ratio(s[Stat.DRAIN_ALL_CPUS_QUEUED]!, drainAll - genSkips),
      genSkipsPerDrainAll: ratio(genSkips, drainAll),
      migration: {
        attempts: s[Stat.MIGRATE_MOVE_ATTEMPT]!,
        succeeded: s[Stat.MIGRATE_SUCCEEDED]!,
        failed: s[Stat.MIGRATE_FAILED]!,
        passes: s[Stat.MIGRATE_PASS]!,
      },
      migrationAttemptsPerPin: ratio(s[Stat.MIGRATE_MOVE_ATTEMPT]!, pinCalls),
      pinLatencyNs: this.pinLatency.summary(),
      drainAllLatencyNs: this.drainAllLatency.summary(),
      drainAllMutexWaitNs: this.drainAllMutexWait.summary(),
      ...(this.callKnown ? { drainAllCallNs: this.drainAllCall.summary() } : {}),
      trialDurationNs: this.trialDuration.summary(),
      stats,
      ...(this.statTrialsKnown ? { statTrials } : {}),
    };
  }

  /** Rebuild an aggregator from its JSON (shard merge). Histograms come back exactly. */
  static fromJSON(a: PolicyAggregate): PolicyAggregator {
    const g = new PolicyAggregator(a.policy);
    g.trials = a.trials;
    g.failTrials = a.failures.total;
    for (const k of COUNTED_KINDS) {
      g.failKindTrials[k] = a.failures.byKind[k];
      g.failRecords[k] = a.failureRecords[k];
      g.attr[k].merge(a.attribution[k]);
      g.examples[k] = [...a.examples[k]];
    }
    g.permTrials = a.permitted.trials;
    g.permRecords = a.permitted.records;
    g.permBy.merge(a.permitted.byInvariant);
    g.permAttr.merge(a.permitted.attribution);
    g.permExamples = [...a.permitted.examples];
    g.emuTrials = a.emulatorErrors.trials;
    g.emuRecords = a.emulatorErrors.records;
    g.emuExamples = [...a.emulatorErrors.examples];
    g.pinsRecorded = a.pins.recorded;
    STAT_NAMES.forEach((name) => (g.stats[Stat[name]] = a.stats[name] ?? 0));
    if (a.statTrials) STAT_NAMES.forEach((name) => (g.statTrials[Stat[name]] = a.statTrials![name] ?? 0));
    else g.statTrialsKnown = false;
    g.pinLatency.merge(LatencyHistogram.fromSummary(a.pinLatencyNs));
    g.drainAllLatency.merge(LatencyHistogram.fromSummary(a.drainAllLatencyNs));
    g.drainAllMutexWait.merge(LatencyHistogram.fromSummary(a.drainAllMutexWaitNs));
    if (a.drainAllCallNs) g.drainAllCall.merge(LatencyHistogram.fromSummary(a.drainAllCallNs));
    else g.callKnown = false;
    g.trialDuration.merge(LatencyHistogram.fromSummary(a.trialDurationNs));
    return g;
  }
}

/**
 * Did any trial have a failure of `kind`? 'permitted' = a policy-permitted finding; 'any' = any
 * counted failure or emulator error. (`--fail-on` uses this.)
 */
export function sawFailureKind(a: PolicyAggregate, kind: FailureKind | 'permitted' | 'any'): number {
  if (kind === 'any') return a.failures.total + a.emulatorErrors.trials;
  if (kind === 'permitted') return a.permitted.trials;
  if (kind === 'emulator') return a.emulatorErrors.trials;
  return a.failures.byKind[kind];
}

/** Convenience: fold a list of trials (tests, the inline runtime). */
export function aggregateTrials(policy: string, trials: Iterable<TrialResult>): PolicyAggregate {
  const g = new PolicyAggregator(policy);
  for (const t of trials) g.add(t);
  return g.toJSON();
}
