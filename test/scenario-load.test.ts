// Scenario loading: every built-in validates; malformed files give one line per problem naming
// the file, the field path, what was expected and what was found; names resolve stably.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { builtinScenarioIds, scenariosDir } from '../src/scenario/builtin.js';
import { ScenarioError } from '../src/input/problems.js';
import { loadAllBuiltins, loadScenario, parseScenarioText, validateScenario } from '../src/scenario/load.js';
import { MEASURE_NAMES, scriptedCpus } from '../src/scenario/schema.js';
import { NO_ARG_OPS, OP_NAMES, OP_SPECS } from '../src/scenario/ops/index.js';
import { resolveNames } from '../src/scenario/setup.js';

const BASE = `
id: T1
title: test scenario
description: a test
raceWindow: none
cpus: 4
alloc: { migratetype: cma }
objects:
  - { name: mem, kind: shmem, pages: 8 }
  - { name: lib, kind: file, pages: 16, order: 2 }
vmas:
  - { name: heap, object: anon, pages: 8, flags: [read, write] }
  - { name: shm, object: mem, pages: 8, flags: [read, write, shared, locked] }
folios:
  - { name: F, object: mem, index: 0, mappedBy: [{ vma: shm, page: 0 }] }
steps:
  1:
    - fault: { vma: heap, page: 0 }
    - signal: { name: go }
  2:
    - wait: { name: go }
    - pin: { vma: shm, page: 0 }
`;

// biome-ignore lint/suspicious/noExplicitAny: scenario documents are edited freely in these tests
type Obj = Record<string, any>;
/** BASE with a change applied, as YAML text. */
function mutate(fn: (o: Obj) => void): string {
  const o = parse(BASE) as Obj;
  fn(o);
  return stringify(o);
}
/** The error message for a text that must be rejected. */
function rejection(text: string, opts: { cpus?: number } = {}, file = 'bad.yaml'): ScenarioError {
  try {
    parseScenarioText(text, file, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('the scenario was accepted');
}
/** Assert one line `bad.yaml: <path>...: expected <expected...>, found <found...>`. */
function expectProblem(err: ScenarioError, path: string, expected: string, found: string): void {
  const lines = err.message.split('\n');
  const hit = lines.find(
    (l) =>
      (l.startsWith(`bad.yaml: ${path}: `) || l.startsWith(`bad.yaml: ${path} (line `)) &&
      l.includes(`: expected ${expected}`) &&
      l.includes(`, found ${found}`),
  );
  expect(hit, `no line for ${path} / ${expected} / ${found} in:\n${err.message}`).toBeDefined();
}

describe('the base test scenario', () => {
  it('is valid (so each mutation below tests exactly one mistake)', () => {
    const s = parseScenarioText(BASE, 'base.yaml');
    expect(s.id).toBe('T1');
    expect(scriptedCpus(s)).toEqual([1, 2]);
    expect(s.steps[2]![1]).toMatchObject({ op: 'pin', vma: 'shm', page: 0, pages: 1, hold: false, write: true, path: 'steps.2[1]' });
    expect(s.timing.delayUs).toBe(100);
  });
});

describe('malformed scenarios: file, field path, expected, found', () => {
  it('unknown op', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1][0] = { faultt: { vma: 'heap', page: 0 } };
      }),
    );
    expectProblem(e, 'steps.1[0]', 'an op (one of fault, mlock', "'faultt'");
  });
  it('unknown VMA name', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1][0].fault.vma = 'hep';
      }),
    );
    expectProblem(e, 'steps.1[0].fault.vma', 'the name of a VMA (heap, shm)', "'hep'");
  });
  it('a script for CPU 9 on 4 CPUs', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[9] = [{ lru_add_drain: null }];
      }),
    );
    expectProblem(e, 'steps.9', 'a CPU number from 0 to 3 (the scenario declares cpus: 4)', 'CPU 9');
  });
  it('an op naming CPU 9 on 4 CPUs', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1].push({ cpu_dead: { cpu: 9 } });
      }),
    );
    expectProblem(e, 'steps.1[2].cpu_dead.cpu', 'a CPU number from 0 to 3', 'CPU 9');
  });
  it('negative pages', () => {
    const e = rejection(
      mutate((o) => {
        o.vmas[0].pages = -3;
      }),
    );
    expectProblem(e, 'vmas[0].pages', 'a number > 0', '-3');
  });
  it('wrong type', () => {
    const e = rejection(
      mutate((o) => {
        o.cpus = 'four';
      }),
    );
    expectProblem(e, 'cpus', 'a number', "'four' (a string)");
  });
  it('non-integer page', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[2][1].pin.page = 1.5;
      }),
    );
    expectProblem(e, 'steps.2[1].pin.page', 'an integer', '1.5 (not an integer)');
  });
  it('missing required field', () => {
    const e = rejection(
      mutate((o) => {
        delete o.raceWindow;
      }),
    );
    expectProblem(e, 'raceWindow', 'a string (required field)', 'nothing (the field is missing)');
  });
  it('unknown VMA flag', () => {
    const e = rejection(
      mutate((o) => {
        o.vmas[1].flags = ['read', 'lockd'];
      }),
    );
    expectProblem(e, 'vmas[1].flags[1]', 'one of read, write, shared, locked, lockonfault', "'lockd'");
  });
  it('unknown field (and no field for expected outcomes)', () => {
    const e = rejection(
      mutate((o) => {
        o.vmas[0].flgs = [];
        o.expected = { 'v6.11': 'ENOMEM' };
      }),
    );
    expectProblem(e, 'vmas[0].flgs', 'one of the known fields (name, object, pgoff, pages, flags, mm)', "unknown field 'flgs'");
    expectProblem(e, 'expected', 'one of the known fields (id, title', "unknown field 'expected'");
  });
  it('YAML syntax error, with its line', () => {
    const text = 'id: T\ntitle: t\nsteps:\n  1:\n    - fault: { vma: heap, page: 0\n    - lru_add_drain\n';
    const e = rejection(text);
    const line = e.message.split('\n')[0]!;
    expect(line).toMatch(/^bad\.yaml: line \d+, column \d+: expected valid YAML, found [A-Z_]+: /);
  });
  it('JSON syntax error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-'));
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{ "id": "x", ');
    expect(() => loadScenario(f)).toThrowError(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\(top level\\): expected valid JSON, found `));
  });
  it('unknown object', () => {
    const e = rejection(
      mutate((o) => {
        o.vmas[1].object = 'memm';
      }),
    );
    expectProblem(e, 'vmas[1].object', "'anon' or the name of an object (mem, lib)", "'memm'");
  });
  it('wait on a signal nobody raises', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[2][0].wait.name = 'og';
      }),
    );
    expectProblem(e, 'steps.2[0].wait.name', "a signal some CPU raises with a 'signal' op (raised: go)", "'og'");
  });
  it('duplicate names', () => {
    const e = rejection(
      mutate((o) => {
        o.vmas[1].name = 'heap';
      }),
    );
    expectProblem(e, 'vmas[1].name', "a VMA name not used by another VMA (vmas[0] is already 'heap')", "'heap'");
  });
  it('page out of range', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1][0].fault.page = 8;
      }),
    );
    expectProblem(e, 'steps.1[0].fault.page', "a page from 0 to 7 (VMA 'heap' has 8 pages)", '8');
  });
  it('pin range past the end of the VMA', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[2][1].pin.pages = 9;
      }),
    );
    expectProblem(e, 'steps.2[1].pin.page', "a page from 0 to 7 (VMA 'shm' has 8 pages)", '0 (pages 0..8)');
  });
  it('repeat strides that walk off the VMA', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1].push({ repeat: { times: 5, stride: 2, ops: [{ fault: { vma: 'heap', page: 0 } }] } });
      }),
    );
    expectProblem(e, 'steps.1[2].repeat.ops[0].fault.page', 'a page from 0 to 7', '0 (page 0 moved by repeat strides to end at page 8)');
  });
  it('unknown folio name and a folio op with two targets', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1].push({ deactivate: { folio: 'G' } }, { lazyfree: { folio: 'F', vma: 'heap', page: 0 } });
      }),
    );
    expectProblem(e, 'steps.1[2].deactivate.folio', 'the name of a folio (F)', "'G'");
    expectProblem(e, 'steps.1[3].lazyfree', "either 'folio' (a folio name) or 'vma' and 'page'", 'both');
  });
  it('a folio mapped by a VMA of another object, and unaligned', () => {
    const e = rejection(
      mutate((o) => {
        o.folios.push({ name: 'L', object: 'lib', index: 2, order: 2, mappedBy: [{ vma: 'shm', page: 0 }] });
      }),
    );
    expectProblem(e, 'folios[1].index', "an index aligned to the folio's 4 pages (order 2)", '2');
    expectProblem(e, 'folios[1].mappedBy[0].vma', "a VMA mapping object 'lib'", "'shm' (maps object 'mem')");
  });
  it('unknown measure', () => {
    const e = rejection(
      mutate((o) => {
        o.measure = ['pin_latency', 'pin_lat'];
      }),
    );
    expectProblem(e, 'measure[1]', 'one of pin_success_rate', "'pin_lat'");
  });
  it('readahead of a shmem object', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1].push({ readahead: { object: 'mem', index: 0 } });
      }),
    );
    expectProblem(e, 'steps.1[2].readahead.object', 'a file object', "'mem' (kind shmem)");
  });
  it('a run with fewer CPUs than the scenario needs', () => {
    const e = rejection(BASE, { cpus: 2 });
    expectProblem(e, 'cpus', 'a scenario that fits in the 2 CPUs of this run (raise --cpus to at least 4)', 'cpus: 4');
  });
  it('an op that needs arguments written bare', () => {
    const e = rejection(
      mutate((o) => {
        o.steps[1].push('pin');
      }),
    );
    expectProblem(e, 'steps.1[2]', "arguments for 'pin'", 'none');
  });
  it('the ops that may be written bare are the rows marked so, and take no required argument', () => {
    expect([...NO_ARG_OPS].sort()).toEqual(['bh_lru_install', 'delay', 'hog', 'lru_add_drain', 'lru_add_drain_all', 'lru_cache_disable', 'lru_cache_enable']);
    for (const n of NO_ARG_OPS) expect(OP_SPECS[n].args.safeParse({}).success, n).toBe(true);
    // The folio ops' arguments are all optional, but a target is needed: their check says which.
    const allOptional = OP_NAMES.filter((n) => OP_SPECS[n].args.safeParse({}).success);
    expect(allOptional.filter((n) => !NO_ARG_OPS.includes(n))).toEqual(['mark_accessed', 'deactivate', 'deactivate_file', 'lazyfree', 'rotate']);
  });
  it('lists every problem, one line each, with YAML line numbers', () => {
    const text = BASE.replace('fault: { vma: heap, page: 0 }', 'fault: { vma: hep, page: 0 }')
      .replace('{ name: mem, kind: shmem, pages: 8 }', '{ name: mem, kind: shmem, pages: 0 }')
      .replace('wait: { name: go }', 'wait: { name: og }');
    const e = rejection(text);
    expect(e.problems).toHaveLength(3);
    expect(e.message.split('\n')).toHaveLength(3);
    const lines = BASE.split('\n');
    const vmaLine = lines.findIndex((l) => l.includes('fault: { vma: heap')) + 1;
    expect(e.message).toContain(`bad.yaml: steps.1[0].fault.vma (line ${vmaLine}): expected`);
  });
  it('a scenario that is not a map', () => {
    expect(() => validateScenario([1, 2], 'x.json')).toThrowError(/^x\.json: \(top level\): expected a map with id, .*found a list of 2 items$/);
  });
  it('an unknown built-in id names the built-ins', () => {
    expect(() => loadScenario('S99')).toThrowError(/^S99: \(top level\): expected a built-in scenario id \(S1, S1b, S1t, S1w, S2/);
  });
});

describe('built-in scenarios', () => {
  it('are S1..S12 (plus variants), one file each, in natural order', () => {
    const ids = builtinScenarioIds();
    for (let i = 1; i <= 12; i++) expect(ids).toContain(`S${i}`);
    expect(ids.indexOf('S2')).toBeLessThan(ids.indexOf('S10'));
    expect(scenariosDir().endsWith('scenarios')).toBe(true);
  });
  it('all load and validate; ids match their files', () => {
    const all = loadAllBuiltins();
    expect(all.length).toBe(builtinScenarioIds().length);
    for (const s of all) {
      expect(s.file).toBe(`scenarios/${s.id}.yaml`);
      expect(s.description.length).toBeGreaterThan(200);
      expect(s.raceWindow.length).toBeGreaterThan(20);
      expect(scriptedCpus(s).every((c) => c < s.cpus)).toBe(true);
      for (const m of s.measure) expect(MEASURE_NAMES).toContain(m);
    }
  });
  it('load by id case-insensitively, and from a path (YAML or JSON)', () => {
    expect(loadScenario('s12').id).toBe('S12');
    expect(loadScenario(join(scenariosDir(), 'S3.yaml')).id).toBe('S3');
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-'));
    const f = join(dir, 'mine.json');
    writeFileSync(f, JSON.stringify(parse(BASE)));
    const s = loadScenario(f, { cpus: 4 });
    expect(s.file).toBe(f);
    expect(s.steps[1]!.map((o) => o.op)).toEqual(['fault', 'signal']);
  });
  it('S1 is the sequence of the thread: CPU 7 faults, reads ahead, signals and holds still until the pin returned; CPU 3 waits and pins', () => {
    const s = loadScenario('S1');
    expect(s.cpus).toBe(8);
    expect(s.steps[7]!.map((o) => o.op)).toEqual(['fault', 'readahead', 'signal', 'wait', 'lru_add_drain']);
    expect(s.steps[3]!.map((o) => o.op)).toEqual(['wait', 'pin', 'signal']);
    // S1w: the timed-window form (CPU 7 drains after a preemptible delay, whatever the pin does).
    expect(loadScenario('S1w').steps[7]!.map((o) => o.op)).toEqual(['fault', 'readahead', 'signal', 'delay', 'lru_add_drain']);
    expect(s.alloc.migratetype).toBe('cma');
    expect(s.vmas[0]!.flags).toEqual(['read', 'write', 'shared', 'locked', 'lockonfault']);
  });
});

describe('resolveNames', () => {
  it('is pure and stable: equal results for separate loads', () => {
    for (const id of builtinScenarioIds()) {
      const a = resolveNames(loadScenario(id));
      const b = resolveNames(loadScenario(id));
      expect([...a.vmas], id).toEqual([...b.vmas]);
      expect([...a.folios], id).toEqual([...b.folios]);
      expect([...a.signals], id).toEqual([...b.signals]);
      expect([...a.forks], id).toEqual([...b.forks]);
    }
  });
  it('numbers objects, VMAs and folios in declaration order; signals sorted; fork slots after signals', () => {
    const r = resolveNames(loadScenario('S5'));
    expect(r.objects.get('guestmem')).toBe(0);
    expect([...r.vmas]).toEqual([
      ['guest', 0],
      ['rt_heap', 1],
      ['busy_heap', 2],
    ]);
    expect(r.folios.get('G')).toBe(0);
    expect(r.folios.get('G#0')).toBe(0);
    expect(r.folios.get('G#31')).toBe(31);
    expect(r.nFolios).toBe(32);
    const r4 = resolveNames(loadScenario('S4'));
    expect([...r4.signals]).toEqual([
      ['child_exited', 0],
      ['forked', 1],
    ]);
    expect([...r4.forks]).toEqual([['child', 2]]);
  });
});
