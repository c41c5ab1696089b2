// Loading and validating scenarios: a built-in by id, or a user file (.yaml/.yml/.json). The
// schema check (zod) and the reference check (names, CPU numbers, page ranges, signals, a
// signal/wait order that must deadlock) report every problem as
// `<file>: <path>: expected <what>, found <value>`, one line each.
import { builtinScenarioFile, builtinScenarioIds } from './builtin.js';
import type { z } from 'zod';
import { parseDocumentText, parseWith, readInputFile } from '../input/document.js';
import { Problems, ScenarioError, showValue } from '../input/problems.js';
import {
  ANON,
  MAX_STEPS_PER_CPU,
  FolioSchema,
  ObjectSchema,
  ScenarioTopSchema,
  VmaSchema,
  folioInstanceName,
  type FolioSpec,
  type ObjectSpec,
  type Scenario,
  type VmaSpec,
} from './schema.js';
import { NO_ARG_OPS, OP_NAMES, OP_SPECS, opRow, type Op, type OpCommon, type OpName } from './ops/index.js';
import { list, OpCheck, type Path, type ScriptCheck, type VmaInfo } from './script_check.js';
import { reportSyncDeadlocks } from './sync_deadlock.js';
import { MAX_DIM } from '../mm/boot.js';
import { MAX_SCENARIO_PAGES } from '../runtime/dims.js';

export interface ValidateOptions {
  /** The CPU count the run will use: must be at least the scenario's `cpus`. */
  cpus?: number;
}

/** Load a built-in scenario by id (case-insensitive), or a .yaml/.yml/.json file. */
export function loadScenario(nameOrPath: string, opts: ValidateOptions = {}): Scenario {
  const isPath = /\.(ya?ml|json)$/i.test(nameOrPath) || nameOrPath.includes('/') || nameOrPath.includes('\\');
  if (!isPath) {
    const file = builtinScenarioFile(nameOrPath);
    if (file === null) {
      throw new ScenarioError(nameOrPath, [
        {
          path: '',
          expected: `a built-in scenario id (${builtinScenarioIds().join(', ')}) or a .yaml/.yml/.json file`,
          found: showValue(nameOrPath),
        },
      ]);
    }
    return loadScenarioFile(file, opts, `scenarios/${file.split(/[\\/]/).pop()}`);
  }
  return loadScenarioFile(nameOrPath, opts);
}

/** Load and validate one file. `shownAs` is how the file is named in messages. */
export function loadScenarioFile(path: string, opts: ValidateOptions = {}, shownAs = path): Scenario {
  const { text, format } = readInputFile(path, 'scenario', (f, ps) => new ScenarioError(f, ps), shownAs);
  return parseScenarioText(text, shownAs, opts, format);
}

/** Parse scenario text (YAML, or JSON) and validate it. */
export function parseScenarioText(text: string, file: string, opts: ValidateOptions = {}, format: 'yaml' | 'json' = 'yaml'): Scenario {
  return parseDocumentText(
    text,
    file,
    format,
    (obj) => validateScenario(obj, file, opts),
    (f, ps) => new ScenarioError(f, ps),
  );
}

/** Every built-in scenario, loaded and validated. */
export function loadAllBuiltins(opts: ValidateOptions = {}): Scenario[] {
  return builtinScenarioIds().map((id) => loadScenario(id, opts));
}

// ---- validation ------------------------------------------------------------------------------

/**
 * Validate a parsed scenario object (schema and references). Throws a ScenarioError listing
 * every problem; returns the normalised scenario.
 */
export function validateScenario(obj: unknown, file: string, opts: ValidateOptions = {}): Scenario {
  const pr = new Problems();
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ScenarioError(file, [{ path: '', expected: 'a map with id, title, description, raceWindow, cpus, steps ...', found: showValue(obj) }]);
  }
  const raw = obj as Record<string, unknown>;
  const top = parseWith(pr, ScenarioTopSchema, raw, []);
  const cpus = typeof raw.cpus === 'number' && Number.isInteger(raw.cpus) && raw.cpus >= 1 ? raw.cpus : undefined;
  if (cpus !== undefined && opts.cpus !== undefined && opts.cpus < cpus) {
    pr.add(['cpus'], `a scenario that fits in the ${opts.cpus} CPUs of this run (raise --cpus to at least ${cpus})`, `cpus: ${cpus}`);
  }
  const rawList = (k: string): unknown[] => (Array.isArray(raw[k]) ? (raw[k] as unknown[]) : []);

  // Objects.
  const objects: ObjectSpec[] = [];
  const objByName = new Map<string, ObjectSpec>();
  const objNames = namesOf(pr, rawList('objects'), 'objects', 'object', [ANON]);
  rawList('objects').forEach((item, i) => {
    const o = parseWith(pr, ObjectSchema, item, ['objects', i]);
    if (!o) return;
    objects.push(o);
    if (!objByName.has(o.name)) objByName.set(o.name, o);
  });

  // VMAs (fork children are added below, once the scripts have been read).
  const vmas: VmaSpec[] = [];
  const vmaByName = new Map<string, VmaInfo>();
  const vmaNames = namesOf(pr, rawList('vmas'), 'vmas', 'VMA', []);
  rawList('vmas').forEach((item, i) => {
    const v = parseWith(pr, VmaSchema, item, ['vmas', i]);
    if (!v) return;
    vmas.push(v);
    if (!vmaByName.has(v.name)) vmaByName.set(v.name, { spec: v, where: `vmas[${i}]` });
    if (v.object !== ANON) {
      const o = objByName.get(v.object);
      if (!o) {
        if (!objNames.has(v.object)) pr.add(['vmas', i, 'object'], `'${ANON}' or the name of an object (${list(objNames)})`, showValue(v.object));
      } else if (v.pgoff + v.pages > o.pages) {
        pr.add(['vmas', i, 'pages'], `at most ${o.pages - v.pgoff} pages (object '${o.name}' has ${o.pages} pages, pgoff ${v.pgoff})`, String(v.pages));
      }
    } else if (v.flags.includes('shared')) {
      pr.add(['vmas', i, 'flags'], `no 'shared' on an anonymous VMA (MAP_SHARED|MAP_ANONYMOUS is shmem: declare a shmem object)`, "'shared'");
    }
    if (v.flags.includes('lockonfault') && !v.flags.includes('locked')) {
      pr.add(['vmas', i, 'flags'], "'locked' together with 'lockonfault' (VM_LOCKONFAULT is only set with VM_LOCKED)", `[${v.flags.join(', ')}]`);
    }
  });

  // The kernel memory is sized from the pages named here (runtime/dims.ts): refuse what cannot fit.
  const namedPages = objects.reduce((n, o) => n + o.pages, 0) + vmas.reduce((n, v) => n + v.pages, 0);
  if (namedPages > MAX_SCENARIO_PAGES) {
    pr.add(
      [vmas.length > 0 ? 'vmas' : 'objects'],
      `at most ${MAX_SCENARIO_PAGES.toLocaleString('en-US')} pages in the objects and VMAs together (4 folio slots per page, ${MAX_DIM.toLocaleString('en-US')} at most)`,
      `${namedPages.toLocaleString('en-US')} pages`,
    );
  }

  // Steps: read the scripts first (fork children become VMAs, signals are collected).
  const steps: Record<number, Op[]> = {};
  const rawSteps = raw.steps !== null && typeof raw.steps === 'object' && !Array.isArray(raw.steps) ? (raw.steps as Record<string, unknown>) : {};
  const sc: ScriptCheck = { pr, cpus, vmaByName, vmaNames, objByName, objNames, folioNames: new Set(), signalsRaised: new Set(), waits: [], forks: [] };

  // Folios.
  const folios: FolioSpec[] = [];
  const folioNames = namesOf(pr, rawList('folios'), 'folios', 'folio', []);
  for (const n of [...folioNames]) folioNames.add(`${n}#0`);
  const pcSlots = new Map<string, string>(); // `${object}:${index}` -> folio path
  const ptes = new Map<string, string>(); // `${vma}:${page}` -> folio path
  rawList('folios').forEach((item, i) => {
    const f = parseWith(pr, FolioSchema, item, ['folios', i]);
    if (!f) return;
    folios.push(f);
    const nr = 1 << f.order;
    for (let k = 1; k < f.count; k++) folioNames.add(folioInstanceName(f, k));
    const o = f.object === ANON ? undefined : objByName.get(f.object);
    if (f.object !== ANON) {
      if (!o) {
        if (!objNames.has(f.object)) pr.add(['folios', i, 'object'], `'${ANON}' or the name of an object (${list(objNames)})`, showValue(f.object));
      } else {
        if (f.index % nr !== 0) pr.add(['folios', i, 'index'], `an index aligned to the folio's ${nr} pages (order ${f.order})`, String(f.index));
        if (f.index + f.count * nr > o.pages) {
          pr.add(
            ['folios', i, 'index'],
            `folios inside object '${o.name}' (${o.pages} pages): index + count x ${nr} <= ${o.pages}`,
            `index ${f.index}, count ${f.count}`,
          );
        } else {
          for (let k = 0; k < f.count; k++) {
            for (let p = 0; p < nr; p++) {
              const key = `${o.name}:${f.index + k * nr + p}`;
              const prev = pcSlots.get(key);
              if (prev) pr.add(['folios', i, 'index'], `a page-cache index no other folio occupies (${prev} holds ${key})`, String(f.index + k * nr + p));
              else pcSlots.set(key, `folios[${i}]`);
            }
          }
        }
      }
    }
    if (f.mlockCount !== undefined && f.lru !== 'unevictable') {
      pr.add(['folios', i, 'mlockCount'], "no mlockCount unless lru is 'unevictable' (mlock_count overlays the LRU list pointers)", String(f.mlockCount));
    }
    if (f.object === ANON && f.flags.includes('private')) pr.add(['folios', i, 'flags'], 'no PG_private on an anonymous folio', "'private'");
    if (f.object === ANON && f.mappedBy.length === 0) {
      pr.add(['folios', i, 'mappedBy'], 'at least one mapping for an anonymous folio (nothing else would hold it)', 'an empty list');
    }
    f.mappedBy.forEach((m, j) => {
      const at = ['folios', i, 'mappedBy', j] as const;
      const vi = vmaByName.get(m.vma);
      if (!vi) {
        if (!vmaNames.has(m.vma)) pr.add([...at, 'vma'], `the name of a VMA (${list(vmaNames)})`, showValue(m.vma));
        return;
      }
      const v = vi.spec;
      if (v.object !== f.object) {
        pr.add(
          [...at, 'vma'],
          `a VMA mapping ${f.object === ANON ? 'anonymous memory' : `object '${f.object}'`}`,
          `'${m.vma}' (maps ${v.object === ANON ? 'anonymous memory' : `object '${v.object}'`})`,
        );
        return;
      }
      const pages = m.pages ?? nr;
      if (pages > nr) pr.add([...at, 'pages'], `at most the folio's ${nr} pages`, String(pages));
      const last = m.page + (f.count - 1) * nr + pages - 1;
      if (last >= v.pages) {
        pr.add(
          [...at, 'page'],
          `a page range inside VMA '${m.vma}' (pages 0..${v.pages - 1})`,
          f.count > 1 || pages > 1 ? `${m.page} (last page mapped: ${last})` : String(m.page),
        );
        return;
      }
      if (f.object !== ANON && o) {
        const off = v.pgoff + m.page - f.index;
        if (off < 0 || off + pages > nr) {
          pr.add(
            [...at, 'page'],
            `a page of VMA '${m.vma}' that maps the folio's indices ${f.index}..${f.index + nr - 1} (VMA page = index - pgoff ${v.pgoff})`,
            String(m.page),
          );
          return;
        }
      }
      for (let k = 0; k < f.count; k++) {
        for (let p = 0; p < pages; p++) {
          const key = `${m.vma}:${m.page + k * nr + p}`;
          const prev = ptes.get(key);
          if (prev)
            pr.add([...at, 'page'], `a page no other folio maps (${prev} maps VMA '${m.vma}' page ${m.page + k * nr + p})`, String(m.page + k * nr + p));
          else ptes.set(key, `folios[${i}]`);
        }
      }
    });
  });
  sc.folioNames = folioNames;

  // Pre-pass over scripts for fork children, so ops may refer to them in any order.
  for (const [key, ops] of Object.entries(rawSteps)) if (Array.isArray(ops)) collectForks(ops, ['steps', key], sc);
  for (const fk of sc.forks) {
    const parent = vmaByName.get(fk.parent);
    if (vmaNames.has(fk.child) || vmaByName.has(fk.child)) {
      pr.add(
        [...fk.at, 'as'],
        `a new VMA name (not '${fk.child}': ${vmaNames.has(fk.child) ? 'declared in vmas' : 'created by another fork'})`,
        showValue(fk.child),
      );
      continue;
    }
    if (!parent) continue; // reported when the op is checked
    const flags = parent.spec.flags.filter((x) => x !== 'locked' && x !== 'lockonfault');
    vmaByName.set(fk.child, { spec: { ...parent.spec, name: fk.child, flags, mm: parent.spec.mm + 1000 }, where: fk.at.join('.') });
  }

  for (const [key, ops] of Object.entries(rawSteps)) {
    const cpu = /^\d+$/.test(key) ? Number(key) : NaN;
    if (Number.isNaN(cpu)) {
      pr.add(['steps', key], 'a CPU number as the key of a script', showValue(key));
      continue;
    }
    if (cpus !== undefined && cpu >= cpus) {
      pr.add(['steps', key], `a CPU number from 0 to ${cpus - 1} (the scenario declares cpus: ${cpus})`, `CPU ${cpu}`);
    }
    if (!Array.isArray(ops)) continue; // reported by the top-level schema
    steps[cpu] = parseOps(ops, ['steps', key], sc, 0);
    const n = unrolledSteps(steps[cpu]!);
    if (n > MAX_STEPS_PER_CPU) {
      pr.add(
        ['steps', key],
        `at most ${MAX_STEPS_PER_CPU.toLocaleString('en-US')} steps per CPU once repeats are unrolled`,
        `${n.toLocaleString('en-US')} steps`,
      );
    }
  }
  for (const w of sc.waits) {
    if (!sc.signalsRaised.has(w.name)) {
      pr.add([...w.at, 'name'], `a signal some CPU raises with a 'signal' op (raised: ${list(sc.signalsRaised)})`, showValue(w.name));
    }
  }
  // Only on scripts read whole: an op dropped for its problem would change the order checked.
  if (pr.empty) reportSyncDeadlocks(pr, steps);

  if (!pr.empty || !top) throw new ScenarioError(file, pr.list);
  return {
    id: top.id,
    title: top.title,
    description: top.description,
    raceWindow: top.raceWindow,
    cpus: top.cpus,
    alloc: top.alloc,
    objects,
    vmas,
    folios,
    steps,
    timing: top.timing,
    measure: top.measure,
    file,
  };
}

/** Names of a section's items (raw, so that a broken item still defines its name); duplicates reported. */
function namesOf(pr: Problems, items: unknown[], section: string, what: string, reserved: string[]): Set<string> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const n = (item as { name?: unknown } | null)?.name;
    if (typeof n !== 'string' || n === '') return;
    if (reserved.includes(n)) {
      pr.add([section, i, 'name'], `${article(what)} ${what} name other than the reserved '${n}'`, showValue(n));
    } else if (seen.has(n)) {
      pr.add([section, i, 'name'], `${article(what)} ${what} name not used by another ${what} (${section}[${seen.get(n)}] is already '${n}')`, showValue(n));
    } else seen.set(n, i);
  });
  return new Set(seen.keys());
}

const article = (w: string): string => (/^[aeiouAEIOU]/.test(w) ? 'an' : 'a');

/** An op entry is `- name`, `- name: {args}` or `- name:` (no arguments). */
function splitOp(entry: unknown): { name: string; args: unknown } | { bad: string } {
  if (typeof entry === 'string') return { name: entry, args: undefined };
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
    const keys = Object.keys(entry);
    if (keys.length === 1) return { name: keys[0]!, args: (entry as Record<string, unknown>)[keys[0]!] };
    return { bad: keys.length === 0 ? 'an empty map' : `a map with ${keys.length} keys (${keys.map((k) => `'${k}'`).join(', ')})` };
  }
  return { bad: showValue(entry) };
}

function collectForks(ops: unknown[], at: Path, sc: ScriptCheck): void {
  ops.forEach((entry, i) => {
    const s = splitOp(entry);
    if ('bad' in s) return;
    const a = s.args as Record<string, unknown> | null | undefined;
    if (s.name === 'fork' && a && typeof a.vma === 'string' && typeof a.as === 'string') sc.forks.push({ parent: a.vma, child: a.as, at: [...at, i, 'fork'] });
    if (s.name === 'repeat' && a && Array.isArray(a.ops)) collectForks(a.ops, [...at, i, 'repeat', 'ops'], sc);
  });
}

const opList = OP_NAMES.join(', ');

/** Steps a script runs once its repeats are unrolled (the runtimes' program length). */
function unrolledSteps(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) n += op.op === 'repeat' ? op.times * unrolledSteps(op.ops) : 1;
  return n;
}

/**
 * Parse and check a list of ops. `reach` is how far repeats inside which this list sits move
 * pages: the last repetition's page is page + reach.
 */
function parseOps(ops: unknown[], at: Path, sc: ScriptCheck, reach: number): Op[] {
  const out: Op[] = [];
  ops.forEach((entry, i) => {
    const here = [...at, i];
    const s = splitOp(entry);
    if ('bad' in s) {
      sc.pr.add(here, `an op: a name (one of ${opList}) or a map with one op name as its only key`, s.bad);
      return;
    }
    if (!(OP_NAMES as string[]).includes(s.name)) {
      sc.pr.add(here, `an op (one of ${opList})`, showValue(s.name));
      return;
    }
    const name = s.name as OpName;
    if (s.args === undefined && typeof entry === 'string' && !NO_ARG_OPS.includes(name)) {
      sc.pr.add(here, `arguments for '${name}' (write it as '${name}: {...}')`, 'none');
      return;
    }
    const spec = OP_SPECS[name];
    const argsAt = [...here, name];
    const args = parseWith(sc.pr, spec.args as unknown as z.ZodType<Record<string, unknown>, z.ZodTypeDef, unknown>, s.args ?? {}, argsAt);
    if (!args) return;
    // The row checks its own fields against the scenario; the path and timing knobs are every op's.
    const fields = opRow(name).check(args, new OpCheck(sc, argsAt, reach, parseOps));
    if (fields) out.push({ op: name, ...fields, ...opCommon(here, args) } as Op);
  });
  return out;
}

/** What every op carries: its place in the file (`steps.7[2]`) and the timing knobs it gave. */
function opCommon(at: Path, a: Record<string, unknown>): OpCommon {
  const path = at.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  return {
    path,
    ...(a.delayAfterUs !== undefined ? { delayAfterUs: a.delayAfterUs as number } : {}),
    ...(a.jitterUs !== undefined ? { jitterUs: a.jitterUs as number } : {}),
  };
}
