// The stress JSON document: what `folio-race stress --json out.json` writes. Its schema is a zod
// object used to validate every document before it is written (and by readers: parseStressDoc),
// so the file on disk always matches docs/cli-and-json.md.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { COUNTED_KINDS, type CountedKind, type PolicyAggregate } from '../stats/aggregate.js';
import type { Policy } from '../mm/policy.js';
import { FREE_RUN_MAX_CPUS } from '../mm/layout.js';

export const SCHEMA_VERSION = 1;
export const FAILURE_KIND_NAMES = ['ENOMEM', 'pin_error', 'invariant', 'watchdog', 'emulator'] as const;

const count = z.number().int().nonnegative();
const prob = z.number().min(0).max(1);
const ci = z.tuple([prob, prob]).refine(([lo, hi]) => lo <= hi, { message: 'ci95 low must not exceed high' });
const ratio = z.number().nonnegative().nullable();
const tally = z.record(z.string(), count);
function perKind<T extends z.ZodTypeAny>(t: T) {
  return z.object(Object.fromEntries(COUNTED_KINDS.map((k) => [k, t])) as Record<CountedKind, T>).strict();
}

export const LatencySummarySchema = z
  .object({
    count,
    mean: z.number().nonnegative(),
    min: count,
    p50: count,
    p90: count,
    p99: count,
    p999: count,
    max: count,
    hdr: z.string().startsWith('h1:'),
    // Optional: empty histograms and documents written before it existed lack it.
    ci95: z
      .object({ p50: z.tuple([count.nullable(), count.nullable()]), p99: z.tuple([count.nullable(), count.nullable()]) })
      .strict()
      .optional(),
  })
  .strict();

export const FailureExampleSchema = z
  .object({
    trial: count,
    kind: z.enum(FAILURE_KIND_NAMES),
    cpu: z.number().int(),
    step: z.number().int().optional(),
    op: z.string().optional(),
    invariant: z.string().optional(),
    permittedBy: z.string().optional(),
    message: z.string(),
    attribution: z.array(z.string()).optional(),
  })
  .strict();

export const PolicyAggregateSchema = z
  .object({
    policy: z.string().min(1),
    trials: count,
    failures: z.object({ total: count, byKind: perKind(count) }).strict(),
    failureRecords: perKind(count),
    rate: prob,
    ci95: ci,
    rateByKind: perKind(z.object({ rate: prob, ci95: ci }).strict()),
    attribution: perKind(tally),
    permitted: z
      .object({
        trials: count,
        records: count,
        rate: prob,
        ci95: ci,
        byInvariant: tally,
        attribution: tally,
        examples: z.array(FailureExampleSchema),
      })
      .strict(),
    emulatorErrors: z.object({ trials: count, records: count, examples: z.array(FailureExampleSchema) }).strict(),
    examples: perKind(z.array(FailureExampleSchema)),
    pins: z.object({ calls: count, ok: count, enomem: count, otherErr: count, retries: count, recorded: count }).strict(),
    drainsPerPin: z.object({ local: ratio, all: ratio }).strict(),
    drains: z
      .object({
        lruAddDrain: count,
        lruAddDrainAll: count,
        genSkips: count,
        cpusQueued: count,
        workRun: count,
        localFromPin: count,
        allFromPin: count,
      })
      .strict(),
    cpusQueuedPerDrainAll: ratio,
    genSkipsPerDrainAll: ratio,
    migration: z.object({ attempts: count, succeeded: count, failed: count, passes: count }).strict(),
    migrationAttemptsPerPin: ratio,
    pinLatencyNs: LatencySummarySchema,
    drainAllLatencyNs: LatencySummarySchema,
    drainAllMutexWaitNs: LatencySummarySchema,
    // Optional: documents written before it existed lack it.
    drainAllCallNs: LatencySummarySchema.optional(),
    trialDurationNs: LatencySummarySchema,
    stats: z.record(z.string(), z.number().int()),
    // Optional: documents written before it existed lack it.
    statTrials: z.record(z.string(), count).optional(),
  })
  .strict()
  .refine((a) => a.failures.total <= a.trials, { message: 'failures.total exceeds trials', path: ['failures', 'total'] });

export const HostSchema = z
  .object({
    cores: z.number().int().positive(),
    node: z.string(),
    platform: z.string(),
    arch: z.string(),
    cpuModel: z.string(),
    totalMemBytes: count,
  })
  .strict();

export const PolicyParamsSchema = z
  .object({ id: z.string(), description: z.string(), source: z.string(), switches: z.record(z.string(), z.unknown()) })
  .strict();

export const StressDocSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION),
    tool: z.object({ name: z.literal('folio-race'), version: z.string() }).strict(),
    generatedAt: z.string().datetime(),
    startedAt: z.string().datetime(),
    elapsedMs: z.number().nonnegative(),
    /** True when the run was interrupted (SIGINT): results hold the trials that finished. */
    aborted: z.boolean(),
    scenario: z
      .object({
        name: z.string(),
        /** As given on the command line: a built-in id or a file path. */
        source: z.string(),
        description: z.string().optional(),
        /** The loaded scenario as JSON (what actually ran). */
        definition: z.unknown().optional(),
      })
      .strict(),
    params: z
      .object({
        cpus: z.number().int().min(1).max(FREE_RUN_MAX_CPUS),
        trials: z.number().int().positive(),
        seed: z.number().int().nonnegative(),
        mode: z.enum(['free-run', 'deterministic']),
        policies: z.array(PolicyParamsSchema).min(1),
        failOn: z.array(z.string()),
      })
      .strict(),
    host: HostSchema,
    results: z.array(PolicyAggregateSchema),
  })
  .strict();

export type StressDoc = z.infer<typeof StressDocSchema>;
export type HostInfo = z.infer<typeof HostSchema>;

// The schema and the aggregator's TypeScript type must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesType: Same<z.infer<typeof PolicyAggregateSchema>, PolicyAggregate> = true;
void schemaMatchesType;

let cachedVersion: string | undefined;
/** This package's version, from the nearest package.json named folio-race (src/ and dist/ alike). */
export function toolVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'folio-race' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  return (cachedVersion = '0.0.0-unknown');
}

export function hostInfo(): HostInfo {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemBytes: os.totalmem(),
  };
}

export interface StressDocInput {
  scenario: { name: string; source: string; description?: string; definition?: unknown };
  cpus: number;
  trials: number;
  seed: number;
  mode?: 'free-run' | 'deterministic';
  policies: readonly Policy[];
  failOn?: string[];
  results: PolicyAggregate[];
  aborted: boolean;
  startedAt: Date;
  now?: Date;
}

/** Assemble (and validate) the document. */
export function buildStressDoc(i: StressDocInput): StressDoc {
  const now = i.now ?? new Date();
  const scenario: StressDoc['scenario'] = { name: i.scenario.name, source: i.scenario.source };
  if (i.scenario.description !== undefined) scenario.description = i.scenario.description;
  if (i.scenario.definition !== undefined) scenario.definition = jsonClone(i.scenario.definition);
  const doc: StressDoc = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'folio-race', version: toolVersion() },
    generatedAt: now.toISOString(),
    startedAt: i.startedAt.toISOString(),
    elapsedMs: Math.max(0, now.getTime() - i.startedAt.getTime()),
    aborted: i.aborted,
    scenario,
    params: {
      cpus: i.cpus,
      trials: i.trials,
      seed: i.seed,
      mode: i.mode ?? 'free-run',
      policies: i.policies.map((p) => ({ id: p.id, description: p.description, source: p.source, switches: { ...p.switches } })),
      failOn: i.failOn ?? [],
    },
    host: hostInfo(),
    results: i.results,
  };
  return validateStressDoc(doc);
}

/** Validate; throws an Error listing every problem with its JSON path. */
export function validateStressDoc(doc: unknown): StressDoc {
  const r = StressDocSchema.safeParse(doc);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 20).map((iss) => `  ${iss.path.join('.') || '(root)'}: ${iss.message}`);
    throw new Error(`stress JSON does not match its schema:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Parse and validate a stress JSON file's text. */
export function parseStressDoc(text: string): StressDoc {
  return validateStressDoc(JSON.parse(text));
}

/** Serialise (validated), two-space indented, newline-terminated. */
export function stringifyStressDoc(doc: StressDoc): string {
  return JSON.stringify(validateStressDoc(doc), null, 2) + '\n';
}

/** Write atomically: a reader never sees half a file. */
export async function writeStressDoc(path: string, doc: StressDoc): Promise<void> {
  const text = stringifyStressDoc(doc);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, path);
}

function jsonClone(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return undefined;
  }
}
