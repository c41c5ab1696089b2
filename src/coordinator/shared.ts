// One reusable coordinator per process: consecutive runs with the same CPU count and memory size
// (the policies of a stress run, the cells of a study) keep the same CPU threads. A new one is
// started when the size changes or the last one broke. shutdownAll() (registry.ts) stops it.
import type { Dims } from '../mm/layout.js';
import { Coordinator } from './coordinator.js';

let shared: { key: string; c: Coordinator } | null = null;

export async function sharedCoordinator(cpus: number, dims: Partial<Omit<Dims, 'nCpus'>>): Promise<Coordinator> {
  const key = JSON.stringify({ cpus, ...dims });
  if (shared && shared.key === key && shared.c.healthy()) return shared.c;
  if (shared) await shared.c.shutdown();
  shared = null;
  const c = await Coordinator.start({ cpus, dims });
  shared = { key, c };
  return c;
}
