// CPU hotplug ops: a CPU leaves cpu_online_mask (its batches stay, out of lru_add_drain_all()'s
// reach), the CPU-dead callback drains them from another CPU, and the CPU comes back.
import { z } from 'zod';
import { page_alloc_cpu_dead, set_cpu_online, stop_machine_wait } from '../../mm/swap_hotplug.js';
import { opTiming } from './args.js';
import { defineOp } from './define.js';
import type { OpCheck } from '../script_check.js';

const cpuArgs = z.object({ cpu: z.number().int().nonnegative(), ...opTiming }).strict();
/** A CPU the scenario declares (OpCheck.cpu reports the problem otherwise). */
const checkCpu = (a: { cpu: number }, c: OpCheck) => (c.cpu(a.cpu) ? { cpu: a.cpu } : undefined);

/** The rows of cpu_offline, cpu_dead, cpu_online (in OP_SPECS order). */
export const CPU_OPS = [
  defineOp<{ cpu: number }>()({
    name: 'cpu_offline',
    args: cpuArgs,
    doc: 'take a CPU out of cpu_online_mask (its batches stay, unreachable by lru_add_drain_all)',
    kernel: 'takedown_cpu(): stop_machine() waits for the CPU to leave a local-lock section, then set_cpu_online(cpu, false) (kernel/cpu.c)',
    check: checkCpu,
    compile: (op) =>
      function* (ctx) {
        yield* stop_machine_wait(ctx, op.cpu);
        set_cpu_online(ctx, op.cpu, false);
      },
    explain: (op) => `take CPU ${op.cpu} offline (out of cpu_online_mask)`,
  }),

  defineOp<{ cpu: number }>()({
    name: 'cpu_dead',
    args: cpuArgs,
    doc: 'the CPU-dead callback, run on this CPU for the dead one',
    kernel: 'page_alloc_cpu_dead() -> lru_add_drain_cpu(), mlock_drain_remote() (mm/page_alloc.c)',
    check: checkCpu,
    compile: (op) =>
      function* (ctx) {
        page_alloc_cpu_dead(ctx, op.cpu);
      },
    explain: (op) => `CPU-dead callback for CPU ${op.cpu}`,
  }),

  defineOp<{ cpu: number }>()({
    name: 'cpu_online',
    args: cpuArgs,
    doc: 'bring a CPU back into cpu_online_mask',
    kernel: 'set_cpu_online(cpu, true) (kernel/cpu.c)',
    check: checkCpu,
    compile: (op) =>
      function* (ctx) {
        set_cpu_online(ctx, op.cpu, true);
      },
    explain: (op) => `bring CPU ${op.cpu} back online`,
  }),
];
