// Ops on a process's memory: faults, mlock/munlock, munmap, fork, long-term GUP pins and
// readahead into the page cache. Each step calls the emulated kernel function its `kernel` names.
import { z } from 'zod';
import { page_cache_ra_order } from '../../mm/filemap.js';
import { FOLL, pin_user_pages, unpin_user_page, unpin_user_pages } from '../../mm/gup.js';
import { fork_vma, handle_mm_fault, unmap_vma } from '../../mm/memory.js';
import { do_mlock, do_munlock } from '../../mm/mlock_range.js';
import type { KernelCtx } from '../../mm/context.js';
import { switch_mm_irqs_off } from '../../mm/tlb.js';
import type { CompileCtx } from '../compile_ctx.js';
import { showValue } from '../../input/problems.js';
import { ANON, OBJECT_KINDS } from '../schema.js';
import { list } from '../script_check.js';
import { count, name, opTiming, page } from './args.js';
import { defineOp } from './define.js';

/**
 * The VMA an op runs on, with this CPU's task running in its mm (a thread of that process):
 * the TLB flushes of migration then know which CPUs they interrupt (mm/tlb.ts).
 */
export function inMm(ctx: KernelCtx, c: CompileCtx, vma: string, path: string): number {
  const id = c.vmaId(vma, path);
  switch_mm_irqs_off(ctx, id);
  return id;
}

/** The rows of fault, mlock, munlock, munmap, fork, pin, unpin, readahead (in OP_SPECS order). */
export const MM_OPS = [
  defineOp<{ vma: string; page: number; write: boolean }>()({
    name: 'fault',
    args: z.object({ vma: name, page, write: z.boolean().default(true), ...opTiming }).strict(),
    doc: 'user page fault on a page of a VMA',
    kernel: 'handle_mm_fault() (mm/memory.c)',
    check: (a, c) => (c.vmaPage(a.vma, a.page) ? { vma: a.vma, page: a.page, write: a.write } : undefined),
    compile: (op, c) => {
      const page = op.page + c.offset;
      return function* (ctx, path) {
        yield* handle_mm_fault(ctx, inMm(ctx, c, op.vma, path), page, op.write);
      };
    },
    explain: (op) => `fault on VMA '${op.vma}' page ${op.page} (${op.write ? 'write' : 'read'})`,
  }),

  defineOp<{ vma: string; onfault: boolean }>()({
    name: 'mlock',
    args: z.object({ vma: name, onfault: z.boolean().default(false), ...opTiming }).strict(),
    doc: 'mlock(2) / mlock2(MLOCK_ONFAULT) of the whole VMA',
    kernel: 'do_mlock() -> mlock_fixup() -> mlock_vma_pages_range() (mm/mlock.c)',
    check: (a, c) => (c.vmaPage(a.vma) ? { vma: a.vma, onfault: a.onfault } : undefined),
    compile: (op, c) =>
      function* (ctx, path) {
        yield* do_mlock(ctx, inMm(ctx, c, op.vma, path), { onfault: op.onfault });
      },
    explain: (op) => `mlock${op.onfault ? '2(MLOCK_ONFAULT)' : ''} VMA '${op.vma}'`,
  }),

  defineOp<{ vma: string }>()({
    name: 'munlock',
    args: z.object({ vma: name, ...opTiming }).strict(),
    doc: 'munlock(2) of the whole VMA',
    kernel: 'do_munlock() -> mlock_vma_pages_range() (mm/mlock.c)',
    check: (a, c) => (c.vmaPage(a.vma) ? { vma: a.vma } : undefined),
    compile: (op, c) =>
      function* (ctx, path) {
        yield* do_munlock(ctx, inMm(ctx, c, op.vma, path));
      },
    explain: (op) => `munlock VMA '${op.vma}'`,
  }),

  defineOp<{ vma: string }>()({
    name: 'munmap',
    args: z.object({ vma: name, ...opTiming }).strict(),
    doc: 'munmap(2) of the whole VMA (zap, munlock in locked VMAs, TLB flush, drop map refs)',
    kernel: 'unmap_vma() -> zap_pte_range() (mm/memory.c)',
    check: (a, c) => (c.vmaPage(a.vma) ? { vma: a.vma } : undefined),
    compile: (op, c) =>
      function* (ctx, path) {
        yield* unmap_vma(ctx, inMm(ctx, c, op.vma, path));
      },
    explain: (op) => `munmap VMA '${op.vma}'`,
  }),

  defineOp<{ vma: string; as: string }>()({
    name: 'fork',
    args: z.object({ vma: name, as: name, ...opTiming }).strict(),
    doc: 'fork(2) copying one private anon VMA into a child VMA named `as` (VM_LOCKED not inherited)',
    kernel: 'fork_vma() -> copy_pte_range() (mm/memory.c)',
    // The child VMA itself is made by the loader's pre-pass over every script (load.ts
    // collectForks), so that ops on any CPU may name it.
    check: (a, c) => {
      if (!c.vmaPage(a.vma)) return undefined;
      const v = c.vma(a.vma)!;
      if (v.object !== ANON) {
        return c.problem('vma', 'a private anonymous VMA (fork copies anon PTEs; shared mappings need no copy)', `'${v.name}' (maps object '${v.object}')`);
      }
      return { vma: a.vma, as: a.as };
    },
    compile: (op, c) => {
      // Every fork child is a process of its own: mm number 1000 + its board slot.
      const childMm = 1000 + c.names.forks.get(op.as)!;
      return function* (ctx, path) {
        const child = fork_vma(ctx, inMm(ctx, c, op.vma, path), childMm);
        if (c.env.setForkChild) c.env.setForkChild(ctx, op.as, child);
        else c.trial.forks.set(op.as, child);
      };
    },
    explain: (op) => `fork: copy VMA '${op.vma}' into the child's VMA '${op.as}'`,
  }),

  defineOp<{ vma: string; page: number; pages: number; hold: boolean; write: boolean; fast: boolean }>()({
    name: 'pin',
    args: z
      .object({
        vma: name,
        page,
        pages: count.default(1),
        hold: z.boolean().default(false),
        write: z.boolean().default(true),
        fast: z.boolean().default(false),
        ...opTiming,
      })
      .strict(),
    doc: 'pin_user_pages(FOLL_LONGTERM|FOLL_WRITE), or with `fast` pin_user_pages_fast() (io_uring buffer registration: the lockless walk first); pins are dropped at the end of the op unless `hold`',
    kernel: 'pin_user_pages() / pin_user_pages_fast() -> __gup_longterm_locked() (mm/gup.c)',
    check: (a, c) => (c.vmaPage(a.vma, a.page, a.pages) ? { vma: a.vma, page: a.page, pages: a.pages, hold: a.hold, write: a.write, fast: a.fast } : undefined),
    compile: (op, c) => {
      const page = op.page + c.offset;
      const flags = FOLL.LONGTERM | (op.write ? FOLL.WRITE : 0);
      return function* (ctx, path) {
        const vma = inMm(ctx, c, op.vma, path);
        const pages: number[] = [];
        const rc = yield* pin_user_pages(ctx, vma, page, op.pages, flags, pages, op.fast);
        c.env.pinLog?.(ctx, rc, pages);
        if (rc <= 0) return;
        if (!op.hold) {
          unpin_user_pages(ctx, pages);
          return;
        }
        // Kept for a later `unpin` of the same page on this CPU.
        pages.forEach((folio, i) => {
          const key = `${vma}:${page + i}`;
          const stack = c.trial.held.get(key);
          if (stack) stack.push(folio);
          else c.trial.held.set(key, [folio]);
        });
      };
    },
    explain: (op) => {
      const what = op.pages === 1 ? `page ${op.page}` : `pages ${op.page}..${op.page + op.pages - 1}`;
      return `${op.fast ? 'pin_user_pages_fast' : 'pin_user_pages'}(FOLL_LONGTERM${op.write ? '|FOLL_WRITE' : ''}) VMA '${op.vma}' ${what}${op.hold ? ', keep the pins' : ', unpin at the end of the step'}`;
    },
  }),

  defineOp<{ vma: string; page: number }>()({
    name: 'unpin',
    args: z.object({ vma: name, page, ...opTiming }).strict(),
    doc: 'drop the pins this CPU holds from an earlier `pin ... hold: true` at that page',
    kernel: 'unpin_user_page() (mm/gup.c)',
    check: (a, c) => (c.vmaPage(a.vma, a.page) ? { vma: a.vma, page: a.page } : undefined),
    compile: (op, c) => {
      const page = op.page + c.offset;
      return function* (ctx, path) {
        // Nothing held (the pin failed, or was never kept): nothing to drop.
        const folio = c.trial.held.get(`${c.vmaId(op.vma, path)}:${page}`)?.pop();
        if (folio !== undefined) unpin_user_page(ctx, folio);
      };
    },
    explain: (op) => `unpin the pins held on VMA '${op.vma}' page ${op.page}`,
  }),

  defineOp<{ object: string; index: number; pages: number }>()({
    name: 'readahead',
    args: z.object({ object: name, index: page, pages: count.default(1), ...opTiming }).strict(),
    doc: "page-cache readahead into a file object (folios of the object's order; new folios go to this CPU's lru_add)",
    kernel: 'page_cache_ra_order() -> filemap_add_folio() -> folio_add_lru() (mm/readahead.c, mm/filemap.c)',
    check: (a, c) => {
      const o = c.sc.objByName.get(a.object);
      if (!o) {
        // An object that exists but failed its own check is reported there.
        if (!c.sc.objNames.has(a.object)) c.problem('object', `the name of an object (${list(c.sc.objNames)})`, showValue(a.object));
        return undefined;
      }
      if (o.kind === 'shmem') {
        return c.problem(
          'object',
          `a file object (kind ${OBJECT_KINDS.filter((k) => k !== 'shmem').join(' or ')}): shmem does not read ahead`,
          `'${o.name}' (kind shmem)`,
        );
      }
      const last = a.index + c.reach + a.pages - 1;
      if (last >= o.pages) {
        return c.problem(
          'index',
          `indices inside object '${o.name}' (0..${o.pages - 1})`,
          c.reach > 0 || a.pages > 1 ? `${a.index} (last index read: ${last})` : String(a.index),
        );
      }
      return { object: a.object, index: a.index, pages: a.pages };
    },
    compile: (op, c) => {
      const index = op.index + c.offset;
      const obj = c.names.objects.get(op.object)!;
      return function* (ctx) {
        yield* page_cache_ra_order(ctx, obj, index, op.pages);
      };
    },
    explain: (op) => `readahead of object '${op.object}' pages ${op.index}..${op.index + op.pages - 1}`,
  }),
];
