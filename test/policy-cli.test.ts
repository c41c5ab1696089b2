// A user's variant runs wherever a built-in one does: stress (free-run and deterministic), hunt,
// replay; a malformed policy file is exit 2 with the file/path/line message, before any thread.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, test, vi } from 'vitest';
import { cli } from './helpers/cli.js';

vi.setConfig({ testTimeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), 'folio-race-policy-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The v6.10 drain rule put back into the fixed 6.12.117: the state race of S1 again.
const UNFIXED = join(dir, 'unfix.yaml');
writeFileSync(UNFIXED, 'id: unfix\nbase: 6.12.117\nswitches:\n  gupPreLocalDrain: none\n  gupDrainRule: notLru\n');

describe('a policy file on the command line', () => {
  test.concurrent('stress, free-run and deterministic', async ({ expect }) => {
    const [free, det] = await Promise.all([
      cli('stress', 'S1', '--policy', `${UNFIXED},6.12.117`, '--cpus', '8', '--trials', '20', '--seed', '1', '--no-progress', '--json', '-'),
      cli(
        'stress',
        'S1',
        '--policy',
        `${UNFIXED},6.12.117`,
        '--cpus',
        '8',
        '--trials',
        '20',
        '--seed',
        '1',
        '--no-progress',
        '--mode',
        'deterministic',
        '--json',
        '-',
      ),
    ]);
    for (const r of [free, det]) {
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.out) as {
        results: { policy: string; trials: number; failures: { total: number } }[];
        params: { policies: { id: string; switches: Record<string, unknown> }[] };
      };
      expect(doc.results.map((x) => x.policy)).toEqual(['unfix', '6.12.111-6.12.117']);
      expect(doc.params.policies[0]!.switches.gupDrainRule).toBe('notLru');
      expect(doc.results[0]!.trials).toBe(20);
    }
  });
  test.concurrent('hunt finds the failure under the user variant, and replay reproduces it from the file alone', async ({ expect }) => {
    const out = join(dir, 'unfix.replay.json');
    const h = await cli('hunt', 'S1', '--policy', UNFIXED, '--seed', '1', '--out', out);
    expect(h.code).toBe(1); // hunt's exit for "a failure was found"
    expect(h.out).toMatch(/failure: ENOMEM on cpu 3: folio 0: CPU 7 mlock batch \(MLOCK\) holds 1 ref/);
    const file = JSON.parse(readFileSync(out, 'utf8')) as { version: number; policy: { id: string; switches: Record<string, unknown> } };
    expect(file.version).toBe(2);
    expect(file.policy.id).toBe('unfix');
    expect(file.policy.switches.gupDrainRule).toBe('notLru');
    const r = await cli('replay', out);
    expect(r.err).toMatch(/under unfix on/);
    expect(r.code).toBe(0);
    expect(r.out + r.err).toMatch(/reproduced/i);
  });
  test.concurrent('--kernel picks a release; --policy with --kernel is refused', async ({ expect }) => {
    const r = await cli('run', 'S1', '--kernel', '6.1.192', '--seed', '1');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/under 6\.1\.160-6\.1\.192 on/);
    const both = await cli('run', 'S1', '--kernel', '6.1.192', '--policy', 'merged');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/^folio-race: --policy and --kernel: give one of them, not both$/m);
    const bad = await cli('stress', 'S1', '--kernel', '5.15.150', '--trials', '1');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^folio-race: --kernel: kernel '5\.15\.150': no stable history of 5\.15\.y is modelled/m);
  });
  test.concurrent('a version past the releases read runs as the newest row and says so, on every path that takes one', async ({ expect }) => {
    const note = /^folio-race: note: kernel '6\.1\.999' is newer than 6\.1\.\d+, the newest 6\.1\.y release read: it runs as 6\.1\.\d+-6\.1\.\d+, assumed/m;
    const runs = await Promise.all([
      cli('run', 'S1', '--kernel', '6.1.999', '--seed', '1'),
      cli('stress', 'S1', '--policy', '6.1.999+batchCapacity=15', '--trials', '1', '--mode', 'deterministic', '--no-progress'),
      cli('affected', 'S1', '--kernel', '6.1.999', '--trials', '1'),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.err).toMatch(note);
    }
    const read = await cli('run', 'S1', '--kernel', '6.1.192', '--seed', '1');
    expect(read.err).not.toMatch(/note:/);
  });
  test.concurrent('a malformed file: exit 2, the file, path and line, nothing on stdout', async ({ expect }) => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'base: merged\nswitches:\n  gupDrainRule: sometimes\n');
    for (const cmd of [
      ['stress', 'S1', '--policy', bad, '--trials', '1'],
      ['hunt', 'S1', '--policy', bad],
      ['run', 'S1', '--policy', `merged,${bad}`],
    ]) {
      const r = await cli(...cmd);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^folio-race: .*bad\.yaml: switches\.gupDrainRule \(line 3\): expected one of notLru, .*found 'sometimes'$/m);
    }
  });
});

describe('kernels and affected', () => {
  test.concurrent("kernels prints a line's ranges with their commits", async ({ expect }) => {
    const r = await cli('kernels', '6.1.y');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^6\.1\.y\s+6\.1\.155\.\.6\.1\.159\s+15\s+-\s+ref!=exp\+1\s+yes/m);
    expect(r.out).toMatch(/6\.1\.129-6\.1\.154\s+1aaf8c122918\s+6\.1\.129/);
    const j = JSON.parse((await cli('kernels', '6.12.49', '--json')).out) as { id: string; delta: Record<string, unknown> }[];
    expect(j.map((x) => x.id)).toEqual(['6.12.49']);
    expect(j[0]!.delta).toEqual({ gupDrainRule: 'refNeExpectedPlus1', tlbFreeDrains: true });
  });
  test.concurrent('affected: one verdict per range, from the emulated kernel', async ({ expect }) => {
    const r = await cli('affected', 'S1', '--kernel', '6.12.y', '--trials', '10', '--json', join(dir, 'aff.json'));
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'aff.json'), 'utf8')) as { rows: { range: string; verdict: string; failures: number; trials: number }[] };
    expect(doc.rows.map((x) => [x.range, x.verdict])).toEqual([
      ['6.12.0..6.12.13', 'fails'],
      ['6.12.14..6.12.35', 'fails'],
      ['6.12.36..6.12.48', 'fails'],
      ['6.12.49..6.12.49', 'not seen'],
      ['6.12.50..6.12.64', 'not seen'],
      ['6.12.65..6.12.110', 'not seen'],
      ['6.12.111..6.12.117+', 'not seen'],
    ]);
    expect(r.out).toMatch(/FAILS\s+10\/10\s+100\.0% \[72\.2%, 100\.0%\]/);
    const bad = await cli('affected', 'S1', '--kernel', '4.19');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^folio-race: --kernel: kernel '4\.19': before v5\.18/m);
  });
});
