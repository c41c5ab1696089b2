// CLI errors and the single top-level handler: every command's outcome (a number, or a thrown
// error) becomes one `folio-race: <message>` line on stderr and an exit code, after every worker
// thread has been stopped. Nothing here calls process.exit: the process ends by itself once the
// runtime's threads are gone, so no worker is ever cut off mid-trial.
import { CommanderError } from 'commander';

export const EXIT = {
  OK: 0,
  /** --fail-on <kind> was given and a failure of that kind occurred. */
  FAIL_ON: 1,
  /** Bad usage or bad input (unknown command/flag/scenario/policy, out-of-range numbers, bad files). */
  USAGE: 2,
  /** Unexpected internal error (a bug in folio-race). */
  INTERNAL: 3,
  /** An output file could not be written at the end; the results went to a temporary file (named on stderr). */
  OUTPUT: 4,
  /** Interrupted by SIGINT (results so far were still reported). */
  INTERRUPTED: 130,
  /** Terminated by SIGTERM (a batch scheduler's time limit): as INTERRUPTED. */
  TERMINATED: 143,
} as const;

/** Bad usage or input: exit 2, message only (no stack). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command finished but wants a non-zero exit without another message. */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitWith';
  }
}

export interface ErrorSink {
  write(s: string): unknown;
}

/**
 * Map an error to its exit code, writing `folio-race: <message>` (a stack too for internal
 * errors when FOLIO_RACE_DEBUG is set). Commander's own errors arrive as CommanderError through
 * exitOverride: help/version are not errors; everything else is bad usage.
 */
export function reportError(e: unknown, err: ErrorSink = process.stderr): number {
  if (e instanceof ExitWith) return e.code;
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    if (e.code === 'commander.help') return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // help shown for a missing command
    err.write(`folio-race: ${e.message.replace(/^error: /, '')}\n`);
    err.write("folio-race: see 'folio-race --help' (or 'folio-race <command> --help')\n");
    return EXIT.USAGE;
  }
  if (isUsageLike(e)) {
    err.write(`folio-race: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
  const msg = e instanceof Error ? e.message : String(e);
  err.write(`folio-race: internal error: ${msg}\n`);
  if (e instanceof Error && e.stack && process.env['FOLIO_RACE_DEBUG']) err.write(`${e.stack}\n`);
  else err.write('folio-race: (set FOLIO_RACE_DEBUG=1 for the stack trace)\n');
  return EXIT.INTERNAL;
}

/**
 * Input errors raised by other layers count as usage errors: the scenario loader's ScenarioError,
 * and RangeErrors (the kernel model and the runtime throw those for out-of-range parameters,
 * e.g. `cpus: expected an integer from 1 to 64, got 65`).
 */
export function isUsageLike(e: unknown): boolean {
  if (e instanceof UsageError || e instanceof RangeError) return true;
  return (
    e instanceof Error &&
    (e.name === 'ScenarioError' ||
      e.name === 'PolicyFileError' ||
      e.name === 'CostFileError' ||
      e.name === 'InputFileError' ||
      e.name === 'UntranslatableError' ||
      e.name === 'UsageError')
  );
}

/**
 * The single top-level handler: run the command, map errors, then stop every worker thread
 * (`shutdown`) before setting process.exitCode. The process exits on its own afterwards.
 */
export async function runTopLevel(body: () => Promise<number>, shutdown: () => Promise<void>, err: ErrorSink = process.stderr): Promise<number> {
  let code: number;
  try {
    code = await body();
  } catch (e) {
    code = reportError(e, err);
  }
  try {
    await shutdown();
  } catch (e) {
    err.write(`folio-race: stopping worker threads failed: ${e instanceof Error ? e.message : String(e)}\n`);
    if (code === EXIT.OK) code = EXIT.INTERNAL;
  }
  // A signal during the run (signals.ts sets 130 or 143) wins over a clean finish, and names itself.
  const sig = process.exitCode === EXIT.INTERRUPTED || process.exitCode === EXIT.TERMINATED ? process.exitCode : null;
  if (sig !== null && (code === EXIT.OK || code === EXIT.INTERRUPTED)) code = sig;
  process.exitCode = code;
  return code;
}
