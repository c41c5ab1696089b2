// The layers the CLI drives, loaded lazily: `list`, `policies` and bad-usage paths never load the
// runtime (no worker code, fast start), and a missing layer is reported as such instead of
// breaking every command. Modules other engineers provide and that may not be in this build yet
// are imported through a path string and described by the interfaces below (the contract);
// CALL SITE comments mark each place the runtime owner wires in.
import { basename } from 'node:path';
import type { Policy } from '../mm/policy.js';
import type { TrialResult } from '../runtime/api.js';
import type { Scenario } from '../scenario/schema.js';
import type { PolicyAggregate } from '../stats/aggregate.js';

export type { Scenario };

/** src/runtime/stress.ts: runStress() (free-run, genuine worker threads). */
export interface StressOptions {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  trials: number;
  seed: number;
  onTrial?: (r: TrialResult) => void;
  signal?: AbortSignal;
}
export interface StressOutcome {
  trials: TrialResult[] | null;
  aggregate: PolicyAggregate;
  aborted: boolean;
}
interface StressModule {
  runStress(opts: StressOptions): Promise<StressOutcome>;
}

/** src/runtime/run_one.ts: runOne(): one trial, optionally traced (`folio-race run`). */
export interface RunOneOptions {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  seed: number;
  /** Print page_ref_* trace lines (ftrace style) as the trial runs. */
  trace: boolean;
  /** Where trace lines and the final ledger go (one line per call, no newline). */
  out: (line: string) => void;
  signal?: AbortSignal;
}
export interface RunOneOutcome {
  result: TrialResult;
  /** The reference ledger of every folio at the end (lines, printed as given). */
  ledger: string[];
}
interface RunOneModule {
  runOne(opts: RunOneOptions): Promise<RunOneOutcome>;
}

/** src/runtime/demo.ts: runDemo() (`folio-race demo`, `npm start`). May return an exit code. */
interface DemoModule {
  runDemo(): Promise<number | void>;
}

/** src/scenario/explain.ts: explainScenario(). */
interface ExplainModule {
  explainScenario(s: Scenario): string | string[];
}

/** A built-in scenario as `list` shows it. */
export interface ScenarioListItem {
  id: string;
  title: string;
}

/** Thrown when a layer of the tool is not in this build (exit 3, names the module). */
export class MissingModuleError extends Error {
  constructor(what: string, spec: string) {
    super(`${what} is not available in this build (${spec} is missing)`);
    this.name = 'MissingModuleError';
  }
}

async function importLayer<T>(spec: string, what: string): Promise<T> {
  try {
    return (await import(spec)) as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const stem = basename(spec).replace(/\.js$/, '');
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(stem)) throw new MissingModuleError(what, spec);
    throw e;
  }
}

// ---- runtime -------------------------------------------------------------------------------

export async function loadRunStress(): Promise<StressModule['runStress']> {
  // CALL SITE (runtime owner): runStress from src/runtime/stress.ts.
  const m = await importLayer<StressModule>('../runtime/stress.js', 'the stress runtime (runStress)');
  return m.runStress;
}

export async function loadRunOne(): Promise<RunOneModule['runOne']> {
  // CALL SITE (runtime owner): runOne from src/runtime/run_one.ts, for `folio-race run`.
  const m = await importLayer<RunOneModule>('../runtime/run_one.js', 'the single-trial runtime (runOne)');
  return m.runOne;
}

export async function loadRunDemo(): Promise<DemoModule['runDemo']> {
  // CALL SITE (runtime owner): runDemo from src/runtime/demo.ts, for `folio-race demo` / npm start.
  const m = await importLayer<DemoModule>('../runtime/demo.js', 'the demo (runDemo)');
  return m.runDemo;
}

/** Stop and join every worker thread the runtime started (registry.ts). */
export async function shutdownAll(): Promise<void> {
  const m = await import('../runtime/registry.js');
  await m.shutdownAll();
}

// ---- scenarios -----------------------------------------------------------------------------

/** Load and validate a scenario (built-in id or file); `cpus` is checked against its minimum. */
export async function loadScenario(nameOrPath: string, cpus?: number): Promise<Scenario> {
  const m = await import('../scenario/load.js');
  return m.loadScenario(nameOrPath, cpus === undefined ? {} : { cpus });
}

/** Text explaining a scenario; a short fallback when explain.ts is not in this build. */
export async function explainScenario(s: Scenario): Promise<string> {
  try {
    const m = await importLayer<ExplainModule>('../scenario/explain.js', 'scenario explanations');
    const t = m.explainScenario(s);
    return Array.isArray(t) ? t.join('\n') : t;
  } catch (e) {
    if (!(e instanceof MissingModuleError)) throw e;
    const cpus = Object.keys(s.steps).join(', ');
    return [`${s.id}: ${s.title}`, '', s.description, '', `Race window: ${s.raceWindow}`, `CPUs needed: ${s.cpus} (scripted: ${cpus})`].join('\n');
  }
}

/** Built-in scenarios: listBuiltinScenarios() when builtin.ts has it, else ids plus titles. */
export async function listBuiltinScenarios(): Promise<ScenarioListItem[]> {
  const b = (await import('../scenario/builtin.js')) as Record<string, unknown>;
  const lister = b['listBuiltinScenarios'];
  if (typeof lister === 'function') return (lister() as unknown[]).map(normaliseListItem);
  const ids = (b['builtinScenarioIds'] as () => string[])();
  const load = await import('../scenario/load.js');
  return ids.map((id) => {
    try {
      return { id, title: load.loadScenario(id).title };
    } catch (e) {
      return { id, title: `(invalid: ${(e as Error).message.split('\n')[0]})` };
    }
  });
}

function normaliseListItem(x: unknown): ScenarioListItem {
  if (typeof x === 'string') return { id: x, title: '' };
  const o = (x ?? {}) as Record<string, unknown>;
  const id = String(o['id'] ?? o['name'] ?? '?');
  const title = String(o['title'] ?? o['summary'] ?? o['description'] ?? '');
  return { id, title };
}
