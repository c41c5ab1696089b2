// Compiling scenarios into per-CPU programs, building their kernel state, and running the
// compiled steps on the emulated kernel (single-thread InlineKernel, fixed orders).
import { describe, expect, it } from 'vitest';
import { Errno, Holder, Lru, MigrateType, PG } from '../src/mm/constants.js';
import { YP, type KernelCtx, type KGen } from '../src/mm/context.js';
import { folio_ref_count, folio_test, fw, ledger_get } from '../src/mm/folio.js';
import { batchBase, C, F, Stat } from '../src/mm/layout.js';
import { Batch } from '../src/mm/constants.js';
import { getPolicy } from '../src/mm/policy.js';
import { pte_folio, vma_in_use } from '../src/mm/vma.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { boardEnv, compileScenario, programOps, type CompileEnv, type Step } from '../src/scenario/compile.js';
import { explainScenario } from '../src/scenario/explain.js';
import { loadAllBuiltins, loadScenario, parseScenarioText } from '../src/scenario/load.js';
import { resolveNames, ScenarioBoard, setupScenario } from '../src/scenario/setup.js';
import type { Scenario } from '../src/scenario/schema.js';

interface Rig {
  k: InlineKernel;
  board: ScenarioBoard;
  env: CompileEnv;
  delays: [number, number][];
  hogs: [number, number][];
  pins: { cpu: number; rc: number; folios: number[] }[];
  progs: Step[][];
  /** Run CPU `cpu`'s steps `from`..`to` (exclusive) to completion, in order. */
  run(cpu: number, from?: number, to?: number): void;
}

function rig(s: Scenario, policy = 'merged', random?: () => number): Rig {
  const k = new InlineKernel({ nCpus: s.cpus, policy: getPolicy(policy) });
  const names = resolveNames(s);
  setupScenario(k.ctx(0), s, names);
  const board = new ScenarioBoard(names);
  const delays: [number, number][] = [];
  const hogs: [number, number][] = [];
  const pins: Rig['pins'] = [];
  const env = boardEnv(board, {
    *delay(ctx: KernelCtx, us: number): KGen<void> {
      delays.push([ctx.cpu, us]);
      yield YP.SCRIPT_DELAY;
    },
    *hog(ctx: KernelCtx, us: number): KGen<void> {
      hogs.push([ctx.cpu, us]);
    },
    pinLog: (ctx, rc, folios) => pins.push({ cpu: ctx.cpu, rc, folios: [...folios] }),
    ...(random ? { random } : {}),
  });
  const progs = Array.from({ length: s.cpus }, (_, c) => compileScenario(s, c, env, names));
  return {
    k,
    board,
    env,
    delays,
    hogs,
    pins,
    progs,
    run(cpu, from = 0, to = progs[cpu]!.length) {
      for (const st of progs[cpu]!.slice(from, to)) k.run(cpu, st.run(k.ctx(cpu)));
    },
  };
}

const stat = (k: InlineKernel, cpu: number, s: number) => k.w[k.ctx(cpu).base + C.STATS + s]!;
const batchNr = (k: InlineKernel, cpu: number, b: number) => k.w[batchBase(cpu, b)]!;

describe('compileScenario: op sequence per CPU', () => {
  it('S1: CPU 7 and CPU 3 programs, empty programs elsewhere', () => {
    const s = loadScenario('S1');
    const env = boardEnv(new ScenarioBoard(resolveNames(s)), { *delay() {}, *hog() {} });
    expect(programOps(compileScenario(s, 7, env))).toEqual(['fault', 'readahead', 'signal', 'wait', 'lru_add_drain']);
    expect(programOps(compileScenario(s, 3, env))).toEqual(['wait', 'pin', 'signal']);
    expect(compileScenario(s, 0, env)).toEqual([]);
    const p7 = compileScenario(s, 7, env);
    expect(p7.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    expect(p7[1]!.path).toBe('steps.7[1]');
  });
  it('repeats are unrolled, with repetition numbers in the path', () => {
    const s = loadScenario('S5');
    const env = boardEnv(new ScenarioBoard(resolveNames(s)), { *delay() {}, *hog() {} });
    const p0 = compileScenario(s, 0, env);
    expect(programOps(p0)).toEqual(['wait', ...Array(8).fill('pin')]);
    expect(p0[3]!.path).toBe('steps.0[1].repeat.ops[0] (3/8)');
    expect(programOps(compileScenario(s, 5, env))).toEqual(['fault', 'signal', ...Array(4).fill(['hog', 'delay']).flat()]);
    expect(compileScenario(s, 6, env)).toHaveLength(60);
  });
});

describe('setupScenario', () => {
  it('S12: a mlocked unevictable shmem folio at rest, every reference held by a named holder', () => {
    const r = rig(loadScenario('S12'));
    const ctx = r.k.ctx(0);
    expect(folio_ref_count(ctx, 0)).toBe(2);
    expect(ledger_get(ctx, 0, Holder.PAGECACHE)).toBe(1);
    expect(ledger_get(ctx, 0, Holder.MAP)).toBe(1);
    expect(ledger_get(ctx, 0, Holder.TEMP)).toBe(0);
    for (const b of [PG.lru, PG.unevictable, PG.mlocked, PG.swapbacked, PG.uptodate, PG.dirty]) expect(folio_test(ctx, 0, b)).toBe(true);
    expect(fw(ctx, 0, F.LRU)).toBe(Lru.UNEVICTABLE);
    expect(fw(ctx, 0, F.MLOCK_COUNT)).toBe(1);
    expect(fw(ctx, 0, F.LOCKED_MAPS)).toBe(1);
    expect(fw(ctx, 0, F.MAPCOUNT)).toBe(0); // raw _mapcount: mapped once
    expect(fw(ctx, 0, F.MT)).toBe(MigrateType.CMA);
    expect(stat(r.k, 0, Stat.NR_MLOCK)).toBe(1);
    expect(pte_folio(ctx, 0, 0)).toBe(0);
  });
  it('S5: count creates consecutive folios mapped at consecutive pages', () => {
    const r = rig(loadScenario('S5'));
    const ctx = r.k.ctx(0);
    for (const i of [0, 17, 31]) {
      expect(pte_folio(ctx, 0, i)).toBe(i);
      expect(fw(ctx, i, F.INDEX)).toBe(i);
      expect(folio_ref_count(ctx, i)).toBe(2);
      expect(fw(ctx, i, F.LRU)).toBe(Lru.INACTIVE_ANON);
    }
  });
  it('refuses memory that was not reset (indices would not match resolveNames)', () => {
    const s = loadScenario('S12');
    const r = rig(s);
    expect(() => setupScenario(r.k.ctx(0), s)).toThrowError(/not reset/);
  });
  it('sets where user faults allocate', () => {
    const r = rig(loadScenario('S1'));
    expect(r.k.ctx(0).alloc.movableMt).toBe(MigrateType.CMA);
  });
});

describe('compiled steps run on the emulated kernel', () => {
  it('S1 in the window (CPU 7 has not drained): v6.11 pin fails with -ENOMEM, merged succeeds', () => {
    for (const [policy, want] of [
      ['v6.11', Errno.ENOMEM],
      ['merged', 1],
      ['will-v1', 1],
    ] as const) {
      const r = rig(loadScenario('S1'), policy);
      r.run(7, 0, 3); // fault, readahead, signal
      const ctx = r.k.ctx(7);
      // After the readahead flushed CPU 7's lru_add batch: F on the unevictable LRU, its MLOCK
      // entry still queued on CPU 7.
      expect(folio_test(ctx, 0, PG.lru) && folio_test(ctx, 0, PG.unevictable) && folio_test(ctx, 0, PG.mlocked)).toBe(true);
      expect(ledger_get(ctx, 0, Holder.MLOCK_BATCH)).toBe(1);
      expect(folio_ref_count(ctx, 0)).toBe(3);
      r.run(3);
      expect(r.pins, policy).toHaveLength(1);
      expect(r.pins[0]!.rc, policy).toBe(want);
      expect(ledger_get(ctx, 0, Holder.GUP_PIN), policy).toBe(0); // not held: unpinned at the end of the step
    }
  });
  it('S1w after CPU 7 drained: the pin succeeds under v6.11 too', () => {
    const r = rig(loadScenario('S1w'), 'v6.11');
    r.run(7);
    r.run(3);
    expect(r.pins[0]!.rc).toBe(1);
    expect(r.delays).toEqual([[7, 100]]);
  });
  it('a wait blocks until its signal is raised', () => {
    const r = rig(loadScenario('S1'));
    expect(() => r.run(3, 0, 1)).toThrowError(/deadlock: blocked in wait faulted/);
    r.board.reset();
    r.board.signal('faulted');
    expect(r.board.isSignalled('faulted')).toBe(true);
    r.board.reset();
    expect(r.board.isSignalled('faulted')).toBe(false);
  });
  it('S4: the fork child created on CPU 0 is found by CPU 2 through the board', () => {
    const r = rig(loadScenario('S4'), 'v6.11');
    expect(r.board.forkChild('child')).toBe(-1);
    r.run(0, 0, 3); // fault, fork, signal
    const child = r.board.forkChild('child');
    expect(child).toBeGreaterThanOrEqual(1);
    expect(pte_folio(r.k.ctx(0), child, 0)).toBe(0);
    r.run(2);
    expect(vma_in_use(r.k.ctx(2), child)).toBe(false);
    r.run(1);
    expect(stat(r.k, 1, Stat.COW_COPY) + stat(r.k, 1, Stat.COW_REUSE)).toBe(1);
  });
  it('a step that uses a fork child before the fork ran names the problem', () => {
    const r = rig(loadScenario('S4'));
    expect(() => r.run(2, 1, 2)).toThrowError(/steps\.2\[1\]: VMA 'child' is created by a fork that has not run yet/);
  });
  it('repeat strides move pages; timing knobs pause after ops; jitter uses env.random', () => {
    const s = parseScenarioText(
      `
id: T2
title: t
description: d
raceWindow: r
cpus: 2
vmas: [{ name: heap, object: anon, pages: 8 }]
steps:
  1:
    - repeat: { times: 4, stride: 2, delayAfterUs: 7, ops: [{ fault: { vma: heap, page: 1, jitterUs: 10 } }] }
    - hog
    - delay: { us: 3 }
timing: { delayAfterUs: 1, hogUs: 42 }
`,
      't2.yaml',
    );
    const r = rig(s, 'merged', () => 0.5);
    r.run(1);
    const ctx = r.k.ctx(1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => pte_folio(ctx, 0, p) >= 0)).toEqual([false, true, false, true, false, true, false, true]);
    // Each fault: 1 µs default pause + 0.5 x 10 µs jitter, then the repeat's own 7 µs; hog: 1 µs pause.
    expect(r.delays).toEqual([
      ...Array(4)
        .fill([
          [1, 6],
          [1, 7],
        ])
        .flat(),
      [1, 1],
      [1, 3],
      [1, 1],
    ]);
    expect(r.hogs).toEqual([[1, 42]]);
    expect(batchNr(r.k, 1, Batch.lru_add)).toBe(4);
  });
  it('pins kept with hold are dropped by unpin; folio ops by PTE skip an unmapped page', () => {
    const s = parseScenarioText(
      `
id: T3
title: t
description: d
raceWindow: r
cpus: 1
objects: [{ name: mem, kind: shmem, pages: 4 }]
vmas: [{ name: shm, object: mem, pages: 4, flags: [read, write, shared] }]
folios: [{ name: F, object: mem, lru: active, mappedBy: [{ vma: shm, page: 0 }] }]
steps:
  0:
    - pin: { vma: shm, page: 0, hold: true }
    - deactivate: { vma: shm, page: 3 }
    - unpin: { vma: shm, page: 0 }
    - unpin: { vma: shm, page: 0 }
    - deactivate: { folio: F }
`,
      't3.yaml',
    );
    const r = rig(s, 'v6.11');
    const ctx = r.k.ctx(0);
    r.run(0, 0, 1);
    expect(ledger_get(ctx, 0, Holder.GUP_PIN)).toBe(1024);
    r.run(0, 1, 2);
    expect(batchNr(r.k, 0, Batch.lru_deactivate)).toBe(0);
    r.run(0, 2, 4);
    expect(ledger_get(ctx, 0, Holder.GUP_PIN)).toBe(0);
    r.run(0, 4, 5);
    expect(batchNr(r.k, 0, Batch.lru_deactivate)).toBe(1);
    expect(ledger_get(ctx, 0, Holder.TEMP)).toBe(0); // the op's lookup reference was dropped
    expect(ledger_get(ctx, 0, Holder.LRU_BATCH)).toBe(1);
  });
});

describe('explainScenario', () => {
  it('S1: setup, both CPUs with their kernel entry points, the race window, what is measured', () => {
    const text = explainScenario(loadScenario('S1'));
    expect(text).toMatch(/^S1 — /);
    for (const want of [
      'Setup',
      'guestmem: shmem, 16 pages, cma',
      'flags read|write|shared|locked|lockonfault',
      'CPU 7:',
      'CPU 3:',
      "1. fault on VMA 'guest' page 0 (write)",
      '-> handle_mm_fault()',
      'pin_user_pages(FOLL_LONGTERM|FOLL_WRITE)',
      "wait for signal 'faulted'",
      'Race window',
      'until CPU 7 next drains its mlock batch',
      'Measured',
      'pin_success_rate:',
    ]) {
      expect(text).toContain(want);
    }
    expect(text.indexOf('Steps per CPU')).toBeLessThan(text.indexOf('Race window'));
  });
  it('every built-in explains without error and shows every scripted CPU', () => {
    for (const s of loadAllBuiltins()) {
      const text = explainScenario(s);
      for (const cpu of Object.keys(s.steps)) expect(text, s.id).toContain(`CPU ${cpu}:`);
    }
  });
});
