// SIGTERM (what a batch scheduler sends at its time limit) is handled like Ctrl-C: the results so
// far are tabulated and written with "aborted": true, and the exit code says which signal (143).
// The signal is sent once the command has said it started, never after a sleep.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI, send `sig` when stderr first contains `when`, resolve with the exit code and stderr. */
function runAndSignal(sig: NodeJS.Signals, when: string, ...args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 50_000,
    });
    let err = '';
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (!sent && err.includes(when)) {
        sent = true;
        child.kill(sig);
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, err }));
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
