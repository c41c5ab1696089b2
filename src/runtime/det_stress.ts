// Stress runs in deterministic mode: trials on the cooperative runtime, split into fixed-size
// chunks that a piscina pool runs on every host core at once (sweep cells are independent, the
// case piscina is built for). Chunk c's scheduler is seeded from (seed, c), so the figures do
// not depend on how many threads ran them: the same seed gives the same aggregate.
import { workerExecArgv } from './worker-path.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { Policy } from '../mm/policy.js';
import { packageRoot } from '../paths.js';
import { type PolicyAggregate, PolicyAggregator } from '../stats/aggregate.js';
import { limiter, poolThreads } from './pool_jobs.js';
import type { Scenario } from '../scenario/schema.js';
import { register, unregister, type Stoppable } from './registry.js';
import type { StressOptions, StressOutcome } from './stress.js';

/** One piscina task (workers/det-worker.ts). */
export interface DetChunk {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  /** Seed of this chunk's scheduler (derived from the run's seed and the chunk index). */
  seed: number;
  firstTrial: number;
  trials: number;
}

/** Trials per chunk: fixed, so results never depend on the pool size. */
export const CHUNK_TRIALS = 50;

let pool: { p: Piscina; s: Stoppable } | null = null;

/**
 * The process's pool of deterministic workers (workers/det-worker.ts), one thread per host core,
 * started on first use: stress chunks and parallel hunts (sched/hunt_parallel.ts) share it.
 */
export function detPool(): Piscina {
  return getPool();
}

function getPool(): Piscina {
  if (pool) return pool.p;
  const p = new Piscina({
    filename: join(packageRoot(), 'dist', 'workers', 'det-worker.js'),
    maxThreads: availableParallelism(),
    minThreads: 1,
    idleTimeout: 1000,
    execArgv: workerExecArgv(),
  });
  const s: Stoppable = {
    abort: () => {},
    shutdown: async () => {
      if (pool?.p === p) pool = null;
      unregister(s);
      await p.destroy();
    },
  };
  register(s);
  pool = { p, s };
  return p;
}

/** A chunk's seed: a fixed mix of the run's seed and the chunk index. */
export function chunkSeed(seed: number, chunk: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(chunk + 1, 0xc2b2ae35)) >>> 0;
}

export async function runDeterministicStress(opts: StressOptions): Promise<StressOutcome> {
  const p = getPool();
  const chunks: DetChunk[] = [];
  for (let first = 0, c = 0; first < opts.trials; first += CHUNK_TRIALS, c++) {
    chunks.push({
      scenario: opts.scenario,
      policy: opts.policy,
      cpus: opts.cpus,
      seed: chunkSeed(opts.seed, c),
      firstTrial: first,
      trials: Math.min(CHUNK_TRIALS, opts.trials - first),
    });
  }
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onAbort);
  const agg = new PolicyAggregator(opts.policy.id);
  let aborted = false;
  try {
    // Merge in chunk order, whatever order they finish in (and however many run at once).
    const limit = limiter(poolThreads(opts.jobs ?? availableParallelism()));
    const parts = await Promise.allSettled(chunks.map((c) => limit(() => p.run(c, { signal: abort.signal }) as Promise<PolicyAggregate>)));
    parts.forEach((r, c) => {
      if (r.status === 'fulfilled') agg.merge(PolicyAggregator.fromJSON(r.value));
      else if (abort.signal.aborted) aborted = true;
      else {
        // A chunk that died outside its trials: an emulator error; the other chunks are kept.
        const first = chunks[c]!.firstTrial;
        const message = `deterministic chunk of trials ${first}..${first + chunks[c]!.trials - 1} failed: ${(r.reason as Error)?.message ?? r.reason}`;
        agg.add({ trial: first, failures: [{ kind: 'emulator', cpu: -1, message }], pins: [], drainAlls: [], stats: [], durationNs: 0 });
      }
    });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return { aggregate: agg.toJSON(), aborted };
}
