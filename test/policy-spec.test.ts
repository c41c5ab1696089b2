// Variants as user data: policy files, inline `base+switch=value` specs and kernel releases
// resolve to full switch sets; malformed files get `<file>: <path> (line N): expected ..., found ...`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { SWITCH_KEYS } from '../src/mm/policy_schema.js';
import { checkPolicy } from '../src/policy/derive.js';
import { resolvePolicySpec } from '../src/policy/resolve.js';
import { releaseAssumption, releaseFor, resolveKernels } from '../src/policy/releases.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('inline specs', () => {
  test('base + switches gives the base with those switches changed, and nothing else', () => {
    const [p] = resolvePolicySpec('merged+batchCapacity=15+gupSkipLarge=false');
    const m = getPolicy('merged');
    expect(p!.id).toBe('merged+batchCapacity=15+gupSkipLarge=false');
    expect(p!.switches).toEqual({ ...m.switches, batchCapacity: 15, gupSkipLarge: false });
  });
  test('a kernel release is a base', () => {
    const [p] = resolvePolicySpec('6.1.150+gupDrainRule=refNeExpectedPlus1');
    expect(p!.switches.batchCapacity).toBe(15);
    expect(p!.switches.gupDrainRule).toBe('refNeExpectedPlus1');
  });
  test.each([
    ['nope', /unknown policy 'nope'/],
    ['merged+batchCapacity', /expected <switch>=<value> after '\+', found 'batchCapacity'/],
    ['merged+batchCapacity=64', /batchCapacity: expected an integer 1\.\.31, found '64'/],
    ['merged+gupSkipLarge=yes', /gupSkipLarge: expected true \| false, found 'yes'/],
    ['merged+noSuchSwitch=1', /expected a switch name \(batchCapacity, .*\), found 'noSuchSwitch'/],
    ['merged,,v6.11', /an empty item in the list/],
  ])('%s is refused', (spec, msg) => {
    expect(() => resolvePolicySpec(spec)).toThrow(msg);
  });
  test('the same variant twice runs once; two different variants with one id are refused', () => {
    expect(resolvePolicySpec('merged,merged').map((p) => p.id)).toEqual(['merged']);
    const a = file('same.yaml', 'id: mine\nbase: merged\nswitches: { batchCapacity: 15 }\n');
    const b = file('same2.yaml', 'id: mine\nbase: merged\nswitches: { batchCapacity: 14 }\n');
    expect(() => resolvePolicySpec(`${a},${b}`)).toThrow(/two different policies are both named 'mine'/);
  });
  test("a file's variant may not take a built-in policy's or a release's id, given or from its file name: alone it would read as the built-in", () => {
    const given = file('clash.yaml', 'id: v6.11\nbase: merged\n');
    expect(() => resolvePolicySpec(given)).toThrow(
      /clash\.yaml: id \(line 1\): expected an id that names no built-in policy or kernel version, found 'v6\.11'/,
    );
    const named = file('6.1.100.yaml', 'base: merged\n');
    expect(() => resolvePolicySpec(named)).toThrow(
      /6\.1\.100\.yaml: id \(line 1\): expected an id that names no built-in policy or kernel version \(the id comes from the file name/,
    );
  });
});

describe('policy files', () => {
  test('a YAML file: base, switches, id from the file name', () => {
    const p = resolvePolicySpec(file('my-fix.yaml', 'base: merged\nswitches:\n  gupDrainRule: refNeExpectedPlusPinBias\n'))[0]!;
    expect(p.id).toBe('my-fix');
    expect(p.switches).toEqual({ ...getPolicy('merged').switches, gupDrainRule: 'refNeExpectedPlusPinBias' });
    expect(p.source).toMatch(/policy file .*my-fix\.yaml/);
  });
  test('a JSON file, with id and description', () => {
    const p = resolvePolicySpec(
      file('x.json', JSON.stringify({ id: 'six-one-cap31', description: 'd', base: '6.1.192', switches: { batchCapacity: 31 } })),
    )[0]!;
    expect(p.id).toBe('six-one-cap31');
    expect(p.description).toBe('d');
    expect(p.switches.migrateStyle).toBe('passes10');
    expect(p.switches.batchCapacity).toBe(31);
  });
  // Each malformed file: the file, the field path, its line, what was expected and what was found.
  test.each([
    [
      'unknown switch',
      'base: merged\nswitches:\n  gupDrainRul: notLru\n',
      /bad\.yaml: switches\.gupDrainRul \(line 3\): expected one of the known fields \(batchCapacity, .*\), found unknown field 'gupDrainRul'/,
    ],
    [
      'bad enum value',
      'base: merged\nswitches:\n  gupDrainRule: lru\n',
      /bad\.yaml: switches\.gupDrainRule \(line 3\): expected one of notLru, .*, found 'lru'/,
    ],
    [
      'capacity out of range',
      'base: merged\nswitches:\n  batchCapacity: 64\n',
      /bad\.yaml: switches\.batchCapacity \(line 3\): expected a number <= 31, found 64/,
    ],
    [
      'capacity not an integer',
      'base: merged\nswitches:\n  batchCapacity: 15.5\n',
      /bad\.yaml: switches\.batchCapacity \(line 3\): expected an integer, found 15\.5 \(not an integer\)/,
    ],
    [
      'boolean as a string',
      'base: merged\nswitches:\n  gupSkipLarge: "yes"\n',
      /bad\.yaml: switches\.gupSkipLarge \(line 3\): expected true or false, found 'yes' \(a string\)/,
    ],
    [
      'missing base',
      'switches:\n  gupSkipLarge: true\n',
      /bad\.yaml: base( \(line 1\))?: expected a string \(required field\), found nothing \(the field is missing\)/,
    ],
    ['unknown base', 'id: x\nbase: merged-6.19\n', /bad\.yaml: base \(line 2\): expected a built-in policy or a kernel release \(.*\), found 'merged-6\.19'/],
    [
      'unknown top-level field',
      'base: merged\nswitch:\n  gupSkipLarge: true\n',
      /bad\.yaml: switch \(line 2\): expected one of the known fields \(id, description, source, base, switches\), found unknown field 'switch'/,
    ],
    ['bad id', 'id: "my fix"\nbase: merged\n', /bad\.yaml: id \(line 1\): expected an id of letters, digits, "\.", "_" and "-", found 'my fix'/],
    ['switches not a map', 'base: merged\nswitches: [1, 2]\n', /bad\.yaml: switches \(line 2\): expected a map, found a list of 2 items/],
    ['not a map at all', '- merged\n', /bad\.yaml: \(top level\): expected a map with base and switches/],
    ['YAML syntax', 'base: merged\nswitches: {gupSkipLarge: true\n', /bad\.yaml: line \d+, column \d+: expected valid YAML/],
    [
      'alias bomb',
      'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nbase: merged\n',
      /bad\.yaml: \(top level\): expected a YAML document without excessive aliases/,
    ],
  ])('%s', (_what, text, msg) => {
    const p = file('bad.yaml', text);
    let err: Error | undefined;
    try {
      resolvePolicySpec(p);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('PolicyFileError');
    expect(err!.message).toMatch(msg);
  });
  test('every problem of a file is reported at once', () => {
    const p = file('two.yaml', 'base: merged\nswitches:\n  batchCapacity: 0\n  mlockClearsLru: maybe\n');
    expect(() => resolvePolicySpec(p)).toThrow(/switches\.batchCapacity \(line 3\).*\n.*switches\.mlockClearsLru \(line 4\)/);
  });
  test('a missing file', () => {
    expect(() => resolvePolicySpec(join(dir, 'none.yaml'))).toThrow(
      /none\.yaml: \(top level\): expected a readable policy file, found ENOENT: no such file or directory, open /,
    );
  });
});

describe('received policies are checked as full switch sets', () => {
  test('a complete set passes; a missing or bad switch is named', () => {
    expect(checkPolicy(getPolicy('merged')).switches).toEqual(getPolicy('merged').switches);
    const { migrateStyle: _m, ...short } = getPolicy('merged').switches;
    expect(() => checkPolicy({ ...getPolicy('merged'), switches: short as never })).toThrow(/policy 'merged': switch migrateStyle/);
    expect(() => checkPolicy({ ...getPolicy('merged'), switches: { ...getPolicy('merged').switches, gupDrainRule: 'x' as never } })).toThrow(
      /switch gupDrainRule/,
    );
  });
  test('every switch of the schema is a switch of the baseline', () => {
    expect([...SWITCH_KEYS].sort()).toEqual(Object.keys(getPolicy('v6.11').switches).sort());
  });
});

describe('kernel releases', () => {
  test.each([
    ['6.1.0', '6.1.0-6.1.128'],
    ['6.1.128', '6.1.0-6.1.128'],
    ['6.1.129', '6.1.129-6.1.154'],
    ['6.1.154', '6.1.129-6.1.154'],
    ['6.1.155', '6.1.155-6.1.159'],
    ['6.1.160', '6.1.160-6.1.192'],
    ['6.1.200', '6.1.160-6.1.192'],
    ['6.6.50', '6.6.0-6.6.78'],
    ['6.6.130', '6.6.120'],
    ['6.12.13', '6.12.0-6.12.13'],
    ['6.12.14', '6.12.14-6.12.35'],
    ['6.12.45', '6.12.36-6.12.48'],
    ['6.12.49', '6.12.49'],
    ['6.12.50', '6.12.50-6.12.64'],
    ['6.12.65', '6.12.65-6.12.110'],
    ['6.12.110', '6.12.65-6.12.110'],
    ['6.12.111', '6.12.111-6.12.117'],
    ['v6.11', 'v6.11-v6.13'],
    ['6.15', 'v6.14-v6.15'],
    ['v6.17-rc5', 'v6.16-v6.17-rc5'],
    ['v6.17-rc6', 'v6.17-rc6-v6.17'],
    ['6.17', 'v6.17-rc6-v6.17'],
    ['6.18', 'v6.18'],
    ['v6.2', 'v5.18-v6.2'],
  ])('%s runs %s', (v, id) => {
    expect(releaseFor(v).id).toBe(id);
  });
  test('lines expand to every range, in order', () => {
    expect(resolveKernels('6.12.y').map((p) => p.id)).toEqual([
      '6.12.0-6.12.13',
      '6.12.14-6.12.35',
      '6.12.36-6.12.48',
      '6.12.49',
      '6.12.50-6.12.64',
      '6.12.65-6.12.110',
      '6.12.111-6.12.117',
    ]);
  });
  test('a version past the newest release read is noted as assumed; one that was read, a line or a range is not', () => {
    const newest = releaseFor('6.1.999');
    expect(newest.openEnded).toBe(true);
    expect(releaseAssumption('6.1.999')).toBe(
      `kernel '6.1.999' is newer than ${newest.to}, the newest 6.1.y release read: it runs as ${newest.id}, assumed to keep that range's switches (folio-race kernels)`,
    );
    expect(releaseAssumption('6.1.999+batchCapacity=15')).toMatch(/^kernel '6\.1\.999' is newer than /); // an inline variant's base
    expect(releaseAssumption(newest.to)).toBeNull();
    expect(releaseAssumption('6.1.150')).toBeNull();
    expect(releaseAssumption('6.1.y')).toBeNull();
    expect(releaseAssumption('merged')).toBeNull();
    expect(releaseAssumption('5.10.1')).toBeNull(); // refused elsewhere, not noted
  });
  test('refused: unknown versions, stable lines without data, releases before v5.18', () => {
    expect(() => releaseFor('six')).toThrow(/expected a version such as/);
    expect(() => releaseFor('5.15.150')).toThrow(/no stable history of 5\.15\.y is modelled/);
    expect(() => releaseFor('5.15')).toThrow(/before v5\.18/);
  });
  test('switch values of the ranges that matter (read from the sources, see docs/releases.md)', () => {
    const s = (v: string) => releaseFor(v).switches;
    expect(s('6.1.192')).toMatchObject({
      batchCapacity: 15,
      lruClearOnQueue: false,
      deactivateFileChecksLru: false,
      gupPreLocalDrain: 'onMismatch',
      gupDrainRule: 'refNeExpectedPlus1',
      gupSkipLarge: true,
      migrateStyle: 'passes10',
      drainAllLocalFirst: false,
      expectedRefSwapCache: 'all',
    });
    expect(s('6.1.150')).toMatchObject({ gupDrainRule: 'notLru', gupEmptyListSucceeds: true, migrateStyle: 'passes10' });
    expect(s('6.12.117')).toMatchObject({
      batchCapacity: 31,
      lruClearOnQueue: false,
      deactivateFileChecksLru: true,
      gupPreLocalDrain: 'onMismatch',
      gupDrainRule: 'refNeExpectedPlusPinBias',
      migrateStyle: 'batched',
      drainAllLocalFirst: false,
      expectedRefSwapCache: 'all',
    });
    expect(s('6.12.49')).toMatchObject({ lruClearOnQueue: true, gupPreLocalDrain: 'none', gupDrainRule: 'refNeExpectedPlus1', gupSkipLarge: false });
    expect(s('6.12.45')).toMatchObject({ lruClearOnQueue: true, gupDrainRule: 'notLru', gupEmptyListSucceeds: false });
    expect(s('6.18')).toMatchObject({ drainAllLocalFirst: true, gupDrainRule: 'refNeExpectedPlus1' });
  });
});
