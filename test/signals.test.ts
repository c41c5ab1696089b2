// SIGTERM (what a batch scheduler sends at its time limit) is handled like Ctrl-C: the results so
// far are tabulated and written with "aborted": true, and the exit code says which signal (143,
// 130 for Ctrl-C).
// The signal is sent once the command has said it started, never after a sleep.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI, send `sig` when stderr (or, given `{ stdout }`, stdout) first contains `when`, resolve with the exit code, stdout and stderr. */
function runAndSignal(sig: NodeJS.Signals, when: string | { stdout: string }, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 50_000,
    });
    let out = '';
    let err = '';
    let sent = false;
    const check = () => {
      const seen = typeof when === 'string' ? err.includes(when) : out.includes(when.stdout);
      if (!sent && seen) {
        sent = true;
        child.kill(sig);
      }
    };
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      check();
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      check();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('stress: SIGTERM writes the JSON with aborted: true and exits 143', async () => {
  const json = join(dir, 'stress.json');
  const r = await runAndSignal(
    'SIGTERM',
    'folio-race stress:',
    'stress',
    'S1',
    '--policy',
    'v6.11,merged',
    '--trials',
    '1000000',
    '--no-progress',
    '--json',
    json,
  );
  expect(r.code).toBe(143);
  expect(r.err).toContain('terminated (SIGTERM)');
  const doc = JSON.parse(readFileSync(json, 'utf8')) as { aborted: boolean };
  expect(doc.aborted).toBe(true);
});

test('study: SIGTERM writes the study document with aborted: true and exits 143', async () => {
  const json = join(dir, 'study.json');
  const r = await runAndSignal(
    'SIGTERM',
    'folio-race study drain-latency:',
    'study',
    'drain-latency',
    '--cpus',
    '1,2',
    '--rounds',
    '2000',
    '--trials',
    '50',
    '--json',
    json,
  );
  expect(r.code).toBe(143);
  const doc = JSON.parse(readFileSync(json, 'utf8')) as { aborted?: boolean; kind: string };
  expect(doc.kind).toBe('folio-race-study');
  expect(doc.aborted).toBe(true);
});

// Single-thread work on the CLI's own thread (hunt and explore with --jobs 1, the logical and
// deterministic studies) runs in slices with a turn of the event loop between them: Ctrl-C stops
// it where it is. Sent once the banner, printed before the work starts, is on stderr.

test('hunt --jobs 1: Ctrl-C stops it where it is, says so, exit 130', async () => {
  const r = await runAndSignal(
    'SIGINT',
    'folio-race hunt:',
    'hunt',
    'S1',
    '--policy',
    'will-v1',
    '--strategy',
    'pct',
    '--seed',
    '1',
    '--max-schedules',
    '300000',
    '--jobs',
    '1',
  );
  expect(r.err).toContain('folio-race: interrupted');
  const m = /no failure in (\d+) schedules .*; interrupted\)/.exec(r.out);
  expect(m, r.out).not.toBeNull();
  expect(Number(m![1])).toBeLessThan(300_000);
  expect(r.code).toBe(130);
});

test('explore --jobs 1 --check-reduction: Ctrl-C stops the search, which says it is incomplete, and the check gives no verdict', async () => {
  const r = await runAndSignal(
    'SIGINT',
    'folio-race explore:',
    'explore',
    'S9',
    '--policy',
    'merged',
    '--cpus',
    '3',
    '--compact',
    '--preemptions',
    '3',
    '--jobs',
    '1',
    '--check-reduction',
  );
  expect(r.err).toContain('folio-race: interrupted');
  expect(r.out).toContain('INCOMPLETE: stopped by an interrupt');
  expect(Number(/^(\d+) interleavings explored/m.exec(r.out)?.[1])).toBeLessThan(25_307);
  expect(r.out).toContain('reduction check: not run (interrupted)');
  expect(r.out).not.toContain('the same end states');
  // A failure found before the interrupt keeps exit 1 (a signal outranks only a clean finish); none: 130.
  expect(r.code).toBe(/failure 1:/.test(r.out) ? 1 : 130);
});

// --jobs 1 is stopped at its banner (inside its first cell); --jobs 2 once its first row is out,
// with other cells running.
test.each([
  ['1', 'folio-race study drain-latency:'],
  ['2', { stdout: 'cpus=512 mech=' }],
] as const)('study --model logical --jobs %s: Ctrl-C keeps the cells that finished, leaves out those stopped part-way, exit 130', async (jobs, when) => {
  const json = join(dir, `logical-${jobs}.json`);
  const r = await runAndSignal('SIGINT', when, 'study', 'drain-latency', '--model', 'logical', '--cpus', '512', '--json', json, '--jobs', jobs);
  expect(r.err).toContain('folio-race: interrupted');
  // (A signal before the first cell started leaves no cell part-way, and says nothing of one.)
  const partial = /folio-race: cell (.*) stopped after (\d+) of 10 trials: not kept/.exec(r.err);
  if (partial) expect(Number(partial[2])).toBeLessThan(10);
  const m = /folio-race: (\d+) of 8 cells finished/.exec(r.err);
  expect(m, r.err).not.toBeNull();
  const doc = JSON.parse(readFileSync(json, 'utf8')) as { aborted?: boolean; cells: Array<{ aggregate: { trials: number } }> };
  expect(doc.aborted).toBe(true);
  expect(doc.cells.length).toBe(Number(m![1]));
  expect(doc.cells.length).toBeLessThan(8);
  for (const c of doc.cells) expect(c.aggregate.trials).toBe(10);
  // The rows printed are the cells kept.
  expect(r.out.split('\n').filter((l) => l.startsWith('cpus=512')).length).toBe(doc.cells.length);
  if (jobs === '2') {
    expect(doc.cells.length).toBeGreaterThan(0);
    expect(partial, r.err).not.toBeNull();
  }
  expect(r.code).toBe(130);
});
