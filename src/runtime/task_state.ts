// What the two single-thread runtimes (cooperative.ts, logical.ts) share about a CPU's task: its
// state cleared before a trial's setup, and the failure a step that threw becomes.
import type { KernelCtx } from '../mm/context.js';
import { KernelDeadlock, KernelLivelock } from '../mm/errno.js';
import type { Failure } from '../trial/result.js';

/**
 * Clear every CPU's task state before setup: a trial abandoned part-way (a hang, a pruned search
 * branch) leaves its generators suspended inside kernel code, PF_MEMALLOC_PIN set, and setup
 * allocates with CPU 0's context (a stale PF_MEMALLOC_PIN would place the scenario's folios
 * outside CMA).
 */
export function resetTaskState(ctx: KernelCtx): void {
  ctx.preempt = 0;
  ctx.ipiBlocked = 0;
  ctx.blockedOn = null;
  ctx.blockReason = '';
  ctx.task.pfMemallocPin = false;
  ctx.task.tlbUbc.pending = false;
  ctx.task.tlbUbc.mask.fill(0);
  ctx.task.tlbUbc.mms.length = 0;
}

/** What a throw from kernel code is: a KernelLivelock or KernelDeadlock a hang (watchdog), anything else an emulator crash. */
export function failureKind(e: unknown): 'watchdog' | 'emulator' {
  return e instanceof KernelLivelock || e instanceof KernelDeadlock ? 'watchdog' : 'emulator';
}

/** A step that threw, as a failure of its CPU and step. */
export function stepFailure(e: unknown, cpu: number, step: number): Failure {
  const kind = failureKind(e);
  return { kind, cpu, step, message: `CPU ${cpu} ${kind === 'watchdog' ? 'hung' : 'crashed'} in step ${step}: ${(e as Error).message}` };
}
