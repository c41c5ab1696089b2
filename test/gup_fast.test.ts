// pin_user_pages_fast(): the lockless walk per version, and its speculative reference as a race
// another CPU's migration can lose (one CPU each, stepped deterministically).
import { describe, expect, it } from 'vitest';
import { YP } from '../src/mm/context.js';
import { Stat } from '../src/mm/layout.js';
import { FOLL, pin_user_pages } from '../src/mm/gup.js';
import { MIGRATE_SYNC, MR_LONGTERM_PIN } from '../src/mm/migrate.js';
import { migrate_pages } from '../src/mm/migrate_pages.js';
import { folio_isolate_lru } from '../src/mm/vmscan.js';
import { resolvePolicySpec } from '../src/policy/resolve.js';
import { kernel, ledger, placeFolio, refcount, stat, Stepper } from './helpers/gup.js';

const policy = (s: string) => resolvePolicySpec(s)[0]!;

describe('gup_fast on an unpinnable folio', () => {
  it.each([
    ['6.12.117', true],
    ['6.1.192', false],
  ])('%s: speculative reference first = %s', (spec, refFirst) => {
    const k = kernel(policy(spec), 2);
    const c1 = k.ctx(1);
    const { folio, vma } = placeFolio(k.ctx(0), { kind: 'shmem', mapped: true, onLru: true });
    const s = new Stepper(k, 1, pin_user_pages(c1, vma, 0, 1, FOLL.LONGTERM | FOLL.WRITE, [], true));
    s.until((yp) => yp === YP.GUP_FAST_REF || yp === YP.MIGRATE_STEP);
    if (refFirst) {
      expect(s.last).toBe(YP.GUP_FAST_REF);
      expect(ledger(c1, folio)).toMatchObject({ GUP_PIN: 1 }); // the speculative reference
    } else {
      expect(s.seen).not.toContain(YP.GUP_FAST_REF); // 6.1 checked pinnability first: no reference
    }
    expect(s.finish()).toBe(1); // the slow path migrated it and pinned the copy
  });

  it('6.12: a migration running while GUP-fast holds its speculative reference fails every attempt', () => {
    const k = kernel(policy('6.12.117'), 2);
    const c0 = k.ctx(0);
    const c1 = k.ctx(1);
    const { folio, vma } = placeFolio(c0, { kind: 'shmem', mapped: true, onLru: true });
    const gup = new Stepper(k, 1, pin_user_pages(c1, vma, 0, 1, FOLL.LONGTERM | FOLL.WRITE, [], true));
    gup.until((yp) => yp === YP.GUP_FAST_REF);
    expect(refcount(c0, folio)).toBe(3); // page cache, PTE, GUP-fast's speculative +1
    expect(folio_isolate_lru(c0, folio)).toBe(true);
    const list = [folio];
    expect(k.run(0, migrate_pages(c0, list, MIGRATE_SYNC, MR_LONGTERM_PIN))).toBe(1);
    expect(stat(k, 0, Stat.MIGRATE_MOVE_ATTEMPT)).toBe(10);
    expect(stat(k, 0, Stat.MIGRATE_FAILED)).toBe(1);
    expect(ledger(c0, folio)).toMatchObject({ GUP_PIN: 1, ISOLATION: 1 });
  });
});
