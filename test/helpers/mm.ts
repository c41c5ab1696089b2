// Test scaffolding (not kernel code) for address-space tests: objects, VMAs, ledger and flag
// views that make assertions read like the spec's tables.
import { HOLDER_NAMES, MappingKind, MigrateType, PG, PG_PRINT_ORDER, VM, Zone } from '../../src/mm/constants.js';
import { folio_flags, folio_ref_count, ledger_get } from '../../src/mm/folio.js';
import { getPolicy, type Policy } from '../../src/mm/policy.js';
import { C, cpuBase } from '../../src/mm/layout.js';
import { object_create, vma_create } from '../../src/mm/vma.js';
import { InlineKernel } from '../../src/runtime/inline.js';

export const kernel = (policy: string, nCpus = 8, nPtes = 256) => kernelWith(getPolicy(policy), nCpus, nPtes);
/** A kernel of any variant (a release's policy, a user's switch set). */
export const kernelWith = (policy: Policy, nCpus = 8, nPtes = 256) => new InlineKernel({ nCpus, policy, dims: { nFolios: 256, nPtes, nCacheSlots: 256 } });

export function shmemObj(k: InlineKernel, npages: number, mt: number = MigrateType.CMA, order = 0): number {
  return object_create(k.ctx(0), { kind: MappingKind.SHMEM, npages, mt, zone: Zone.NORMAL, order });
}
export function fileObj(k: InlineKernel, npages: number, order = 0, mt: number = MigrateType.MOVABLE): number {
  return object_create(k.ctx(0), { kind: MappingKind.FILE, npages, mt, zone: Zone.NORMAL, order });
}
/** MAP_SHARED|PROT_READ|PROT_WRITE mapping of `obj` (crosvm's guest memory). */
export function sharedVma(k: InlineKernel, obj: number, npages: number, extra = 0): number {
  return vma_create(k.ctx(0), { npages, obj, flags: VM.READ | VM.WRITE | VM.SHARED | extra });
}
/** MAP_PRIVATE|MAP_ANONYMOUS, PROT_READ|PROT_WRITE. */
export function anonVma(k: InlineKernel, npages: number, extra = 0, mm = 0): number {
  return vma_create(k.ctx(0), { npages, obj: -1, flags: VM.READ | VM.WRITE | extra, mm });
}
export const LOCKED = VM.LOCKED;
export const LOCKED_ONFAULT = VM.LOCKED | VM.LOCKONFAULT;

/** The non-zero holders, e.g. { MAP: 1, LRU_BATCH: 1 }. */
export function ledger(k: InlineKernel, f: number): Record<string, number> {
  const out: Record<string, number> = {};
  HOLDER_NAMES.forEach((n, h) => {
    const v = ledger_get(k.ctx(0), f, h);
    if (v !== 0) out[n] = v;
  });
  return out;
}
/** Invariant I1: refcount == sum of the ledger. */
export function ledgerBalanced(k: InlineKernel, f: number): boolean {
  let s = 0;
  HOLDER_NAMES.forEach((_, h) => {
    s += ledger_get(k.ctx(0), f, h);
  });
  return s === folio_ref_count(k.ctx(0), f);
}
/** Flags as the page_ref tracepoint prints them, e.g. "locked|uptodate|swapbacked|mlocked". */
export function flagStr(k: InlineKernel, f: number): string {
  return flagWordStr(folio_flags(k.ctx(0), f));
}
export function flagWordStr(word: number): string {
  return PG_PRINT_ORDER.filter((n) => word & PG[n]).join('|');
}
export const stat = (k: InlineKernel, cpu: number, s: number) => k.w[cpuBase(cpu) + C.STATS + s]!;
