// The replay file: everything a colleague needs to reproduce a failing interleaving exactly —
// the scenario (embedded), policy, CPU count, seed (the job's own random stream: jitter), the
// strategy that found it, the schedule string, the failure signature and a hash of the trace.
// `folio-race replay <file>` re-runs the schedule strictly and checks signature and trace hash.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { getPolicy, type Policy } from '../mm/policy.js';
import { StoredSwitchesSchema } from '../mm/policy_schema.js';
import { checkPolicy } from '../policy/derive.js';
import { toolVersion } from '../report/json.js';
import type { Scenario } from '../scenario/schema.js';
import { ReplayScheduler } from './replay.js';
import { decodeSchedule } from './schedule.js';
import { STRATEGIES } from './scheduler.js';
import { DetSession, type DetRun } from './session.js';
import { validateScenario } from '../scenario/load.js';
import { scenarioSource } from '../scenario/source_form.js';

export const REPLAY_FORMAT = 'folio-race-replay';

export const ReplayFileSchema = z
  .object({
    format: z.literal(REPLAY_FORMAT),
    /** 1: policy by built-in id; 2: the policy's full switch set (a user's variant replays anywhere). */
    version: z.union([z.literal(1), z.literal(2)]),
    tool: z.object({ name: z.literal('folio-race'), version: z.string() }).strict(),
    scenario: z.object({ id: z.string(), source: z.string(), definition: z.unknown() }).strict(),
    policy: z.union([z.string(), z.object({ id: z.string(), description: z.string(), source: z.string(), switches: StoredSwitchesSchema }).strict()]),
    cpus: z.number().int().min(1).max(64),
    seed: z.number().int().min(0).max(0xffff_ffff),
    strategy: z.enum([...STRATEGIES, 'exhaustive', 'shrunk']),
    depth: z.number().int().min(1).optional(),
    timeless: z.boolean(),
    schedule: z.string(),
    /** The schedule as found, before shrinking (when shrunk). */
    foundSchedule: z.string().optional(),
    decisions: z.number().int().nonnegative(),
    preemptions: z.number().int().nonnegative(),
    signature: z.string().nullable(),
    /** sha256 of the page_ref_* trace text (ftrace lines with holders). */
    traceSha256: z.string(),
  })
  .strict();
export type ReplayFile = z.infer<typeof ReplayFileSchema>;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface ReplaySetup {
  scenario: Scenario;
  source: string;
  policy: Policy;
  cpus: number;
  seed: number;
  strategy: ReplayFile['strategy'];
  depth?: number;
  timeless: boolean;
}

/** Run `schedule` strictly under a trace: the run, and the trace text. */
export function tracedReplay(s: ReplaySetup, schedule: string): { run: DetRun; trace: string } {
  const session = new DetSession({ scenario: s.scenario, policy: s.policy, cpus: s.cpus, timeless: s.timeless, trace: true });
  const run = session.run(s.seed, new ReplayScheduler(decodeSchedule(schedule)));
  return { run, trace: session.traceText() };
}

/** Build the file for a schedule (re-run traced, so the trace hash is the replay's own). */
export function makeReplayFile(s: ReplaySetup, schedule: string, foundSchedule?: string): { file: ReplayFile; trace: string; run: DetRun } {
  const { run, trace } = tracedReplay(s, schedule);
  const file: ReplayFile = {
    format: REPLAY_FORMAT,
    version: 2,
    tool: { name: 'folio-race', version: toolVersion() },
    scenario: { id: s.scenario.id, source: s.source, definition: s.scenario },
    policy: { id: s.policy.id, description: s.policy.description, source: s.policy.source, switches: { ...s.policy.switches } },
    cpus: s.cpus,
    seed: s.seed,
    strategy: s.strategy,
    ...(s.depth !== undefined ? { depth: s.depth } : {}),
    timeless: s.timeless,
    schedule,
    ...(foundSchedule !== undefined && foundSchedule !== schedule ? { foundSchedule } : {}),
    decisions: run.decisions.length,
    preemptions: run.preemptions,
    signature: run.signature,
    traceSha256: sha256(trace),
  };
  return { file, trace, run };
}

export function writeReplayFile(path: string, f: ReplayFile): void {
  writeFileSync(path, JSON.stringify(f, null, 2) + '\n');
}

/** Read and validate a replay file (RangeError, a usage error, when it is not one). */
export function readReplayFile(path: string): { file: ReplayFile; setup: ReplaySetup } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new RangeError(`replay: cannot read ${path}: ${(e as Error).message}`);
  }
  const p = ReplayFileSchema.safeParse(raw);
  if (!p.success)
    throw new RangeError(
      `replay: ${path} is not a folio-race replay file: ${p.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  const file = p.data;
  let policy: Policy;
  try {
    policy = typeof file.policy === 'string' ? getPolicy(file.policy) : checkPolicy(file.policy as Policy);
  } catch (e) {
    throw new RangeError(`replay: ${path}: ${(e as Error).message}`);
  }
  // The definition is the scenario as validated and normalised by the tool that wrote the file.
  const def = file.scenario.definition as Partial<Scenario> | null;
  if (!def || typeof def !== 'object' || typeof def.id !== 'string' || typeof def.steps !== 'object' || typeof def.cpus !== 'number' || def.cpus > file.cpus) {
    throw new RangeError(`replay: ${path}: scenario.definition is not a scenario definition for ${file.cpus} CPUs`);
  }
  // Checked like a scenario file: an edited or foreign definition is refused here (exit 2), not
  // found out by a CPU in the middle of the replay.
  let scenario: Scenario;
  try {
    scenario = validateScenario(scenarioSource(def as Scenario), `${path}: scenario.definition`);
  } catch (e) {
    throw new RangeError(`replay: ${(e as Error).message}`);
  }
  return {
    file,
    setup: {
      scenario,
      source: file.scenario.source,
      policy,
      cpus: file.cpus,
      seed: file.seed,
      strategy: file.strategy,
      ...(file.depth !== undefined ? { depth: file.depth } : {}),
      timeless: file.timeless,
    },
  };
}
