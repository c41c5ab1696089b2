// Printable names of the errors emulated kernel functions return.
import { Errno } from './constants.js';

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, `-${k}`]));
export function errnoName(rc: number): string {
  return NAMES.get(rc) ?? String(rc);
}

/**
 * A kernel loop that, in the real kernel, would spin until something else changed (the
 * unbounded -EAGAIN retry of __gup_longterm_locked). The emulator stops it at a cap and reports
 * a hang of the variant, not an emulator bug.
 */
export class KernelLivelock extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelLivelock';
  }
}

/** A spin that can never end: the lock's holder cannot run meanwhile (single-thread runtimes). */
export class KernelDeadlock extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelDeadlock';
  }
}
