// Running the real `folio-race` binary (under tsx) in a child process: exit code, stdout, stderr.
// A worker thread left running would keep the child alive until the timeout kills it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export function cli(...args: string[]): Promise<CliRun> {
  return cliWith({}, ...args);
}

/** `cli` with a longer limit (a QEMU boot) or extra environment. */
export function cliWith(o: { timeoutMs?: number; env?: Record<string, string> }, ...args: string[]): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, NO_COLOR: '1', ...o.env },
      timeout: o.timeoutMs ?? 50_000,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, out, err }));
  });
}
