// The emulator against a real kernel, event by event: `run S1t --trace` under Debian 6.12.117 with
// the GUP drain rule put back to `!lru` must print the same page_ref events for X as the real
// trace in ../shared/data (event, val, count, flags, mapcount): allocation (page_ref_set), page
// cache, lru_add, finish_fault's val=0, mlock, the lru_add drain, GUP-fast's speculative +1/-1,
// the +1024 pin, isolation with PG_referenced from FOLL_TOUCH, the two unmap/remap cycles of
// 6.12's migrate_pages() and the putback. The reference file is data from a real kernel; the
// emulated side is whatever the kernel model does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolvePolicySpec } from '../src/policy/resolve.js';
import { runOne } from '../src/runtime/run_one.js';
import { loadScenario } from '../src/scenario/load.js';
import { lineUp, pageRefFields, parsePageRef, pinnedPfn } from '../src/trace/page_ref_lineup.js';

// A copy of ../shared/data/trace-6.12-prefix-s1.txt (see its README there), kept with the tests.
const REAL = join(import.meta.dirname, 'data', 'trace-6.12-prefix-s1.txt');
const parse = parsePageRef;
const fields = pageRefFields;

describe('page_ref trace of S1t lines up with Debian 6.12.117 (drain rule !lru)', () => {
  test('event for event', async () => {
    const real = parse(readFileSync(REAL, 'utf8').split('\n'));
    expect(real.length).toBe(25);
    const lines: string[] = [];
    const policy = resolvePolicySpec('6.12.117+gupPreLocalDrain=none+gupDrainRule=notLru')[0]!;
    const { result } = await runOne({ scenario: loadScenario('S1t'), policy, cpus: 4, seed: 1, trace: true, out: (l) => lines.push(l) });
    expect(result.failures.map((f) => f.kind)).toEqual(['ENOMEM']);
    const ours = parse(lines);
    const x = ours[0]!.pfn; // X is the first folio allocated
    expect(ours.filter((e) => e.pfn === x).map(fields)).toEqual(real.map(fields));
    // What `folio-race kernel` does with a guest's page_ref events: the pinned folio's, lined up.
    expect(pinnedPfn(ours)).toBe(x);
    expect(
      lineUp(
        real,
        ours.filter((e) => e.pfn === pinnedPfn(ours)),
      ),
    ).toMatchObject({ firstDifference: null, real: 25, emulator: 25 });
    const shifted = lineUp(
      real.slice(1),
      ours.filter((e) => e.pfn === x),
    );
    expect(shifted.firstDifference).toBe(0);
  });
  test('on 6.1.192 the same sequence pins: no GUP-fast pair, and the drain rule drains first', async () => {
    const lines: string[] = [];
    const { result } = await runOne({
      scenario: loadScenario('S1t'),
      policy: resolvePolicySpec('6.1.192')[0]!,
      cpus: 4,
      seed: 1,
      trace: true,
      out: (l) => lines.push(l),
    });
    expect(result.failures).toEqual([]);
    const ours = parse(lines);
    const x = ours.filter((e) => e.pfn === ours[0]!.pfn);
    expect(x.some((e) => e.event === 'page_ref_mod_unless')).toBe(false); // 6.1 checks pinnability first
    expect(x.some((e) => e.val === 0)).toBe(false); // 6.1's finish_fault takes no val=0 reference
    expect(x.some((e) => e.flags.includes('referenced'))).toBe(false); // no FOLL_TOUCH on 6.1's slow path
  });
});
