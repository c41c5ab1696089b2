// __lru_add_drain_all() on the single-thread runtime, with hand-made interleavings: the
// generation skip rule (spec §3.4, invariant I17) and the racy cpu_needs_drain() scan.
import { describe, expect, test } from 'vitest';
import { PG } from '../src/mm/constants.js';
import { YP, type DrainAllRecord, type KGen } from '../src/mm/context.js';
import { folio_test } from '../src/mm/folio.js';
import { C, G, Stat } from '../src/mm/layout.js';
import { kworker_run_pending, lru_add_drain_all, STAMP_MASK, stampDiff } from '../src/mm/lru_add_drain_all.js';
import { folio_alloc } from '../src/mm/page_alloc.js';
import { getPolicy } from '../src/mm/policy.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { InlineKernel } from '../src/runtime/inline.js';

/** Advance a generator until it yields `yp` (returns true) or finishes (false). */
function stepUntil(g: KGen<void>, yp: number): boolean {
  for (;;) {
    const r = g.next();
    if (r.done) return false;
    if (r.value === yp) return true;
  }
}

function setup(nCpus = 2) {
  const k = new InlineKernel({ nCpus, policy: getPolicy('v6.11') });
  const add = (cpu: number) => {
    const f = folio_alloc(k.ctx(cpu), 0, true);
    k.run(cpu, folio_add_lru(k.ctx(cpu), f));
    return f;
  };
  const stat = (cpu: number, s: number) => k.w[k.ctx(cpu).base + C.STATS + s]!;
  return { k, add, stat };
}

describe('lru_add_drain_all generation rule', () => {
  test('a caller that sampled before another drain started skips, and its adds were drained by that drain', () => {
    const { k, add, stat } = setup();
    const fb = add(1);
    const b = lru_add_drain_all(k.ctx(1));
    expect(stepUntil(b, YP.DRAIN_ALL_AFTER_SAMPLE)).toBe(true); // B sampled generation 0
    add(0);
    k.run(0, lru_add_drain_all(k.ctx(0))); // A: generation 1, queues both CPUs, flushes
    expect(Atomics.load(k.w, G.DRAIN_GEN)).toBe(1);
    k.run(1, b);
    expect(stat(1, Stat.DRAIN_ALL_GEN_SKIP)).toBe(1);
    expect(Atomics.load(k.w, G.DRAIN_GEN)).toBe(1);
    expect(folio_test(k.ctx(1), fb, PG.lru)).toBe(true);
  });

  test('a caller never skips because of a drain that started before its own sample', () => {
    const { k, add, stat } = setup();
    add(1);
    const a = lru_add_drain_all(k.ctx(0));
    expect(stepUntil(a, YP.BLOCKED)).toBe(true); // A holds the mutex, generation 1, flushing
    expect(Atomics.load(k.w, G.DRAIN_GEN)).toBe(1);
    k.runKworkers(); // the queued work runs; A has not returned yet
    const late = add(1); // added after A's scan
    const b = lru_add_drain_all(k.ctx(1));
    expect(stepUntil(b, YP.BLOCKED)).toBe(true); // B sampled generation 1, waits for the mutex
    k.run(0, a); // A finishes and unlocks
    k.run(1, b);
    expect(stat(1, Stat.DRAIN_ALL_GEN_SKIP)).toBe(0);
    expect(Atomics.load(k.w, G.DRAIN_GEN)).toBe(2);
    expect(folio_test(k.ctx(1), late, PG.lru)).toBe(true);
  });

  test('the scan queues work only on online CPUs whose batches are non-empty', () => {
    const k = new InlineKernel({ nCpus: 4, policy: getPolicy('v6.11') });
    const f = folio_alloc(k.ctx(2), 0, true);
    k.run(2, folio_add_lru(k.ctx(2), f));
    k.run(0, lru_add_drain_all(k.ctx(0)));
    const queued = (cpu: number) => Atomics.load(k.w, k.ctx(cpu).base + C.WQ_QUEUED_SEQ);
    expect([0, 1, 2, 3].map(queued)).toEqual([0, 0, 1, 0]);
    expect(folio_test(k.ctx(0), f, PG.lru)).toBe(true);
  });

  test('a batch entry whose count is not yet visible is missed by the scan (the S6 window)', () => {
    const k = new InlineKernel({ nCpus: 2, policy: getPolicy('v6.11') });
    const f = folio_alloc(k.ctx(1), 0, true);
    const adding = folio_add_lru(k.ctx(1), f);
    expect(stepUntil(adding, YP.LRU_ADD_AFTER_GET)).toBe(true); // reference taken, nr still 0
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(Atomics.load(k.w, k.ctx(1).base + C.WQ_QUEUED_SEQ)).toBe(0);
    k.run(1, adding);
    expect(folio_test(k.ctx(1), f, PG.lru)).toBe(false); // still resting in CPU 1's batch
  });
});

describe('flush_work wake-ups', () => {
  // The flusher sleeps on one CPU's work at a time (in queue order). Only the completion of that
  // work wakes it, as its wq_barrier's complete() does: the kworkers of CPUs it is not waiting
  // on yet finish without ringing anyone. Counted on the runtime's wake hook, per doorbell.
  test('only the completion of the work being flushed wakes the flusher', () => {
    const { k, add } = setup(4);
    for (const cpu of [1, 2, 3]) add(cpu);
    const rung: number[] = [];
    k.ctx(0).hooks.wake = (cpu) => rung.push(cpu); // one hooks object for every CPU's context
    const drain = lru_add_drain_all(k.ctx(0));
    expect(stepUntil(drain, YP.BLOCKED)).toBe(true); // queued on 1, 2, 3; flushing CPU 1's work
    expect(rung).toEqual([1, 2, 3]); // queue_work_on rang each target's doorbell
    rung.length = 0;
    expect(kworker_run_pending(k.ctx(3))).toBe(true);
    expect(kworker_run_pending(k.ctx(2))).toBe(true);
    expect(rung).toEqual([]); // CPUs 3 and 2 done: the flusher, waiting on CPU 1, sleeps on
    expect(kworker_run_pending(k.ctx(1))).toBe(true);
    expect(rung).toEqual([0]); // one wake-up, for the work it waits on
    k.run(0, drain); // the works of CPUs 2 and 3 have run: their flushes return at once
    expect(rung).toEqual([0]);
    expect(k.yields[0]!.filter((y) => y === YP.BLOCKED)).toHaveLength(0);
    expect([1, 2, 3].map((cpu) => Atomics.load(k.w, k.ctx(cpu).base + C.WQ_FLUSHER))).toEqual([0, 0, 0]);
  });
});

describe('a runtime that blocks in place (free-run: RuntimeHooks.blockInPlace)', () => {
  // The flusher sleeps inside flush_work() instead of yielding BLOCKED to its driver, so the
  // completion's way back resumes no generator chain. The wait is the same: the hook returns
  // once the condition holds, and wait_event() checks it again.
  test('flush_work() sleeps in the hook until the work it flushes has run, and never yields BLOCKED', () => {
    const { k, add } = setup(3);
    const fa = add(1);
    const fb = add(2);
    const waited: string[] = [];
    k.ctx(0).hooks.blockInPlace = (cond) => {
      waited.push(k.ctx(0).blockReason);
      expect(cond()).toBe(false); // the work has not run yet: the wait is real
      k.runKworkers(); // the CPUs' kworkers run while the flusher sleeps
      expect(cond()).toBe(true);
    };
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(waited).toEqual(['flush_work']); // CPU 1's flush slept; CPU 2's work had run by then
    expect(k.yields[0]!.filter((y) => y === YP.BLOCKED)).toHaveLength(0);
    expect([fa, fb].map((f) => folio_test(k.ctx(0), f, PG.lru))).toEqual([true, true]);
    expect(k.ctx(0).blockedOn).toBeNull();
  });

  test('without the hook, the same drain yields BLOCKED to its runtime', () => {
    const { k, add } = setup(3);
    add(1);
    add(2);
    k.run(0, lru_add_drain_all(k.ctx(0)));
    expect(k.yields[0]!.filter((y) => y === YP.BLOCKED)).toHaveLength(1);
  });
});

describe('drain phases (the drain bench splits a round trip with them)', () => {
  // A clock that ticks at every read, so each stamp is later than the one before. It starts just
  // below a multiple of 2^30, so the 30-bit stamps wrap during the drain.
  function ticking(k: InlineKernel) {
    let t = 3 * 2 ** 30 - 45;
    k.ctx(0).hooks.nowNs = () => (t += 10); // one hooks object for every CPU's context
  }
  const observe = (k: InlineKernel, drainPhases: boolean) => {
    const recs: DrainAllRecord[] = [];
    k.ctx(0).obs = { drainAll: (_c, r) => recs.push(r), pin: () => {}, drainPhases };
    return recs;
  };

  test('asked for, the record times the first queue_work_on() and the last flush, around the CPUs drain work stamps', () => {
    const { k, add } = setup(3);
    ticking(k);
    add(1);
    add(2);
    const recs = observe(k, true);
    const drain = lru_add_drain_all(k.ctx(0));
    expect(stepUntil(drain, YP.BLOCKED)).toBe(true);
    k.runKworkers();
    k.run(0, drain);
    const r = recs[0]!;
    expect(r.cpusQueued).toBe(2);
    const { queueNs, flushedNs } = r.phases!;
    const stamp = (cpu: number, word: number) => k.w[k.ctx(cpu).base + word]!;
    expect(queueNs).toBeGreaterThan(r.startNs);
    expect(r.endNs).toBeGreaterThan(flushedNs);
    // In clock order, compared as 30-bit stamps (the bench's arithmetic): each a little later.
    const t = [queueNs & STAMP_MASK];
    for (const cpu of [1, 2]) t.push(stamp(cpu, C.DRAIN_WORK_START), stamp(cpu, C.DRAIN_WORK_END));
    t.push(flushedNs & STAMP_MASK);
    expect(t.every((x) => x >= 0 && x <= STAMP_MASK)).toBe(true);
    const steps = t.slice(1).map((x, i) => stampDiff(t[i]!, x));
    expect(steps.every((d) => d > 0 && d < 1000)).toBe(true);
    // The clock crossed 3 * 2^30 during the drain: some stamp is below the one before it.
    expect(t.some((x, i) => i > 0 && x < t[i - 1]!)).toBe(true);
  });

  test('stampDiff() takes the difference of two 30-bit stamps across a wrap', () => {
    expect(stampDiff(100, 250)).toBe(150);
    expect(stampDiff(STAMP_MASK - 9, 5)).toBe(15);
    expect(stampDiff((2 ** 31 + 7) & STAMP_MASK, (2 ** 31 + 20) & STAMP_MASK)).toBe(13);
  });

  test('not asked for, or nothing queued: no phases', () => {
    const { k, add } = setup(2);
    add(1);
    const recs = observe(k, false);
    const drain = lru_add_drain_all(k.ctx(0));
    stepUntil(drain, YP.BLOCKED);
    k.runKworkers();
    k.run(0, drain);
    expect(recs[0]!.cpusQueued).toBe(1);
    expect(recs[0]!.phases).toBeUndefined();
    k.ctx(0).obs!.drainPhases = true;
    k.run(0, lru_add_drain_all(k.ctx(0))); // the batches are empty now
    expect(recs[1]!.cpusQueued).toBe(0);
    expect(recs[1]!.phases).toBeUndefined();
  });
});
