// Ops on the LRU lists and their per-CPU batches (mm/swap.c): the folio ops that queue a folio
// in one of this CPU's batches, the local and global drains, the bh LRU that makes a CPU need a
// drain, and the lru_cache_disable() section.
import { z } from 'zod';
import { showValue } from '../../input/problems.js';
import { bh_lru_install } from '../../mm/buffer.js';
import { Holder } from '../../mm/constants.js';
import type { KernelCtx, KGen } from '../../mm/context.js';
import { folio_put, folio_try_get } from '../../mm/folio.js';
import { lru_add_drain_all, lru_cache_disable, lru_cache_enable } from '../../mm/lru_add_drain_all.js';
import { deactivate_file_folio, folio_deactivate, folio_mark_accessed, folio_mark_lazyfree, folio_rotate_reclaimable, lru_add_drain } from '../../mm/swap.js';
import { pte_folio, pte_lock, pte_unlock } from '../../mm/vma.js';
import { list } from '../script_check.js';
import { name, noArgs, opTiming, page } from './args.js';
import { defineOp, type NoFields } from './define.js';
import { inMm } from './mm_ops.js';

/** A folio op names a folio, or a VMA page whose mapped folio is meant (never both). */
type FolioTarget = { folio?: string; vma?: string; page?: number };
const folioTarget = z.object({ folio: name.optional(), vma: name.optional(), page: page.optional(), ...opTiming }).strict();

/**
 * A folio op: `fn` is the kernel function that takes the folio (a batch op), `kname` its name
 * for the reference ledger.
 */
const folioOp = <Name extends string>(row: { name: Name; doc: string; kernel: string; fn: (ctx: KernelCtx, folio: number) => KGen<void>; kname: string }) =>
  defineOp<FolioTarget>()({
    name: row.name,
    args: folioTarget,
    doc: row.doc,
    kernel: row.kernel,
    check: (a, c) => {
      const byFolio = a.folio !== undefined;
      const byPage = a.vma !== undefined || a.page !== undefined;
      if (byFolio === byPage) {
        return c.problem(undefined, "either 'folio' (a folio name) or 'vma' and 'page' (the folio mapped there)", byFolio ? 'both' : 'neither');
      }
      if (a.folio !== undefined) {
        if (!c.sc.folioNames.has(a.folio)) {
          return c.problem('folio', `the name of a folio (${list([...c.sc.folioNames].filter((n) => !n.endsWith('#0')))})`, showValue(a.folio));
        }
        return { folio: a.folio };
      }
      if (a.vma === undefined || a.page === undefined) {
        return c.problem(a.vma === undefined ? 'vma' : 'page', `'vma' and 'page' together`, 'nothing (the field is missing)');
      }
      return c.vmaPage(a.vma, a.page) ? { vma: a.vma, page: a.page } : undefined;
    },
    compile: (op, c) => {
      const { fn, kname } = row;
      if (op.folio !== undefined) {
        const folio = c.names.folios.get(op.folio)!;
        // Callers hold a reference (a page-cache lookup); a folio already freed is skipped.
        return function* (ctx) {
          if (!folio_try_get(ctx, folio, 1, Holder.TEMP, kname)) return;
          try {
            yield* fn(ctx, folio);
          } finally {
            folio_put(ctx, folio, Holder.TEMP, kname);
          }
        };
      }
      const page = op.page! + c.offset;
      // madvise-style: the folio mapped at the PTE, under the page-table lock; a PTE that is
      // not present (none, or a migration entry) is skipped, as madvise_cold does.
      return function* (ctx, path) {
        const vma = inMm(ctx, c, op.vma!, path);
        yield* pte_lock(ctx, vma, page);
        try {
          const folio = pte_folio(ctx, vma, page);
          if (folio >= 0) yield* fn(ctx, folio);
        } finally {
          pte_unlock(ctx, vma, page);
        }
      };
    },
    explain: (op) => `${op.op} ${op.folio !== undefined ? `folio ${op.folio}` : `the folio mapped at VMA '${op.vma}' page ${op.page}`}`,
  });

/** The rows of the folio ops, the drains, bh_lru_install and lru_cache_disable/enable (in OP_SPECS order). */
export const LRU_OPS = [
  folioOp({
    name: 'mark_accessed',
    doc: 'a read/page-cache hit marks the folio accessed',
    kernel: 'folio_mark_accessed() (mm/swap.c)',
    fn: folio_mark_accessed,
    kname: 'folio_mark_accessed',
  }),
  folioOp({
    name: 'deactivate',
    doc: 'MADV_COLD',
    kernel: 'folio_deactivate() (mm/swap.c)',
    fn: folio_deactivate,
    kname: 'folio_deactivate',
  }),
  folioOp({
    name: 'deactivate_file',
    doc: 'invalidation that failed (dirty, writeback or mapped)',
    kernel: 'deactivate_file_folio() (mm/swap.c)',
    fn: deactivate_file_folio,
    kname: 'deactivate_file_folio',
  }),
  folioOp({
    name: 'lazyfree',
    doc: 'MADV_FREE',
    kernel: 'folio_mark_lazyfree() (mm/swap.c)',
    fn: folio_mark_lazyfree,
    kname: 'folio_mark_lazyfree',
  }),
  folioOp({
    name: 'rotate',
    doc: 'writeback completion of a PG_reclaim folio',
    kernel: 'folio_rotate_reclaimable() (mm/swap.c)',
    fn: folio_rotate_reclaimable,
    kname: 'folio_rotate_reclaimable',
  }),

  defineOp<NoFields>()({
    name: 'lru_add_drain',
    args: noArgs,
    doc: "drain this CPU's LRU and mlock batches",
    kernel: 'lru_add_drain() (mm/swap.c)',
    bare: true,
    check: () => ({}),
    compile: () =>
      function* (ctx) {
        lru_add_drain(ctx);
      },
    explain: (op) => op.op,
  }),

  defineOp<NoFields>()({
    name: 'lru_add_drain_all',
    args: noArgs,
    doc: "drain every CPU's batches through their kworkers",
    kernel: 'lru_add_drain_all() (mm/swap.c)',
    bare: true,
    check: () => ({}),
    compile: () =>
      function* (ctx) {
        yield* lru_add_drain_all(ctx);
      },
    explain: (op) => op.op,
  }),

  defineOp<{ count: number }>()({
    name: 'bh_lru_install',
    args: z.object({ count: z.number().int().min(1).max(16).default(1), ...opTiming }).strict(),
    doc: "a block-device buffer lookup leaves buffer heads in this CPU's bh LRU (cpu_needs_drain() then counts this CPU)",
    kernel: '__find_get_block() -> bh_lru_install() (fs/buffer.c)',
    bare: true,
    check: (a) => ({ count: a.count }),
    compile: (op) =>
      function* (ctx) {
        bh_lru_install(ctx, op.count);
      },
    explain: (op) => `install ${op.count} buffer head${op.count === 1 ? '' : 's'} in this CPU's bh LRU`,
  }),

  defineOp<NoFields>()({
    name: 'lru_cache_disable',
    args: noArgs,
    doc: 'disable per-CPU LRU caching (CMA allocation, memory offline)',
    kernel: 'lru_cache_disable() (mm/swap.c)',
    bare: true,
    check: () => ({}),
    compile: () =>
      function* (ctx) {
        yield* lru_cache_disable(ctx);
      },
    explain: (op) => op.op,
  }),

  defineOp<NoFields>()({
    name: 'lru_cache_enable',
    args: noArgs,
    doc: 'end of a lru_cache_disable() section',
    kernel: 'lru_cache_enable() (include/linux/swap.h)',
    bare: true,
    check: () => ({}),
    compile: () =>
      function* (ctx) {
        lru_cache_enable(ctx);
      },
    explain: (op) => op.op,
  }),
];
