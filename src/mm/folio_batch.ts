// struct folio_batch (include/linux/pagevec.h, all versions) stored in the owning CPU's region
// of shared memory. Only the owner writes (I14); other CPUs read `nr` racily, as
// cpu_needs_drain() does with folio_batch_count() (data_race).
import { BATCH_SLOTS } from './constants.js';
import type { KernelCtx } from './context.js';
import { COST, charge } from './cost.js';
import { batchBase, C, cpuBase } from './layout.js';
import { read_once, write_once } from './access.js';

/** folio_batch_count(): racy read of another CPU's batch length. */
export function folio_batch_count(ctx: KernelCtx, cpu: number, batch: number): number {
  return read_once(ctx, batchBase(cpu, batch));
}

/**
 * folio_batch_add(): append an entry to this CPU's batch; returns the space left, so 0 means
 * "full: process now". `entry` is a folio index, shifted and tagged by the mlock batch.
 */
export function folio_batch_add(ctx: KernelCtx, batch: number, entry: number): number {
  const b = batchBase(ctx.cpu, batch);
  const nr = ctx.w[b];
  if (nr >= BATCH_SLOTS) throw new Error(`cpu ${ctx.cpu}: batch ${batch} overflow`);
  ctx.w[b + 1 + nr] = entry;
  // Publish the entry before the count, so a racy reader that sees nr sees the entry.
  write_once(ctx, b, nr + 1);
  batch_changed(ctx, ctx.cpu);
  charge(ctx, COST.BATCH_ADD);
  return ctx.policy.switches.batchCapacity - (nr + 1);
}

/** Slot `i` of `cpu`'s batch (read in place by batch processing under the batch's lock). */
export function folio_batch_slot(ctx: KernelCtx, cpu: number, batch: number, i: number): number {
  return read_once(ctx, batchBase(cpu, batch) + 1 + i);
}

/** A copy of the entries of a batch (tests, and readers not holding its lock). */
export function folio_batch_entries(ctx: KernelCtx, cpu: number, batch: number): number[] {
  const b = batchBase(cpu, batch);
  const nr = Atomics.load(ctx.w, b);
  const out = new Array<number>(nr);
  for (let i = 0; i < nr; i++) out[i] = Atomics.load(ctx.w, b + 1 + i);
  return out;
}

/** folio_batch_reinit(). */
export function folio_batch_reinit(ctx: KernelCtx, cpu: number, batch: number): void {
  Atomics.store(ctx.w, batchBase(cpu, batch), 0);
  batch_changed(ctx, cpu);
}

/** Replace slot `i` (targeted extraction writes a tombstone). */
export function folio_batch_set_slot(ctx: KernelCtx, cpu: number, batch: number, i: number, entry: number): void {
  Atomics.store(ctx.w, batchBase(cpu, batch) + 1 + i, entry);
  batch_changed(ctx, cpu);
}

/**
 * Every store to a CPU's batches goes through the three functions above, which count it in the
 * CPU's C.BATCH_GEN where one thread runs every CPU: the exhaustive search tells a step that
 * wrote the batches by that word instead of copying and comparing up to 7 x 33 words at every
 * step (src/sched/footprint.ts). Free-run has no footprints and skips it.
 */
function batch_changed(ctx: KernelCtx, cpu: number): void {
  if (ctx.plain) ctx.w[cpuBase(cpu) + C.BATCH_GEN]!++;
}
