// Where the compiled CPU worker lives. Workers always run compiled JavaScript (Vite does not
// transform worker files), so code running from src/ under vitest still spawns dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('folio-race: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export function cpuWorkerPath(): string {
  const p = join(packageRoot(), 'dist', 'workers', 'cpu-worker.js');
  if (!existsSync(p)) throw new Error(`folio-race: ${p} is missing; run 'npm run build' first`);
  return p;
}
