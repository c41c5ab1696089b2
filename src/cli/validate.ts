// Validation of command-line values. Every message names the flag and the value as typed, e.g.
// `--cpus: expected an integer from 1 to 64, got 65`; all of them throw UsageError (exit 2).
import { accessSync, closeSync, constants, openSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FREE_RUN_MAX_CPUS } from '../mm/layout.js';
import { ALL_FAILURE_KINDS } from '../stats/aggregate.js';
import { UsageError } from './errors.js';

export const MAX_TRIALS = 100_000_000;
export const MAX_SEED = 0xffff_ffff;

/** A decimal integer in [min, max]; `raw` is what the user typed. */
export function intFlag(flag: string, raw: string, min: number, max: number): number {
  const s = raw.trim();
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected an integer from ${min} to ${max}, got ${raw === '' ? "''" : raw}`);
  }
  return n;
}

/** Why a file cannot be written, as outputPathFlag() says it. */
const WRITE_ERRORS: Record<string, string> = {
  EROFS: 'a read-only file system',
  EACCES: 'no write permission',
  EPERM: 'no write permission',
  ENOENT: 'no file can be created there: ENOENT',
};

/**
 * A file to write, checked before any work: its directory exists and is writable, the path is not
 * a directory, and an existing file is writable. A new file's directory is tried by creating and
 * removing a probe file there (access() says yes for root, and in /proc, where nothing can be
 * created). (A run is never wasted on an output it cannot keep; cli/output.ts still saves the
 * results if the write fails later, as on a device that is full.)
 */
export function outputPathFlag(flag: string, raw: string): string {
  if (raw.trim() === '') throw new UsageError(`${flag}: expected a file path, got ''`);
  const path = resolve(raw);
  const dir = statSync(dirname(path), { throwIfNoEntry: false });
  if (!dir) throw new UsageError(`${flag}: directory '${dirname(raw)}' does not exist`);
  if (!dir.isDirectory()) throw new UsageError(`${flag}: '${dirname(raw)}' is a file, not a directory`);
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new UsageError(`${flag}: '${raw}' is a directory`);
  try {
    accessSync(st ? path : dirname(path), constants.W_OK);
    if (!st) {
      const probe = join(dirname(path), `.folio-race-probe-${process.pid}-${Date.now()}`);
      closeSync(openSync(probe, 'wx'));
      rmSync(probe, { force: true });
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(`${flag}: cannot write ${st ? `'${raw}'` : `in directory '${dirname(raw)}'`} (${WRITE_ERRORS[code] ?? code})`);
  }
  return path;
}

export function cpusFlag(raw: string): number {
  return intFlag('--cpus', raw, 1, FREE_RUN_MAX_CPUS);
}
export function trialsFlag(raw: string): number {
  return intFlag('--trials', raw, 1, MAX_TRIALS);
}
export function seedFlag(raw: string): number {
  return intFlag('--seed', raw, 0, MAX_SEED);
}

/** What --fail-on accepts: failure kinds, 'permitted' (policy-permitted findings) and 'any'. */
export const FAIL_ON_KINDS = [...ALL_FAILURE_KINDS, 'permitted', 'any'] as const;
export type FailOnKind = (typeof FAIL_ON_KINDS)[number];

/** Comma-separated kinds, case-insensitive (ENOMEM, enomem). */
export function failOnFlag(raw: string): FailOnKind[] {
  const out: FailOnKind[] = [];
  for (const part of raw.split(',')) {
    const want = part.trim().toLowerCase();
    const hit = FAIL_ON_KINDS.find((k) => k.toLowerCase() === want);
    if (!hit) throw new UsageError(`--fail-on: unknown failure kind '${part.trim()}' (known: ${FAIL_ON_KINDS.join(', ')})`);
    if (!out.includes(hit)) out.push(hit);
  }
  return out;
}

/** A fresh seed when none was given (printed and recorded so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * MAX_SEED);
}

/** --jobs (hunt, explore): a count of threads, or 'auto' for one per host core. */
export function jobsFlag(raw: string): number {
  const s = raw.trim();
  if (s.toLowerCase() === 'auto') return availableParallelism();
  const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--jobs: expected 'auto' or a count of threads from 1 up, got ${raw === '' ? "''" : raw}`);
  return n;
}

/** The banner's note on --jobs: the threads that run, and why fewer than asked. */
export function jobsNote(asked: number, threads: number): string {
  if (asked <= 1) return '';
  return asked > threads ? `, ${threads} threads (--jobs ${asked}: this host has ${threads} cores)` : `, ${threads} threads`;
}
