// `folio-race run`: one trial of a scenario under one policy on the deterministic runtime,
// optionally traced: page_ref_* lines as ftrace prints them, then every folio's reference
// ledger at the end, then what went wrong and who held the references.
import { attributeRefs, describeHolders, folioAllocated, folioLabel, forEachBatchEntry, ledgerSummary, pageFlagsText } from '../check/ledger.js';
import { F, folioBase } from '../mm/layout.js';
import type { Policy } from '../mm/policy.js';
import { BATCH_NAMES, Batch, LRU_NAMES } from '../mm/constants.js';
import type { Scenario } from '../scenario/schema.js';
import { createTraceSink } from '../trace/sink.js';
import { formatFtrace } from '../trace/ftrace.js';
import type { TrialResult } from '../trial/result.js';
import { CooperativeRuntime, type Strategy } from './cooperative.js';
import { dimsFor } from './dims.js';
import type { DecisionRecord } from '../sched/schedule.js';

export interface RunOneOptions {
  scenario: Scenario;
  policy: Policy;
  cpus: number;
  seed: number;
  trace: boolean;
  out: (line: string) => void;
  strategy?: Strategy;
  /** PCT depth (strategy pct). */
  depth?: number;
  signal?: AbortSignal;
}
export interface RunOneOutcome {
  result: TrialResult;
  ledger: string[];
  /** Entries resting in each CPU's batches at the end, and folios queued in more than one LRU batch. */
  batches: string[];
  /** Every scheduling decision of the trial (src/sched/schedule.ts), for the schedule string. */
  decisions: DecisionRecord[];
}

/** Every allocated folio: flags, list, mlock_count and its references by named holder. */
export function ledgerLines(w: Int32Array, lay: CooperativeRuntime['lay']): string[] {
  const lines: string[] = [];
  for (let f = 0; f < lay.dims.nFolios; f++) {
    if (!folioAllocated(w, f)) continue;
    const b = folioBase(f);
    const a = attributeRefs(w, lay, f);
    lines.push(
      `${folioLabel(f, w[b + F.PFN]!)}: refcount ${w[b + F.REF]}, flags ${pageFlagsText(w[b + F.FLAGS]!) || '-'}, lru ${LRU_NAMES[w[b + F.LRU]!]}, mlock_count ${w[b + F.MLOCK_COUNT]}, mapcount ${w[b + F.MAPCOUNT]! + 1}`,
    );
    lines.push(`    ${ledgerSummary(a)}`);
    for (const d of describeHolders(a, { onlyBatches: true })) lines.push(`    ${d}`);
  }
  return lines;
}

/**
 * The batch_occupancy measure of one trial, read from the batches at the end: per CPU its entries
 * by batch, then every folio with entries in more than one LRU batch (any CPU's, mlock excluded).
 */
export function batchOccupancyLines(w: Int32Array, lay: CooperativeRuntime['lay']): string[] {
  const perCpu = new Map<number, number[]>();
  const lruBatchesOf = new Map<number, string[]>();
  forEachBatchEntry(w, lay, (folio, cpu, batch) => {
    let counts = perCpu.get(cpu);
    if (!counts) perCpu.set(cpu, (counts = new Array<number>(BATCH_NAMES.length).fill(0)));
    counts[batch]!++;
    if (batch === Batch.mlock) return;
    const where = `CPU ${cpu} ${BATCH_NAMES[batch]}`;
    const list = lruBatchesOf.get(folio) ?? [];
    if (!list.includes(where)) list.push(where);
    lruBatchesOf.set(folio, list);
  });
  const lines: string[] = [];
  for (const cpu of [...perCpu.keys()].sort((a, b) => a - b)) {
    const counts = perCpu.get(cpu)!;
    const total = counts.reduce((x, y) => x + y, 0);
    const by = counts.flatMap((n, b) => (n ? [`${BATCH_NAMES[b]} ${n}`] : [])).join(', ');
    lines.push(`CPU ${cpu}: ${total} entr${total === 1 ? 'y' : 'ies'} (${by})`);
  }
  if (lines.length === 0) lines.push('every CPU batch empty');
  const multi = [...lruBatchesOf].filter(([, l]) => l.length > 1);
  if (multi.length === 0) lines.push('no folio queued in more than one LRU batch');
  for (const [f, l] of multi) lines.push(`${folioLabel(f, w[folioBase(f) + F.PFN]!)} queued in ${l.length} LRU batches: ${l.join(', ')}`);
  return lines;
}

export async function runOne(opts: RunOneOptions): Promise<RunOneOutcome> {
  const sink = opts.trace ? createTraceSink(opts.cpus, 1 << 14) : null;
  const rt = new CooperativeRuntime({
    nCpus: opts.cpus,
    policy: opts.policy,
    dims: dimsFor(opts.scenario, opts.cpus),
    seed: opts.seed,
    strategy: opts.strategy ?? 'random',
    depth: opts.depth ?? 3,
    trace: sink,
  });
  rt.configure({ kind: 'scenario', scenario: opts.scenario });
  const result = rt.runTrial(0);
  if (sink) {
    const text = formatFtrace(sink.ring.read().events, { holders: true });
    for (const line of text.split('\n')) if (line) opts.out(line);
  }
  return { result, ledger: ledgerLines(rt.w, rt.lay), batches: batchOccupancyLines(rt.w, rt.lay), decisions: rt.decisions };
}
