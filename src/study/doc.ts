// The document every timing study writes (`folio-race study drain-latency|pin-storm|race-window
// --json`): one entry per cell (a point of the sweep) holding that cell's whole PolicyAggregate,
// histograms included. Sweeps split into shards (`--shard i/N`) write one document each;
// mergeStudyDocs() unions their cells, each kept whole (counts and HDR histograms, never averaged).
// A cell's seed comes from its place in the sweep, so a cell in two documents (the same shard
// given twice, a merged document and one of its shards) is the same trials twice: refused, as
// are documents whose cell count, shard or cell indexes do not fit the sweep.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { HostSchema, PolicyAggregateSchema, hostInfo, toolVersion } from '../report/json.js';
import { PolicyAggregator, type PolicyAggregate } from '../stats/aggregate.js';

export const STUDY_KINDS = ['drain-latency', 'pin-storm', 'race-window'] as const;
export type StudyKind = (typeof STUDY_KINDS)[number];

export type CellParams = Record<string, string | number>;
export interface StudyCell {
  /** Stable name of the cell in the sweep, e.g. `cpus=4 mech=ipi occ=8 spacing=0 hog=on load=busy`. */
  key: string;
  /** Position in the full (unsharded) sweep: the order cells are shown in. */
  index: number;
  params: CellParams;
  aggregate: PolicyAggregate;
  /** Trials asked for when logical time ran one, its copies left out (run_cells.ts CellOutcome). */
  identicalTrials?: number;
}

const CellSchema = z
  .object({
    key: z.string().min(1),
    index: z.number().int().nonnegative(),
    params: z.record(z.string(), z.union([z.string(), z.number()])),
    aggregate: PolicyAggregateSchema,
    identicalTrials: z.number().int().min(2).optional(),
  })
  .strict();

export const STUDY_MODES = ['free-run', 'deterministic', 'logical'] as const;
export type StudyMode = (typeof STUDY_MODES)[number];

/** What a document's times are, in a few words (tables, figure notes). */
export function timeBasis(d: { mode: StudyMode; params: Record<string, unknown>; hosts: { cores: number; cpuModel: string }[] }): string {
  if (d.mode === 'deterministic') return 'logical time in steps (the deterministic runtime), not this host';
  if (d.mode === 'logical') {
    const name = (d.params.costs as { name?: string } | undefined)?.name ?? 'defaults';
    return `logical time (the logical-time model, cost model: ${name}), not this host`;
  }
  return `wall time on ${d.hosts.map((h) => `${h.cores} cores, ${h.cpuModel}`).join('; ')}`;
}

export const StudyDocSchema = z
  .object({
    schemaVersion: z.literal(1),
    kind: z.literal('folio-race-study'),
    study: z.enum(STUDY_KINDS),
    tool: z.object({ name: z.literal('folio-race'), version: z.string() }).strict(),
    generatedAt: z.string(),
    /**
     * free-run: worker threads, wall-clock times; deterministic: one thread, logical time in
     * steps; logical: the logical-time model, times from its cost model (params.costs).
     */
    mode: z.enum(STUDY_MODES),
    /** The sweep's parameters (identical in every shard of one sweep). */
    params: z.record(z.string(), z.unknown()),
    /** Cells in the full sweep; this document's shard ("i/N"), or the shards merged into it. */
    totalCells: z.number().int().nonnegative(),
    shards: z.array(z.string()),
    hosts: z.array(HostSchema),
    cells: z.array(CellSchema),
    /** True when the run was interrupted (SIGINT/SIGTERM) or ended by a cell's error: `cells` holds the cells that finished. */
    aborted: z.boolean().optional(),
  })
  .strict();
export type StudyDoc = z.infer<typeof StudyDocSchema> & { cells: StudyCell[] };

export interface Shard {
  index: number; // 1-based
  count: number;
}

/** `--shard i/N` (1 <= i <= N): which slice of the cells this process runs. */
export function parseShard(raw: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) throw new Error(`--shard: expected i/N with 1 <= i <= N (e.g. 2/8), got '${raw}'`);
  return { index: i, count: n };
}

/** Cells of shard i/N: every N-th cell from the (i-1)-th, so each shard gets a mix of sizes. */
export function selectShard<T>(cells: readonly T[], shard: Shard | null): T[] {
  if (!shard) return [...cells];
  return cells.filter((_, k) => k % shard.count === shard.index - 1);
}

export function buildStudyDoc(
  study: StudyKind,
  mode: StudyDoc['mode'],
  params: Record<string, unknown>,
  totalCells: number,
  shard: Shard | null,
  cells: StudyCell[],
  aborted = false,
): StudyDoc {
  const doc = {
    schemaVersion: 1 as const,
    kind: 'folio-race-study' as const,
    study,
    tool: { name: 'folio-race' as const, version: toolVersion() },
    generatedAt: new Date().toISOString(),
    mode,
    params,
    totalCells,
    shards: [shard ? `${shard.index}/${shard.count}` : '1/1'],
    hosts: [hostInfo()],
    cells: [...cells].sort((a, b) => a.index - b.index),
    ...(aborted ? { aborted: true } : {}),
  };
  return StudyDocSchema.parse(doc) as StudyDoc;
}

export function parseStudyDoc(text: string, source = 'study document'): StudyDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON: ${(e as Error).message}`);
  }
  const r = StudyDocSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${source}: not a folio-race study document: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return r.data as StudyDoc;
}

export function readStudyDoc(path: string): StudyDoc {
  return parseStudyDoc(readFileSync(path, 'utf8'), path);
}

/** Combine shard documents of one sweep: same study, mode and params, cells unioned and merged. */
export function mergeStudyDocs(docs: readonly StudyDoc[]): StudyDoc {
  if (docs.length === 0) throw new Error('merge: no documents');
  const first = docs[0]!;
  const same = JSON.stringify(first.params);
  const shardSeen = new Map<string, number>();
  const indexOfKey = new Map<string, number>();
  docs.forEach((d, n) => {
    const name = `document ${n + 1}`;
    if (d.study !== first.study) throw new Error(`merge: cannot merge a ${d.study} study into a ${first.study} study`);
    if (d.mode !== first.mode) throw new Error(`merge: cannot merge ${d.mode} results with ${first.mode} results`);
    if (JSON.stringify(d.params) !== same)
      throw new Error(
        `merge: the documents come from sweeps with different parameters (document 1 against ${name}: ${differingParams(first.params, d.params)})`,
      );
    if (d.totalCells !== first.totalCells) throw new Error(`merge: ${name} says the sweep has ${d.totalCells} cells, document 1 says ${first.totalCells}`);
    // The same shard twice (or a merged document and one of its shards) would count its trials twice.
    for (const sh of d.shards) {
      const prev = shardSeen.get(sh);
      if (prev !== undefined) throw new Error(`merge: shard ${sh} is in document ${prev + 1} and in ${name}: its trials would count twice`);
      shardSeen.set(sh, n);
    }
    const parsed = d.shards.map((sh) => /^(\d+)\/(\d+)$/.exec(sh)).map((m) => (m ? { index: Number(m[1]), count: Number(m[2]) } : null));
    for (const c of d.cells) {
      if (c.index < 0 || c.index >= d.totalCells)
        throw new Error(`merge: ${name}: cell '${c.key}' has index ${c.index}, outside the sweep's ${d.totalCells} cells`);
      // A cell's seed comes from its place in the sweep: the same cell twice is the same trials twice.
      if (indexOfKey.has(c.key)) throw new Error(`merge: cell '${c.key}' is in more than one document (again in ${name}): its trials would count twice`);
      indexOfKey.set(c.key, c.index);
      if (!parsed.some((p) => p && c.index % p.count === p.index - 1))
        throw new Error(`merge: ${name}: cell '${c.key}' (index ${c.index}) belongs to none of its shards (${d.shards.join(', ')})`);
    }
  });
  const byKey = new Map<string, { index: number; params: CellParams; agg: PolicyAggregator; identicalTrials?: number }>();
  for (const d of docs) {
    for (const c of d.cells) {
      const g = PolicyAggregator.fromJSON(c.aggregate);
      const have = byKey.get(c.key);
      if (have) have.agg.merge(g);
      else byKey.set(c.key, { index: c.index, params: c.params, agg: g, ...(c.identicalTrials ? { identicalTrials: c.identicalTrials } : {}) });
    }
  }
  const cells: StudyCell[] = [...byKey.entries()].map(([key, v]) => ({
    key,
    index: v.index,
    params: v.params,
    aggregate: v.agg.toJSON(),
    ...(v.identicalTrials ? { identicalTrials: v.identicalTrials } : {}),
  }));
  const hosts = docs.flatMap((d) => d.hosts).filter((h, i, all) => all.findIndex((x) => JSON.stringify(x) === JSON.stringify(h)) === i);
  const doc = {
    ...first,
    generatedAt: new Date().toISOString(),
    shards: docs.flatMap((d) => d.shards),
    hosts,
    ...(docs.some((d) => d.aborted) ? { aborted: true } : {}),
    cells: cells.sort((a, b) => a.index - b.index),
  };
  return StudyDocSchema.parse(doc) as StudyDoc;
}

/** The parameters (cost fields inside params.costs named as costs.x) whose values differ between two documents. */
function differingParams(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const out: string[] = [];
  const walk = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string) => {
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
      const u = x[k];
      const v = y[k];
      if (JSON.stringify(u) === JSON.stringify(v)) continue;
      if (u && v && typeof u === 'object' && typeof v === 'object' && !Array.isArray(u) && !Array.isArray(v))
        walk(u as Record<string, unknown>, v as Record<string, unknown>, `${prefix}${k}.`);
      else out.push(`${prefix}${k}: ${u === undefined ? 'absent' : JSON.stringify(u)} against ${v === undefined ? 'absent' : JSON.stringify(v)}`);
    }
  };
  walk(a, b, '');
  return out.length ? out.join('; ') : 'the same values, in another order';
}
