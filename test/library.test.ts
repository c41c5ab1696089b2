// folio-race as a library: a script imports the package by its name (package.json "exports",
// the compiled dist/ that `npm test` builds first) and runs S1. Plain Node resolves the import,
// as it would for a user's script, and the process must end by itself after shutdownAll():
// a library leaves no worker thread or process handler behind.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const SCRIPT = `
import * as fr from 'folio-race';
const scenario = fr.loadScenario('S1');
const [unfixed, fixed] = [fr.resolveKernel('6.12.45'), fr.resolveKernel('6.12.117')];
const a = await fr.runDeterministicStress({ scenario, policy: unfixed, cpus: 8, trials: 40, seed: 1 });
const b = await fr.runDeterministicStress({ scenario, policy: fixed, cpus: 8, trials: 40, seed: 1 });
const free = await fr.runStress({ scenario, policy: unfixed, cpus: 8, trials: 10, seed: 1 });
const session = new fr.DetSession({ scenario, policy: unfixed, cpus: 8 });
const found = fr.hunt(session, { seed: 1, maxSchedules: 50 });
const mine = fr.resolvePolicySpec('6.12.117+gupDrainRule=notLru+gupPreLocalDrain=none')[0];
const c = await fr.runDeterministicStress({ scenario, policy: mine, cpus: 8, trials: 20, seed: 1 });
const sigs = fr.SWITCH_KEYS.length;
let bad = null;
try { fr.parseScenarioText('id: x', 'x.yaml'); } catch (e) { bad = e instanceof fr.ScenarioError; }
const untranslatable = (() => { try { fr.translateScenarios([fr.loadScenario('S4')]); return false; } catch (e) { return e instanceof fr.UntranslatableError; } })();
await fr.shutdownAll();
console.log(JSON.stringify({
  unfixed: [a.aggregate.failures.total, a.aggregate.trials], fixed: [b.aggregate.failures.total, b.aggregate.trials],
  free: [free.aggregate.failures.total, free.aggregate.trials], hunted: found.found?.run.signature ?? null,
  mine: c.aggregate.failures.total, ci: a.aggregate.ci95, sigs, bad, untranslatable, handlers: process.listenerCount('SIGINT') + process.listenerCount('SIGTERM'),
}));
`;

test('import from "folio-race" and run S1: unfixed and fixed releases, free-run, hunt, a user variant', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 50_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(o['unfixed']).toEqual([40, 40]);
  expect(o['fixed']).toEqual([0, 40]);
  expect(o['free']).toEqual([10, 10]);
  expect(o['hunted']).toMatch(/ENOMEM/);
  expect(o['mine']).toBe(20);
  expect(o['bad']).toBe(true);
  expect(o['untranslatable']).toBe(true);
  expect(o['handlers']).toBe(0);
  expect((o['ci'] as number[])[1]).toBe(1);
});
