// Scenario ops as user-space C: one row per op, either the call that makes a real kernel run the
// op's kernel path on the calling CPU, or why no user-space call does. The generated code calls
// the guest runtime (guest/fr_runtime.h). Adding an op to the scenario format means adding its
// row here; the table is checked against the op table at compile time (a row per OpName, each
// emit given its own op).
import type { Op, OpFor, OpName } from '../scenario/ops/index.js';

/** What the op's C needs from the program around it. */
export interface OpEmitCtx {
  /** C expression for the VMA's base address (`t->vma[2]`). */
  vma(name: string): string;
  /** The VMA's slot in the trial (`t->vma[i]`, `t->vma_gone[i]`). */
  vmaIndex(name: string): number;
  /** Pages of a VMA (for whole-VMA calls). */
  vmaPages(name: string): number;
  /** C expression for an object's file descriptor. */
  objFd(name: string): string;
  /** C expression adding the enclosing repeats' offsets to a page or index (`" + k0*1"`). */
  offset: string;
  /** The event number of a signal/wait name. */
  event(name: string): number;
  /** C string literal of the op's path (`"steps.3[1]"`). */
  path: string;
  /** Length of a `delay` / `hog` op that gives none (the scenario's timing). */
  delayUs: number;
  hogUs: number;
}

type Row<N extends OpName> = { emit: (op: OpFor<N>, c: OpEmitCtx) => string; how: string } | { none: string };

const addr = (c: OpEmitCtx, vma: string, page: number) => `${c.vma(vma)} + (${page}${c.offset}) * FR_PS`;
const check = (call: string, what: string, c: OpEmitCtx) => `if (${call} != 0) fr_op_failed(t, cpu, ${c.path}, "${what}");`;
const folioOpNone = (what: string) => ({ none: what });

/** Per op: the user-space equivalent (`how` is printed by --print-c as a comment), or why none. */
export const OP_C: { readonly [N in OpName]: Row<N> } = {
  fault: {
    how: 'one access to the page (a write for a write fault): handle_mm_fault() on this CPU',
    emit: (op, c) => `fr_touch(${addr(c, op.vma, op.page)}, ${op.write ? 1 : 0});`,
  },
  mlock: {
    how: 'mlock2(MLOCK_ONFAULT) or mlock(2) of the whole VMA',
    emit: (op, c) => check(`mlock2(${c.vma(op.vma)}, ${c.vmaPages(op.vma)} * FR_PS, ${op.onfault ? 'MLOCK_ONFAULT' : '0'})`, 'mlock2', c),
  },
  munlock: {
    how: 'munlock(2) of the whole VMA',
    emit: (op, c) => check(`munlock(${c.vma(op.vma)}, ${c.vmaPages(op.vma)} * FR_PS)`, 'munlock', c),
  },
  munmap: {
    how: 'munmap(2) of the whole VMA (unmap_region(): a local lru_add_drain() first, as modelled)',
    emit: (op, c) => `{ ${check(`munmap(${c.vma(op.vma)}, ${c.vmaPages(op.vma)} * FR_PS)`, 'munmap', c)} t->vma_gone[${c.vmaIndex(op.vma)}] = 1; }`,
  },
  fork: { none: 'fork(2) would need the child process scripted on its own CPU; the translator does not build that yet' },
  pin: {
    how: 'io_uring IORING_REGISTER_BUFFERS on the pages: pin_user_pages(FOLL_WRITE|FOLL_LONGTERM) on 6.1, pin_user_pages_fast() on 6.12',
    emit: (op, c) => `fr_pin(t, cpu, ${c.path}, ${addr(c, op.vma, op.page)}, ${op.pages}, ${op.hold ? 1 : 0});`,
  },
  unpin: {
    how: 'closing the io_uring that holds the registration: unpin_user_pages()',
    emit: (op, c) => `fr_unpin(t, cpu, ${c.path}, ${addr(c, op.vma, op.page)});`,
  },
  readahead: {
    how: "fallocate(2) of the pages in a tmpfs file: new folios enter the page cache and this CPU's lru_add batch unmapped, as readahead's do",
    emit: (op, c) => check(`fr_fallocate(${c.objFd(op.object)}, ${op.index}${c.offset}, ${op.pages})`, 'fallocate', c),
  },
  mark_accessed: folioOpNone(
    'folio_mark_accessed() has no direct call: read(2) of tmpfs does not mark a folio accessed and a fault only sets the PTE young bit',
  ),
  deactivate: folioOpNone('MADV_COLD would deactivate the folio but runs lru_add_drain() on this CPU first (madvise_cold()), which the op does not'),
  deactivate_file: folioOpNone('a failed invalidation needs POSIX_FADV_DONTNEED on a block-backed file; tmpfs ignores the advice'),
  lazyfree: folioOpNone('MADV_FREE runs lru_add_drain() on this CPU first (madvise_free_single_vma()), which the op does not'),
  rotate: folioOpNone('folio_rotate_reclaimable() runs at writeback completion of a PG_reclaim folio; user space cannot start that'),
  lru_add_drain: {
    how: 'madvise(MADV_COLD) of an untouched page: madvise_cold() calls lru_add_drain() on this CPU and finds nothing to deactivate',
    emit: (_op, c) => check('fr_local_drain()', 'madvise(MADV_COLD)', c),
  },
  lru_add_drain_all: {
    none: 'no system call runs lru_add_drain_all() alone (compaction and move_pages(2) migrate pages too); for a forced drain of every CPU write `lru_cache_disable` then `lru_cache_enable`: mbind(MPOL_MF_MOVE) does that pair',
  },
  bh_lru_install: { none: 'buffer heads need a block device, and the guest has none' },
  lru_cache_disable: {
    how: 'with the `lru_cache_enable` right after it: mbind(MPOL_MF_MOVE) of an untouched page, which brackets its work with lru_cache_disable() / lru_cache_enable()',
    emit: (_op, c) => check('fr_lru_cache_disable_enable()', 'mbind(MPOL_MF_MOVE)', c),
  },
  lru_cache_enable: {
    none: 'lru_cache_enable() is only reachable as the end of mbind(MPOL_MF_MOVE): write it right after `lru_cache_disable` on the same CPU',
  },
  cpu_offline: { none: 'CPU hotplug through sysfs runs offline and dead together; the steps between them cannot be placed' },
  cpu_dead: { none: 'the CPU-dead callback runs inside CPU hotplug; user space cannot call it' },
  cpu_online: { none: 'CPU hotplug is not translated (see cpu_offline)' },
  hog: {
    how: 'a SCHED_FIFO busy loop for `us` µs: no kworker runs on this CPU meanwhile',
    emit: (op, c) => `fr_hog_us(${op.us ?? c.hogUs});`,
  },
  delay: {
    how: 'nanosleep(2) for `us` µs',
    emit: (op, c) => `fr_delay_us(${op.us ?? c.delayUs});`,
  },
  signal: {
    how: 'a futex event others may wait for',
    emit: (op, c) => `fr_signal(t, ${c.event(op.name)}); /* ${op.name} */`,
  },
  wait: {
    how: "FUTEX_WAIT until the event was signalled (the thread sleeps: its CPU's kworker can run)",
    emit: (op, c) => `fr_wait(t, ${c.event(op.name)}); /* ${op.name} */`,
  },
  repeat: { how: 'a C loop; repetition k adds k*stride to pages and indices inside', emit: () => '' },
};

/** A row as the translator calls it: on an op of the row's own name. */
type AnyRow = { emit: (op: Op, c: OpEmitCtx) => string; how: string } | { none: string };
/** The row of an op (the one place the table's per-op types are erased). */
export const opC = (op: Op): AnyRow => OP_C[op.op] as unknown as AnyRow;
