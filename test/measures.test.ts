// The declared measures (a scenario's `measure` list) as stress, run and affected print them: the
// aggregator counts the trials in which each counter moved (the k of a per-trial yes/no rate), the
// figures come from the summed counters, and a scenario without a pin gets its measures per
// release range instead of a pin verdict.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { NR_STATS, Stat } from '../src/mm/layout.js';
import { parseStressDoc } from '../src/report/json.js';
import { measureFigures, renderMeasures } from '../src/report/measures.js';
import { PolicyAggregator, aggregateTrials, type PolicyAggregate } from '../src/stats/aggregate.js';
import { wilson } from '../src/stats/wilson.js';
import type { TrialResult } from '../src/trial/result.js';
import { loadScenario } from '../src/scenario/load.js';
import { scenarioPins } from '../src/scenario/has_pin.js';
import { cli } from './helpers/cli.js';

vi.setConfig({ testTimeout: 90_000 });
const dir = mkdtempSync(join(tmpdir(), 'folio-race-measures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trial(i: number, over: Partial<Record<keyof typeof Stat, number>>): TrialResult {
  const stats = new Array<number>(NR_STATS).fill(0);
  for (const [k, v] of Object.entries(over)) stats[Stat[k as keyof typeof Stat]] = v;
  return { trial: i, failures: [], pins: [], drainAlls: [], stats, durationNs: 1000 };
}

describe('per-trial counts of each counter', () => {
  const ts = [trial(0, { COW_COPY: 1 }), trial(1, { COW_REUSE: 1 }), trial(2, { COW_COPY: 2 }), trial(3, {})];
  test('statTrials counts the trials in which a counter moved, not its sum; merges and round trips exactly', () => {
    const a = aggregateTrials('p', ts);
    expect(a.stats.COW_COPY).toBe(3);
    expect(a.statTrials!.COW_COPY).toBe(2);
    expect(a.statTrials!.COW_REUSE).toBe(1);
    const s1 = new PolicyAggregator('p');
    const s2 = new PolicyAggregator('p');
    ts.slice(0, 1).forEach((t) => s1.add(t));
    ts.slice(1).forEach((t) => s2.add(t));
    expect(
      PolicyAggregator.fromJSON(s1.toJSON())
        .merge(PolicyAggregator.fromJSON(JSON.parse(JSON.stringify(s2.toJSON()))))
        .toJSON(),
    ).toEqual(a);
  });
  test('an aggregate from before statTrials existed: merged without it, the counts are not written (no false zeros)', () => {
    const { statTrials: _, ...old } = aggregateTrials('p', ts);
    const g = PolicyAggregator.fromJSON(old as PolicyAggregate).merge(PolicyAggregator.fromJSON(aggregateTrials('p', ts)));
    expect(g.toJSON().statTrials).toBeUndefined();
    const f = measureFigures(['cow'], g.toJSON());
    expect(f[0]).toMatchObject({ counter: 'COW_COPY', total: 6, perTrial: 0.75 });
    expect(f[0]!.rate).toBeUndefined();
  });
});

describe('measure figures', () => {
  test('a counter: total, per-trial mean, trials in which it moved with the Wilson interval', () => {
    const a = aggregateTrials('p', [trial(0, { COW_COPY: 1 }), trial(1, { COW_REUSE: 1 }), trial(2, { COW_COPY: 1 })]);
    const [copy, reuse] = measureFigures(['cow'], a);
    expect(copy).toEqual({
      measure: 'cow',
      counter: 'COW_COPY',
      total: 2,
      perTrial: 2 / 3,
      rate: { k: 2, n: 3, of: 'trials', rate: 2 / 3, ci95: wilson(2, 3) },
    });
    expect(reuse!.rate!.k).toBe(1);
  });
  test('pin_success_rate adds PIN_OK of PIN_CALLS; invariants count violating trials; end states are not aggregated', () => {
    const a = aggregateTrials('p', [trial(0, { PIN_CALLS: 3, PIN_OK: 2 })]);
    const f = measureFigures(['pin_success_rate', 'invariants', 'ledger'], a);
    expect(f.map((x) => x.counter)).toEqual(['PIN_CALLS', 'PIN_OK', 'PIN_OK/PIN_CALLS', 'violations', '-']);
    expect(f[2]!.rate).toMatchObject({ k: 2, n: 3, of: 'pin calls' });
    expect(f[4]).toMatchObject({ measure: 'ledger', total: null });
  });
  test('the table: what each measure counts, one row per policy and counter, end states in a note', () => {
    const t = renderMeasures(['lru_moves', 'batch_occupancy'], [aggregateTrials('v6.11', [trial(0, { PGROTATED: 1 }), trial(1, {})])]);
    expect(t).toMatch(/^ {2}lru_moves: PGACTIVATE, PGDEACTIVATE/m);
    expect(t).toMatch(/^v6\.11\s+lru_moves\s+PGROTATED\s+1\s+0\.50\s+1\/2 trials 50\.0% \[9\.45%, 90\.5%\]$/m);
    expect(t).toMatch(/^batch_occupancy: an end-of-trial state/m);
    expect(renderMeasures([], [])).toBe('');
  });
  test('which scenarios pin', async () => {
    for (const id of ['S3', 'S3b', 'S4', 'S4b', 'S4c', 'S7', 'S7b']) expect(scenarioPins(await loadScenario(id)), id).toBe(false);
    for (const id of ['S1', 'S2', 'S5']) expect(scenarioPins(await loadScenario(id)), id).toBe(true);
  });
});

describe('the commands print the declared measures', () => {
  test.concurrent('stress: the COW result of S4 per policy, the same figures as the JSON', async ({ expect }) => {
    const r = await cli(
      'stress',
      'S4',
      '--policy',
      'v6.11,no-mlock-batching',
      '--mode',
      'deterministic',
      '--trials',
      '10',
      '--seed',
      '1',
      '--no-progress',
      '--json',
      '-',
    );
    expect(r.code).toBe(0);
    const doc = parseStressDoc(r.out);
    expect(r.err).toMatch(/^Declared measures/m);
    expect(r.err).toMatch(/^ {2}cow: write-protect faults that copied vs reused the anon folio$/m);
    for (const a of doc.results)
      for (const c of ['COW_COPY', 'COW_REUSE']) {
        const k = a.statTrials![c]!;
        const line = new RegExp(`^${a.policy.replace(/\./g, '\\.')}\\s+cow\\s+${c}\\s+${a.stats[c]}\\s+\\S+\\s+${k}/10 trials `, 'm');
        expect(r.err).toMatch(line);
      }
    expect(r.err).toMatch(/^folio_state, ledger: end-of-trial states, not aggregated/m);
  });
  test.concurrent('stress of a scenario that pins: its main table is the result, the measures only with --measures', async ({ expect }) => {
    const args = ['stress', 'S1', '--policy', 'v6.11', '--mode', 'deterministic', '--trials', '5', '--seed', '1', '--no-progress'];
    const plain = await cli(...args);
    expect(plain.code).toBe(0);
    expect(plain.out).not.toMatch(/Declared measures/);
    const asked = await cli(...args, '--measures');
    expect(asked.code).toBe(0);
    expect(asked.out).toMatch(/^v6\.11\s+pin_errors\s+PIN_ENOMEM\s+5\s+1\.00\s+5\/5 trials /m);
  });
  test.concurrent('run: the measures of the one trial, and the batch occupancy S3 declares', async ({ expect }) => {
    const r = await cli('run', 'S3', '--seed', '1');
    expect(r.code).toBe(0);
    // One trial: each counter's value, no interval (which says nothing at n = 1).
    expect(r.out).toMatch(/^lru_moves\s+PGROTATED\s+\d+\s*$/m);
    expect(r.out).toMatch(/^lru_ops_dropped\s+LRU_OP_DROPPED\s+\d+/m);
    expect(r.out).not.toMatch(/\[\d+(\.\d+)?%, /);
    expect(r.out).toMatch(/^Batch occupancy at the end:\n {2}(CPU \d+: \d+ entr|every CPU batch empty)/m);
    const s4 = await cli('run', 'S4', '--seed', '1');
    expect(s4.out).toMatch(/^cow\s+COW_COPY\s+1\s*$/m);
    expect(s4.out).not.toMatch(/Batch occupancy/);
  });
  test.concurrent('affected: a scenario without a pin gets its measures per range, no pin verdict', async ({ expect }) => {
    const r = await cli('affected', 'S4', '--kernel', '6.1.y', '--trials', '10', '--json', join(dir, 's4.json'));
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/not seen|FAILS|local\/pin/);
    expect(r.out).toMatch(/^line\s+releases\s+fail\/trials\s+rate \[95% CI\]\s+COW_COPY\s+COW_REUSE\s+violations$/m);
    expect(r.out).toMatch(/^S4 has no pin \(no pin op in its steps\), so there is no pin verdict/m);
    const doc = JSON.parse(readFileSync(join(dir, 's4.json'), 'utf8')) as {
      pin: boolean;
      measure: string[];
      rows: { range: string; trials: number; measures: { counter: string; total: number | null; rate?: { k: number } }[] }[];
    };
    expect(doc.pin).toBe(false);
    expect(doc.measure).toEqual(['cow', 'folio_state', 'ledger', 'invariants']);
    expect(doc.rows.length).toBeGreaterThan(1);
    for (const row of doc.rows) {
      const copy = row.measures.find((m) => m.counter === 'COW_COPY')!;
      const reuse = row.measures.find((m) => m.counter === 'COW_REUSE')!;
      // One write-protect fault per trial: it copied or reused, from the emulated kernel's counters.
      expect(copy.total! + reuse.total!).toBe(row.trials);
      expect(r.out).toMatch(new RegExp(`${row.range.replace(/[.+]/g, '\\$&')}\\s+0/10\\s+\\S+ \\[\\S+, \\S+\\]\\s+\\S+/trial, ${copy.rate!.k}/10 \\[`));
    }
  });
});
