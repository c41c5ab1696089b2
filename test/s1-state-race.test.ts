// S1 as Will's situation: CPU 7 holds still until the pin returned, so the outcome is a matter of
// kernel state, not timing. Under every variant (built-in policies and release ranges) each run
// either fails every trial or none, and free-run threads agree with the deterministic runtime.
import { afterAll, describe, expect, test, vi } from 'vitest';
import { POLICIES } from '../src/mm/policy.js';
import { RELEASES, releasePolicy } from '../src/policy/releases.js';
import { runDeterministicStress } from '../src/runtime/det_stress.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { runStress } from '../src/runtime/stress.js';
import { loadScenario } from '../src/scenario/load.js';

vi.setConfig({ testTimeout: 120_000 });
afterAll(async () => {
  await shutdownAll();
});

const TRIALS = 24;
const variants = [...POLICIES, ...RELEASES.map(releasePolicy)];

describe('S1 is a state race', () => {
  test('every variant fails all trials or none, in free-run and deterministic mode alike', async () => {
    const s1 = loadScenario('S1');
    const verdicts: Record<string, string> = {};
    for (const policy of variants) {
      const det = await runDeterministicStress({ scenario: s1, policy, cpus: 8, trials: TRIALS, seed: 1 });
      const free = await runStress({ scenario: s1, policy, cpus: 8, trials: TRIALS, seed: 1 });
      for (const [mode, o] of [
        ['deterministic', det],
        ['free-run', free],
      ] as const) {
        expect(o.aggregate.trials, `${policy.id} ${mode}`).toBe(TRIALS);
        expect(o.aggregate.emulatorErrors.trials, `${policy.id} ${mode}`).toBe(0);
        expect([0, TRIALS], `${policy.id} ${mode}: ${o.aggregate.failures.total} of ${TRIALS} failed`).toContain(o.aggregate.failures.total);
      }
      expect(free.aggregate.failures.total, policy.id).toBe(det.aggregate.failures.total);
      verdicts[policy.id] = det.aggregate.failures.total ? 'fails' : 'pins';
    }
    // The thread's report and the fixes as Debian ships them.
    expect(verdicts).toMatchObject({
      'v6.11': 'fails',
      'hugh-unevictable': 'fails',
      'will-v1': 'pins',
      merged: 'pins',
      '6.1.0-6.1.128': 'fails',
      '6.1.160-6.1.192': 'pins',
      '6.12.36-6.12.48': 'fails',
      '6.12.111-6.12.117': 'pins',
    });
  });
});
