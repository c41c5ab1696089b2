// Reading the guest's console and judging real against emulated figures (folio-race kernel).
import { describe, expect, test } from 'vitest';
import { closeEnough, compareScenario, isTimedScenario, realFigures, renderComparisons, type SideFigures } from '../src/realkernel/compare.js';
import { emptyRun, parseGuestLine } from '../src/realkernel/guest_output.js';
import { bzImageVersion, upstreamVersion } from '../src/realkernel/kernel_version.js';
import { loadScenario } from '../src/scenario/load.js';
import { wilson } from '../src/stats/wilson.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const trial = (n: number, errno: number, works: number) =>
  `FR-TRIAL {"trial":${n},"pins":[{"cpu":2,"path":"steps.2[1]","errno":${errno},"moved":${errno ? 0 : 1},"movableAfter":${errno ? 1 : 0}}],"drainWorks":${works},"drainWorksByCpu":{"1":${works}},"vmstat":{"pgmigrate_success":${errno ? 0 : 1},"pgmigrate_fail":${errno ? 1 : 0}}}`;

describe('the guest console', () => {
  test('FR- lines among kernel messages become scenarios and trials; other lines are ignored', () => {
    const run = emptyRun();
    const lines = [
      '[    1.2] random: crng init done',
      'FR-BEGIN {"release":"6.1.0-57-amd64","version":"#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)","cpus":4,"movableZone":[131072,524256],"trace":1}',
      'FR-SCENARIO {"id":"S1","trials":2}',
      trial(0, 12, 0),
      `\r${trial(1, 0, 1)}\r`,
      'FR-END {}',
      'FR-EXIT 0',
    ];
    for (const l of lines) parseGuestLine(run, l);
    expect(run.begin?.release).toBe('6.1.0-57-amd64');
    expect(run.scenarios).toHaveLength(1);
    expect(run.scenarios[0]!.trials.map((t) => t.pins[0]!.errno)).toEqual([12, 0]);
    expect(run.ended).toBe(true);
    expect(run.exitStatus).toBe(0);
    const f = realFigures(run.scenarios[0]!, true);
    expect(f.failedTrials).toBe(1);
    expect(f.errors).toEqual({ '-ENOMEM': 1 });
    expect(f.drainWorksPerPin).toBe(0.5);
    expect(f.migratedPerPin).toBe(0.5);
    expect(f.vmstat['pgmigrate_fail']).toBe(0.5);
  });
  test('a malformed FR line is an error naming the line', () => {
    expect(() => parseGuestLine(emptyRun(), 'FR-TRIAL {"trial":')).toThrow(/malformed FR-TRIAL line/);
  });
  test("kernel versions: Debian's uname -v names the upstream release; a plain release is taken as it is", () => {
    expect(upstreamVersion('6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)')).toBe('6.1.192');
    expect(upstreamVersion('6.12.45-dirty (me@host) #3 SMP')).toBe('6.12.45');
    expect(upstreamVersion('6.17.0-rc6+ #1')).toBe('v6.17.0-rc6');
    expect(upstreamVersion('not a kernel')).toBeNull();
  });
  test('the bzImage setup header gives the version string; another file gives null', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fr-bz-'));
    try {
      const img = Buffer.alloc(0x1000);
      img.write('HdrS', 0x202, 'latin1');
      img.writeUInt16LE(0x400, 0x20e);
      img.write('6.12.45 (me@host) #3 SMP\0', 0x600, 'latin1');
      writeFileSync(join(dir, 'bz'), img);
      writeFileSync(join(dir, 'txt'), 'hello\n');
      expect(bzImageVersion(join(dir, 'bz'))).toBe('6.12.45 (me@host) #3 SMP');
      expect(bzImageVersion(join(dir, 'txt'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const side = (o: Partial<SideFigures>): SideFigures => ({
  trials: 100,
  pins: 100,
  failedTrials: 0,
  rate: 0,
  ci95: [0, 0.037],
  errors: {},
  migratedPerPin: 1,
  leftMovablePerPin: null,
  drainWorksPerPin: 1,
  drainWorksPerTrial: 1,
  vmstat: {},
  ...o,
});

describe('judging the two sides', () => {
  test('means agree within 0.1 or 10%', () => {
    expect(closeEnough(1, 1.1)).toBe(true);
    expect(closeEnough(1, 1.15)).toBe(false);
    expect(closeEnough(20, 21.9)).toBe(true);
  });
  test('a failure rate the emulator does not show is a disagreement in an untimed scenario', () => {
    const real = side({ failedTrials: 100, rate: 1, ci95: [0.963, 1], errors: { '-ENOMEM': 100 } });
    const c = compareScenario('S1', real, side({}), false);
    expect(c.comparisons.filter((x) => x.verdict === 'DISAGREE').map((x) => x.metric)).toEqual(['trials with a failed pin', 'pin errors']);
  });
  test('failure rates are judged by the 95% interval of their difference (Newcombe): it settles 0/1000 against 1/1000 and 0/3 against 3/3; trials that cannot rule out 50 points are too few', () => {
    const of = (k: number, n: number) => side({ trials: n, pins: n, failedTrials: k, rate: k / n, ci95: wilson(k, n), errors: k ? { '-ENOMEM': k } : {} });
    const verdict = (a: SideFigures, b: SideFigures) => compareScenario('S1', a, b, false).comparisons[0]!.verdict;
    expect(verdict(of(0, 3), of(3, 3))).toBe('DISAGREE');
    expect(verdict(of(0, 30), of(30, 30))).toBe('DISAGREE');
    expect(verdict(of(0, 1000), of(1, 1000))).toBe('ok');
    expect(verdict(of(1000, 1000), of(999, 1000))).toBe('ok');
    expect(verdict(of(10, 30), of(12, 30))).toBe('ok');
    expect(verdict(of(0, 1), of(1, 1))).toBe('too few trials');
    expect(verdict(of(0, 3), of(1, 3))).toBe('too few trials');
    expect(verdict(of(0, 3), of(0, 3))).toBe('too few trials'); // equal, but 3 trials a side cannot rule out 50 points
    expect(verdict(of(0, 5), of(0, 5))).toBe('ok');
    const c = compareScenario('S1', of(0, 1), of(1, 1), false);
    const text = renderComparisons([c], 'real', 'emulator');
    expect(text).toContain('Too few trials to judge (1): no difference shown, but a difference of 50 points is not ruled out either');
    expect(text).toMatch(/S1: trials with a failed pin: real 0\/1 .*emulator 1\/1/);
  });
  test('in a timed scenario differing rates and means are timing, but an error only the real kernel returns is not', () => {
    const real = side({ failedTrials: 9, rate: 0.09, ci95: [0.048, 0.16], errors: { '-ENOMEM': 3 }, drainWorksPerPin: 0.2 });
    const c = compareScenario('S6', real, side({}), true);
    const v = Object.fromEntries(c.comparisons.map((x) => [x.metric, x.verdict]));
    expect(v['trials with a failed pin']).toBe('timing');
    expect(v['drain works queued, per pin']).toBe('timing');
    expect(v['pin errors']).toBe('DISAGREE');
  });
  test('timed scenarios are the ones with pauses or hogs', () => {
    expect(isTimedScenario(loadScenario('S1'))).toBe(false);
    expect(isTimedScenario(loadScenario('S1w'))).toBe(true);
    expect(isTimedScenario(loadScenario('S5'))).toBe(true);
  });
});

describe('page_ref tracepoints of a CONFIG_DEBUG_PAGE_REF kernel', () => {
  test('FR-PAGEREF lines are kept per scenario and lined up with an emulated trial of the same variant', async () => {
    const { readFileSync } = await import('node:fs');
    const { runOne } = await import('../src/runtime/run_one.js');
    const { resolvePolicySpec } = await import('../src/policy/resolve.js');
    const { addPageRefLineUp } = await import('../src/realkernel/compare.js');
    const realLines = readFileSync(join(import.meta.dirname, 'data', 'trace-6.12-prefix-s1.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(': page_ref_'));
    const run = emptyRun();
    parseGuestLine(run, 'FR-SCENARIO {"id":"S1t","trials":1}');
    for (const l of realLines) parseGuestLine(run, `FR-PAGEREF ${JSON.stringify({ scenario: 'S1t', line: l })}`);
    expect(run.scenarios[0]!.pageRef).toHaveLength(25);
    const lineUpWith = async (spec: string) => {
      const lines: string[] = [];
      await runOne({ scenario: loadScenario('S1t'), policy: resolvePolicySpec(spec)[0]!, cpus: 4, seed: 1, trace: true, out: (l) => lines.push(l) });
      const c = compareScenario('S1t', side({}), side({}), false);
      addPageRefLineUp(c, run.scenarios[0]!.pageRef, lines, false);
      return c;
    };
    const same = await lineUpWith('6.12.117+gupPreLocalDrain=none+gupDrainRule=notLru');
    expect(same.pageRef).toMatchObject({ real: 25, emulator: 25, firstDifference: null });
    expect(same.comparisons.at(-1)!.verdict).toBe('ok');
    // The fixed 6.12.117 drains before isolating: the traces part, and that is a disagreement.
    const fixed = await lineUpWith('6.12.117');
    expect(fixed.pageRef!.firstDifference).not.toBeNull();
    expect(fixed.comparisons.at(-1)!.verdict).toBe('DISAGREE');
  });
});
