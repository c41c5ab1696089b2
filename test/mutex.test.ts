// The kernel mutex of __lru_add_drain_all() (src/mm/mutex.ts; kernel/locking/mutex.c v4.10+):
// step by step on one thread, waiters get it in the order they came, an unlock wakes the first
// waiter only, a newcomer can take it from under a woken waiter once, and then the next unlock
// hands it to that waiter; in logical time, no pinner of a storm waits for more drains than
// there are pinners ahead of it; a newcomer that queues while an unlock runs is not left asleep.
import { afterAll, describe, expect, test, vi } from 'vitest';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import type { KGen } from '../src/mm/context.js';
import { gw } from '../src/mm/layout.js';
import { LRU_DRAIN_MUTEX as M, mutex_lock, mutex_trylock, mutex_unlock } from '../src/mm/mutex.js';
import { getPolicy } from '../src/mm/policy.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { shutdownAll } from '../src/runtime/registry.js';
import { loadScenario } from '../src/scenario/load.js';
import { runCells } from '../src/study/run_cells.js';
import { PIN_STORM_DEFAULTS, pinStormCells } from '../src/study/studies.js';

afterAll(async () => {
  await shutdownAll();
});

/** Four CPUs over one memory, each wake-up recorded (the CPU woken). */
function kernel() {
  const k = new InlineKernel({ nCpus: 4, policy: getPolicy('v6.11') });
  const woken: number[] = [];
  for (const ctx of k.ctxs) Object.assign(ctx, { hooks: { ...ctx.hooks, wake: (cpu: number) => woken.push(cpu) } });
  const owner = () => Atomics.load(k.w, gw(M.owner)) - 1;
  /** Advance a CPU's mutex_lock() until it returns (true) or blocks (false). */
  const step = (g: KGen<void>) => {
    for (let i = 0; i < 10; i++) if (g.next().done) return true;
    return false;
  };
  return { k, woken, owner, step };
}

describe('mutex_lock() / mutex_unlock(), one CPU at a time', () => {
  test('waiters get the mutex in the order they came; each unlock wakes the first waiter only', () => {
    const { k, woken, owner, step } = kernel();
    expect(mutex_trylock(k.ctx(0), M)).toBe(true);
    // CPU 3 comes first, then CPU 1, then CPU 2.
    const g3 = mutex_lock(k.ctx(3), M);
    const g1 = mutex_lock(k.ctx(1), M);
    const g2 = mutex_lock(k.ctx(2), M);
    for (const g of [g3, g1, g2]) expect(step(g)).toBe(false);
    mutex_unlock(k.ctx(0), M);
    expect(woken).toEqual([3]);
    // CPU 1 and 2 find it free but are not at the head: they keep sleeping.
    expect(step(g1)).toBe(false);
    expect(step(g2)).toBe(false);
    expect(step(g3)).toBe(true);
    expect(owner()).toBe(3);
    mutex_unlock(k.ctx(3), M);
    expect(woken).toEqual([3, 1]);
    expect(step(g2)).toBe(false);
    expect(step(g1)).toBe(true);
    mutex_unlock(k.ctx(1), M);
    expect(step(g2)).toBe(true);
    expect(woken).toEqual([3, 1, 2]);
    mutex_unlock(k.ctx(2), M);
    expect(owner()).toBe(-1);
    expect(woken).toEqual([3, 1, 2]); // nobody left to wake
  });

  test('a newcomer takes it from under the woken first waiter once; the next unlock hands it to that waiter (MUTEX_FLAG_HANDOFF)', () => {
    const { k, owner, step } = kernel();
    expect(mutex_trylock(k.ctx(0), M)).toBe(true);
    const g1 = mutex_lock(k.ctx(1), M);
    expect(step(g1)).toBe(false);
    mutex_unlock(k.ctx(0), M);
    // Before CPU 1 runs, CPU 2 finds the mutex free: the fast path takes it.
    expect(mutex_trylock(k.ctx(2), M)).toBe(true);
    expect(step(g1)).toBe(false); // woken, lost it: the handoff flag is set
    expect(Atomics.load(k.w, gw(M.handoff))).toBe(1);
    mutex_unlock(k.ctx(2), M);
    // Handed over, never free: a newcomer cannot take it a second time.
    expect(owner()).toBe(1);
    expect(mutex_trylock(k.ctx(3), M)).toBe(false);
    expect(step(g1)).toBe(true);
    expect(Atomics.load(k.w, gw(M.handoff))).toBe(0);
    mutex_unlock(k.ctx(1), M);
    expect(owner()).toBe(-1);
  });
});

describe('mutex_unlock() against a newcomer on another thread', () => {
  test('a newcomer that queues while the unlock runs (before its first store) is woken: the mutex is freed before the unlock looks for its first waiter', () => {
    const { k, woken, step } = kernel();
    expect(mutex_trylock(k.ctx(0), M)).toBe(true);
    const g2 = mutex_lock(k.ctx(2), M);
    // Stand in for CPU 2 running on its own core: its whole entry fits just before the unlock's first store.
    const store = Atomics.store;
    let once = false;
    const onStore = (a: Int32Array, i: number, v: number): number => {
      if (!once && a === k.w) {
        once = true;
        expect(step(g2)).toBe(false); // queued: the mutex was still held
      }
      return store(a, i, v);
    };
    const spy = vi.spyOn(Atomics, 'store').mockImplementation(onStore as unknown as typeof Atomics.store);
    try {
      mutex_unlock(k.ctx(0), M);
    } finally {
      spy.mockRestore();
    }
    expect(once).toBe(true);
    expect(woken).toEqual([2]);
    expect(step(g2)).toBe(true);
  });
});

describe('the drain mutex in a pin storm, logical time', () => {
  test('512 CPUs, 4 pinners: no pinner waits for the mutex longer than the drains of the 3 others and one taken from under it', async () => {
    // Jittered pauses: four different trials (fixed ones would all be the first).
    const cells = pinStormCells(loadScenario('S5'), { ...PIN_STORM_DEFAULTS, policies: ['merged'], hog: ['off'], cpus: [512], jitterUs: 10, trials: 4 });
    const [o] = await runCells(cells, { mode: 'logical', costs: DEFAULT_COSTS });
    const a = o!.aggregate;
    expect(a.trials).toBe(4);
    expect(a.failures.total).toBe(0);
    expect(a.drainAllMutexWaitNs.count).toBeGreaterThan(100);
    // Each wait also holds a wake-up per waiter ahead (wakeupNs) besides their drains.
    expect(a.drainAllMutexWaitNs.max).toBeLessThanOrEqual(4 * (a.drainAllLatencyNs.max + DEFAULT_COSTS.wakeupNs));
  });
});
