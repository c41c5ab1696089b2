// Script-only ops: pauses with and without scheduling points, and the signals that order CPUs
// inside one trial. They call no kernel entry point (kernel '-'); the runtime provides them
// (CompileEnv).
import { z } from 'zod';
import { wait_event } from '../../mm/wait.js';
import { name, opTiming } from './args.js';
import { defineOp } from './define.js';

/** The rows of hog, delay, signal, wait (in OP_SPECS order). */
export const SYNC_OPS = [
  defineOp<{ us?: number }>()({
    name: 'hog',
    args: z.object({ us: z.number().positive().optional(), ...opTiming }).strict(),
    doc: 'non-preemptible stretch (SCHED_FIFO loop or preempt-off section): no scheduling point, no kworker',
    kernel: '-',
    bare: true,
    check: (a) => (a.us !== undefined ? { us: a.us } : {}),
    compile: (op, c) => {
      const us = op.us ?? c.timing.hogUs;
      return (ctx) => c.env.hog(ctx, us);
    },
    explain: (op, timing) => `non-preemptible for ${op.us ?? timing?.hogUs ?? 'the default'} µs (no scheduling point, no kworker)`,
  }),

  defineOp<{ us?: number }>()({
    name: 'delay',
    args: z.object({ us: z.number().nonnegative().optional(), ...opTiming }).strict(),
    doc: 'preemptible pause in user space or ioctls: scheduling points while waiting',
    kernel: '-',
    bare: true,
    check: (a) => (a.us !== undefined ? { us: a.us } : {}),
    compile: (op, c) => {
      const us = op.us ?? c.timing.delayUs;
      return (ctx) => c.env.delay(ctx, us);
    },
    explain: (op, timing) => `preemptible pause of ${op.us ?? timing?.delayUs ?? 'the default'} µs (kworker may run)`,
  }),

  defineOp<{ name: string }>()({
    name: 'signal',
    args: z.object({ name, ...opTiming }).strict(),
    doc: 'raise a named event other CPUs may wait for (ordering inside one trial)',
    kernel: '-',
    check: (a, c) => {
      // Every wait must name a signal some script raises (checked once all scripts are read).
      c.sc.signalsRaised.add(a.name);
      return { name: a.name };
    },
    compile: (op, c) =>
      function* (ctx) {
        c.env.signal(ctx, op.name);
      },
    explain: (op) => `signal '${op.name}'`,
  }),

  defineOp<{ name: string }>()({
    name: 'wait',
    args: z.object({ name, ...opTiming }).strict(),
    doc: 'sleep until the named event was raised (a sleeping CPU is at a scheduling point: its kworker runs)',
    kernel: '-',
    check: (a, c) => {
      c.sc.waits.push({ name: a.name, at: c.at });
      return { name: a.name };
    },
    compile: (op, c) => (ctx) => wait_event(ctx, () => c.env.isSignalled(op.name), `wait ${op.name}`),
    explain: (op) => `wait for signal '${op.name}' (sleeping: kworker may run)`,
  }),
];
