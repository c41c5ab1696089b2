// Where the compiled CPU worker lives. Workers always run compiled JavaScript (Vite does not
// transform worker files), so code running from src/ under vitest still spawns dist/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

export function cpuWorkerPath(): string {
  const p = join(packageRoot(), 'dist', 'workers', 'cpu-worker.js');
  if (!existsSync(p)) throw new Error(`folio-race: ${p} is missing; run 'npm run build' first`);
  return p;
}

/**
 * The Node flags worker threads start with: the caller's, less those that only make sense for
 * the main script (`--input-type`, `-e`/`--eval`, `-p`/`--print`), which would stop a worker file
 * from loading when a script runs the library from `node --input-type=module -e ...`.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--input-type')) {
      if (a === '--input-type') i++;
      continue;
    }
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}
