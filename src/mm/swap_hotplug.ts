// CPU hotplug and the per-CPU batches (kernel/cpu.c set_cpu_online, mm/page_alloc.c
// page_alloc_cpu_dead; v5.18+, spec §3.6). Between leaving cpu_online_mask and the dead callback
// a CPU's batch references are unreachable: lru_add_drain_all() only scans online CPUs.
import { NR_BATCHES } from './constants.js';
import type { KernelCtx, KGen } from './context.js';
import { wait_event } from './wait.js';
import { folio_batch_count } from './folio_batch.js';
import { C, Stat, cpuBase } from './layout.js';
import { count_event, LocalLock, remote_lock, remote_unlock } from './locks.js';
import { cpu_online } from './cpumask.js';
import { mlock_drain_remote } from './mlock.js';
import { lru_add_drain_cpu } from './swap.js';

/**
 * takedown_cpu() waits in stop_machine() until the stopper thread runs on the dying CPU (kernel/
 * cpu.c, kernel/stop_machine.c): a CPU inside a local-lock section (preemption off) cannot run it,
 * so it first leaves the section. Only the local locks are visible to another CPU here; a CPU
 * spinning with preemption off (`hog`) is not waited for.
 */
export function* stop_machine_wait(ctx: KernelCtx, cpu: number): KGen<void> {
  if (cpu === ctx.cpu) return;
  const base = cpuBase(cpu);
  const free = () =>
    Atomics.load(ctx.w, base + LocalLock.fbatches) === 0 &&
    Atomics.load(ctx.w, base + LocalLock.fbatches_irq) === 0 &&
    Atomics.load(ctx.w, base + LocalLock.mlock) === 0;
  yield* wait_event(ctx, free, `stop_machine (cpu ${cpu} in a local-lock section)`);
}

/** set_cpu_online() (include/linux/cpumask.h): add or remove `cpu` from cpu_online_mask. */
export function set_cpu_online(ctx: KernelCtx, cpu: number, online: boolean): void {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= ctx.nCpus) {
    throw new RangeError(`cpu: expected 0..${ctx.nCpus - 1}, got ${cpu}`);
  }
  Atomics.store(ctx.w, cpuBase(cpu) + C.ONLINE, online ? 1 : 0);
}

/**
 * page_alloc_cpu_dead() (mm/page_alloc.c, v5.18+): runs on a surviving CPU once `deadCpu` is
 * dead; processes its LRU batches (lru_add_drain_cpu) and its mlock batch (mlock_drain_remote).
 * The per-CPU free lists it also drains are not modelled. The kernel needs no lock (the owner is
 * dead); the model takes the dead CPU's locks remotely so a stray remote user is excluded.
 * Counts DEAD_CPU_DRAIN once per non-empty batch processed.
 */
export function page_alloc_cpu_dead(ctx: KernelCtx, deadCpu: number): void {
  if (deadCpu === ctx.cpu) throw new Error(`cpu ${ctx.cpu}: page_alloc_cpu_dead for itself`);
  if (cpu_online(ctx, deadCpu)) throw new Error(`cpu ${ctx.cpu}: page_alloc_cpu_dead(${deadCpu}) of an online CPU`);
  let nonEmpty = 0;
  for (let b = 0; b < NR_BATCHES; b++) if (folio_batch_count(ctx, deadCpu, b) !== 0) nonEmpty++;
  const base = cpuBase(deadCpu);
  remote_lock(ctx, base, LocalLock.fbatches);
  lru_add_drain_cpu(ctx, deadCpu);
  remote_unlock(ctx, base, LocalLock.fbatches);
  remote_lock(ctx, base, LocalLock.mlock);
  mlock_drain_remote(ctx, deadCpu);
  remote_unlock(ctx, base, LocalLock.mlock);
  if (nonEmpty) count_event(ctx, Stat.DEAD_CPU_DRAIN, nonEmpty);
}
