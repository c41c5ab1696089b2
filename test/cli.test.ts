// The command line. Bad input is checked on the real binary (spawned under tsx): exit 2, one
// `folio-race: <message>` line naming the flag and the value, nothing on stdout, and the process
// ends by itself (a worker left running would keep it alive until the spawn timeout kills it). The stress
// flow (progress, table, JSON, --fail-on) runs in-process against a stand-in runtime.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import type { Failure, TrialResult } from '../src/trial/result.js';
import { NR_STATS, Stat } from '../src/mm/layout.js';
import { PolicyAggregator } from '../src/stats/aggregate.js';
import type { StressOptions, StressOutcome } from '../src/cli/modules.js';
import { cli } from './helpers/cli.js';

// ---- spawned binary --------------------------------------------------------------------------

vi.setConfig({ testTimeout: 60_000 });

describe('bad usage and input: exit 2 with a message', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown command', ['frobnicate'], /^folio-race: unknown command 'frobnicate'/],
    ['unknown flag', ['stress', 'S1', '--policy', 'all', '--bogus'], /^folio-race: unknown option '--bogus'/],
    ['--cpus 0', ['stress', 'S1', '--policy', 'all', '--cpus', '0'], /^folio-race: --cpus: expected an integer from 1 to 64, got 0$/m],
    ['--cpus 65', ['stress', 'S1', '--policy', 'all', '--cpus', '65'], /^folio-race: --cpus: expected an integer from 1 to 64, got 65$/m],
    ['--cpus 4x', ['stress', 'S1', '--policy', 'all', '--cpus', '4x'], /^folio-race: --cpus: expected an integer from 1 to 64, got 4x$/m],
    ['--trials -1', ['stress', 'S1', '--policy', 'all', '--trials', '-1'], /^folio-race: --trials: expected an integer from 1 to \d+, got -1$/m],
    ['--trials 0', ['stress', 'S1', '--policy', 'all', '--trials', '0'], /^folio-race: --trials: expected an integer from 1 to \d+, got 0$/m],
    ['--seed abc', ['stress', 'S1', '--policy', 'all', '--seed', 'abc'], /^folio-race: --seed: expected an integer from 0 to 4294967295, got abc$/m],
    ['unknown policy', ['stress', 'S1', '--policy', 'v6.11,nope'], /^folio-race: --policy: unknown policy 'nope' \(known: v6\.10, v6\.11, .*merged.*\)$/m],
    ['missing --policy', ['stress', 'S1'], /^folio-race: required option '--policy <spec>' \(or --kernel <versions>\) not specified/],
    [
      '--fail-on bogus',
      ['stress', 'S1', '--policy', 'all', '--fail-on', 'ENOMEM,bogus'],
      /^folio-race: --fail-on: unknown failure kind 'bogus' \(known: ENOMEM, .*any\)$/m,
    ],
    [
      '--json into a missing directory',
      ['stress', 'S1', '--policy', 'all', '--json', '/nonexistent-dir/x.json'],
      /^folio-race: --json: directory '\/nonexistent-dir' does not exist$/m,
    ],
    ['missing argument', ['explain'], /^folio-race: missing required argument 'scenario'/],
    ['excess argument', ['policies', 'extra'], /^folio-race: too many arguments/],
    [
      'mistyped study',
      ['study', 'drain-latncy'],
      /^folio-race: study: no study 'drain-latncy' \(known: drain-latency, pin-storm, race-window; none for the default study\)$/m,
    ],
    ['run with two policies', ['run', 'S1', '--policy', 'v6.11,merged'], /^folio-race: --policy: run takes exactly one policy/m],
  ];
  // Concurrent: each spawn starts node with tsx, about a second each.
  test.concurrent.for(cases)('%s', async ([, args, message], { expect }) => {
    const r = await cli(...args);
    expect(r.signal).toBeNull();
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  test.concurrent('unknown scenario lists the built-in ids; too few CPUs for the scenario names --cpus', async ({ expect }) => {
    const r = await cli('explain', 'S999');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^folio-race: S999: .*expected a built-in scenario id \(S1.*\)/);
    const c = await cli('stress', 'S1', '--policy', 'v6.11', '--cpus', '1', '--trials', '1');
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/cpus.*raise --cpus/);
  });

  test.concurrent('no command: help on stderr, exit 2', async ({ expect }) => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Usage: folio-race/);
  });
});

describe('commands that need no runtime', () => {
  test.concurrent('--help exits 0 (binary)', async ({ expect }) => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^Usage: folio-race/);
    expect(top.out).toMatch(/Exit codes: 0 done; 1 --fail-on/);
  });
  test.concurrent('policies: every id with the switches that differ from v6.11', async ({ expect }) => {
    const r = await cli('policies');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^v6\.11 .*baseline/m);
    expect(r.out).toMatch(/switches: \(none: this is the baseline\)/);
    expect(r.out).toMatch(/^merged .*\n.*\n\s+switches: lruClearOnQueue=false gupPreLocalDrain=onMismatch gupDrainRule=refNeExpectedPlus1 gupSkipLarge=true$/m);
    const j = JSON.parse((await cli('policies', '--json')).out) as {
      switches: { name: string; values: unknown; meaning: string }[];
      policies: { id: string; delta: object }[];
    };
    expect(j.policies.find((p) => p.id === 'v6.8')!.delta).toEqual({
      batchCapacity: 15,
      lruClearOnQueue: false,
      deactivateFileChecksLru: false,
      tlbFreeDrains: true,
      migrateEarlyRefCheck: false,
    });
    // The switch schema: every switch with its values and a line of meaning.
    expect(j.switches.find((x) => x.name === 'migrateStyle')!.values).toEqual(['passes10', 'batched']);
    expect(j.switches.find((x) => x.name === 'batchCapacity')!.values).toEqual({ min: 1, max: 31 });
    for (const x of j.switches) expect(x.meaning.length).toBeGreaterThan(10);
  });
  test.concurrent('list shows the built-in scenarios', async ({ expect }) => {
    const r = await cli('list');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^S1\s+Will's/m);
    expect(r.out).toMatch(/^S12\s+\S/m);
  });
});

// ---- in-process stress flow with a stand-in runtime ----------------------------------------

const calls: StressOptions[] = [];
function fakeTrial(i: number, policy: string): TrialResult {
  const stats = new Array<number>(NR_STATS).fill(0);
  stats[Stat.PIN_CALLS] = 1;
  stats[Stat.DRAIN_ALL_PIN] = policy === 'merged' ? 1 : 0;
  stats[Stat.LRU_ADD_DRAIN_ALL] = stats[Stat.DRAIN_ALL_PIN]!;
  stats[Stat.DRAIN_ALL_CPUS_QUEUED] = policy === 'merged' ? 2 : 0;
  stats[Stat.MIGRATE_MOVE_ATTEMPT] = 1;
  const failures: Failure[] =
    policy === 'v6.11' && i % 2 === 0
      ? [{ kind: 'ENOMEM', cpu: 3, message: 'pin_user_pages: -ENOMEM', attribution: ['CPU 7 mlock batch (MLOCK) holds 1 ref'] }]
      : [];
  return {
    trial: i,
    failures,
    pins: [{ startNs: 0, endNs: 20_000 + i, rc: failures.length ? -12 : 1, retries: 0, localDrains: 0, drainAlls: 0, migrateAttempts: 1 }],
    drainAlls: [],
    stats,
    durationNs: 50_000,
  };
}
async function fakeRunStress(o: StressOptions): Promise<StressOutcome> {
  calls.push(o);
  const g = new PolicyAggregator(o.policy.id);
  for (let i = 0; i < o.trials; i++) {
    const r = fakeTrial(i, o.policy.id);
    g.add(r);
    o.onTrial?.(r);
  }
  return { aggregate: g.toJSON(), aborted: false };
}
vi.mock('../src/cli/modules.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../src/cli/modules.js')>();
  return { ...orig, loadRunStress: async () => fakeRunStress, shutdownAll: async () => {} };
});

const tmp = mkdtempSync(join(tmpdir(), 'folio-race-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function inProcess(...args: string[]) {
  const { buildProgram } = await import('../src/cli/main.js');
  const { runTopLevel } = await import('../src/cli/errors.js');
  const out: string[] = [];
  const err: string[] = [];
  const ctx = { out: { write: (s: string) => out.push(s), isTTY: false }, err: { write: (s: string) => err.push(s), isTTY: false }, exitCode: 0, env: {} };
  const saved = process.exitCode;
  const code = await runTopLevel(
    async () => {
      await buildProgram(ctx).parseAsync(['node', 'folio-race', ...args]);
      return ctx.exitCode;
    },
    async () => {},
    ctx.err,
  );
  process.exitCode = saved;
  return { code, out: out.join(''), err: err.join('') };
}

describe('stress (stand-in runtime)', () => {
  test('table, JSON file that re-validates, same seed for every policy', async () => {
    calls.length = 0;
    const path = join(tmp, 's1.json');
    const r = await inProcess('stress', 'S1', '--policy', 'v6.11,merged', '--cpus', '8', '--trials', '10', '--seed', '7', '--json', path);
    expect(r.code).toBe(0);
    expect(calls.map((c) => [c.policy.id, c.cpus, c.trials, c.seed])).toEqual([
      ['v6.11', 8, 10, 7],
      ['merged', 8, 10, 7],
    ]);
    expect(calls[0]!.scenario.id).toBe('S1');
    expect(r.err).toMatch(/^folio-race stress: S1 .*2 policies x 10 trials on 8 CPUs; seed 7\n/);
    expect(r.out).toMatch(/^v6\.11\s+10\s+5\s+50\.0%\s+\[23\.7%, 76\.3%\]\s+0\s+0\s+-\s+1\.00\s+20\.0us\s+20\.0us$/m);
    expect(r.out).toMatch(/^merged\s+10\s+0\s+0%\s+\[0%, 27\.8%\]\s+0\s+1\.00\s+2\.00\s+1\.00/m);
    expect(r.out).toMatch(/ENOMEM: 5 trials \(5 failures\)[^\n]*\n\s+5 {2}CPU 7 mlock batch \(MLOCK\) holds 1 ref/);
    const { parseStressDoc } = await import('../src/report/json.js');
    const doc = parseStressDoc(readFileSync(path, 'utf8'));
    expect(doc.scenario).toMatchObject({ name: 'S1', source: 'S1' });
    expect(doc.params).toMatchObject({ cpus: 8, trials: 10, seed: 7, mode: 'free-run', failOn: [] });
    expect(doc.results.map((a) => [a.policy, a.failures.total, a.failures.byKind.ENOMEM])).toEqual([
      ['v6.11', 5, 5],
      ['merged', 0, 0],
    ]);
    expect(doc.results[1]!.drainsPerPin).toEqual({ local: 0, all: 1 });
    expect(doc.results[1]!.cpusQueuedPerDrainAll).toBe(2);
  });
  test('--fail-on ENOMEM exits 1 when an ENOMEM occurred, 0 when none did', async () => {
    const hit = await inProcess('stress', 'S1', '--policy', 'v6.11', '--cpus', '8', '--trials', '4', '--seed', '1', '--fail-on', 'enomem', '--no-progress');
    expect(hit.code).toBe(1);
    expect(hit.err).toMatch(/^folio-race: --fail-on ENOMEM: v6\.11 2 trials$/m);
    const miss = await inProcess('stress', 'S1', '--policy', 'merged', '--cpus', '8', '--trials', '4', '--seed', '1', '--fail-on', 'ENOMEM,watchdog');
    expect(miss.code).toBe(0);
    const any = await inProcess('stress', 'S1', '--policy', 'merged', '--cpus', '8', '--trials', '4', '--seed', '1', '--fail-on', 'any');
    expect(any.code).toBe(0);
  });
  test('--json - writes the document to stdout and the table to stderr', async () => {
    const r = await inProcess('stress', 'S1', '--policy', 'v6.10', '--cpus', '8', '--trials', '3', '--seed', '2', '--json', '-');
    expect(r.code).toBe(0);
    const { parseStressDoc } = await import('../src/report/json.js');
    expect(parseStressDoc(r.out).results[0]!.policy).toBe('v6.10');
    expect(r.err).toMatch(/^v6\.10\s+3\s+0/m);
  });
  test('--help on every command exits 0', async () => {
    for (const c of ['list', 'explain', 'policies', 'stress', 'run', 'demo', 'study']) {
      const r = await inProcess(c, '--help');
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(new RegExp(`^Usage: folio-race ${c}`));
    }
    const s = await inProcess('stress', '--help');
    for (const flag of ['--policy', '--cpus', '--trials', '--seed', '--json', '--fail-on']) expect(s.out).toContain(flag);
  });
  test('study = S1 under every policy', async () => {
    calls.length = 0;
    const { POLICIES } = await import('../src/mm/policy.js');
    const r = await inProcess('study', '--trials', '2', '--cpus', '8', '--seed', '3');
    expect(r.code).toBe(0);
    expect(calls.map((c) => c.policy.id)).toEqual(POLICIES.map((p) => p.id));
    expect(new Set(calls.map((c) => c.scenario.id))).toEqual(new Set(['S1']));
  });
  test('an internal error exits 3 with one message', async () => {
    const { runTopLevel } = await import('../src/cli/errors.js');
    const err: string[] = [];
    const saved = process.exitCode;
    const code = await runTopLevel(
      async () => {
        throw new Error('kaput');
      },
      async () => {},
      { write: (s: string) => err.push(s) },
    );
    process.exitCode = saved;
    expect(code).toBe(3);
    expect(err[0]).toBe('folio-race: internal error: kaput\n');
  });
});
