// What every command gets: its output streams and the exit code it wants. Commands never call
// process.exit; main.ts hands the code to the top-level handler (errors.ts).
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface CliContext {
  out: OutStream;
  err: OutStream;
  /** Set by a command that finishes with a non-zero code (e.g. --fail-on matched). */
  exitCode: number;
  env: NodeJS.ProcessEnv;
}

/** Colour only on a TTY, and never with NO_COLOR set (https://no-color.org) or --no-color. */
export function useColor(ctx: CliContext, stream: OutStream, flag: boolean | undefined = true): boolean {
  return flag !== false && stream.isTTY === true && !ctx.env['NO_COLOR'];
}
