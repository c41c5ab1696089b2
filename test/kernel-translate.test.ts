// The scenario -> C translator of `folio-race kernel`: every translatable op becomes its
// user-space call, every other op refuses the translation naming the op, its CPU and step, and
// the generated program compiles (when the host has gcc with static glibc).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { OP_C } from '../src/realkernel/ops_c.js';
import { guestRuntimeDir, translateScenarios, UntranslatableError } from '../src/realkernel/translate.js';
import { loadAllBuiltins, parseScenarioText } from '../src/scenario/load.js';
import { OP_NAMES } from '../src/scenario/ops/index.js';
import type { Scenario } from '../src/scenario/schema.js';
import { which } from '../src/realkernel/tools.js';

const HEAD = `
id: t
title: t
description: t
raceWindow: t
cpus: 4
alloc: { migratetype: cma, zone: normal }
objects:
  - { name: mem, kind: shmem, pages: 16 }
  - { name: lib, kind: file, pages: 8, migratetype: movable, order: 2 }
  - { name: plain, kind: shmem, pages: 4, migratetype: movable }
vmas:
  - { name: v, object: mem, pages: 8, flags: [read, write, shared, locked, lockonfault] }
  - { name: heap, object: anon, pages: 4, flags: [read, write] }
  - { name: pv, object: plain, pages: 4, flags: [read, write, shared] }
`;
function scenario(steps: string, extra = ''): Scenario {
  return parseScenarioText(`${HEAD}${extra}steps:\n${steps}`, 'test.yaml');
}
function cOf(steps: string, extra = ''): string {
  return translateScenarios([scenario(steps, extra)]).c;
}
function refusal(steps: string, extra = ''): string {
  try {
    translateScenarios([scenario(steps, extra)]);
  } catch (e) {
    expect(e).toBeInstanceOf(UntranslatableError);
    return (e as Error).message;
  }
  throw new Error('the translation was not refused');
}

describe('translatable ops become their user-space calls', () => {
  test('fault: one access, a write for a write fault', () => {
    const c = cOf('  1:\n    - fault: { vma: v, page: 3, write: true }\n    - fault: { vma: heap, page: 1, write: false }\n');
    expect(c).toContain('fr_touch(t->vma[0] + (3) * FR_PS, 1);');
    expect(c).toContain('fr_touch(t->vma[1] + (1) * FR_PS, 0);');
  });
  test('mlock / mlock2(MLOCK_ONFAULT), munlock and munmap of the whole VMA', () => {
    const c = cOf('  0:\n    - mlock: { vma: heap }\n    - mlock: { vma: heap, onfault: true }\n    - munlock: { vma: heap }\n    - munmap: { vma: heap }\n');
    expect(c).toContain('mlock2(t->vma[1], 4 * FR_PS, 0)');
    expect(c).toContain('mlock2(t->vma[1], 4 * FR_PS, MLOCK_ONFAULT)');
    expect(c).toContain('munlock(t->vma[1], 4 * FR_PS)');
    expect(c).toMatch(/munmap\(t->vma\[1\], 4 \* FR_PS\).*t->vma_gone\[1\] = 1;/);
  });
  test('pin: io_uring registration of the pages, held or not; unpin closes the held ring', () => {
    const c = cOf('  2:\n    - pin: { vma: v, page: 1, pages: 2, hold: true }\n    - unpin: { vma: v, page: 1 }\n    - pin: { vma: v, page: 0 }\n');
    expect(c).toContain('fr_pin(t, cpu, "steps.2[0]", t->vma[0] + (1) * FR_PS, 2, 1);');
    expect(c).toContain('fr_unpin(t, cpu, "steps.2[1]", t->vma[0] + (1) * FR_PS);');
    expect(c).toContain('fr_pin(t, cpu, "steps.2[2]", t->vma[0] + (0) * FR_PS, 1, 0);');
  });
  test('readahead: fallocate into the object, which lives on huge tmpfs when its folios are large', () => {
    const c = cOf('  1:\n    - readahead: { object: lib, index: 4, pages: 4 }\n');
    expect(c).toContain('fr_tmpfile("/fr/huge", "lib", 8)');
    expect(c).toContain('fr_fallocate(t->objfd[1], 4, 4)');
  });
  test('lru_add_drain: MADV_COLD of an untouched page; lru_cache_disable + enable: one mbind(MPOL_MF_MOVE)', () => {
    const c = cOf('  1:\n    - lru_add_drain\n    - lru_cache_disable\n    - lru_cache_enable\n');
    expect(c).toContain('fr_local_drain()');
    expect(c.match(/fr_lru_cache_disable_enable\(\)/g)).toHaveLength(1);
  });
  test("hog, delay and per-op pauses (with jitter) use the scenario's lengths", () => {
    const c = cOf(
      '  1:\n    - hog\n    - delay: { us: 7 }\n    - fault: { vma: v, page: 0, delayAfterUs: 5, jitterUs: 3 }\n',
      'timing: { hogUs: 250, delayUs: 40 }\n',
    );
    expect(c).toContain('fr_hog_us(250);');
    expect(c).toContain('fr_delay_us(7);');
    expect(c).toContain('fr_delay_us(5 + 3 * fr_rand01());');
  });
  test('signal and wait share one event number per name', () => {
    const c = cOf('  1:\n    - signal: { name: a }\n    - wait: { name: b }\n  2:\n    - wait: { name: a }\n    - signal: { name: b }\n');
    const sig = /fr_signal\(t, (\d+)\); \/\* a \*\//.exec(c)![1];
    const wait = /fr_wait\(t, (\d+)\); \/\* a \*\//.exec(c)![1];
    expect(sig).toBe(wait);
    expect(/fr_wait\(t, (\d+)\); \/\* b \*\//.exec(c)![1]).not.toBe(sig);
  });
  test('repeat: nested loops add k*stride to pages and indices', () => {
    const c = cOf('  1:\n    - repeat: { times: 3, stride: 2, ops: [ { repeat: { times: 2, stride: 1, ops: [ { fault: { vma: v, page: 0 } } ] } } ] }\n');
    expect(c).toContain('for (int k0 = 0; k0 < 3; k0++) {');
    expect(c).toContain('for (int k1 = 0; k1 < 2; k1++) {');
    expect(c).toContain('fr_touch(t->vma[0] + (0 + k0 * 2 + k1 * 1) * FR_PS, 1);');
  });
  test('setup: memfd for shmem, mapping flags, VM_LOCKED by mlock2(MLOCK_ONFAULT), pre-existing folios faulted in', () => {
    const c = cOf(
      '  1:\n    - pin: { vma: v, page: 0 }\n',
      'folios:\n  - { name: F, object: mem, index: 2, lru: unevictable, mlockCount: 1, flags: [dirty, mlocked], mappedBy: [{ vma: v, page: 2 }] }\n',
    );
    expect(c).toContain('t->objfd[0] = fr_memfd("mem", 16);');
    expect(c).toContain('t->vma[0] = fr_map(t->objfd[0], 0, 8, PROT_READ | PROT_WRITE, 1);');
    expect(c).toContain('t->vma[1] = fr_map(-1, 0, 4, PROT_READ | PROT_WRITE, 0);');
    expect(c).toContain('mlock2(t->vma[0], 8 * FR_PS, MLOCK_ONFAULT)');
    expect(c).toContain('fr_touch(t->vma[0] + 2 * FR_PS, 1); /* F via v */');
  });
});

describe('ops without a user-space equivalent refuse the translation', () => {
  const untranslatable = OP_NAMES.filter((n) => 'none' in OP_C[n]);
  test('the table covers every op, and names the ones that cannot run', () => {
    expect(Object.keys(OP_C).sort()).toEqual([...OP_NAMES].sort());
    expect(untranslatable).toEqual(expect.arrayContaining(['fork', 'mark_accessed', 'lru_add_drain_all', 'cpu_offline', 'bh_lru_install']));
  });
  const arg: Record<string, string> = {
    fork: '{ vma: heap, as: child }',
    mark_accessed: '{ vma: v, page: 0 }',
    deactivate: '{ vma: v, page: 0 }',
    deactivate_file: '{ vma: v, page: 0 }',
    lazyfree: '{ vma: heap, page: 0 }',
    rotate: '{ vma: v, page: 0 }',
    cpu_offline: '{ cpu: 2 }',
    cpu_dead: '{ cpu: 2 }',
    cpu_online: '{ cpu: 2 }',
    lru_add_drain_all: '{}',
    bh_lru_install: '{}',
    lru_cache_enable: '{}',
  };
  for (const op of untranslatable) {
    test(`${op}: named with its CPU and step`, () => {
      const msg = refusal(`  1:\n    - fault: { vma: v, page: 0 }\n    - ${op}: ${arg[op] ?? '{}'}\n`);
      expect(msg).toContain(`t: steps.1[1]: op '${op}' on CPU 1, step 2 has no user-space equivalent`);
      expect(msg).toContain('cannot run on a real kernel');
    });
  }
  test('every problem is listed at once', () => {
    const msg = refusal('  1:\n    - lru_add_drain_all\n  2:\n    - bh_lru_install\n');
    expect(msg).toContain('steps.1[0]');
    expect(msg).toContain('steps.2[0]');
  });
  test('lru_cache_disable without the enable right after it', () => {
    expect(refusal('  1:\n    - lru_cache_disable\n    - delay: { us: 5 }\n    - lru_cache_enable\n')).toContain(
      "op 'lru_cache_disable' on CPU 1, step 1 has no user-space equivalent on its own",
    );
  });
  test('a pin of folios the scenario makes pinnable (the guest places every user page in ZONE_MOVABLE)', () => {
    expect(refusal('  1:\n    - pin: { vma: pv, page: 0 }\n')).toContain("VMA 'pv' holds pinnable folios in the scenario (movable in ZONE_NORMAL)");
    expect(() => cOf('  1:\n    - pin: { vma: heap, page: 0 }\n')).not.toThrow(); // anon in CMA: unpinnable, as in the guest
  });
  test('a mapped object of large folios of another order', () => {
    const s = parseScenarioText(
      HEAD.replace('kind: shmem, pages: 16 }', 'kind: shmem, pages: 16, order: 4 }') + 'steps:\n  1:\n    - fault: { vma: v, page: 0 }\n',
      'test.yaml',
    );
    expect(() => translateScenarios([s])).toThrow(/VMA 'v' maps object 'mem' of order-4 folios/);
  });
});

describe('the built-in scenarios', () => {
  const all = loadAllBuiltins();
  const ok = all.filter((s) => {
    try {
      translateScenarios([s]);
      return true;
    } catch {
      return false;
    }
  });
  test('S1 and its forms translate; fork, hotplug and reference-bit scenarios do not', () => {
    expect(ok.map((s) => s.id)).toEqual(expect.arrayContaining(['S1', 'S1t', 'S1w', 'S2', 'S2b', 'S9', 'S12']));
    expect(ok.map((s) => s.id)).not.toContain('S4');
    expect(ok.map((s) => s.id)).not.toContain('S10');
  });
  const gcc = which('gcc');
  test.skipIf(!gcc)('every translatable one compiles, in one program, with -Wall -Wextra -Werror (needs gcc and static glibc)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'folio-race-c-'));
    try {
      writeFileSync(join(dir, 'p.c'), translateScenarios(ok).c);
      const r = spawnSync(
        gcc!,
        ['-static', '-O0', '-pthread', '-Wall', '-Wextra', '-Werror', '-I', guestRuntimeDir(), '-o', join(dir, 'p'), join(dir, 'p.c')],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!gcc) console.warn('kernel-translate: gcc not found: the compile check of the generated C is skipped');
});
