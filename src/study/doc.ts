// The document every timing study writes (`folio-race study drain-latency|pin-storm|race-window
// --json`): one entry per cell (a point of the sweep) holding that cell's whole PolicyAggregate,
// histograms included. Sweeps split into shards (`--shard i/N`) write one document each;
// mergeStudyDocs() combines them exactly: cells are unioned, and a cell present in several shards
// has its aggregates merged (counts add, HDR histograms merge), never averaged.
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
}

const CellSchema = z
  .object({
    key: z.string().min(1),
    index: z.number().int().nonnegative(),
    params: z.record(z.string(), z.union([z.string(), z.number()])),
    aggregate: PolicyAggregateSchema,
  })
  .strict();

export const StudyDocSchema = z
  .object({
    schemaVersion: z.literal(1),
    kind: z.literal('folio-race-study'),
    study: z.enum(STUDY_KINDS),
    tool: z.object({ name: z.literal('folio-race'), version: z.string() }).strict(),
    generatedAt: z.string(),
    /** free-run: worker threads, wall-clock times; deterministic: one thread, logical times. */
    mode: z.enum(['free-run', 'deterministic']),
    /** The sweep's parameters (identical in every shard of one sweep). */
    params: z.record(z.string(), z.unknown()),
    /** Cells in the full sweep; this document's shard ("i/N"), or the shards merged into it. */
    totalCells: z.number().int().nonnegative(),
    shards: z.array(z.string()),
    hosts: z.array(HostSchema),
    cells: z.array(CellSchema),
    /** True when the run was interrupted (SIGINT/SIGTERM): `cells` holds the cells that finished. */
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
  for (const d of docs) {
    if (d.study !== first.study) throw new Error(`merge: cannot merge a ${d.study} study into a ${first.study} study`);
    if (d.mode !== first.mode) throw new Error(`merge: cannot merge ${d.mode} results with ${first.mode} results`);
    if (JSON.stringify(d.params) !== same) throw new Error('merge: the documents come from sweeps with different parameters');
  }
  const byKey = new Map<string, { index: number; params: CellParams; agg: PolicyAggregator }>();
  for (const d of docs) {
    for (const c of d.cells) {
      const g = PolicyAggregator.fromJSON(c.aggregate);
      const have = byKey.get(c.key);
      if (have) have.agg.merge(g);
      else byKey.set(c.key, { index: c.index, params: c.params, agg: g });
    }
  }
  const cells: StudyCell[] = [...byKey.entries()].map(([key, v]) => ({ key, index: v.index, params: v.params, aggregate: v.agg.toJSON() }));
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
