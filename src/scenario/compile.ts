// Compiling a scenario into the program one CPU runs: a flat list of steps, each calling the
// emulated kernel's own entry points with `yield*`, so every scheduling point inside the kernel
// is a scheduling point of the run. Repeats are unrolled; names become indices (resolveNames).
import { Holder } from '../mm/constants.js';
import type { KernelCtx, KGen } from '../mm/context.js';
import type { Step as JobStep } from '../job/job.js';
import { folio_put, folio_try_get } from '../mm/folio.js';
import { page_cache_ra_order } from '../mm/filemap.js';
import { FOLL, pin_user_pages, unpin_user_page, unpin_user_pages } from '../mm/gup.js';
import { lru_add_drain_all } from '../mm/lru_add_drain_all.js';
import { fork_vma, handle_mm_fault, unmap_vma } from '../mm/memory.js';
import { do_mlock, do_munlock } from '../mm/mlock_range.js';
import { deactivate_file_folio, folio_deactivate, folio_mark_accessed, folio_mark_lazyfree, folio_rotate_reclaimable, lru_add_drain } from '../mm/swap.js';
import { lru_cache_disable, lru_cache_enable } from '../mm/lru_add_drain_all.js';
import { page_alloc_cpu_dead, set_cpu_online } from '../mm/swap_hotplug.js';
import { pte_folio, pte_lock, pte_unlock } from '../mm/vma.js';
import { wait_event } from '../mm/wait.js';
import { bh_lru_install } from '../mm/buffer.js';
import { MAX_STEPS_PER_CPU, type FolioOpName, type Op, type Scenario } from './schema.js';
import { resolveNames, scenarioAlloc, type ResolvedNames, type ScenarioBoard } from './setup.js';

/** One step of a CPU's program (src/job/job.ts Step), always with its place in the file. */
export type Step = JobStep & { path: string };

/** Runtime services the compiled steps use. */
export interface CompileEnv {
  /** Raise a named signal (shared memory: every CPU sees it) and wake the CPUs waiting for one. */
  signal(ctx: KernelCtx, name: string): void;
  isSignalled(name: string): boolean;
  /** A preemptible pause of `us` µs: scheduling points while it lasts (this CPU's kworker may run). */
  delay(ctx: KernelCtx, us: number): KGen<void>;
  /** A non-preemptible stretch of `us` µs: no scheduling point, no kworker. */
  hog(ctx: KernelCtx, us: number): KGen<void>;
  /** Record each pin_user_pages() result and the folio of each pinned page (invariant checker). */
  pinLog?(ctx: KernelCtx, rc: number, folios: readonly number[]): void;
  /** Uniform [0, 1) for `jitterUs` (seeded in deterministic runs); Math.random by default. */
  random?(): number;
  /** Publish / look up the VMA id of a fork child (shared memory, see ScenarioBoard). */
  setForkChild?(name: string, vma: number): void;
  forkChild?(name: string): number;
}

/** A CompileEnv whose signals and fork children live on a ScenarioBoard. */
export function boardEnv(board: ScenarioBoard, rt: Pick<CompileEnv, 'delay' | 'hog' | 'pinLog' | 'random'>): CompileEnv {
  return {
    signal: (ctx, n) => {
      board.signal(n);
      ctx.hooks.wakeAll();
    },
    isSignalled: (n) => board.isSignalled(n),
    setForkChild: (n, v) => board.setForkChild(n, v),
    forkChild: (n) => board.forkChild(n),
    ...rt,
  };
}

const FOLIO_OP_FN: Record<FolioOpName, (ctx: KernelCtx, folio: number) => KGen<void>> = {
  mark_accessed: folio_mark_accessed,
  deactivate: folio_deactivate,
  deactivate_file: deactivate_file_folio,
  lazyfree: folio_mark_lazyfree,
  rotate: folio_rotate_reclaimable,
};
const FOLIO_OP_KNAME: Record<FolioOpName, string> = {
  mark_accessed: 'folio_mark_accessed',
  deactivate: 'folio_deactivate',
  deactivate_file: 'deactivate_file_folio',
  lazyfree: 'folio_mark_lazyfree',
  rotate: 'folio_rotate_reclaimable',
};

/** Per-CPU program state that lives for one trial (reset when step 0 runs). */
interface TrialState {
  /** Pins kept by `pin ... hold: true`: `${vma}:${page}` -> folios (a stack). */
  held: Map<string, number[]>;
  /** Fork children this CPU created (fallback when the env has no board). */
  forks: Map<string, number>;
}

/**
 * The program CPU `cpu` runs in every trial of scenario `s`. A CPU without a script gets an
 * empty program (it only runs drain work at its scheduling points).
 */
export function compileScenario(s: Scenario, cpu: number, env: CompileEnv, names: ResolvedNames = resolveNames(s)): Step[] {
  const ops = s.steps[cpu] ?? [];
  const steps: Step[] = [];
  const st: TrialState = { held: new Map(), forks: new Map() };
  const alloc = scenarioAlloc(s);
  const rand = env.random ?? Math.random;

  const vmaId = (name: string, path: string): number => {
    const v = names.vmas.get(name);
    if (v !== undefined) return v;
    const id = env.forkChild ? env.forkChild(name) : (st.forks.get(name) ?? -1);
    if (id < 0) throw new Error(`${s.file}: ${path}: VMA '${name}' is created by a fork that has not run yet in this trial (order the CPUs with signal/wait)`);
    return id;
  };
  const objId = (name: string): number => names.objects.get(name)!;

  const emit = (list: readonly Op[], offset: number, suffix: string): void => {
    for (const op of list) {
      if (op.op === 'repeat') {
        for (let k = 0; k < op.times; k++) {
          const before = steps.length;
          emit(op.ops, offset + k * op.stride, `${suffix} (${k + 1}/${op.times})`);
          const last = steps[steps.length - 1];
          if (last && steps.length > before && (op.delayAfterUs !== undefined || op.jitterUs !== undefined)) {
            // A repeat's own timing knobs pause after every repetition.
            steps[steps.length - 1] = withPause(last, op.delayAfterUs ?? 0, op.jitterUs ?? 0);
          }
        }
        continue;
      }
      if (steps.length >= MAX_STEPS_PER_CPU) throw new Error(`${s.file}: steps.${cpu}: more than ${MAX_STEPS_PER_CPU} steps after unrolling repeats`);
      const body = opBody(op, offset);
      const pause = op.delayAfterUs ?? s.timing.delayAfterUs;
      const jitter = op.jitterUs ?? s.timing.jitterUs;
      const index = steps.length;
      const path = op.path + suffix;
      const base: Step = {
        index,
        op: op.op,
        path,
        run:
          index === 0
            ? function* (ctx: KernelCtx): KGen<void> {
                // Trial start on this CPU: user faults allocate where the scenario says, no pins held.
                ctx.alloc = { ...alloc };
                st.held.clear();
                st.forks.clear();
                yield* body(ctx, path);
              }
            : (ctx: KernelCtx) => body(ctx, path),
      };
      steps.push(pause > 0 || jitter > 0 ? withPause(base, pause, jitter) : base);
    }
  };

  const withPause = (step: Step, us: number, jitterUs: number): Step => {
    const inner = step.run;
    return {
      ...step,
      *run(ctx: KernelCtx): KGen<void> {
        yield* inner(ctx);
        const t = us + (jitterUs > 0 ? rand() * jitterUs : 0);
        if (t > 0) yield* env.delay(ctx, t);
      },
    };
  };

  /** The kernel calls of one op; `offset` is what enclosing repeats add to pages and indices. */
  const opBody = (op: Op, offset: number): ((ctx: KernelCtx, path: string) => KGen<void>) => {
    switch (op.op) {
      case 'fault': {
        const page = op.page + offset;
        return function* (ctx, path) {
          yield* handle_mm_fault(ctx, vmaId(op.vma, path), page, op.write);
        };
      }
      case 'mlock':
        return function* (ctx, path) {
          yield* do_mlock(ctx, vmaId(op.vma, path), { onfault: op.onfault });
        };
      case 'munlock':
        return function* (ctx, path) {
          yield* do_munlock(ctx, vmaId(op.vma, path));
        };
      case 'munmap':
        return function* (ctx, path) {
          yield* unmap_vma(ctx, vmaId(op.vma, path));
        };
      case 'fork': {
        const childMm = 1000 + names.forks.get(op.as)!;
        return function* (ctx, path) {
          const child = fork_vma(ctx, vmaId(op.vma, path), childMm);
          if (env.setForkChild) env.setForkChild(op.as, child);
          else st.forks.set(op.as, child);
        };
      }
      case 'pin': {
        const page = op.page + offset;
        const flags = FOLL.LONGTERM | (op.write ? FOLL.WRITE : 0);
        return function* (ctx, path) {
          const vma = vmaId(op.vma, path);
          const pages: number[] = [];
          const rc = yield* pin_user_pages(ctx, vma, page, op.pages, flags, pages, op.fast);
          env.pinLog?.(ctx, rc, pages);
          if (rc <= 0) return;
          if (!op.hold) {
            unpin_user_pages(ctx, pages);
            return;
          }
          pages.forEach((folio, i) => {
            const key = `${vma}:${page + i}`;
            const stack = st.held.get(key);
            if (stack) stack.push(folio);
            else st.held.set(key, [folio]);
          });
        };
      }
      case 'unpin': {
        const page = op.page + offset;
        return function* (ctx, path) {
          // Nothing held (the pin failed, or was never kept): nothing to drop.
          const folio = st.held.get(`${vmaId(op.vma, path)}:${page}`)?.pop();
          if (folio !== undefined) unpin_user_page(ctx, folio);
        };
      }
      case 'readahead': {
        const index = op.index + offset;
        return function* (ctx) {
          yield* page_cache_ra_order(ctx, objId(op.object), index, op.pages);
        };
      }
      case 'mark_accessed':
      case 'deactivate':
      case 'deactivate_file':
      case 'lazyfree':
      case 'rotate': {
        const fn = FOLIO_OP_FN[op.op];
        const kname = FOLIO_OP_KNAME[op.op];
        if (op.folio !== undefined) {
          const folio = names.folios.get(op.folio)!;
          // Callers hold a reference (a page-cache lookup); a folio already freed is skipped.
          return function* (ctx) {
            if (!folio_try_get(ctx, folio, 1, Holder.TEMP, kname)) return;
            try {
              yield* fn(ctx, folio);
            } finally {
              folio_put(ctx, folio, Holder.TEMP, kname);
            }
          };
        }
        const page = op.page! + offset;
        // madvise-style: the folio mapped at the PTE, under the page-table lock; a PTE that is
        // not present (none, or a migration entry) is skipped, as madvise_cold does.
        return function* (ctx, path) {
          const vma = vmaId(op.vma!, path);
          yield* pte_lock(ctx);
          try {
            const folio = pte_folio(ctx, vma, page);
            if (folio >= 0) yield* fn(ctx, folio);
          } finally {
            pte_unlock(ctx);
          }
        };
      }
      case 'lru_add_drain':
        return function* (ctx) {
          lru_add_drain(ctx);
        };
      case 'lru_add_drain_all':
        return function* (ctx) {
          yield* lru_add_drain_all(ctx);
        };
      case 'bh_lru_install':
        return function* (ctx) {
          bh_lru_install(ctx, op.count);
        };
      case 'lru_cache_disable':
        return function* (ctx) {
          yield* lru_cache_disable(ctx);
        };
      case 'lru_cache_enable':
        return function* (ctx) {
          lru_cache_enable(ctx);
        };
      case 'cpu_offline':
        return function* (ctx) {
          set_cpu_online(ctx, op.cpu, false);
        };
      case 'cpu_online':
        return function* (ctx) {
          set_cpu_online(ctx, op.cpu, true);
        };
      case 'cpu_dead':
        return function* (ctx) {
          page_alloc_cpu_dead(ctx, op.cpu);
        };
      case 'hog': {
        const us = op.us ?? s.timing.hogUs;
        return (ctx) => env.hog(ctx, us);
      }
      case 'delay': {
        const us = op.us ?? s.timing.delayUs;
        return (ctx) => env.delay(ctx, us);
      }
      case 'signal':
        return function* (ctx) {
          env.signal(ctx, op.name);
        };
      case 'wait':
        return (ctx) => wait_event(ctx, () => env.isSignalled(op.name), `wait ${op.name}`);
      case 'repeat':
        throw new Error('unreachable: repeats are unrolled');
    }
  };

  emit(ops, 0, '');
  return steps;
}

/** The op names of a CPU's program, in order (for tests and `explain --steps`). */
export function programOps(steps: readonly Step[]): string[] {
  return steps.map((x) => x.op);
}
