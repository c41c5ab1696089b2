// The loader refuses a scenario whose signal/wait order alone must deadlock (src/scenario/
// sync_deadlock.ts): one problem per stuck wait, at its name, naming the CPUs, the steps and the
// signals; scenarios where some interleaving passes every wait load, built-in and scaled ones too.
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../src/input/problems.js';
import { loadAllBuiltins, loadScenario, parseScenarioText } from '../src/scenario/load.js';
import { syncDeadlocks } from '../src/scenario/sync_deadlock.js';
import { S5_SCALE, scaleS5 } from '../src/study/pin_storm_scale.js';
import { withoutHog, withRaceWindow } from '../src/study/studies.js';

/** A scenario with these scripts (YAML lines under `steps:`, indented by two). */
const scenario = (steps: string): string =>
  `id: T\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 4\nvmas:\n  - { name: heap, object: anon, pages: 8, flags: [read, write] }\nsteps:\n${steps}`;

/** The problem lines of a text the loader must refuse. */
function refused(text: string): string[] {
  try {
    parseScenarioText(text, 'dl.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).message.split('\n');
  }
  throw new Error('the scenario was accepted');
}

const EXPECTED = (cpu: number, all: string) =>
  `expected a signal some CPU can raise while CPU ${cpu} waits here (the signal/wait order alone deadlocks ${all}, whatever the kernel does)`;

describe('a signal/wait order that must deadlock is refused', () => {
  it('two CPUs each waiting for the signal the other raises after its wait', () => {
    const lines = refused(
      scenario(`  1:
    - wait: { name: a }
    - signal: { name: b }
  2:
    - fault: { vma: heap, page: 0 }
    - wait: { name: b }
    - signal: { name: a }
`),
    );
    expect(lines).toEqual([
      `dl.yaml: steps.1[0].wait.name (line 10): ${EXPECTED(1, 'CPUs 1, 2')}, found 'a', raised only by CPU 2 at steps.2[2], after its wait for 'b' at steps.2[1]`,
      `dl.yaml: steps.2[1].wait.name (line 14): ${EXPECTED(2, 'CPUs 1, 2')}, found 'b', raised only by CPU 1 at steps.1[1], after its wait for 'a' at steps.1[0]`,
    ]);
  });

  it('a cycle of three, and a fourth CPU stuck behind it', () => {
    const lines = refused(
      scenario(`  0:
    - wait: { name: a }
    - signal: { name: b }
  1:
    - wait: { name: b }
    - signal: { name: c }
  2:
    - wait: { name: c }
    - signal: { name: a }
  3:
    - signal: { name: free }
    - wait: { name: b }
`),
    );
    expect(lines).toHaveLength(4);
    const all = 'CPUs 0, 1, 2, 3';
    expect(lines[0]).toBe(
      `dl.yaml: steps.0[0].wait.name (line 10): ${EXPECTED(0, all)}, found 'a', raised only by CPU 2 at steps.2[1], after its wait for 'c' at steps.2[0]`,
    );
    expect(lines[1]).toContain(
      `steps.1[0].wait.name (line 13): ${EXPECTED(1, all)}, found 'b', raised only by CPU 0 at steps.0[1], after its wait for 'a' at steps.0[0]`,
    );
    expect(lines[2]).toContain(`found 'c', raised only by CPU 1 at steps.1[1], after its wait for 'b' at steps.1[0]`);
    expect(lines[3]).toContain(`steps.3[1].wait.name (line 20): ${EXPECTED(3, all)}, found 'b', raised only by CPU 0 at steps.0[1]`);
  });

  it('a CPU waiting for a signal only it raises, later; inside a repeat the path names the nested op', () => {
    expect(
      refused(
        scenario(`  1:
    - repeat: { times: 3, ops: [ { wait: { name: mine } }, { signal: { name: mine } } ] }
`),
      ),
    ).toEqual([
      `dl.yaml: steps.1[0].repeat.ops[0].wait.name (line 10): ${EXPECTED(1, 'CPU 1')}, found 'mine', raised only by CPU 1 at steps.1[0].repeat.ops[1], after this wait`,
    ]);
  });

  it('a signal raised by two CPUs that are both stuck: both named', () => {
    const lines = refused(
      scenario(`  1:
    - wait: { name: x }
    - signal: { name: y }
  2:
    - wait: { name: y }
    - signal: { name: x }
  3:
    - wait: { name: y }
    - signal: { name: x }
`),
    );
    expect(lines[0]).toContain(
      "found 'x', raised only by CPU 2 at steps.2[1], after its wait for 'y' at steps.2[0], and by CPU 3 at steps.3[1], after its wait for 'y' at steps.3[0]",
    );
  });

  it('a wait for a name nobody signals keeps its own message, with no deadlock line added', () => {
    const lines = refused(
      scenario(`  1:
    - signal: { name: go }
  2:
    - wait: { name: og }
`),
    );
    expect(lines).toEqual(["dl.yaml: steps.2[0].wait.name (line 12): expected a signal some CPU raises with a 'signal' op (raised: go), found 'og'"]);
  });
});

describe('a wait whose signal some interleaving raises is accepted', () => {
  const accepted = (steps: string) => expect(parseScenarioText(scenario(steps), 'ok.yaml').id).toBe('T');

  it('a signal before the wait on another CPU, or earlier on the same CPU', () => {
    accepted(`  1:
    - signal: { name: go }
    - wait: { name: go }
  2:
    - wait: { name: go }
    - fault: { vma: heap, page: 0 }
`);
  });

  it('a hand-off inside repeats (a signal stays raised: later repetitions pass)', () => {
    accepted(`  1:
    - repeat: { times: 4, stride: 1, ops: [ { wait: { name: ping } }, { fault: { vma: heap, page: 0 } }, { signal: { name: pong } } ] }
  2:
    - repeat: { times: 4, ops: [ { signal: { name: ping } }, { wait: { name: pong } } ] }
`);
  });

  it('a chain through a third CPU', () => {
    accepted(`  1:
    - wait: { name: b }
    - signal: { name: c }
  2:
    - wait: { name: a }
    - signal: { name: b }
  3:
    - signal: { name: a }
    - wait: { name: c }
`);
  });

  it('a name two CPUs raise, one of them only after a wait the other one ends', () => {
    // Without CPU 3, CPUs 1 and 2 would be the two-CPU cycle.
    accepted(`  1:
    - wait: { name: x }
    - signal: { name: y }
  2:
    - wait: { name: y }
    - signal: { name: x }
  3:
    - delay: { us: 50 }
    - signal: { name: x }
`);
  });

  it('every built-in scenario, and the scenarios the studies derive from S1 and S5', () => {
    for (const s of loadAllBuiltins()) expect(syncDeadlocks(s.steps), s.id).toEqual([]);
    const s5 = loadScenario('S5');
    for (const scale of [S5_SCALE, { cpus: 3, pinners: 1, faulters: 0 }, { cpus: 64, pinners: 16, faulters: 8 }, { cpus: 256, pinners: 200, faulters: 40 }]) {
      expect(syncDeadlocks(scaleS5(s5, scale).steps)).toEqual([]);
      expect(syncDeadlocks(withoutHog(scaleS5(s5, scale)).steps)).toEqual([]);
    }
    expect(syncDeadlocks(withRaceWindow(loadScenario('S1'), 0).steps)).toEqual([]);
  });
});
