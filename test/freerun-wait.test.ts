// The free-run driver's waits, on a real FreeRunCpu in this thread (no worker threads needed:
// the CPUs' shared memory is the same): a wait sleeps where it is (RuntimeHooks.blockInPlace),
// the driver never sees BLOCKED, and a stopped trial is thrown inside the waiting kernel code,
// whose finally blocks then run.
import { describe, expect, test } from 'vitest';
import { YP } from '../src/mm/context.js';
import { createKernelMemory, DEFAULT_DIMS, makeCtx } from '../src/mm/boot.js';
import { FREE_RUN_HOOKS, FreeRunCpu, TrialAborted } from '../src/cpu/freerun.js';
import { C, G } from '../src/mm/layout.js';
import { kworker_run_pending, lru_add_drain_all } from '../src/mm/lru_add_drain_all.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { getPolicy } from '../src/mm/policy.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { folio_test } from '../src/mm/folio.js';
import { PG } from '../src/mm/constants.js';

function freeRunCpus(n: number) {
  const { w, lay } = createKernelMemory({ ...DEFAULT_DIMS, nCpus: n });
  const cpus = Array.from({ length: n }, (_, c) => {
    const ctx = makeCtx(w, lay, c, getPolicy('v6.11'), FREE_RUN_HOOKS(w));
    const cpu = new FreeRunCpu(ctx);
    const seen: number[] = [];
    const point = cpu.schedulePoint.bind(cpu);
    cpu.schedulePoint = (yp: number) => {
      seen.push(yp);
      point(yp);
    };
    return { ctx, cpu, seen };
  });
  return { w, cpus };
}

describe('FreeRunCpu waits in place', () => {
  test("a drain waiting on another CPU's work sleeps inside flush_work(); the driver never sees BLOCKED", () => {
    const { cpus } = freeRunCpus(2);
    const cpu1 = cpus[1]!;
    const f = folio_alloc(cpu1.ctx, 0, true);
    cpu1.cpu.drive(folio_add_lru(cpu1.ctx, f));
    expect(folio_test(cpu1.ctx, f, PG.lru)).toBe(false); // in CPU 1's lru_add batch
    const { ctx, cpu, seen } = cpus[0]!;
    const sleep = ctx.hooks.blockInPlace!;
    const waits: string[] = [];
    ctx.hooks.blockInPlace = (cond) => {
      waits.push(ctx.blockReason);
      expect(Atomics.load(ctx.w, ctx.base + C.STATE)).toBe(0);
      kworker_run_pending(cpu1.ctx); // CPU 1's thread runs its drain work meanwhile
      sleep(cond); // the driver's own wait: the condition holds, it returns at once
    };
    cpu.drive(lru_add_drain_all(ctx));
    expect(waits).toEqual(['flush_work']);
    expect(folio_test(ctx, f, PG.lru)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).not.toContain(YP.BLOCKED);
  });

  test('a stopped trial is thrown out of the wait inside flush_work(), whose finally takes its name off the work', () => {
    const { w, cpus } = freeRunCpus(2);
    const cpu1 = cpus[1]!;
    cpu1.cpu.drive(folio_add_lru(cpu1.ctx, folio_alloc(cpu1.ctx, 0, true))); // CPU 1 has an entry to drain
    const { ctx, cpu } = cpus[0]!;
    let flusherWhileWaiting = -1;
    const stop = ctx.hooks.blockInPlace!;
    ctx.hooks.blockInPlace = (cond) => {
      flusherWhileWaiting = Atomics.load(w, cpu1.ctx.base + C.WQ_FLUSHER);
      Atomics.store(w, G.TRIAL_STOP, 1); // the coordinator stops the run while CPU 0 waits on CPU 1
      stop(cond);
    };
    expect(() => cpu.drive(lru_add_drain_all(ctx))).toThrow(TrialAborted);
    expect(flusherWhileWaiting).toBe(1); // CPU 0 (+1) named itself on CPU 1's work
    expect(Atomics.load(w, cpu1.ctx.base + C.WQ_FLUSHER)).toBe(0); // and took its name off again
    expect(ctx.blockedOn).toBeNull();
  });
});
