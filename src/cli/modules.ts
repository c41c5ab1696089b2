// The layers the CLI drives, imported lazily: `list`, `policies`, `--help` and bad-usage paths
// never load the runtime (no worker code, fast start).
import type { Scenario } from '../scenario/schema.js';
import type { runStress } from '../runtime/stress.js';
import type { runOne } from '../runtime/run_one.js';
import type { runDemo } from '../runtime/demo.js';

export type { Scenario };
export type { StressOptions, StressOutcome } from '../runtime/stress.js';
export type { RunOneOptions, RunOneOutcome } from '../runtime/run_one.js';

/** A built-in scenario as `list` shows it. */
export interface ScenarioListItem {
  id: string;
  title: string;
}

/** The stress runner of a mode: CPU worker threads, or deterministic chunks on a piscina pool. */
export async function loadRunStress(mode: 'free-run' | 'deterministic' = 'free-run'): Promise<typeof runStress> {
  if (mode === 'deterministic') return (await import('../runtime/det_stress.js')).runDeterministicStress;
  return (await import('../runtime/stress.js')).runStress;
}

export async function loadRunOne(): Promise<typeof runOne> {
  return (await import('../runtime/run_one.js')).runOne;
}

export async function loadRunDemo(): Promise<typeof runDemo> {
  return (await import('../runtime/demo.js')).runDemo;
}

/** Stop and join every worker thread the runtime started (registry.ts). */
export async function shutdownAll(): Promise<void> {
  await (await import('../runtime/registry.js')).shutdownAll();
}

/** Load and validate a scenario (built-in id or file); `cpus` is checked against its minimum. */
export async function loadScenario(nameOrPath: string, cpus?: number): Promise<Scenario> {
  const m = await import('../scenario/load.js');
  return m.loadScenario(nameOrPath, cpus === undefined ? {} : { cpus });
}

export async function explainScenario(s: Scenario): Promise<string> {
  return (await import('../scenario/explain.js')).explainScenario(s);
}

/** Built-in scenarios: id and title (an invalid file is listed with its first error). */
export async function listBuiltinScenarios(): Promise<ScenarioListItem[]> {
  const { builtinScenarioIds } = await import('../scenario/builtin.js');
  const load = await import('../scenario/load.js');
  return builtinScenarioIds().map((id) => {
    try {
      return { id, title: load.loadScenario(id).title };
    } catch (e) {
      return { id, title: `(invalid: ${(e as Error).message.split('\n')[0]})` };
    }
  });
}
