// The drain-latency study's workload (one cell of `folio-race study drain-latency`). CPU 0 is
// the requester: each round it waits until every CPU has refilled its lru_add batch to the cell's
// occupancy, then calls lru_add_drain_all() (or, for drainMechanism 'targeted', extracts one
// folio's entries from every CPU, what a pin would do instead) and the kernel model reports its
// latency. With `callers` > 1, CPUs 1..callers-1 call it in the same round too (a drain storm:
// the drain mutex and the generation skip decide who drains); until their call they run like the
// cell's other CPUs (busy or idle).
// The other CPUs keep their batches at that occupancy and run non-preemptible work of
// `spacingNs` between scheduling points (busy), or sleep until the next round (idle). The last
// CPU, or the last `hogCount` CPUs (isolated CPUs running RT work), may instead run long
// non-preemptible stretches (`hogUs`, an RT task as in spec S5).
// Waits are kernel-style (wait_event), so the job runs on worker threads and, for reproducible
// tests, on the deterministic runtime.
import { YP, type KernelCtx, type KGen } from '../mm/context.js';
import { folio_extract_from_batches } from '../mm/extract.js';
import { C, COORDINATOR, G, Stat, cpuBase } from '../mm/layout.js';
import { count_event } from '../mm/locks.js';
import { batch_entries, lru_add_drain_all } from '../mm/lru_add_drain_all.js';
import { folio_alloc } from '../mm/page_alloc.js';
import { folio_add_lru } from '../mm/swap.js';
import { folio_isolate_lru, folio_putback_lru } from '../mm/vmscan.js';
import { wait_event } from '../mm/wait.js';
import type { Failure } from '../trial/result.js';
import type { Job, Step } from './job.js';
import { checkTrial } from './trial_check.js';
import { mulberry32 } from '../rng/mulberry32.js';

export interface DrainStudyParams {
  /** lru_add entries each CPU holds when a drain starts (0..batchCapacity-1). */
  occupancy: number;
  /** Non-preemptible work between two scheduling points on busy CPUs (ns). */
  spacingNs: number;
  /** 1: other CPUs run work between scheduling points; 0: they sleep between rounds. */
  busy: number;
  /**
   * 1: busy CPUs also put one of their folios back into the lru_add batch at every scheduling
   * point (isolate + putback, round robin over the pool), as CPUs that keep adding folios do;
   * 0: only once per round, before the drain.
   */
  continuous: number;
  /** First CPU running non-preemptible stretches of hogUs (-1: none); hogCount CPUs from there. */
  hogCpu: number;
  hogCount: number;
  hogUs: number;
  /** Drain-alls per trial (per caller). */
  rounds: number;
  /** CPUs 0..callers-1 each call lru_add_drain_all() once per round (1 = the requester alone). */
  callers: number;
}
export const DEFAULT_DRAIN_STUDY: DrainStudyParams = {
  occupancy: 8,
  spacingNs: 0,
  busy: 1,
  continuous: 0,
  hogCpu: -1,
  hogCount: 1,
  hogUs: 250,
  rounds: 20,
  callers: 1,
};

/** Words in the coordinator's region (reset with every trial). */
const ROUND = cpuBase(COORDINATOR) + C.USER; // round the requester is preparing
const DONE = cpuBase(COORDINATOR) + C.USER + 1; // 1 = the requester finished
const GO = cpuBase(COORDINATOR) + C.USER + 2; // round whose drains may start (every batch refilled)
/**
 * Per-CPU words: the last round this CPU refilled for; its first pool folio (+1, 0 = none); the
 * last round a caller's lru_add_drain_all() returned for.
 */
const READY = C.USER;
const FIRST_FOLIO = C.USER + 1;
const DRAINED = C.USER + 2;

export class DrainStudyJob implements Job {
  /** Each CPU's pool of folios (one instance serves every CPU in the deterministic runtime). */
  private readonly pools = new Map<number, number[]>();
  /** Each CPU's next pool folio to put back (continuous refill). */
  private readonly next = new Map<number, number>();
  private trial = 0;
  private draws = 0;
  constructor(
    private readonly p: DrainStudyParams,
    /** Seeds the busy CPUs' phases (see other()). */
    private readonly seed = 0,
  ) {
    // The cells keep callers (the first CPUs) and hogs (the last) apart; a spec of its own must too.
    if (p.hogCpu >= 0 && p.hogCpu < this.callers())
      throw new RangeError(`drain-latency program: hogCpu ${p.hogCpu} is one of the ${this.callers()} callers (CPUs 0..${this.callers() - 1})`);
  }

  setup(): void {
    this.pools.clear();
    this.next.clear();
  }

  isScripted(): boolean {
    return true;
  }

  steps(cpu: number, trial = 0): Step[] {
    this.trial = trial;
    if (cpu === 0) return [{ index: 0, op: 'drain_requester', run: (c) => this.requester(c) }];
    if (cpu < this.callers()) return [{ index: 0, op: 'drain_caller', run: (c) => this.caller(c) }];
    const op = this.isHog(cpu) ? 'hog_loop' : this.p.busy ? 'busy_loop' : 'idle_loop';
    return [{ index: 0, op, run: (c) => this.other(c) }];
  }

  /** Put this CPU's pool back into its lru_add batch (allocating it the first time). */
  private *refill(ctx: KernelCtx): KGen<void> {
    let pool = this.pools.get(ctx.cpu);
    if (!pool) {
      pool = [];
      for (let i = 0; i < this.p.occupancy; i++) pool.push(folio_alloc(ctx, 0, true));
      this.pools.set(ctx.cpu, pool);
      if (pool.length) Atomics.store(ctx.w, ctx.base + FIRST_FOLIO, pool[0]! + 1);
      for (const f of pool) yield* folio_add_lru(ctx, f);
    } else {
      // Folios still in a batch (not drained, e.g. after a targeted extraction) stay there.
      for (const f of pool) if (folio_isolate_lru(ctx, f)) yield* folio_putback_lru(ctx, f);
    }
    ctx.trace?.mark(ctx, 'batch occupancy', ctx.cpu, batch_entries(ctx, ctx.cpu));
  }

  /**
   * A new round starts only after the last drain finished: put the drained folios back and say
   * so to the requester (once per round).
   */
  private *refillFor(ctx: KernelCtx, round: number): KGen<void> {
    if (Atomics.load(ctx.w, ctx.base + READY) >= round) return;
    yield* this.refill(ctx);
    Atomics.store(ctx.w, ctx.base + READY, round);
    ctx.hooks.wake(0);
  }

  /** A busy CPU between two scheduling points: with continuous refill a folio put back, then its non-preemptible work. */
  private *busyWork(ctx: KernelCtx): KGen<void> {
    // The put-back first: its local-lock sections end before the stretch, as a CPU's adds do.
    if (this.p.continuous) yield* this.putOneBack(ctx);
    if (this.p.spacingNs > 0) ctx.hooks.spinNoPreempt(this.p.spacingNs);
  }

  /** The next folio of this CPU's pool (round robin) back into its lru_add batch, if a drain took it out. */
  private *putOneBack(ctx: KernelCtx): KGen<void> {
    const pool = this.pools.get(ctx.cpu);
    // The whole pool in the batch already: no isolation to try (and no failed one to count).
    if (!pool?.length || batch_entries(ctx, ctx.cpu) >= pool.length) return;
    const i = this.next.get(ctx.cpu) ?? 0;
    this.next.set(ctx.cpu, (i + 1) % pool.length);
    const f = pool[i]!;
    if (folio_isolate_lru(ctx, f)) yield* folio_putback_lru(ctx, f);
  }

  private allReady(ctx: KernelCtx, round: number): boolean {
    for (let c = 1; c < ctx.nCpus; c++) if (Atomics.load(ctx.w, cpuBase(c) + READY) < round) return false;
    return true;
  }

  randomDraws(): number {
    return this.draws;
  }

  /** Where in its first stretch this CPU starts, 0..1: seeded per trial and CPU. */
  private phase(ctx: KernelCtx): number {
    this.draws++;
    return mulberry32((this.seed * 7919 + this.trial * 131 + ctx.cpu) >>> 0)();
  }

  private isHog(cpu: number): boolean {
    const first = this.p.hogCpu;
    return first >= 0 && cpu >= first && cpu < first + Math.max(1, this.p.hogCount);
  }

  /** Callers: at least one (the requester), at most every CPU (none a hog: the constructor checks). */
  private callers(): number {
    return Math.max(1, this.p.callers);
  }

  private allDrained(ctx: KernelCtx, round: number): boolean {
    const n = Math.min(this.callers(), ctx.nCpus);
    for (let c = 1; c < n; c++) if (Atomics.load(ctx.w, cpuBase(c) + DRAINED) < round) return false;
    return true;
  }

  /** One caller's drain of a round: lru_add_drain_all(), or for 'targeted' the extraction of one folio. */
  private *drainOnce(ctx: KernelCtx, targeted: boolean): KGen<void> {
    if (targeted) yield* this.extractOne(ctx);
    else yield* lru_add_drain_all(ctx);
  }

  private *requester(ctx: KernelCtx): KGen<void> {
    this.pools.delete(ctx.cpu); // last trial's folios are gone (memory is reset per trial)
    const targeted = ctx.policy.switches.drainMechanism === 'targeted';
    const rand = mulberry32((this.seed * 7919 + this.trial * 131 + 0x5eed) >>> 0);
    for (let r = 1; r <= this.p.rounds; r++) {
      yield* this.refill(ctx);
      Atomics.store(ctx.w, ROUND, r);
      ctx.hooks.wakeAll();
      yield* wait_event(ctx, () => this.allReady(ctx, r), 'drain study: batches refilled');
      // Every batch is full: the other callers may start this round's drains too.
      Atomics.store(ctx.w, GO, r);
      if (this.callers() > 1) ctx.hooks.wakeAll();
      // The drain comes at a random moment of the busy CPUs' stretches (seeded), not right
      // after their refill: otherwise every round would wait exactly one whole stretch.
      if (this.p.busy && this.p.spacingNs > 0) {
        this.draws++;
        ctx.hooks.sleepNs(rand() * this.p.spacingNs);
        yield YP.SCRIPT_DELAY;
      }
      yield* this.drainOnce(ctx, targeted);
      // The next round refills only after every caller's drain of this one returned.
      yield* wait_event(ctx, () => this.allDrained(ctx, r), 'drain study: callers returned');
      yield YP.OP_BOUNDARY;
    }
    Atomics.store(ctx.w, DONE, 1);
    ctx.hooks.wakeAll();
  }

  /**
   * Another caller (CPUs 1..callers-1): refill its batch like every CPU, then, once the requester
   * says every batch is full, call lru_add_drain_all() too, at its next scheduling point; between
   * calls run like the cell's other CPUs: non-preemptible work between scheduling points (busy,
   * from a seeded random point of the first stretch, so that point is a random moment after the
   * requester's go; with continuous refill a folio put back at each), or sleep (idle: every
   * caller wakes to the go at once).
   */
  private *caller(ctx: KernelCtx): KGen<void> {
    const w = ctx.w;
    this.pools.delete(ctx.cpu);
    this.next.delete(ctx.cpu);
    const targeted = ctx.policy.switches.drainMechanism === 'targeted';
    if (this.p.busy && this.p.spacingNs > 0) ctx.hooks.spinNoPreempt(this.phase(ctx) * this.p.spacingNs);
    for (;;) {
      if (Atomics.load(w, DONE) !== 0 || Atomics.load(w, G.TRIAL_STOP) !== 0) return;
      yield* this.refillFor(ctx, Atomics.load(w, ROUND));
      const go = Atomics.load(w, GO);
      if (Atomics.load(w, ctx.base + DRAINED) < go) {
        yield* this.drainOnce(ctx, targeted);
        Atomics.store(w, ctx.base + DRAINED, go);
        ctx.hooks.wake(0);
      } else if (this.p.busy) yield* this.busyWork(ctx);
      else
        yield* wait_event(
          ctx,
          () =>
            Atomics.load(w, DONE) !== 0 ||
            Atomics.load(w, G.TRIAL_STOP) !== 0 ||
            Atomics.load(w, ROUND) > Atomics.load(w, ctx.base + READY) ||
            Atomics.load(w, GO) > Atomics.load(w, ctx.base + DRAINED),
          'drain study: caller idle',
        );
      yield YP.OP_BOUNDARY;
    }
  }

  /**
   * drainMechanism 'targeted': folio_extract_from_batches() of one folio sitting in the last
   * CPU's batch (the first hog's, when there is one), timed and reported as the round's "drain".
   * Caller c takes that of CPU (first - c) mod N instead: each pins a folio of its own (its own
   * batch's when first = 2c; only caller 0's is the first hog's).
   */
  private *extractOne(ctx: KernelCtx): KGen<void> {
    const first = this.p.hogCpu >= 0 ? this.p.hogCpu : ctx.nCpus - 1;
    const victim = (first - ctx.cpu + ctx.nCpus) % ctx.nCpus;
    const f = Atomics.load(ctx.w, cpuBase(victim) + FIRST_FOLIO) - 1;
    const startNs = ctx.hooks.nowNs();
    count_event(ctx, Stat.LRU_ADD_DRAIN_ALL);
    const n = f >= 0 ? yield* folio_extract_from_batches(ctx, f) : 0;
    count_event(ctx, Stat.DRAIN_ALL_CPUS_QUEUED, n);
    ctx.obs?.drainAll(ctx, { startNs, endNs: ctx.hooks.nowNs(), mutexWaitNs: 0, cpusQueued: n, genSkipped: false, forced: false });
  }

  private *other(ctx: KernelCtx): KGen<void> {
    const w = ctx.w;
    const hog = this.isHog(ctx.cpu);
    this.pools.delete(ctx.cpu);
    this.next.delete(ctx.cpu);
    // Busy CPUs start at a random point of their first stretch (seeded per trial and CPU), so
    // their scheduling points are not in step with each other or with the requester, as on a
    // real machine: a drain then waits for the latest of N uniformly placed points. So do
    // several hogs (isolated CPUs are not in step either). One hog keeps the study's first
    // timing: its stretch starts as it refills, so a drain soon after waits for most of it.
    // (Drawn only where it is used: a trial that draws nothing repeats exactly in logical time.)
    if (!hog && this.p.busy && this.p.spacingNs > 0) ctx.hooks.spinNoPreempt(this.phase(ctx) * this.p.spacingNs);
    if (hog && this.p.hogCount > 1) ctx.hooks.spinNoPreempt(this.phase(ctx) * this.p.hogUs * 1000);
    for (;;) {
      const round = Atomics.load(w, ROUND);
      // Done, or the run was stopped (a busy loop has no wait to notice it in).
      if (Atomics.load(w, DONE) !== 0 || Atomics.load(w, G.TRIAL_STOP) !== 0) return;
      yield* this.refillFor(ctx, round);
      if (hog) ctx.hooks.spinNoPreempt(this.p.hogUs * 1000);
      else if (this.p.busy) yield* this.busyWork(ctx);
      else {
        // Idle: sleep until the next round or the end (the kworker still runs meanwhile).
        yield* wait_event(ctx, () => Atomics.load(w, DONE) !== 0 || Atomics.load(w, ROUND) > Atomics.load(w, ctx.base + READY), 'drain study: idle');
      }
      yield YP.OP_BOUNDARY;
    }
  }

  /** The invariants of spec §10 on the memory the trial left (batches may still hold entries). */
  check(ctx: KernelCtx): Failure[] {
    return checkTrial(ctx);
  }
}
