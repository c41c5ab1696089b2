// The lockless walk of pin_user_pages_fast() (mm/gup.c gup_fast_pte_range(), 6.1.y and 6.12.y):
// with interrupts off, pin the present pages one by one and stop at the first it cannot. What a
// FOLL_LONGTERM walk does on an unpinnable folio is the gupFast switch: 6.1 tests pinnability
// before touching the refcount; 6.12's try_grab_folio_fast() takes a speculative reference first
// and drops it (the +1/-1 pair of real 6.12 traces). That reference is a real one: another CPU's
// migration freeze that runs in between fails on it.
import { GUP_PIN_COUNTING_BIAS, Holder } from './constants.js';
import { YP, type KernelCtx, type KGen } from './context.js';
import { folio_is_longterm_pinnable, folio_ref_mod, folio_test_large } from './folio.js';
import { FOLL } from './gup_flags.js';
import { F, folioBase } from './layout.js';
import { follow_page_pte } from './memory.js';

/**
 * gup_fast() (mm/gup.c): pins taken on the lockless walk go to `pages`; returns how many. The
 * caller (pin_user_pages_fast) runs the slow path for the rest.
 */
export function* gup_fast(ctx: KernelCtx, vma: number, page: number, n: number, flags: number, pages: number[]): KGen<number> {
  const write = (flags & FOLL.WRITE) !== 0;
  const refFirst = ctx.policy.switches.gupFast === 'refFirst';
  const longterm = (flags & FOLL.LONGTERM) !== 0;
  ctx.preempt++; // local_irq_save(): no kworker on this CPU until the walk ends, no drain IPI either
  ctx.ipiBlocked++;
  try {
    let i = 0;
    for (; i < n; i++) {
      const folio = follow_page_pte(ctx, vma, page + i, write);
      if (folio < 0) break; // not present, or a write that needs a fault: the slow path's job
      if (!refFirst && longterm && !folio_is_longterm_pinnable(ctx, folio)) break; // 6.1: no reference taken
      // try_get_folio(): folio_ref_try_add(folio, 1), traced as page_ref_mod_unless.
      folio_ref_mod(ctx, folio, 1, Holder.GUP_PIN, 'try_get_folio', 'page_ref_mod_unless');
      yield YP.GUP_FAST_REF;
      if (refFirst && longterm && !folio_is_longterm_pinnable(ctx, folio)) {
        folio_ref_mod(ctx, folio, -1, Holder.GUP_PIN, 'folio_put_refs', 'page_ref_mod_and_test');
        break;
      }
      // The rest of a FOLL_PIN: GUP_PIN_COUNTING_BIAS - 1 more on a small folio, _pincount on a large one.
      if (folio_test_large(ctx, folio)) Atomics.add(ctx.w, folioBase(folio) + F.PINCOUNT, 1);
      else folio_ref_mod(ctx, folio, GUP_PIN_COUNTING_BIAS - 1, Holder.GUP_PIN, 'try_grab_folio_fast');
      pages.push(folio);
    }
    return i;
  } finally {
    ctx.ipiBlocked--;
    ctx.preempt--;
  }
}
