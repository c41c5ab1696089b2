// The TraceSink of src/mm/context.ts writing into the per-CPU rings: one record per refcount change
// (what include/trace/events/page_ref.h records: pfn, flags, count, raw _mapcount, mapping, mt,
// val) plus what the emulator knows beyond the kernel: the ledger holder that changed and the
// emulated function. The folio's state is read right after the change, as the tracepoint does
// (page_ref_count() is re-read there too, so a concurrent change on another CPU may show).
import { PG } from '../mm/constants.js';
import type { KernelCtx, TraceEvent, TraceSink } from '../mm/context.js';
import { F, folioBase } from '../mm/layout.js';
import { REC, TraceKind, TraceRing } from './ring.js';

const KIND: Record<TraceEvent, number> = {
  page_ref_mod: TraceKind.page_ref_mod,
  page_ref_mod_and_test: TraceKind.page_ref_mod_and_test,
  page_ref_freeze: TraceKind.page_ref_freeze,
  page_ref_unfreeze: TraceKind.page_ref_unfreeze,
  page_ref_set: TraceKind.page_ref_set,
  page_ref_mod_unless: TraceKind.page_ref_mod_unless,
};

export class RingTraceSink implements TraceSink {
  /** Attach to a ring made by TraceRing.create() (pass the ring itself or its buffer). */
  readonly ring: TraceRing;
  constructor(ring: TraceRing | SharedArrayBuffer) {
    this.ring = ring instanceof TraceRing ? ring : new TraceRing(ring);
  }

  pageRef(ctx: KernelCtx, event: TraceEvent, folio: number, delta: number, holder: number, fn: string): void {
    const ring = this.ring;
    if (!ring.enabled) return;
    const w = ctx.w;
    const fb = folioBase(folio);
    const order = Atomics.load(w, fb + F.ORDER);
    const fnId = ring.intern(fn);
    const rb = ring.claim(ctx.cpu);
    const r = ring.w;
    r[rb + REC.KIND] = KIND[event];
    r[rb + REC.FOLIO] = folio;
    r[rb + REC.PFN] = Atomics.load(w, fb + F.PFN);
    // The kernel's flags word has PG_head on a large folio; ours keeps the order instead.
    r[rb + REC.FLAGS] = Atomics.load(w, fb + F.FLAGS) | (order > 0 ? PG.head : 0);
    r[rb + REC.COUNT] = Atomics.load(w, fb + F.REF);
    r[rb + REC.MAPCOUNT] = Atomics.load(w, fb + F.MAPCOUNT);
    r[rb + REC.MAPPING_ID] = Atomics.load(w, fb + F.MAPPING_ID);
    r[rb + REC.MT] = Atomics.load(w, fb + F.MT);
    r[rb + REC.DELTA] = delta;
    r[rb + REC.HOLDER] = holder;
    r[rb + REC.FN] = fnId;
    ring.setTime(rb, ctx.hooks.nowNs());
    r[rb + REC.MISC] = (Math.min(ctx.preempt, 255) & 0xff) | ((Atomics.load(w, fb + F.MAPPING) & 0xff) << 8) | ((order & 0xff) << 16);
    ring.commit(ctx.cpu, rb);
  }

  /** A non-refcount event ("lru_add_drain_all start", "drain work ran", ...) with two numbers. */
  mark(ctx: KernelCtx, what: string, a = 0, b = 0): void {
    const ring = this.ring;
    if (!ring.enabled) return;
    const id = ring.intern(what);
    const rb = ring.claim(ctx.cpu);
    const r = ring.w;
    r[rb + REC.KIND] = TraceKind.mark;
    r[rb + REC.FOLIO] = a;
    r[rb + REC.PFN] = 0;
    r[rb + REC.FLAGS] = 0;
    r[rb + REC.COUNT] = 0;
    r[rb + REC.MAPCOUNT] = 0;
    r[rb + REC.MAPPING_ID] = 0;
    r[rb + REC.MT] = 0;
    r[rb + REC.DELTA] = b;
    r[rb + REC.HOLDER] = -1;
    r[rb + REC.FN] = id;
    ring.setTime(rb, ctx.hooks.nowNs());
    r[rb + REC.MISC] = Math.min(ctx.preempt, 255) & 0xff;
    ring.commit(ctx.cpu, rb);
  }
}

/** A ring and a sink for `nCpus` CPUs (tests, the inline runtime, the coordinator). */
export function createTraceSink(nCpus: number, perCpu = 4096): RingTraceSink {
  return new RingTraceSink(TraceRing.create({ nCpus, perCpu }));
}
