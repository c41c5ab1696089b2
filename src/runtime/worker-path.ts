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
