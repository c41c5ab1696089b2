// Statistics and reporting: the Wilson interval (known values and properties), HDR histogram
// merge exactness and encoding, the per-policy aggregator on synthetic trials (counting rules,
// ratios, attribution, exact merge and JSON round trip), the stress JSON schema, the table and
// the plain progress line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { VirtualTimeScheduler } from 'rxjs';
import { afterAll, describe, expect, test } from 'vitest';
import { NR_STATS, Stat } from '../src/mm/layout.js';
import { POLICIES, getPolicy } from '../src/mm/policy.js';
import type { Failure, TrialResult } from '../src/trial/result.js';
import { buildStressDoc, parseStressDoc, stringifyStressDoc, validateStressDoc, writeStressDoc } from '../src/report/json.js';
import { StressProgress, progressLine } from '../src/report/progress.js';
import { formatNs, formatPct, renderDetails, renderSummaryTable } from '../src/report/table.js';
import { MAX_ATTRIBUTION_KEYS, OTHER_ATTRIBUTION, PolicyAggregator, aggregateTrials, sawFailureKind, trialFailed } from '../src/stats/aggregate.js';
import { LatencyHistogram } from '../src/stats/histogram.js';
import { proportion, wilson } from '../src/stats/wilson.js';

const tmp = mkdtempSync(join(tmpdir(), 'folio-race-stats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('wilson', () => {
  test('known values (z = 1.96)', () => {
    const [lo, hi] = wilson(5, 10);
    expect(lo).toBeCloseTo(0.2366, 4);
    expect(hi).toBeCloseTo(0.7634, 4);
    expect(wilson(0, 10)[1]).toBeCloseTo(0.2775, 4);
    expect(wilson(1, 100)[0]).toBeCloseTo(0.001767, 5);
    expect(wilson(1, 100)[1]).toBeCloseTo(0.05449, 4);
  });
  test('0 and n successes give exact 0 and 1 bounds; n = 0 gives [0, 1]', () => {
    expect(wilson(0, 7)[0]).toBe(0);
    expect(wilson(7, 7)[1]).toBe(1);
    expect(wilson(7, 7)[0]).toBeGreaterThan(0.6);
    expect(wilson(0, 0)).toEqual([0, 1]);
    expect(proportion(0, 0)).toEqual({ rate: 0, ci95: [0, 1] });
    expect(proportion(3, 12).rate).toBe(0.25);
  });
  test('bad input throws', () => {
    expect(() => wilson(3, 2)).toThrow(RangeError);
    expect(() => wilson(-1, 2)).toThrow(RangeError);
    expect(() => wilson(1.5, 2)).toThrow(RangeError);
    expect(() => wilson(1, -2)).toThrow(RangeError);
  });
  const kn = fc.integer({ min: 1, max: 1_000_000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));
  test('property: the interval lies in [0, 1] and contains k/n', () => {
    fc.assert(
      fc.property(kn, ([k, n]) => {
        const [lo, hi] = wilson(k, n);
        const p = k / n;
        return lo >= 0 && hi <= 1 && lo <= p && p <= hi && lo < hi;
      }),
    );
  });
  test('property: the interval narrows as n grows with the same k/n', () => {
    fc.assert(
      fc.property(kn, fc.integer({ min: 2, max: 50 }), ([k, n], m) => {
        const [lo1, hi1] = wilson(k, n);
        const [lo2, hi2] = wilson(k * m, n * m);
        return hi2 - lo2 < hi1 - lo1;
      }),
    );
  });
  test('property: mirror symmetry wilson(n-k, n) = 1 - wilson(k, n)', () => {
    fc.assert(
      fc.property(kn, ([k, n]) => {
        const [lo, hi] = wilson(k, n);
        const [lo2, hi2] = wilson(n - k, n);
        return Math.abs(lo2 - (1 - hi)) < 1e-12 && Math.abs(hi2 - (1 - lo)) < 1e-12;
      }),
    );
  });
});

describe('LatencyHistogram', () => {
  const values = fc.array(fc.integer({ min: 0, max: 5_000_000_000 }), { maxLength: 300 });
  test('property: merging two histograms equals recording everything in one (exact)', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const ha = new LatencyHistogram();
        const hb = new LatencyHistogram();
        const all = new LatencyHistogram();
        for (const v of a) {
          ha.record(v);
          all.record(v);
        }
        for (const v of b) {
          hb.record(v);
          all.record(v);
        }
        ha.merge(hb);
        expect(ha.summary()).toEqual(all.summary());
        expect(ha.count).toBe(a.length + b.length);
        expect(ha.sum).toBe([...a, ...b].reduce((x, y) => x + y, 0));
      }),
      { numRuns: 60 },
    );
  });
  test('property: encode/decode round trip keeps every figure, and decoded histograms merge exactly', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const ha = new LatencyHistogram();
        a.forEach((v) => ha.record(v));
        const back = LatencyHistogram.decode(ha.encode());
        expect(back.summary()).toEqual(ha.summary());
        const hb = new LatencyHistogram();
        b.forEach((v) => hb.record(v));
        const direct = new LatencyHistogram().merge(ha).merge(hb);
        const viaText = LatencyHistogram.decode(ha.encode()).merge(LatencyHistogram.decode(hb.encode()));
        expect(viaText.summary()).toEqual(direct.summary());
      }),
      { numRuns: 40 },
    );
  });
  test('percentiles: 3 significant digits, never beyond the exact min and max', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100_000; v++) h.record(v * 10);
    const s = h.summary();
    expect(s.count).toBe(100_000);
    expect(s.mean).toBe(500_005);
    expect(s.min).toBe(10);
    expect(s.max).toBe(1_000_000);
    expect(Math.abs(s.p50 - 500_000) / 500_000).toBeLessThan(1e-3);
    expect(Math.abs(s.p90 - 900_000) / 900_000).toBeLessThan(1e-3);
    expect(Math.abs(s.p99 - 990_000) / 990_000).toBeLessThan(1e-3);
    expect(Math.abs(s.p999 - 999_000) / 999_000).toBeLessThan(1e-3);
    const one = new LatencyHistogram();
    one.record(123_456_789);
    expect(one.percentile(50)).toBe(123_456_789); // bucket bound capped at the exact max
  });
  test('empty histogram, negatives clamp to 0, bad values and bad encodings throw', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toMatchObject({ count: 0, mean: 0, min: 0, p50: 0, p99: 0, max: 0 });
    expect(LatencyHistogram.decode(h.encode()).count).toBe(0);
    h.record(-5);
    expect(h.min).toBe(0);
    expect(() => h.record(NaN)).toThrow(RangeError);
    expect(() => LatencyHistogram.decode('nope')).toThrow(/cannot decode/);
    const enc = h.encode().split(':');
    enc[1] = '7';
    expect(() => LatencyHistogram.decode(enc.join(':'))).toThrow(/count 7 does not match/);
  });
});

// ---- synthetic trials ----------------------------------------------------------------------

function stats(over: Partial<Record<keyof typeof Stat, number>>): number[] {
  const s = new Array<number>(NR_STATS).fill(0);
  for (const [k, v] of Object.entries(over)) s[Stat[k as keyof typeof Stat]] = v;
  return s;
}
function trial(i: number, failures: Failure[] = [], extra: Partial<TrialResult> = {}): TrialResult {
  return {
    trial: i,
    failures,
    pins: [{ startNs: 1000, endNs: 1000 + 5000 * (i + 1), rc: 1, retries: 0, localDrains: 1, drainAlls: 0, migrateAttempts: 2 }],
    drainAlls: [
      { startNs: 0, endNs: 40_000, mutexWaitNs: 100, cpusQueued: 3, genSkipped: false, forced: false },
      { startNs: 0, endNs: 900, mutexWaitNs: 800, cpusQueued: 0, genSkipped: true, forced: false },
    ],
    stats: stats({
      PIN_CALLS: 2,
      PIN_OK: 1,
      PIN_ENOMEM: 1,
      DRAIN_ALL_LOCAL_PIN: 2,
      DRAIN_ALL_PIN: 1,
      LRU_ADD_DRAIN: 5,
      LRU_ADD_DRAIN_ALL: 2,
      DRAIN_ALL_GEN_SKIP: 1,
      DRAIN_ALL_CPUS_QUEUED: 3,
      MIGRATE_MOVE_ATTEMPT: 6,
      GUP_RETRY: 1,
    }),
    durationNs: 1_000_000,
    ...extra,
  };
}
const enomem = (cpu = 3): Failure => ({
  kind: 'ENOMEM',
  cpu,
  op: 'pin',
  message: 'pin_user_pages: -ENOMEM',
  attribution: ['CPU 7 mlock batch (MLOCK) holds 1 ref'],
});
const invariant = (permittedBy?: string): Failure => ({
  kind: 'invariant',
  cpu: 0,
  invariant: 'I7',
  message: 'mlocked but evictable',
  ...(permittedBy ? { permittedBy } : {}),
  attribution: ['CPU 2 lru_activate batch holds 1 ref'],
});
const emulator: Failure = { kind: 'emulator', cpu: 1, message: 'TypeError: boom' };

function syntheticTrials(): TrialResult[] {
  return [
    trial(0),
    trial(1, [enomem(), enomem(4)]), // one trial, two ENOMEM records
    trial(2, [enomem(), invariant()]),
    trial(3, [invariant('v6.11 permits I7')]), // permitted: not a failure
    trial(4, [emulator]), // emulator error: not a failure
    trial(5, [{ kind: 'watchdog', cpu: 2, message: 'no progress for 2s' }]),
  ];
}

describe('PolicyAggregator', () => {
  test('counts trials (not records) for the rate; permitted findings and emulator errors kept apart', () => {
    const a = aggregateTrials('v6.11', syntheticTrials());
    expect(a.trials).toBe(6);
    expect(a.failures.total).toBe(3); // trials 1, 2, 5
    expect(a.failures.byKind).toEqual({ ENOMEM: 2, pin_error: 0, invariant: 1, watchdog: 1 });
    expect(a.failureRecords).toEqual({ ENOMEM: 3, pin_error: 0, invariant: 1, watchdog: 1 });
    expect(a.rate).toBe(0.5);
    expect(a.ci95).toEqual(wilson(3, 6));
    expect(a.rateByKind.ENOMEM).toEqual({ rate: 2 / 6, ci95: wilson(2, 6) });
    expect(a.attribution.ENOMEM).toEqual({ 'CPU 7 mlock batch (MLOCK) holds 1 ref': 3 });
    expect(a.attribution.invariant).toEqual({ 'CPU 2 lru_activate batch holds 1 ref': 1 });
    expect(a.permitted).toMatchObject({ trials: 1, records: 1, byInvariant: { I7: 1 }, attribution: { 'CPU 2 lru_activate batch holds 1 ref': 1 } });
    expect(a.permitted.examples[0]).toMatchObject({ trial: 3, permittedBy: 'v6.11 permits I7' });
    expect(a.emulatorErrors).toMatchObject({ trials: 1, records: 1 });
    expect(a.emulatorErrors.examples[0]!.message).toBe('TypeError: boom');
    expect(a.examples.ENOMEM.map((e) => [e.trial, e.cpu])).toEqual([
      [1, 3],
      [1, 4],
      [2, 3],
    ]);
    expect(a.examples.watchdog[0]!.message).toBe('no progress for 2s');
    expect(trialFailed(syntheticTrials()[3]!)).toBe(false);
    expect(trialFailed(syntheticTrials()[4]!)).toBe(false);
    expect(trialFailed(syntheticTrials()[5]!)).toBe(true);
    expect(sawFailureKind(a, 'ENOMEM')).toBe(2);
    expect(sawFailureKind(a, 'pin_error')).toBe(0);
    expect(sawFailureKind(a, 'permitted')).toBe(1);
    expect(sawFailureKind(a, 'emulator')).toBe(1);
    expect(sawFailureKind(a, 'any')).toBeGreaterThan(0);
  });
  test('per-pin and per-drain-all ratios come from the summed counters', () => {
    const a = aggregateTrials('merged', syntheticTrials());
    expect(a.pins).toEqual({ calls: 12, ok: 6, enomem: 6, otherErr: 0, retries: 6, recorded: 6 });
    expect(a.drainsPerPin).toEqual({ local: 1, all: 0.5 });
    expect(a.drains).toMatchObject({ lruAddDrain: 30, lruAddDrainAll: 12, genSkips: 6, cpusQueued: 18, localFromPin: 12, allFromPin: 6 });
    expect(a.cpusQueuedPerDrainAll).toBe(3); // 18 queued / (12 calls - 6 generation skips)
    expect(a.genSkipsPerDrainAll).toBe(0.5);
    expect(a.migrationAttemptsPerPin).toBe(3);
    expect(a.stats['PIN_CALLS']).toBe(12);
    expect(a.pinLatencyNs.count).toBe(6);
    expect(a.pinLatencyNs.min).toBe(5000);
    expect(a.pinLatencyNs.max).toBe(30_000);
    expect(a.drainAllLatencyNs.count).toBe(6); // generation skips are not drain-all latencies
    expect(a.drainAllLatencyNs.max).toBe(40_000);
    expect(a.drainAllMutexWaitNs.count).toBe(12);
    expect(a.trialDurationNs.mean).toBe(1_000_000);
  });
  test('no trials / no pins: ratios are null, rate 0 with [0, 1]', () => {
    const a = new PolicyAggregator('v6.10').toJSON();
    expect(a.rate).toBe(0);
    expect(a.ci95).toEqual([0, 1]);
    expect(a.drainsPerPin).toEqual({ local: null, all: null });
    expect(a.cpusQueuedPerDrainAll).toBeNull();
    expect(a.migrationAttemptsPerPin).toBeNull();
    const b = aggregateTrials('v6.10', [trial(0, [], { stats: stats({}), pins: [], drainAlls: [] })]);
    expect(b.drainsPerPin.local).toBeNull();
    expect(b.pinLatencyNs.count).toBe(0);
  });
  test('merge of shards equals one aggregator over all trials; fromJSON round trips', () => {
    const ts = syntheticTrials();
    const whole = new PolicyAggregator('v6.11');
    ts.forEach((t) => whole.add(t));
    const s1 = new PolicyAggregator('v6.11');
    const s2 = new PolicyAggregator('v6.11');
    ts.slice(0, 2).forEach((t) => s1.add(t));
    ts.slice(2).forEach((t) => s2.add(t));
    const viaJson = PolicyAggregator.fromJSON(s1.toJSON()).merge(PolicyAggregator.fromJSON(JSON.parse(JSON.stringify(s2.toJSON()))));
    expect(viaJson.toJSON()).toEqual(whole.toJSON());
    expect(s1.merge(s2).toJSON()).toEqual(whole.toJSON());
    expect(() => new PolicyAggregator('a').merge(new PolicyAggregator('b'))).toThrow(/cannot merge/);
  });
  test('attribution keeps at most MAX_ATTRIBUTION_KEYS distinct holders, the rest under (other)', () => {
    const g = new PolicyAggregator('v6.11');
    for (let i = 0; i < MAX_ATTRIBUTION_KEYS + 10; i++) g.add(trial(i, [{ ...enomem(), attribution: [`holder ${i}`] }]));
    const a = g.toJSON();
    expect(Object.keys(a.attribution.ENOMEM)).toHaveLength(MAX_ATTRIBUTION_KEYS + 1);
    expect(a.attribution.ENOMEM[OTHER_ATTRIBUTION]).toBe(10);
    expect(a.examples.ENOMEM).toHaveLength(3);
  });
  test('property: rate and interval agree with failures.total for any mix of trials', () => {
    const kinds = fc.constantFrom<Failure['kind']>('ENOMEM', 'pin_error', 'invariant', 'watchdog', 'emulator');
    const fail = fc.record({ kind: kinds, permitted: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.array(fail, { maxLength: 3 }), { minLength: 1, maxLength: 40 }), (spec) => {
        const ts = spec.map((fs, i) =>
          trial(
            i,
            fs.map((f) => ({ kind: f.kind, cpu: 0, message: 'x', ...(f.permitted && f.kind !== 'emulator' ? { permittedBy: 'p' } : {}) })),
          ),
        );
        const a = aggregateTrials('p', ts);
        const failing = ts.filter(trialFailed).length;
        expect(a.failures.total).toBe(failing);
        expect(a.rate).toBe(failing / ts.length);
        expect(a.ci95).toEqual(wilson(failing, ts.length));
        expect(a.failures.total).toBeLessThanOrEqual(Object.values(a.failures.byKind).reduce((x, y) => x + y, 0));
      }),
      { numRuns: 50 },
    );
  });
});

describe('stress JSON', () => {
  const doc = () =>
    buildStressDoc({
      scenario: { name: 'S1', source: 'S1', description: "Will's pKVM sequence", definition: { id: 'S1', cpus: 8 } },
      cpus: 8,
      trials: 6,
      seed: 42,
      policies: [getPolicy('v6.11'), getPolicy('merged')],
      failOn: ['ENOMEM'],
      results: [aggregateTrials('v6.11', syntheticTrials()), aggregateTrials('merged', [trial(0)])],
      aborted: false,
      startedAt: new Date(Date.now() - 1500),
    });
  test('the document holds the required fields and re-validates after a write and a read', async () => {
    const d = doc();
    expect(d.tool).toMatchObject({ name: 'folio-race' });
    expect(d.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(d.params).toMatchObject({ cpus: 8, trials: 6, seed: 42, mode: 'free-run' });
    expect(d.params.policies.map((p) => p.id)).toEqual(['v6.11', 'merged']);
    expect(d.host.cores).toBeGreaterThan(0);
    expect(d.host.node).toBe(process.version);
    expect(d.results[0]).toMatchObject({
      policy: 'v6.11',
      trials: 6,
      failures: { total: 3 },
      rate: 0.5,
      drainsPerPin: { local: 1, all: 0.5 },
      cpusQueuedPerDrainAll: 3,
    });
    expect(d.elapsedMs).toBeGreaterThanOrEqual(1500);
    const path = join(tmp, 'out.json');
    await writeStressDoc(path, d);
    const back = parseStressDoc(readFileSync(path, 'utf8'));
    expect(back).toEqual(d);
    // histograms survive the trip exactly
    expect(LatencyHistogram.decode(back.results[0]!.pinLatencyNs.hdr).summary()).toEqual(d.results[0]!.pinLatencyNs);
    expect(stringifyStressDoc(back)).toBe(readFileSync(path, 'utf8'));
  });
  test('invalid documents are rejected with the JSON path of every problem', () => {
    const d = JSON.parse(JSON.stringify(doc()));
    d.results[0].rate = 2;
    d.results[1].ci95 = [0.5, 0.1];
    d.params.cpus = 65;
    delete d.host;
    d.extra = 1;
    let msg = '';
    try {
      validateStressDoc(d);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/results\.0\.rate/);
    expect(msg).toMatch(/results\.1\.ci95/);
    expect(msg).toMatch(/params\.cpus/);
    expect(msg).toMatch(/host/);
    expect(msg).toMatch(/extra/);
  });
  test('every policy serialises its switches', () => {
    const d = buildStressDoc({
      scenario: { name: 'x', source: 'x.yaml' },
      cpus: 1,
      trials: 1,
      seed: 0,
      policies: POLICIES,
      results: [],
      aborted: true,
      startedAt: new Date(),
    });
    expect(d.params.policies).toHaveLength(POLICIES.length);
    expect(d.params.policies[0]!.switches).toHaveProperty('batchCapacity');
  });
});

describe('table and progress', () => {
  test('formatting helpers', () => {
    expect(formatNs(850)).toBe('850ns');
    expect(formatNs(12_345)).toBe('12.3us');
    expect(formatNs(4_560_000)).toBe('4.56ms');
    expect(formatNs(1_234_000_000)).toBe('1.23s');
    expect(formatPct(0.5)).toBe('50.0%');
    expect(formatPct(0.0123)).toBe('1.23%');
    expect(formatPct(0.00012)).toBe('0.012%');
    expect(formatPct(0)).toBe('0%');
  });
  test("deterministic mode: the pin columns are starred and a note says they are the scheduler's clock", () => {
    const aggs = [aggregateTrials('v6.11', syntheticTrials())];
    const lines = renderSummaryTable(aggs, { schedulerClock: { tickNs: 100 } }).split('\n');
    expect(lines[0]).toMatch(/\s+pin p50\*\s+pin p99\*$/);
    expect(lines.at(-1)).toMatch(
      /^\* deterministic mode: on the scheduler's clock \(100 ns a decision plus the scenario's delays and hogs\), not what the kernel work costs/,
    );
    expect(lines[2]!.length).toBeLessThanOrEqual(lines[0]!.length);
    expect(renderSummaryTable(aggs)).not.toContain('*');
  });
  test('one aligned row per policy, "-" where a ratio is undefined, colour only when asked', () => {
    const aggs = [aggregateTrials('v6.11', syntheticTrials()), new PolicyAggregator('hugh-portmanteau').toJSON()];
    const t = renderSummaryTable(aggs);
    const lines = t.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^policy\s+trials\s+fail\s+rate\s+95% CI\s+drains\/pin local\s+all\s+CPUs\/drain-all\s+migr\/pin\s+pin p50\s+pin p99$/);
    expect(lines[2]).toMatch(/^v6\.11\s+6\s+3\s+50\.0%\s+\[18\.8%, 81\.2%\]\s+1\.00\s+0\.50\s+3\.00\s+3\.00\s+\S+us\s+\S+us$/);
    expect(lines[3]).toMatch(/^hugh-portmanteau\s+0\s+0\s+0%\s+\[0%, 100\.0%\]\s+-\s+-\s+-\s+-\s+-\s+-$/);
    // right-aligned numeric columns end under the end of their heading on every row
    for (const head of ['trials', 'fail', 'migr/pin']) {
      const col = lines[0]!.indexOf(head) + head.length;
      for (const row of [lines[2]!, lines[3]!]) {
        expect(row[col - 1]).toMatch(/[\d-]/);
        expect(row[col] ?? ' ').toBe(' ');
      }
    }
    expect(t).not.toMatch(/\u001b/);
    expect(renderSummaryTable(aggs, { color: true })).toMatch(/\u001b\[31m/);
    const det = renderDetails(aggs);
    expect(det).toMatch(/v6\.11:\n {2}ENOMEM: 2 trials \(3 failures\)/);
    expect(det).toMatch(/ {5}3 {2}CPU 7 mlock batch \(MLOCK\) holds 1 ref/);
    expect(det).toMatch(/permitted by this policy.*I7 x1/);
    expect(det).toMatch(/EMULATOR ERRORS.*1 trial/);
    expect(det).not.toMatch(/hugh-portmanteau/);
    expect(renderDetails([new PolicyAggregator('x').toJSON()])).toBe('');
  });
  test('plain progress: at most one line per interval, only when something changed', () => {
    const sched = new VirtualTimeScheduler();
    const out: string[] = [];
    const p = new StressProgress({ total: 12, stream: { write: (s: string) => out.push(s), isTTY: false }, plainEveryMs: 5000, scheduler: sched });
    p.policy('v6.11');
    syntheticTrials().forEach((t) => p.trial(t));
    expect(out).toHaveLength(0);
    sched.flush(); // the 5 s window closes: one line with the state at its end
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^stress: 6\/12 trials \(50%\).*v6\.11: 6 done, 3 failed \(50\.0%\)\n$/);
    sched.flush();
    expect(out).toHaveLength(1);
    p.policy('merged');
    p.trial(trial(0));
    p.stop();
    expect(p.state).toMatchObject({ done: 7, failed: 3, policy: 'merged', policyDone: 1, policyFailed: 0 });
    sched.flush();
    expect(out).toHaveLength(1); // stopped: nothing more is written
    expect(progressLine(p.state, 2000)).toMatch(/7\/12 trials \(58%\), 2s; merged: 1 done, 0 failed \(0%\)/);
  });
  test('progress from running totals (trials on worker threads): each total replaces the last since the label', () => {
    const p = new StressProgress({ total: 20, stream: { write: () => 0, isTTY: false }, scheduler: new VirtualTimeScheduler() });
    p.policy('v6.11');
    p.trial(trial(1));
    p.policy('2 threads');
    p.trials(4, 1);
    p.trials(9, 2);
    expect(p.state).toMatchObject({ done: 10, failed: 2, policy: '2 threads', policyDone: 9, policyFailed: 2 });
    // A study cell that ran 1 of its 10 trials (the others would repeat it): the total shrinks.
    p.fewer(9);
    expect(progressLine(p.state, 1000)).toMatch(/^stress: 10\/11 trials \(90%\)/);
    p.stop();
  });
});

describe('study tables', () => {
  test('durations scale their unit; no data is "-"', async () => {
    const { formatDuration } = await import('../src/report/study_table.js');
    expect(formatDuration(850)).toBe('850ns');
    expect(formatDuration(12_300)).toBe('12.3µs');
    expect(formatDuration(4_560_000)).toBe('4.56ms');
    expect(formatDuration(1.2e9)).toBe('1.20s');
    expect(formatDuration(null)).toBe('-');
  });
  test('columns line up whatever the cell labels, and deterministic studies say their time is logical', async () => {
    const { studyTable } = await import('../src/report/study_table.js');
    const { aggregateTrials } = await import('../src/stats/aggregate.js');
    const a = aggregateTrials('p', []);
    const t = studyTable(['a', 'a much longer cell label'], 'logical time in steps (the deterministic runtime), not this host');
    expect(t.header).toContain('logical time');
    const rows = [t.row('a', a), t.row('a much longer cell label', a)];
    expect(rows[0]!.length).toBe(rows[1]!.length);
    expect(t.header.split('\n')[1]!.length).toBe(rows[0]!.length);
    expect(rows[0]).toContain(' - ');
  });
});

test('study progress lines name themselves', async () => {
  const { progressLine } = await import('../src/report/progress.js');
  const line = progressLine({ total: 400, done: 100, failed: 3, policy: 'cpus=2 mech=ipi', policyDone: 20, policyFailed: 1 }, 5000, 'study');
  expect(line).toBe('study: 100/400 trials (25%), 5s; cpus=2 mech=ipi: 20 done, 1 failed (5.00%)\n');
});
