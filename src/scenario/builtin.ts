// Where the built-in scenarios live (top-level scenarios/, one file per scenario) and which
// ones exist. The folder is found from the package root, so this works from src/ (vitest, tsx)
// and from dist/src/ (compiled).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

export function scenariosDir(): string {
  return join(packageRoot(), 'scenarios');
}

/** Natural order: S1, S1b, S2, ..., S10, S11, S12. */
function naturalCompare(a: string, b: string): number {
  const ra = /^([A-Za-z]*)(\d*)(.*)$/.exec(a)!;
  const rb = /^([A-Za-z]*)(\d*)(.*)$/.exec(b)!;
  if (ra[1] !== rb[1]) return ra[1]!.localeCompare(rb[1]!);
  const na = ra[2] === '' ? -1 : Number(ra[2]);
  const nb = rb[2] === '' ? -1 : Number(rb[2]);
  if (na !== nb) return na - nb;
  return ra[3]!.localeCompare(rb[3]!);
}

/** Built-in scenario ids (file names without .yaml), in natural order. */
export function builtinScenarioIds(): string[] {
  const dir = scenariosDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort(naturalCompare);
}

/** The file of a built-in scenario, matched case-insensitively; null if there is none. */
export function builtinScenarioFile(id: string): string | null {
  const want = id.toLowerCase();
  const hit = builtinScenarioIds().find((x) => x.toLowerCase() === want);
  return hit === undefined ? null : join(scenariosDir(), `${hit}.yaml`);
}
