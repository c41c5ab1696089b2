// STUB: to be written (mm/mlock.c). Signatures are the contract other modules rely on.
import type { KernelCtx, KGen } from './context.js';
const todo = (n: string): never => { throw new Error(`${n}: not implemented yet`); };
export function* mlock_folio(ctx: KernelCtx, folio: number): KGen<void> { todo('mlock_folio'); }
export function* mlock_new_folio(ctx: KernelCtx, folio: number): KGen<void> { todo('mlock_new_folio'); }
export function* munlock_folio(ctx: KernelCtx, folio: number): KGen<void> { todo('munlock_folio'); }
export function mlock_drain_local(ctx: KernelCtx): void { todo('mlock_drain_local'); }
export function mlock_drain_remote(ctx: KernelCtx, cpu: number): void { todo('mlock_drain_remote'); }
export function need_mlock_drain(ctx: KernelCtx, cpu: number): boolean { return todo('need_mlock_drain'); }
