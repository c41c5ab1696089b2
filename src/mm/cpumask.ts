// cpu_online_mask (include/linux/cpumask.h, all versions): which CPUs the drain scan and the
// batch code may address. A file of its own: swap, mlock, the drain-all and hotplug all ask it.
import type { KernelCtx } from './context.js';
import { C, cpuBase } from './layout.js';

export function cpu_online(ctx: KernelCtx, cpu: number): boolean {
  return Atomics.load(ctx.w, cpuBase(cpu) + C.ONLINE) !== 0;
}
