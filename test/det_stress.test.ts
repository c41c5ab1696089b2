// Deterministic stress runs on the piscina pool: same seed, same figures, whatever the pool size.
import { afterAll, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { runDeterministicStress } from '../src/runtime/det_stress.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';

afterAll(async () => {
  await shutdownAll();
});

test('the same seed gives the same aggregate; another seed gives another schedule', async () => {
  const s = loadScenario('S6');
  const run = (seed: number) => runDeterministicStress({ scenario: s, policy: getPolicy('merged'), cpus: s.cpus, trials: 120, seed });
  const a = (await run(11)).aggregate;
  const b = (await run(11)).aggregate;
  expect(a.trials).toBe(120);
  expect(b.failures).toEqual(a.failures);
  expect(b.stats).toEqual(a.stats);
  expect(b.pinLatencyNs.hdr).toBe(a.pinLatencyNs.hdr);
  const c = (await run(12)).aggregate;
  expect(c.stats).not.toEqual(a.stats);
});
