// What the guest program prints (guest/fr_runtime.h): `FR-<KIND> <json>` lines on the serial
// console among the kernel's own messages. Parsed and checked here; anything else is console.
import { z } from 'zod';

const PinSchema = z.object({
  cpu: z.number().int(),
  path: z.string(),
  errno: z.number().int(),
  /** 1: the pfn changed across the pin (migrated); 0: same page; -1: unknown. */
  moved: z.number().int(),
  movableAfter: z.number().int(),
  /** The page's pfn before the pin (0: not present). */
  pfn: z.number().int().optional(),
});
const TrialSchema = z.object({
  trial: z.number().int(),
  pins: z.array(PinSchema),
  /** -1: no tracefs in the guest. */
  drainWorks: z.number().int(),
  drainWorksByCpu: z.record(z.string(), z.number().int()),
  vmstat: z.record(z.string(), z.number()),
  opError: z.string().optional(),
});
const BeginSchema = z.object({
  release: z.string(),
  version: z.string(),
  cpus: z.number().int(),
  movableZone: z.tuple([z.number(), z.number()]),
  trace: z.number().int(),
  /** 1: page_ref tracepoints (CONFIG_DEBUG_PAGE_REF) are traced in each scenario's first trial. */
  pageRef: z.number().int().optional(),
});
const ScenarioSchema = z.object({ id: z.string(), trials: z.number().int() });
const PageRefSchema = z.object({ scenario: z.string(), line: z.string() });

export type GuestPin = z.infer<typeof PinSchema>;
export type GuestTrial = z.infer<typeof TrialSchema>;
export type GuestBegin = z.infer<typeof BeginSchema>;

export interface GuestScenarioResult {
  id: string;
  trials: GuestTrial[];
  /** The first trial's page_ref trace lines of its first pinned page (CONFIG_DEBUG_PAGE_REF kernels). */
  pageRef: string[];
}

export interface GuestRun {
  begin: GuestBegin | null;
  scenarios: GuestScenarioResult[];
  ended: boolean;
  exitStatus: number | null;
  fatal: string | null;
  notes: string[];
}

export function emptyRun(): GuestRun {
  return { begin: null, scenarios: [], ended: false, exitStatus: null, fatal: null, notes: [] };
}

/** Fold one console line into the run; returns the trial it added, if any. */
export function parseGuestLine(run: GuestRun, raw: string): GuestTrial | null {
  const line = raw.replace(/\r$/, '');
  const m = /(?:^|\s)FR-([A-Z]+)(?: (.*))?$/.exec(line);
  if (!m) return null;
  const [, kind, rest = ''] = m;
  const json = (): unknown => {
    try {
      return JSON.parse(rest);
    } catch {
      throw new Error(`guest printed a malformed FR-${kind} line: ${line.slice(0, 200)}`);
    }
  };
  switch (kind) {
    case 'BEGIN':
      run.begin = BeginSchema.parse(json());
      return null;
    case 'SCENARIO': {
      const s = ScenarioSchema.parse(json());
      run.scenarios.push({ id: s.id, trials: [], pageRef: [] });
      return null;
    }
    case 'TRIAL': {
      const t = TrialSchema.parse(json());
      const cur = run.scenarios[run.scenarios.length - 1];
      if (!cur) throw new Error('guest printed a trial before its scenario');
      cur.trials.push(t);
      return t;
    }
    case 'PAGEREF': {
      const p = PageRefSchema.parse(json());
      const cur = run.scenarios.find((x) => x.id === p.scenario);
      if (!cur) throw new Error(`guest printed page_ref lines of an unknown scenario '${p.scenario}'`);
      cur.pageRef.push(p.line);
      return null;
    }
    case 'END':
      run.ended = true;
      return null;
    case 'EXIT':
      run.exitStatus = Number(rest.trim());
      return null;
    case 'FATAL':
      run.fatal = String(json());
      return null;
    case 'NOTE':
      run.notes.push(String(json()));
      return null;
    default:
      return null; // FR-INIT and future kinds
  }
}
