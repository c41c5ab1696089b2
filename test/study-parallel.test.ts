// A study's cells on worker threads (study --jobs N, logical and deterministic modes): the same
// cells as one thread gives, handed over in the sweep's order; a stop runs no cell past it; a
// cell that throws ends the study with its error and keeps the cells that ran.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { shutdownAll } from '../src/runtime/registry.js';
import { detPool } from '../src/runtime/det_stress.js';
import { type CellOutcome, type CellSpec, runCells } from '../src/study/run_cells.js';
import { runCellsParallel } from '../src/study/run_cells_parallel.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells } from '../src/study/studies.js';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'folio-race-study-jobs-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await shutdownAll();
});

const multi = availableParallelism() > 1;
/** 8 cells: 4 and 32 CPUs, every mechanism, hog off; a few short trials each. */
const cells = drainLatencyCells({ ...DRAIN_LATENCY_DEFAULTS, cpus: [4, 32], hog: ['off'], trials: 3, rounds: 4 });

const sequential = async (mode: 'logical' | 'deterministic') => {
  const got: Array<[string, CellOutcome]> = [];
  await runCells(cells, { mode, onCell: (c, o) => got.push([c.key, o]) });
  return got;
};

describe('study cells on worker threads', () => {
  test.skipIf(!multi).each(['logical', 'deterministic'] as const)('%s: the same outcomes as one thread, in the sweep order', async (mode) => {
    const one = await sequential(mode);
    const many: Array<[string, CellOutcome]> = [];
    const r = await runCellsParallel(cells, { mode, jobs: 2, onCell: (c, o) => many.push([c.key, o]) });
    expect(many.map(([k]) => k)).toEqual(cells.map((c) => c.key));
    expect(many).toEqual(one);
    expect(r).toEqual(one.map(([, o]) => o));
    for (const [, o] of many) expect(o.aborted).toBe(false);
  });

  test('an aborted signal: no cell is run', async () => {
    const ac = new AbortController();
    ac.abort();
    const seen: string[] = [];
    const r = await runCellsParallel(cells, { mode: 'logical', jobs: 2, signal: ac.signal, onCell: (c) => seen.push(c.key) });
    expect(r).toEqual([]);
    expect(seen).toEqual([]);
  });

  test.skipIf(!multi)('a cell that throws ends the study with its error; the cells that ran are still handed over, in order', async () => {
    const bad = cells[2]!.key;
    const pool = {
      run: (task: { cell: CellSpec }, opts: { name: string }) =>
        task.cell.key === bad ? Promise.reject(new Error('CPU 3 crashed in lru_add_drain_per_cpu')) : detPool().run(task, opts),
    };
    const seen: string[] = [];
    // The error names the cell it came from.
    await expect(runCellsParallel(cells, { mode: 'logical', jobs: 2, pool, onCell: (c) => seen.push(c.key) })).rejects.toThrow(
      `cell ${bad}: CPU 3 crashed in lru_add_drain_per_cpu`,
    );
    expect(seen).not.toContain(bad);
    expect(seen.length).toBeGreaterThan(0);
    // In the sweep's order, whichever ran.
    const order = cells.map((c) => c.key);
    expect([...seen].sort((a, b) => order.indexOf(a) - order.indexOf(b))).toEqual(seen);
  });
});

describe('study --jobs on the command line', () => {
  test.skipIf(!multi).each([['--model', 'logical'], ['--deterministic']])('%s --jobs 2 prints and writes what --jobs 1 does', async (...mode) => {
    const args = ['study', 'drain-latency', ...mode, '--cpus', '4,32', '--trials', '3', '--rounds', '4', '--no-progress'];
    const doc = (f: string) => {
      const d = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
      delete d['generatedAt'];
      return d;
    };
    const one = await cli(...args, '--jobs', '1', '--json', join(dir, 'one.json'));
    const two = await cli(...args, '--jobs', '2', '--json', join(dir, 'two.json'));
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(two.out).toBe(one.out);
    expect(two.err).toContain('2 threads');
    expect(doc(join(dir, 'two.json'))).toEqual(doc(join(dir, 'one.json')));
  });

  test.each([
    [['--jobs', '2'], '--jobs 2: for --model logical or --deterministic'],
    [['--model', 'logical', '--jobs', '2', '--ftrace', '/tmp/x.txt'], '--jobs 2: not with --ftrace or --perfetto'],
    [['--model', 'logical', '--jobs', '0'], "--jobs: expected 'auto' or a count of threads from 1 up, got 0"],
  ])('%j -> exit 2 naming the flag', async (extra, message) => {
    const r = await cli('study', 'drain-latency', '--cpus', '2', ...extra);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});
