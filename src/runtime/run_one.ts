// `folio-race run`: one trial of a scenario under one policy on the deterministic runtime,
// optionally traced: page_ref_* lines as ftrace prints them, then every folio's reference
// ledger at the end, then what went wrong and who held the references.
import { attributeRefs, describeHolders, folioAllocated, folioLabel, ledgerSummary, pageFlagsText } from '../check/ledger.js';
import { F, folioBase } from '../mm/layout.js';
import type { Policy } from '../mm/policy.js';
import { LRU_NAMES } from '../mm/constants.js';
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
  return { result, ledger: ledgerLines(rt.w, rt.lay), decisions: rt.decisions };
}
