// Input-file errors (scenario files, policy files, replay files): one line per problem, each
// `<file>: <path.to.field> (line N): expected <what>, found <value>`. Every problem in a file is
// collected and reported at once, so a user fixes them in one pass.

/** One problem in a scenario file. `path` is the field path (e.g. `steps.7[0].fault.vma`). */
export interface ScenarioProblem {
  path: string;
  expected: string;
  found: string;
  /** 1-based line in the source file, when the file is YAML and the node could be located. */
  line?: number;
  /** The path as segments (to locate the node in the source). */
  segs?: readonly (string | number)[];
}

/** A user file with problems: the CLI reports it as bad input (exit 2). */
export class InputFileError extends Error {
  readonly file: string;
  readonly problems: readonly ScenarioProblem[];
  constructor(file: string, problems: readonly ScenarioProblem[]) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'InputFileError';
    this.file = file;
    this.problems = problems;
  }
}

export class ScenarioError extends InputFileError {
  constructor(file: string, problems: readonly ScenarioProblem[]) {
    super(file, problems);
    this.name = 'ScenarioError';
  }
}

export class PolicyFileError extends InputFileError {
  constructor(file: string, problems: readonly ScenarioProblem[]) {
    super(file, problems);
    this.name = 'PolicyFileError';
  }
}

export class CostFileError extends InputFileError {
  constructor(file: string, problems: readonly ScenarioProblem[]) {
    super(file, problems);
    this.name = 'CostFileError';
  }
}

/** `<file>: <path>: expected <what>, found <value>`; the line, when known, follows the path. */
export function formatProblem(file: string, p: ScenarioProblem): string {
  const where = p.path === '' ? '(top level)' : p.path;
  const line = p.line !== undefined ? ` (line ${p.line})` : '';
  return `${file}: ${where}${line}: expected ${p.expected}, found ${p.found}`;
}

/** How a found value is shown: strings quoted, missing fields named as such, objects abbreviated. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v.length > 60 ? v.slice(0, 57) + '...' : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object);
    return keys.length === 0 ? 'an empty map' : `a map with ${keys.map((k) => `'${k}'`).join(', ')}`;
  }
  return String(v);
}

/** Path segments -> `a.b[2].c`. Numeric segments that index lists are shown in brackets. */
export function joinPath(segs: readonly (string | number)[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** `a.b[2].c` -> path segments: joinPath's inverse (op paths are kept as strings). */
export function splitPath(path: string): (string | number)[] {
  return [...path.matchAll(/\[(\d+)\]|[^.[\]]+/g)].map((m) => (m[1] !== undefined ? Number(m[1]) : m[0]));
}

/** Collects problems while validating; `fail()` throws them all. */
export class Problems {
  readonly list: ScenarioProblem[] = [];
  add(path: readonly (string | number)[], expected: string, found: string): void {
    this.list.push({ path: joinPath(path), expected, found, segs: [...path] });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}
