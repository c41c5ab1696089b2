// Tracing: per-CPU rings merged by global sequence, ftrace page_ref formatting and its parser,
// and Will's three trace lines (spec §1.8) reproduced verbatim from the emulated kernel.
import { describe, expect, it } from 'vitest';
import { Holder, MappingKind, MigrateType, PG } from '../src/mm/constants.js';
import type { KernelCtx } from '../src/mm/context.js';
import { folio_clear, folio_ref_freeze, folio_ref_mod, folio_ref_unfreeze, folio_set, ledger_transfer } from '../src/mm/folio.js';
import { F, folioBase } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import { mlock_folio } from '../src/mm/mlock.js';
import { folio_add_lru } from '../src/mm/swap.js';
import { InlineKernel } from '../src/runtime/inline.js';
import { checkInvariants } from '../src/check/invariants.js';
import { describeFolioHolders } from '../src/check/ledger.js';
import { TraceRing } from '../src/trace/ring.js';
import { RingTraceSink } from '../src/trace/sink.js';
import { formatFtrace, formatFtraceLine, formatPageFlags, parseFtrace, parseFtraceLine, parsePageFlags } from '../src/trace/ftrace.js';
import { makeFolio } from './helpers/folios.js';

const WILL = [
  'crosvm_VmRunApp-6493 [007] ...2. 144.767288: page_ref_mod: pfn=0x9f83a8 flags=locked|uptodate|swapbacked|mlocked count=4 mapcount=0 mapping=00000000f0e9c5fd mt=4 val=1',
  'crosvm_VmRunApp-6493 [007] ...1. 144.767358: page_ref_mod_and_test: pfn=0x9f83a8 flags=uptodate|dirty|lru|swapbacked|unevictable|mlocked count=3 mapcount=0 mapping=00000000f0e9c5fd mt=4 val=-1 ret=0',
  'crosvm_vcpu0-6499 [003] ...1. 144.786828: page_ref_mod: pfn=0x9f83a8 flags=uptodate|dirty|lru|swapbacked|unevictable|mlocked count=1027 mapcount=0 mapping=00000000f0e9c5fd mt=4 val=1024',
];
const LABELS = { 7: { task: 'crosvm_VmRunApp', pid: 6493 }, 3: { task: 'crosvm_vcpu0', pid: 6499 } };

function kernelWithRing(policy: string, nCpus: number, perCpu = 1024) {
  const ring = TraceRing.create({ nCpus, perCpu });
  const sink = new RingTraceSink(ring);
  const k = new InlineKernel({ nCpus, policy: getPolicy(policy), trace: sink, tickNs: 0 });
  const setClock = (ns: number) => {
    (k as unknown as { clock: number }).clock = ns;
  };
  return { ring, sink, k, setClock };
}

describe("Will's trace (spec §1.8), from the emulated kernel", () => {
  for (const policy of ['v6.11', 'merged']) {
    it(`reproduces the three page_ref lines verbatim under ${policy}`, () => {
      const { ring, k, setClock } = kernelWithRing(policy, 8);
      const c7 = k.ctx(7);
      const c3 = k.ctx(3);
      // A0 (untraced in Will's mail): shmem fault allocates F in CMA, page cache, lru_add on CPU 7.
      const f = makeFolio(k, {
        flags: ['locked', 'uptodate', 'swapbacked'],
        mapping: MappingKind.SHMEM,
        mt: MigrateType.CMA,
        holders: { TEMP: 1, PAGECACHE: 1 },
      });
      k.w[folioBase(f) + F.PFN] = 0x9f83a8;
      k.w[folioBase(f) + F.MAPPING_ID] = 5;
      setClock(144_767_200_000);
      k.run(7, folio_add_lru(c7, f));
      // A: finish_fault -> set_pte_range (PTE lock held) -> rmap add -> mlock_folio.
      k.w[folioBase(f) + F.MAPCOUNT] = 0;
      k.w[folioBase(f) + F.LOCKED_MAPS] = 1;
      ledger_transfer(c7, f, Holder.TEMP, Holder.MAP, 1);
      setClock(144_767_288_000);
      c7.preempt++; // the PTE spinlock
      k.run(7, mlock_folio(c7, f));
      c7.preempt--;
      folio_clear(c7, f, PG.locked);
      folio_set(c7, f, PG.dirty);
      // B: readahead adds a large folio on CPU 7: its lru_add batch is processed at once.
      const g = makeFolio(k, { order: 2, flags: ['uptodate'], mapping: MappingKind.FILE, holders: { TEMP: 1, PAGECACHE: 4 } });
      setClock(144_767_358_000);
      k.run(7, folio_add_lru(c7, g));
      // C: the vCPU thread on CPU 3 pins F (try_grab_folio under the PTE lock).
      setClock(144_786_828_000);
      c3.preempt++;
      folio_ref_mod(c3, f, 1024, Holder.GUP_PIN, 'try_grab_folio');
      c3.preempt--;

      const { events, lost } = ring.read();
      expect(lost.every((n) => n === 0)).toBe(true);
      const text = formatFtrace(events, { folio: f, labels: LABELS, mappingPointers: { 5: '00000000f0e9c5fd' } });
      const lines = text.split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toBe(
        'crosvm_VmRunApp-6493 [007] ..... 144.767200: page_ref_mod: pfn=0x9f83a8 flags=locked|uptodate|swapbacked count=3 mapcount=-1 mapping=00000000f0e9c5fd mt=4 val=1',
      );
      expect(lines.slice(1)).toEqual(WILL);
      // With holders: who changed.
      const withHolders = formatFtrace(events, { folio: f, labels: LABELS, holders: true, mappingPointers: { 5: '00000000f0e9c5fd' } }).split('\n');
      expect(withHolders[1]).toBe(`${WILL[0]} holder=MLOCK_BATCH fn=mlock_folio`);
      expect(withHolders[2]).toBe(`${WILL[1]} holder=LRU_BATCH fn=folios_put_refs`);
      expect(withHolders[3]).toBe(`${WILL[2]} holder=GUP_PIN fn=try_grab_folio`);
      // The state after C: the ledger holds, and CPU 7's pending MLOCK entry is the extra reference.
      expect(checkInvariants(k.w, k.lay, getPolicy(policy))).toEqual([]);
      expect(describeFolioHolders(k.w, k.lay, f, { onlyBatches: true })).toEqual(['CPU 7 mlock batch (MLOCK) holds 1 ref']);
    });
  }

  it("parses Will's lines (and skips stack-trace lines)", () => {
    const parsed = parseFtrace([WILL[0], 'crosvm_VmRunApp-6493 [007] ...2. 144.767288: <stack trace>', '=> __page_ref_mod', WILL[1]].join('\n'));
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toMatchObject({
      task: 'crosvm_VmRunApp',
      pid: 6493,
      cpu: 7,
      preempt: 2,
      timestamp: '144.767288',
      event: 'page_ref_mod',
      pfn: 0x9f83a8,
      count: 4,
      mapcount: 0,
      mapping: '00000000f0e9c5fd',
      mt: 4,
      val: 1,
      flagNames: ['locked', 'uptodate', 'swapbacked', 'mlocked'],
    });
    expect(parsed[1]).toMatchObject({ event: 'page_ref_mod_and_test', count: 3, val: -1, ret: 0 });
    expect(parsed[1]!.flags).toBe(PG.uptodate | PG.dirty | PG.lru | PG.swapbacked | PG.unevictable | PG.mlocked);
  });
});

describe('trace ring', () => {
  function fakeCtx(k: InlineKernel, cpu: number): KernelCtx {
    return k.ctx(cpu);
  }

  it('events written from two CPUs (two views of one buffer, as two threads) come out merged by seq and parse back', () => {
    const ring = TraceRing.create({ nCpus: 2, perCpu: 64 });
    const t0 = new RingTraceSink(ring.sab); // "thread" of CPU 0
    const t1 = new RingTraceSink(ring.sab); // "thread" of CPU 1
    const k = new InlineKernel({ nCpus: 2, policy: getPolicy('merged'), tickNs: 0 });
    k.ctxs[0]!.trace = t0;
    k.ctxs[1]!.trace = t1;
    const f = makeFolio(k, { flags: ['lru', 'uptodate'], mapping: MappingKind.FILE, holders: { PAGECACHE: 1 } });
    const order: number[] = [];
    for (let i = 0; i < 10; i++) {
      const cpu = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1][i]!;
      (k as unknown as { clock: number }).clock = 1_000_000 + i * 1000;
      folio_ref_mod(fakeCtx(k, cpu), f, 1, Holder.TEMP, cpu === 0 ? 'filemap_get_folio' : 'a_name_only_cpu1_knows');
      order.push(cpu);
    }
    t1.mark(k.ctx(1), 'lru_add_drain_all start', 3, 0);
    t0.mark(k.ctx(0), 'custom mark from cpu0', -1, 7);
    const { events } = new TraceRing(ring.sab).read(); // a third view (the coordinator)
    expect(events.map((e) => e.seq)).toEqual([...Array(12).keys()]);
    expect(events.slice(0, 10).map((e) => e.cpu)).toEqual(order);
    expect(events.slice(0, 10).map((e) => e.count)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(events[1]!.fn).toBe('a_name_only_cpu1_knows'); // interned by another view, decoded here
    const text = formatFtrace(events, { holders: true });
    const parsed = parseFtrace(text);
    expect(parsed).toHaveLength(12);
    for (let i = 0; i < 10; i++) {
      const e = events[i]!;
      expect(parsed[i]).toMatchObject({
        cpu: e.cpu,
        task: `cpu${e.cpu}`,
        pid: 1000 + e.cpu,
        event: 'page_ref_mod',
        pfn: e.pfn,
        count: e.count,
        mapcount: -1,
        mt: 1,
        val: 1,
        holder: 'TEMP',
        fn: e.fn,
        timeNs: 1_000_000 + i * 1000,
      });
      expect(parsed[i]!.flags).toBe(PG.lru | PG.uptodate);
    }
    expect(parsed[10]).toMatchObject({ event: 'tracing_mark_write', cpu: 1, what: 'lru_add_drain_all start', a: 3, b: 0 });
    expect(parsed[11]).toMatchObject({ event: 'tracing_mark_write', cpu: 0, what: 'custom mark from cpu0', a: -1, b: 7 });
    expect(formatFtrace(events, { marks: false }).split('\n')).toHaveLength(10);
  });

  it('overwrites the oldest records and trims the merge to where every CPU is complete', () => {
    const ring = TraceRing.create({ nCpus: 2, perCpu: 4 });
    const sink = new RingTraceSink(ring);
    const k = new InlineKernel({ nCpus: 2, policy: getPolicy('merged'), trace: sink, tickNs: 0 });
    const f = makeFolio(k, { holders: { TEMP: 1 } });
    // CPU 0 writes 6 (loses 2), CPU 1 writes 2, interleaved: seq 0..7.
    const cpus = [0, 1, 0, 0, 0, 1, 0, 0];
    for (const cpu of cpus) folio_ref_mod(k.ctx(cpu), f, 1, Holder.TEMP, 'folio_get');
    const all = ring.read({ complete: false });
    expect(all.lost).toEqual([2, 0, 0]);
    expect(all.events.map((e) => e.seq)).toEqual([1, 3, 4, 5, 6, 7]);
    const complete = ring.read();
    expect(complete.completeFromSeq).toBe(3);
    expect(complete.events.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    ring.clear();
    expect(ring.read().events).toEqual([]);
  });

  it('formats freeze/unfreeze like the kernel (freeze: val = frozen count, ret=1), large folios with head, no flags as none', () => {
    const { ring, k } = kernelWithRing('merged', 1);
    const c = k.ctx(0);
    const big = makeFolio(k, { order: 1, flags: ['lru'], holders: { PAGECACHE: 2, ISOLATION: 1 } });
    expect(folio_ref_freeze(c, big, 3)).toBe(true);
    folio_ref_unfreeze(c, big, 1);
    // A freeze at the wrong count is traced too (ret=0), as 6.1's migrate_folio() shows.
    expect(folio_ref_freeze(c, big, 5)).toBe(false);
    const bare = makeFolio(k, { holders: { TEMP: 1 } });
    k.w[folioBase(bare) + F.FLAGS] = 0;
    folio_ref_mod(c, bare, -1, Holder.TEMP, 'folio_put', 'page_ref_mod_and_test');
    // (Test folios are placed, not allocated: no page_ref_set here; test/trace-real.test.ts has it.)
    const lines = formatFtrace(ring.read().events).split('\n');
    expect(lines[0]).toMatch(/page_ref_freeze: pfn=0x[0-9a-f]+ flags=lru\|head count=0 mapcount=-1 mapping=0000000000000000 mt=1 val=3 ret=1$/);
    expect(lines[1]).toMatch(/page_ref_unfreeze: .* flags=lru\|head count=1 .* val=1$/);
    expect(lines[2]).toMatch(/page_ref_freeze: .* flags=lru\|head count=1 .* val=5 ret=0$/);
    expect(lines[3]).toMatch(/page_ref_mod_and_test: .* flags=none count=0 .* val=-1 ret=1$/);
    const p = parseFtraceLine(lines[3]!)!;
    expect(p).toMatchObject({ flags: 0, flagNames: [], count: 0, ret: 1 });
  });

  it('page flags print in the kernel order and parse back', () => {
    const all = Object.values(PG).reduce((a, b) => a | b, 0);
    const s = formatPageFlags(all);
    expect(s.startsWith('locked|waiters|referenced|uptodate|dirty|lru|active')).toBe(true);
    expect(parsePageFlags(s)).toBe(all);
    expect(() => parsePageFlags('lru|bogus')).toThrow(/unknown page flag 'bogus'/);
  });

  it('a disabled ring records nothing; an unknown name past the table falls back to "?"', () => {
    const ring = TraceRing.create({ nCpus: 1, perCpu: 8, names: 1 });
    const sink = new RingTraceSink(ring);
    const k = new InlineKernel({ nCpus: 1, policy: getPolicy('merged'), trace: sink, tickNs: 0 });
    const f = makeFolio(k, { holders: { TEMP: 1 } });
    folio_ref_mod(k.ctx(0), f, 1, Holder.TEMP, 'first_unknown');
    folio_ref_mod(k.ctx(0), f, 1, Holder.TEMP, 'second_unknown');
    ring.enabled = false;
    folio_ref_mod(k.ctx(0), f, 1, Holder.TEMP, 'folio_get');
    const ev = ring.read().events;
    expect(ev.map((e) => e.fn)).toEqual(['first_unknown', '?']);
    expect(formatFtraceLine(ev[1]!, { holders: true })).toMatch(/ holder=TEMP fn=\?$/);
  });
});
