// Bad input found by trying the tool as a new user would: each is exit 2 with a message naming the
// field or flag and the value, before any work starts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lists, shards, repeats, replay files', () => {
  test.concurrent('--cpus 1,,2 and other lists with an empty item', async ({ expect }) => {
    const [cpus, trailing] = await Promise.all([cli('study', 'drain-latency', '--cpus', '1,,2'), cli('study', 'drain-latency', '--occupancy', '1,8,')]);
    expect(cpus.code).toBe(2);
    expect(cpus.err).toContain("--cpus: an empty item in '1,,2'");
    expect(trailing.code).toBe(2);
    expect(trailing.err).toContain("--occupancy: an empty item in '1,8,'");
  });

  test.concurrent('a shard that would run no cell', async ({ expect }) => {
    const r = await cli('study', 'race-window', '--shard', '50/100', '--json', join(dir, 'empty.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--shard: this sweep has \d+ cells, so shard 50\/100 would run none/);
  });

  test.concurrent('repeat: { times: 1000000000 } is a scenario-file error with its line', async ({ expect }) => {
    const f = join(dir, 'huge.yaml');
    writeFileSync(
      f,
      'id: huge\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 2\nvmas:\n  - { name: heap, object: anon, pages: 4 }\nsteps:\n  1:\n    - repeat: { times: 1000000000, ops: [ { fault: { vma: heap, page: 0 } } ] }\n',
    );
    const [run, stress] = await Promise.all([cli('run', f), cli('stress', f, '--policy', 'v6.11', '--mode', 'deterministic', '--trials', '5')]);
    for (const r of [run, stress]) {
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${f}: steps.1 (line 9): expected at most 1,000,000 steps per CPU once repeats are unrolled, found 1,000,000,000 steps`);
    }
  });

  test.concurrent("two CPUs each waiting for the other one's later signal: refused on load, not a watchdog rate", async ({ expect }) => {
    const f = join(dir, 'cycle.yaml');
    writeFileSync(
      f,
      'id: cycle\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 3\nsteps:\n  1:\n    - wait: { name: a }\n    - signal: { name: b }\n  2:\n    - wait: { name: b }\n    - signal: { name: a }\n',
    );
    const r = await cli('stress', f, '--policy', 'v6.11', '--mode', 'deterministic', '--trials', '2', '--no-progress');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: steps.1[0].wait.name (line 8): expected a signal some CPU can raise while CPU 1 waits here`);
    expect(r.err).toContain("found 'b', raised only by CPU 1 at steps.1[1], after its wait for 'a' at steps.1[0]");
    expect(r.out).not.toContain('watchdog');
  });

  test('a replay file whose scenario has an unknown op is refused on load', async () => {
    const good = join(dir, 's1.replay.json');
    const made = await cli('hunt', 'S1', '--policy', 'v6.11', '--seed', '1', '--out', good);
    expect(made.code).toBe(1);
    const doc = JSON.parse(readFileSync(good, 'utf8')) as { scenario: { definition: { steps: Record<string, { op: string }[]> } } };
    doc.scenario.definition.steps['3']![1]!.op = 'teleport';
    const bad = join(dir, 'bad.replay.json');
    writeFileSync(bad, JSON.stringify(doc));
    const r = await cli('replay', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}: scenario.definition: steps.3[1]: expected an op`);
    expect(r.err).toContain("'teleport'");
    expect(r.err).not.toContain('NOT reproduced');
  });

  test.concurrent('hunt --no-replay-file with --out', async ({ expect }) => {
    const r = await cli('hunt', 'S1', '--policy', 'v6.11', '--no-replay-file', '--out', join(dir, 'x.json'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--out and --no-replay-file');
  });
});

describe('a CPU stuck in a long non-preemptible stretch (free-run)', () => {
  test('ends as a watchdog finding naming the CPUs, their steps and ops; the JSON is written; no thread is left', async () => {
    const f = join(dir, 'hog.yaml');
    writeFileSync(f, 'id: hog\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 2\nsteps:\n  1:\n    - hog: { us: 1000000000 }\n  0:\n    - lru_add_drain_all\n');
    const json = join(dir, 'hog.json');
    const r = await cli('stress', f, '--policy', 'v6.11', '--trials', '2', '--watchdog', '1', '--no-progress', '--json', json);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain('internal error');
    expect(r.out).toContain('watchdog: 2 trials');
    expect(r.out).toContain('cpu 1: trial 0 did not finish before the watchdog fired: no trial finished for 1 s:');
    expect(r.out).toContain('CPU 1 is in a non-preemptible stretch at steps.1[0] (hog)');
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { results: { trials: number; failures: { byKind: { watchdog: number } } }[] };
    expect(doc.results[0]!.trials).toBe(2);
    expect(doc.results[0]!.failures.byKind.watchdog).toBe(2);
  });
  test('a CPU in a long delay is reported as sleeping for a set time, not as waiting for a condition', async () => {
    const f = join(dir, 'sleep.yaml');
    writeFileSync(
      f,
      'id: sleep\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 2\nsteps:\n  1:\n    - delay: { us: 1000000000 }\n  0:\n    - lru_add_drain_all\n',
    );
    const r = await cli('stress', f, '--policy', 'v6.11', '--trials', '1', '--watchdog', '1', '--no-progress');
    expect(r.code).toBe(0);
    expect(r.out).toContain('CPU 1 is sleeping for a set time (a delay, or the pause after an op) at steps.1[0] (delay)');
  });
});

test('a scenario too big for the folio table is refused by the loader, with the sum', async () => {
  const f = join(dir, 'big.yaml');
  writeFileSync(
    f,
    'id: big\ntitle: t\ndescription: d\nraceWindow: r\ncpus: 2\nobjects:\n  - { name: m, kind: shmem, pages: 600000 }\nvmas:\n  - { name: v, object: m, pages: 600000, flags: [read, write, shared] }\nsteps:\n  1:\n    - fault: { vma: v, page: 0 }\n',
  );
  const r = await cli('run', f);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`${f}: vmas (line 8): expected at most 999,936 pages in the objects and VMAs together`);
  expect(r.err).toContain('found 1,200,000 pages');
});
