// Ctrl-C during a hunt, an exhaustive search or a logical-time study on the CLI's own thread: the search gives the event
// loop a turn every SLICE_MS, so the interrupt handler runs while it searches and the search stops
// where it is, with what it found so far. (Run to its end in one go, the handler ran only after
// the last schedule: a 1,000,000-interleaving search could not be stopped.)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { getPolicy } from '../src/mm/policy.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { compactCpus } from '../src/sched/compact.js';
import { exploreParallel } from '../src/sched/explore_parallel.js';
import { huntAsync } from '../src/sched/hunt.js';
import { DetSession } from '../src/sched/session.js';

afterAll(async () => {
  await shutdownAll();
});

/** S1 under will-v1 with PCT: no failure in the first 40,000 seeds (bench sched's hunt line), so a hunt runs to its budget. */
const quietHunt = () => new DetSession({ scenario: loadScenario('S1'), policy: getPolicy('will-v1'), cpus: 8, strategy: 'pct', depth: 3 });
/** S9 under merged, 3 CPUs, bound 3: 25,307 interleavings, 16-35 s on one thread here. */
const bigSearch = () => new DetSession({ scenario: compactCpus(loadScenario('S9'), 3), policy: getPolicy('merged'), cpus: 3 });

describe('a search on this thread sees an abort while it runs', () => {
  test('huntAsync: aborted at its first turn of the event loop, it stops at the next schedule', async () => {
    const ac = new AbortController();
    // Runs at the hunt's first turn of the event loop, about SLICE_MS in.
    setImmediate(() => ac.abort());
    const r = await huntAsync(quietHunt(), { seed: 1, maxSchedules: 300_000, signal: ac.signal });
    expect(r.found).toBeNull();
    expect(r.stopped).toBe(true);
    expect(r.schedules).toBeGreaterThan(0);
    expect(r.schedules).toBeLessThan(300_000);
  });

  test('explore on one thread: aborted at its first turn of the event loop, it stops and says so', async () => {
    const ac = new AbortController();
    setImmediate(() => ac.abort());
    const r = await exploreParallel(bigSearch(), { preemptionBound: 3, jobs: 1, signal: ac.signal });
    expect(r.threads).toBe(1);
    expect(r.complete).toBe(false);
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.interleavings).toBeGreaterThan(0);
    expect(r.interleavings).toBeLessThan(25_307);
  });
});

/** The CLI in a child process, sent SIGINT once its banner (printed before the search starts) is on stderr. */
function interrupted(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 50_000,
    });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (!sent && /folio-race (hunt|explore|study drain-latency): /.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('Ctrl-C on the command line, one thread', () => {
  test('hunt --jobs 1: stops where it is, says so, exit 130', async () => {
    const r = await interrupted('hunt', 'S1', '--policy', 'will-v1', '--strategy', 'pct', '--seed', '1', '--max-schedules', '300000', '--jobs', '1');
    expect(r.err).toContain('folio-race: interrupted');
    const m = /no failure in (\d+) schedules .*; interrupted\)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(300_000);
    expect(r.code).toBe(130);
  });

  test('explore --jobs 1: stops where it is and says the search is incomplete', async () => {
    const r = await interrupted('explore', 'S9', '--policy', 'merged', '--cpus', '3', '--compact', '--preemptions', '3', '--jobs', '1');
    expect(r.err).toContain('folio-race: interrupted');
    expect(r.out).toContain('INCOMPLETE: stopped by an interrupt');
    const n = Number(/^(\d+) interleavings explored/m.exec(r.out)?.[1]);
    expect(n).toBeLessThan(25_307);
    // Failures found before the interrupt keep exit 1 (a signal outranks only a clean finish); none yet: 130.
    expect(r.code).toBe(/failure 1:/.test(r.out) ? 1 : 130);
  });

  test('study --model logical: the cells so far are kept, the rest not run, exit 130', async () => {
    const r = await interrupted('study', 'drain-latency', '--model', 'logical', '--cpus', '512');
    expect(r.err).toContain('folio-race: interrupted');
    const m = /folio-race: (\d+) of 8 cells finished/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(8);
    expect(r.code).toBe(130);
  });
});
