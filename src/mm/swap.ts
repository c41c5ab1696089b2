// STUB: to be written (mm/swap.c). Signatures are the contract other modules rely on.
import type { KernelCtx, KGen } from './context.js';
const todo = (n: string): never => { throw new Error(`${n}: not implemented yet`); };
export function* folio_add_lru(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_add_lru'); }
export function* folio_add_lru_vma(ctx: KernelCtx, folio: number, vmaFlags: number): KGen<void> { todo('folio_add_lru_vma'); }
export function* folio_activate(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_activate'); }
export function* folio_mark_accessed(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_mark_accessed'); }
export function* deactivate_file_folio(ctx: KernelCtx, folio: number): KGen<void> { todo('deactivate_file_folio'); }
export function* folio_deactivate(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_deactivate'); }
export function* folio_mark_lazyfree(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_mark_lazyfree'); }
export function* folio_rotate_reclaimable(ctx: KernelCtx, folio: number): KGen<void> { todo('folio_rotate_reclaimable'); }
export function lru_add_drain_cpu(ctx: KernelCtx, cpu: number): void { todo('lru_add_drain_cpu'); }
export function lru_add_drain(ctx: KernelCtx): void { todo('lru_add_drain'); }
export function lru_add_drain_per_cpu(ctx: KernelCtx): void { todo('lru_add_drain_per_cpu'); }
export function cpu_needs_drain(ctx: KernelCtx, cpu: number): boolean { return todo('cpu_needs_drain'); }
export function* lru_cache_disable(ctx: KernelCtx): KGen<void> { todo('lru_cache_disable'); }
export function lru_cache_enable(ctx: KernelCtx): void { todo('lru_cache_enable'); }
export function lru_cache_disabled(ctx: KernelCtx): boolean { return todo('lru_cache_disabled'); }
