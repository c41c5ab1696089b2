// Targeted extraction (hypothetical; spec §6.7 and §7 targetedExtraction=on): Hugh's wish to
// take one folio's entries out of whichever CPU's batches hold them, without queueing drain
// work there. Not a kernel design: it relies on remotely lockable per-CPU batch locks (QPW-style,
// spec §3.7) and on tombstones that batch processing skips (folio_batch_move_lru,
// mlock_folio_batch). The caller (GUP collect) decides when to call it.
import { Batch, Holder, NR_BATCHES, TOMBSTONE } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { folio_put } from './folio.js';
import { folio_batch_count, folio_batch_set_slot, folio_batch_slot } from './folio_batch.js';
import { Stat } from './layout.js';
import { BATCH_LOCK, batch_lock_wait, count_event, cpu_unlock } from './locks.js';
import { cpu_online } from './cpumask.js';
import { mlock_entry_folio, mlock_folio_batch_entry } from './mlock.js';
import { lruvec_hold_begin, lruvec_hold_release } from './lruvec.js';
import { folio_batch_move_one } from './swap.js';

/** Does batch entry `entry` of batch kind `batch` name `folio`? Tombstones name nothing. */
function entry_names(batch: number, entry: number, folio: number): boolean {
  if (entry === TOMBSTONE) return false;
  return batch === Batch.mlock ? mlock_entry_folio(entry) === folio : entry === folio;
}

/**
 * Lock-free look for an entry naming the folio: stands in for the per-folio locator set of
 * spec §7 (an entry is "registered" once its slot and nr are published). An add still between
 * its reference get and its append is therefore missed, as the spec expects (S6).
 */
function batch_may_hold(ctx: KernelCtx, cpu: number, batch: number, folio: number): boolean {
  const nr = folio_batch_count(ctx, cpu, batch);
  for (let i = 0; i < nr; i++) if (entry_names(batch, folio_batch_slot(ctx, cpu, batch, i), folio)) return true;
  return false;
}

/**
 * Take `cpu`'s batch lock from this CPU. The owner may hold it while parked at a scheduling
 * point (the mlock append window), so wait with trylock rather than spin.
 */
function* extract_lock(ctx: KernelCtx, cpu: number, which: number): KGen<void> {
  yield* batch_lock_wait(ctx, cpu, which, 'extract_lock');
  // Our own local lock, counted as local_lock() counts it (cpu_unlock() releases it as local_unlock()).
  if (cpu === ctx.cpu) ctx.preempt++;
}

/**
 * Perform one extracted entry's operation here, under the lruvec lock, with the same PG_lru
 * rules batch processing uses, then drop the entry's reference.
 */
function extract_perform(ctx: KernelCtx, batch: number, entry: number): void {
  const lv = lruvec_hold_begin();
  if (batch === Batch.mlock) {
    mlock_folio_batch_entry(ctx, entry, lv);
    lruvec_hold_release(ctx, lv);
    folio_put(ctx, mlock_entry_folio(entry), Holder.MLOCK_BATCH, 'folio_extract_from_batches');
  } else {
    folio_batch_move_one(ctx, batch, entry, lv);
    lruvec_hold_release(ctx, lv);
    folio_put(ctx, entry, Holder.LRU_BATCH, 'folio_extract_from_batches');
  }
  count_event(ctx, Stat.EXTRACTED);
}

/**
 * folio_extract_from_batches() (emulator-only, spec §6.7): for every online CPU, in drain order
 * (lru_add, lru_move_tail, ..., lru_activate, then mlock), lock each batch that holds an entry
 * naming `folio`, replace those slots with TOMBSTONE, and perform their operations here in slot
 * order before unlocking (so a later entry the owner appends cannot overtake them). Returns the
 * number of entries extracted. Offline CPUs are left to page_alloc_cpu_dead().
 */
export function* folio_extract_from_batches(ctx: KernelCtx, folio: number): KGen<number> {
  let extracted = 0;
  for (let cpu = 0; cpu < ctx.nCpus; cpu++) {
    if (!cpu_online(ctx, cpu)) continue;
    for (let batch = 0; batch < NR_BATCHES; batch++) {
      if (!batch_may_hold(ctx, cpu, batch, folio)) continue;
      const which = BATCH_LOCK[batch]!;
      yield* extract_lock(ctx, cpu, which);
      // In place: nr is stable under the lock, and a slot is read before it is tombstoned.
      const nr = folio_batch_count(ctx, cpu, batch);
      for (let i = 0; i < nr; i++) {
        const e = folio_batch_slot(ctx, cpu, batch, i);
        if (!entry_names(batch, e, folio)) continue;
        folio_batch_set_slot(ctx, cpu, batch, i, TOMBSTONE);
        extract_perform(ctx, batch, e);
        extracted++;
      }
      cpu_unlock(ctx, cpu, which);
    }
  }
  return extracted;
}
