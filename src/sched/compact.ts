// A scenario with its scripted CPUs renumbered 0..k-1 (S1: CPU 3 -> 0, CPU 7 -> 1) on `cpus`
// CPUs: small exhaustive searches need few CPUs. CPU arguments of hotplug ops follow.
import type { Scenario } from '../scenario/schema.js';

export function compactCpus(s: Scenario, cpus: number): Scenario {
  const ids = Object.keys(s.steps)
    .map(Number)
    .sort((a, b) => a - b);
  if (ids.length > cpus) throw new RangeError(`--compact: ${s.id} scripts ${ids.length} CPUs, more than --cpus ${cpus}`);
  const map = new Map(ids.map((c, i) => [c, i]));
  const steps: Scenario['steps'] = {};
  for (const [c, ops] of Object.entries(s.steps)) steps[map.get(Number(c))!] = ops;
  const text = JSON.stringify({ ...s, steps, cpus });
  return JSON.parse(text.replace(/"cpu":(\d+)/g, (_m, d: string) => `"cpu":${map.get(Number(d)) ?? d}`)) as Scenario;
}
