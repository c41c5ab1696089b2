// Writing a result file at the end of a run. The path was checked before the run started
// (validate.ts outputPathFlag: the directory exists and is writable), but a disk can fill or a
// mount turn read-only meanwhile: then the results go to a file in the temporary directory, the
// message says where, and the command exits 4, so nothing a run produced is lost.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { CliContext } from './io.js';

let failed = 0;
/** How many outputs went to a fallback file (or nowhere) in this process: main.ts then exits 4. */
export function outputFailures(): number {
  return failed;
}

/**
 * Write `text` to `path` (named by `flag` in messages); on failure, next to the temp files.
 * Returns where it went: `path`, the fallback, or '' when neither could be written.
 */
export function writeOutput(ctx: CliContext, flag: string, path: string, text: string): string {
  try {
    writeFileSync(path, text);
    return path;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const fallback = join(tmpdir(), `folio-race-${process.pid}-${Date.now()}-${basename(path)}`);
    try {
      writeFileSync(fallback, text);
    } catch (e2) {
      ctx.err.write(
        `folio-race: ${flag}: could not write '${path}' (${why}) nor '${fallback}' (${(e2 as NodeJS.ErrnoException).code ?? e2}); the results above are all that is left\n`,
      );
      failed++;
      return '';
    }
    ctx.err.write(`folio-race: ${flag}: could not write '${path}' (${why}); the results are in '${fallback}'\n`);
    failed++;
    return fallback;
  }
}
