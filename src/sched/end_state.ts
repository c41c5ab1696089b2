// What a run of the deterministic runtime ended in, as one key: the folio records (without the
// tool's holder ledger), the PTEs (not the page-table locks' ticket counts, which count how often
// a lock was contended) and page-cache slots, every CPU's batches, each pin's outcome and each
// failure.
// Swapping independent steps leaves it unchanged, so the search with partial-order reduction
// must reach exactly the end states the search without it reaches: `explore --check-reduction`
// and the tests compare the two sets.
import { createHash } from 'node:crypto';
import { BATCH_SLOTS, NR_BATCHES } from '../mm/constants.js';
import { batchBase, F, folioTableBase, FOLIO_WORDS, G, type Layout, MAX_VMAS, V, vmaBase, vmaPteWords } from '../mm/layout.js';
import { type ExploreOptions, type ExploreOutcome, searchAsync } from './explore.js';
import type { DetRun, DetSession } from './session.js';

export function endStateKey(run: DetRun, w: Int32Array, lay: Layout): string {
  const h = createHash('sha1');
  const table = folioTableBase();
  for (let f = 0; f < lay.dims.nFolios; f++) h.update(new Uint8Array(w.buffer, (table + f * FOLIO_WORDS + F.FLAGS) * 4, F.LEDGER * 4));
  const area = w.slice(lay.pteArea, lay.total);
  for (let v = 0; v < Math.min(MAX_VMAS, w[G.NEXT_VMA]!); v++) {
    const b = vmaBase(v);
    if (w[b + V.IN_USE] !== 0) area.fill(0, w[b + V.PTL_BASE]!, w[b + V.PTL_BASE]! + vmaPteWords(w[b + V.NPAGES]!) - w[b + V.NPAGES]!);
  }
  h.update(new Uint8Array(area.buffer, area.byteOffset, area.byteLength));
  // Each CPU's batches, count and the entries below it, in order: a folio left in one CPU's
  // batch or another's is a different end state.
  for (let c = 0; c < lay.dims.nCpus; c++)
    for (let b = 0; b < NR_BATCHES; b++) {
      const base = batchBase(c, b);
      const nr = Math.min(Math.max(w[base]!, 0), BATCH_SLOTS);
      h.update(new Uint8Array(w.buffer, base * 4, (1 + nr) * 4));
    }
  h.update(JSON.stringify(run.result.pins.map((p) => [p.rc, p.retries, p.drainAlls, p.migrateAttempts, p.folios])));
  h.update(JSON.stringify(run.result.failures.map((f) => [f.kind, f.cpu, f.invariant, f.attribution])));
  return h.digest('hex');
}

export interface ReductionCheck {
  with: ExploreOutcome;
  without: ExploreOutcome;
  /** End states reached with / without the reduction. */
  statesWith: number;
  statesWithout: number;
  /** End states only the search without the reduction reached (a soundness bug if both searches were complete). */
  lost: number;
  sameSignatures: boolean;
}

/** Did two searches find the same failure signatures? */
export function sameSignatures(a: ExploreOutcome, b: ExploreOutcome): boolean {
  const sigs = (x: ExploreOutcome) => JSON.stringify(x.failures.map((f) => f.signature).sort());
  return sigs(a) === sigs(b);
}

/**
 * Run the search twice, with sleep sets and without, on fresh sessions, and compare what they
 * reached. The search with the reduction audits its footprints too (explore's auditFootprints).
 */
export async function checkReduction(
  makeSession: () => DetSession,
  o: Omit<ExploreOptions, 'reduction' | 'visit'>,
  signal?: AbortSignal,
): Promise<ReductionCheck> {
  const search = async (reduction: 'none' | 'sleep-sets') => {
    const s = makeSession();
    const seen = new Set<string>();
    // In slices: an interrupt leaves both searches incomplete (no verdict), not the process stuck.
    const r = await searchAsync(
      s,
      // Every step recorded, so the audit checks every copy a trial keeps (reused footprints skip the
      // steps a run repeats, and with them the copies those steps would keep).
      { ...o, reduction, auditFootprints: reduction === 'sleep-sets', reuseFootprints: false, visit: (run, w) => seen.add(endStateKey(run, w, s.rt.lay)) },
      { floor: 0, cut: null, ...(signal ? { stopped: () => signal.aborted } : {}) },
    );
    return { r, seen };
  };
  const on = await search('sleep-sets');
  const off = await search('none');
  let lost = 0;
  for (const k of off.seen) if (!on.seen.has(k)) lost++;
  return { with: on.r, without: off.r, statesWith: on.seen.size, statesWithout: off.seen.size, lost, sameSignatures: sameSignatures(on.r, off.r) };
}
