// Creating and resetting the shared kernel memory (the emulator's "boot"), and building the
// per-CPU context kernel code runs with. Used by every runtime and by tests.
import type { AllocPolicy, KernelCtx, RuntimeHooks } from './context.js';
import {
  C,
  CPU_WORDS,
  FOLIO_WORDS,
  G,
  GLOBAL_WORDS,
  MAX_CPUS,
  MAX_OBJECTS,
  MAX_VMAS,
  OBJ_WORDS,
  VMA_WORDS,
  cpuBase,
  folioTableBase,
  makeLayout,
  objBase,
  vmaBase,
  type Dims,
  type Layout,
} from './layout.js';
import type { Policy } from './policy.js';
import { MigrateType, Zone } from './constants.js';

/** Largest folio table, PTE table or page-cache table (entries); 4M folios of 128 bytes = 512 MB. */
export const MAX_DIM = 4_000_000;

export const DEFAULT_DIMS: Dims = { nCpus: 4, nFolios: 4096, nPtes: 4096, nCacheSlots: 4096 };

/** Validate dimensions; messages name the field and the value. */
export function checkDims(d: Dims): void {
  if (!Number.isInteger(d.nCpus) || d.nCpus < 1 || d.nCpus > MAX_CPUS) {
    throw new RangeError(`cpus: expected an integer from 1 to ${MAX_CPUS}, got ${d.nCpus}`);
  }
  for (const k of ['nFolios', 'nPtes', 'nCacheSlots'] as const) {
    if (!Number.isInteger(d[k]) || d[k] < 1 || d[k] > MAX_DIM) {
      throw new RangeError(`${k}: expected an integer from 1 to ${MAX_DIM}, got ${d[k]}`);
    }
  }
}

/** Allocate the SharedArrayBuffer for `dims` and boot it. */
export function createKernelMemory(dims: Dims): { sab: SharedArrayBuffer; w: Int32Array; lay: Layout } {
  checkDims(dims);
  const lay = makeLayout(dims);
  const sab = new SharedArrayBuffer(lay.total * 4);
  const w = new Int32Array(sab);
  resetKernelMemory(w, lay);
  return { sab, w, lay };
}

/**
 * Reset everything to the booted state: no folios, empty batches, all CPUs online, drain
 * machinery idle. Called between trials (only while no CPU is running kernel code).
 */
export function resetKernelMemory(w: Int32Array, lay: Layout): void {
  w.fill(0, 0, lay.total);
  resetForTrial(w, lay);
}

/**
 * Reset only what a trial changes: globals, the CPUs' regions (batches, locks, counters), the
 * VMA and object tables, and the folio, PTE and page-cache slots the allocation cursors handed
 * out. CPUs come back online. Doorbells are kept: sleepers compare against them.
 */
export function resetForTrial(w: Int32Array, lay: Layout): void {
  const usedFolios = Math.min(lay.dims.nFolios, Math.max(0, w[G.NEXT_FREE_FOLIO]!));
  const usedPtes = Math.min(lay.dims.nPtes, Math.max(0, w[G.NEXT_PTE]!));
  const usedCache = Math.min(lay.dims.nCacheSlots, Math.max(0, w[G.NEXT_CACHE_SLOT]!));
  const usedVmas = Math.min(MAX_VMAS, Math.max(0, w[G.NEXT_VMA]!));
  const usedObjs = Math.min(MAX_OBJECTS, Math.max(0, w[G.NEXT_OBJ]!));
  const gen = w[G.TRIAL_GEN]!;
  const done = w[G.TRIAL_DONE]!;
  const stop = w[G.TRIAL_STOP]!;
  w.fill(0, 0, GLOBAL_WORDS);
  w[G.TRIAL_GEN] = gen;
  w[G.TRIAL_DONE] = done;
  w[G.TRIAL_STOP] = stop;
  Atomics.store(w, G.WQ_READY, 1);
  // The present CPUs' regions and the coordinator's; regions of absent CPUs stay zero.
  for (let k = 0; k <= lay.dims.nCpus; k++) {
    const cpu = k === lay.dims.nCpus ? MAX_CPUS : k;
    const b = GLOBAL_WORDS + cpu * CPU_WORDS; // cpuBase() without the footprint watch: no kernel code runs here
    // Never touch the doorbell: a ring landing during the reset must not be lost.
    w.fill(0, b, b + C.BELL);
    w.fill(0, b + C.BELL + 1, b + CPU_WORDS);
    if (cpu < lay.dims.nCpus) w[b + C.ONLINE] = 1;
  }
  // Only the slots the cursors handed out: a trial's reset is on the hot path of every search.
  w.fill(0, vmaBase(0), vmaBase(0) + usedVmas * VMA_WORDS);
  w.fill(0, objBase(0), objBase(0) + usedObjs * OBJ_WORDS);
  w.fill(0, folioTableBase(), folioTableBase() + usedFolios * FOLIO_WORDS);
  w.fill(0, lay.pteArea, lay.pteArea + usedPtes);
  w.fill(0, lay.cacheArea, lay.cacheArea + usedCache);
}

const hrtimeBigint = process.hrtime.bigint;
/**
 * The process-wide monotonic clock in ns (comparable across worker threads). `process` is an
 * accessor on Node's global object, 15-30 ns a read: the function is taken once (above).
 */
export function nowNs(): number {
  return Number(hrtimeBigint());
}

/**
 * The thread's own cheap clock (ms), performance.now(). `performance` too is an accessor on the
 * global object: a wait loop that read it at every spin paid 15-30 ns a turn for the lookup.
 */
export const hostPerf: { now(): number } = performance;

export const NOOP_HOOKS: RuntimeHooks = {
  wake: () => {},
  nowNs,
  spinNoPreempt: () => {},
  sleepNs: () => {},
  wakeAll: () => {},
};

export const DEFAULT_ALLOC: AllocPolicy = { movableMt: MigrateType.MOVABLE, movableZone: Zone.NORMAL };

/** Build the context CPU `cpu` runs kernel code with. */
export function makeCtx(w: Int32Array, lay: Layout, cpu: number, policy: Policy, hooks: RuntimeHooks): KernelCtx {
  return {
    cpu,
    nCpus: lay.dims.nCpus,
    w,
    base: cpuBase(cpu),
    lay,
    policy,
    task: { pfMemallocPin: false, tlbUbc: { pending: false, mask: new Int32Array(MAX_CPUS / 32), mms: [] } },
    preempt: 0,
    ipiBlocked: 0,
    blockedOn: null,
    blockReason: '',
    trace: null,
    hooks,
    obs: null,
    alloc: { ...DEFAULT_ALLOC },
    plain: hooks.singleThreaded === true,
  };
}
