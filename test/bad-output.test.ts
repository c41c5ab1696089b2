// Output paths are checked before any work (exit 2 naming the flag and why), and a write that
// still fails at the end keeps the results in a temporary file and says where (exit 4).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { CliContext } from '../src/cli/io.js';
import { outputFailures, writeOutput } from '../src/cli/output.js';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-bad-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Not writable even for root on Linux (EACCES), so the check is the same in CI and here.
const NO_WRITE = '/proc/sys';

describe('an output nobody can write is refused before the run (exit 2)', () => {
  const cases: [string, string[]][] = [
    ['stress --json', ['stress', 'S1', '--policy', 'v6.11', '--trials', '5', '--json', `${NO_WRITE}/s.json`]],
    ['study --perfetto', ['study', 'drain-latency', '--cpus', '1', '--perfetto', `${NO_WRITE}/p.json`]],
    ['study --ftrace', ['study', 'drain-latency', '--cpus', '1', '--ftrace', `${NO_WRITE}/f.txt`]],
    ['report -o', ['report', 'test/data/none.json', '-o', `${NO_WRITE}/r.html`]],
    ['merge -o', ['merge', 'test/data/none.json', '-o', `${NO_WRITE}/m.json`]],
    ['hunt --out', ['hunt', 'S1', '--out', `${NO_WRITE}/h.replay.json`]],
    ['affected --json (missing directory)', ['affected', 'S1', '--json', join(dir, 'no-such-dir', 'a.json')]],
    ['kernel --json', ['kernel', 'S1', '--print-c', '--json', `${NO_WRITE}/k.json`]],
  ];
  for (const [name, args] of cases) {
    test.concurrent(name, async ({ expect }) => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/: (cannot write in directory '\/proc\/sys' \(no write permission\)|directory '.*' does not exist)/);
      expect(r.err).not.toContain('internal error');
      expect(r.err).not.toMatch(/folio-race (stress|study|hunt|affected|kernel): /); // nothing started
    });
  }
});

describe('outputPathFlag: what access() cannot tell', () => {
  test('a directory where no file can be created (/proc, even for root), an empty path, and a file taken for a directory are refused; nothing is left behind', async () => {
    const { outputPathFlag } = await import('../src/cli/validate.js');
    const { readdirSync, writeFileSync } = await import('node:fs');
    expect(() => outputPathFlag('--json', '/proc/x.json')).toThrow("--json: cannot write in directory '/proc' (no file can be created there: ENOENT)");
    expect(() => outputPathFlag('--json', '')).toThrow("--json: expected a file path, got ''");
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    expect(() => outputPathFlag('--out', join(file, 'x.json'))).toThrow(`--out: '${file}' is a file, not a directory`);
    expect(outputPathFlag('--json', join(dir, 'new.json'))).toBe(join(dir, 'new.json'));
    expect(readdirSync(dir).filter((f) => f.includes('probe'))).toEqual([]);
    expect(existsSync(join(dir, 'new.json'))).toBe(false);
  });
});

describe('a write that fails at the end', () => {
  test('goes to a temporary file, named on stderr, and counts as an output failure', () => {
    let err = '';
    const ctx = { out: { write: () => true }, err: { write: (s: string) => (err += s) }, exitCode: 0, env: {} } as unknown as CliContext;
    const before = outputFailures();
    const where = writeOutput(ctx, '--json', join(dir, 'vanished', 'x.json'), '{"results":[1,2,3]}\n');
    expect(where).not.toBe(join(dir, 'vanished', 'x.json'));
    expect(existsSync(where)).toBe(true);
    expect(readFileSync(where, 'utf8')).toBe('{"results":[1,2,3]}\n');
    expect(err).toContain(`--json: could not write '${join(dir, 'vanished', 'x.json')}' (ENOENT); the results are in '${where}'`);
    expect(outputFailures()).toBe(before + 1);
    rmSync(where);
  });

  test('neither the file nor the fallback: it returns no path, so nothing claims "wrote"', () => {
    let err = '';
    const ctx = { out: process.stdout, err: { write: (x: string) => (err += x) }, exitCode: 0, env: {} } as unknown as CliContext;
    const before = outputFailures();
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = join(dir, 'no-tmp'); // os.tmpdir() reads it at each call
    try {
      expect(writeOutput(ctx, '--json', join(dir, 'vanished', 'y.json'), '{}\n')).toBe('');
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    expect(err).toMatch(/--json: could not write .*y\.json' \(ENOENT\) nor .*; the results above are all that is left/);
    expect(outputFailures()).toBe(before + 1);
  });
});
