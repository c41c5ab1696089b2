// Built-in runtime programs: small per-CPU workloads that exercise the CPU runtime and
// lru_add_drain_all() without a scenario file. Used by the demo, the runtime tests and the
// drain benchmark. Each checks by state what it relies on and reports a failure otherwise.
import { PG } from '../mm/constants.js';
import type { KernelCtx, KGen } from '../mm/context.js';
import { YP } from '../mm/context.js';
import { folio_test } from '../mm/folio.js';
import { C, cpuBase } from '../mm/layout.js';
import { lru_add_drain_all } from '../mm/lru_add_drain_all.js';
import { folio_alloc } from '../mm/page_alloc.js';
import { folio_add_lru } from '../mm/swap.js';
import type { Failure } from '../trial/result.js';
import type { Job, JobEnv, Step } from './job.js';
import { checkTrial } from './trial_check.js';

/** Per-CPU USER words: 0 = last folio this CPU finished adding + 1, 1 = adds done. */
const LAST_ADDED = C.USER;
const ADDS_DONE = C.USER + 1;

export interface ProgramParams {
  /** CPUs that call lru_add_drain_all (the first `drainers` CPUs). */
  drainers: number;
  /** Calls per drainer per trial. */
  drains: number;
  /** CPUs that keep adding folios to their lru_add batches (the next `adders` CPUs). */
  adders: number;
  /** Adds per adder per trial (they add until the drainers finish, at least this many). */
  adds: number;
  /** Entries each drainer puts in its own lru_add batch before each call. */
  ownAdds: number;
  /** Step at which CPU 0 hits BUG() (negative: never). For crash-path tests. */
  bugAtStep: number;
}
export const DEFAULT_PROGRAM: ProgramParams = { drainers: 1, drains: 4, adders: 1, adds: 40, ownAdds: 0, bugAtStep: -1 };

/** Add one fresh small folio to this CPU's lru_add batch; the program keeps a TEMP ref. */
function* addOne(ctx: KernelCtx): KGen<number> {
  const f = folio_alloc(ctx, 0, true);
  yield* folio_add_lru(ctx, f);
  Atomics.store(ctx.w, ctx.base + LAST_ADDED, f + 1);
  Atomics.add(ctx.w, ctx.base + ADDS_DONE, 1);
  return f;
}

/** A folio that was in a batch when a drain's scan ran must be on the LRU once it returns. */
function drained(ctx: KernelCtx, f: number): boolean {
  return folio_test(ctx, f, PG.lru);
}

export class DrainProgram implements Job {
  constructor(
    private readonly p: ProgramParams,
    private readonly env: JobEnv,
  ) {}

  setup(): void {}

  isScripted(cpu: number): boolean {
    return cpu < this.p.drainers + this.p.adders || (cpu === 0 && this.p.bugAtStep >= 0);
  }

  steps(cpu: number): Step[] {
    const p = this.p;
    const steps: Step[] = [];
    if (cpu === 0 && p.bugAtStep >= 0) {
      for (let i = 0; i <= p.bugAtStep; i++) {
        steps.push({ index: i, op: i === p.bugAtStep ? 'bug' : 'lru_add', run: i === p.bugAtStep ? bug : (c) => discard(addOne(c)) });
      }
      return steps;
    }
    if (cpu < p.drainers) {
      for (let i = 0; i < p.drains; i++) steps.push({ index: i, op: 'lru_add_drain_all', run: (c) => this.drainOnce(c) });
    } else if (cpu < p.drainers + p.adders) {
      steps.push({ index: 0, op: 'lru_add_loop', run: (c) => this.addLoop(c) });
    }
    return steps;
  }

  /** Keep adding while any drainer runs (at least p.adds times), so drains race with adds. */
  private *addLoop(ctx: KernelCtx): KGen<void> {
    const p = this.p;
    const drainersDone = () => this.countDrainersDone(ctx);
    // Folio slots are per trial: share what the drainers leave among the adders.
    const budget = Math.floor((ctx.lay.dims.nFolios - p.drainers * p.drains * p.ownAdds) / Math.max(1, p.adders)) - 1;
    for (let i = 0; i < budget && (i < p.adds || drainersDone() < p.drainers); i++) {
      yield* addOne(ctx);
      yield YP.OP_BOUNDARY;
    }
  }

  private countDrainersDone(ctx: KernelCtx): number {
    let n = 0;
    for (let c = 0; c < this.p.drainers; c++) if (Atomics.load(ctx.w, cpuBase(c) + C.USER + 2) >= this.p.drains) n++;
    return n;
  }

  private *drainOnce(ctx: KernelCtx): KGen<void> {
    const own: number[] = [];
    for (let i = 0; i < this.p.ownAdds; i++) own.push(yield* addOne(ctx));
    // Folios other CPUs had finished adding before this call: the drain must reach them.
    const before: [number, number][] = [];
    for (let c = 0; c < ctx.nCpus; c++) {
      const last = Atomics.load(ctx.w, cpuBase(c) + LAST_ADDED) - 1;
      if (c !== ctx.cpu && last >= 0) before.push([c, last]);
    }
    yield* lru_add_drain_all(ctx);
    for (const f of own) {
      if (!drained(ctx, f)) this.fail(ctx, `lru_add_drain_all returned with this CPU's own folio ${f} still in its lru_add batch`);
    }
    for (const [c, f] of before) {
      if (!drained(ctx, f)) this.fail(ctx, `lru_add_drain_all returned before CPU ${c}'s drain work ran: folio ${f} still in its batch`);
    }
    Atomics.add(ctx.w, ctx.base + C.USER + 2, 1);
  }

  private fail(ctx: KernelCtx, message: string): void {
    this.env.report({ kind: 'invariant', cpu: ctx.cpu, message, invariant: 'flush' });
  }

  check(ctx: KernelCtx): Failure[] {
    return checkTrial(ctx);
  }
}

function* discard(g: KGen<number>): KGen<void> {
  yield* g;
}

function* bug(ctx: KernelCtx): KGen<void> {
  yield YP.OP_BOUNDARY;
  throw new Error(`kernel BUG at programs.ts: deliberate BUG() on cpu ${ctx.cpu}`);
}
