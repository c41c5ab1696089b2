// Where the package lives on disk: the folder holding package.json above this file. Works from
// src/ (vitest, tsx) and from dist/src/ (compiled).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | null = null;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`folio-race: cannot find package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
