// `folio-race study drain-latency | pin-storm | race-window`: the timing studies (src/study/),
// run as sweeps of cells, optionally one shard of the sweep (`--shard i/N`), printed as a table,
// written as a study document (`--json`), and traced for Perfetto / ftrace.
import type { Command } from 'commander';
import { poolThreads } from '../../runtime/pool_jobs.js';
import { DRAIN_MECHANISMS, type DrainMechanism } from '../../mm/policy.js';
import { resolvePolicySpec } from '../../policy/resolve.js';
import type { StudyKind } from '../../study/doc.js';
import type { CellSpec } from '../../study/run_cells.js';
import { UsageError } from '../errors.js';
import { FREE_RUN_MAX_CPUS, MAX_CPUS } from '../../mm/layout.js';
import type { CliContext } from '../io.js';
import { interruptSignal } from '../signals.js';
import { noteAssumedReleases, onePolicyFrom } from '../policy_flags.js';
import type { DrainLatencyParams } from '../../study/studies.js';

/** A --policy text for the drain-latency study, checked here and kept as text for the cells. */
const checkedPolicyText = (raw: string): string => {
  onePolicyFrom({ policy: raw }, 'study drain-latency');
  return raw.trim();
};
import { intFlag, jobsFlag, jobsNote, outputPathFlag, seedFlag, trialsFlag } from '../validate.js';
import { writeOutput } from '../output.js';
import { studyTable } from '../../report/study_table.js';
import { StressProgress } from '../../report/progress.js';

interface TimingFlags {
  cpus?: string;
  mechanisms?: string;
  occupancy?: string;
  spacing?: string;
  hog?: string;
  hogs?: string;
  load?: string;
  refill?: string;
  callers?: string;
  pinners?: string;
  faulters?: string;
  genSkip?: string;
  hogUs?: string;
  jitterUs?: string;
  rounds?: string;
  trials?: string;
  seed?: string;
  policy?: string;
  windows?: string;
  json?: string;
  shard?: string;
  perfetto?: string;
  ftrace?: string;
  deterministic?: boolean;
  model?: string;
  costs?: string;
  progress?: boolean;
  jobs?: string;
}

function list<T>(flag: string, raw: string | undefined, dflt: T[], parse: (s: string) => T): T[] {
  if (raw === undefined) return dflt;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${flag}: an empty item in '${raw}' (expected a comma-separated list such as 1,2,4)`);
  const out = items.map((s) => {
    try {
      return parse(s);
    } catch (e) {
      throw new UsageError(`${flag}: ${(e as Error).message}`);
    }
  });
  if (!out.length) throw new UsageError(`${flag}: expected a comma-separated list`);
  return [...new Set(out)];
}
const num = (min: number, max: number) => (s: string) => {
  const v = Number(s);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`expected numbers from ${min} to ${max}, got '${s}'`);
  return v;
};
const int = (min: number, max: number) => (s: string) => {
  const v = Number(s);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`expected integers from ${min} to ${max}, got '${s}'`);
  return v;
};
const oneOf =
  <T extends string>(xs: readonly T[]) =>
  (s: string): T => {
    if (!xs.includes(s as T)) throw new Error(`expected one of ${xs.join(', ')}, got '${s}'`);
    return s as T;
  };
/** One study policy: anything `--policy` takes that names exactly one variant (kept as written). */
const policyId = (s: string) => {
  const n = resolvePolicySpec(s).length;
  if (n !== 1) throw new Error(`'${s}' names ${n} policies; a study takes one per list item`);
  noteAssumedReleases(s);
  return s;
};
/**
 * A study's parameters as its document keeps them: `later` (dimensions added after the first
 * documents) only where they differ from their defaults, so shards of one sweep written before
 * and after them still merge (`folio-race merge` compares params).
 */
function laterAtDefaults<T extends object>(p: T, d: T, later: readonly (keyof T & string)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // The earlier parameters in their order, then the later ones in `later`'s: documents compare as JSON text.
  for (const [k, v] of Object.entries(p)) if (!later.includes(k as keyof T & string)) out[k] = v;
  for (const k of later) if (JSON.stringify(p[k]) !== JSON.stringify(d[k])) out[k] = p[k];
  return out;
}
/** drain-latency's later dimensions; without a hog cell the number of hogs changes nothing: not kept either. */
function drainLatencyKept(p: DrainLatencyParams, d: DrainLatencyParams): Record<string, unknown> {
  return laterAtDefaults(p.hog.includes('on') ? p : { ...p, hogs: d.hogs }, d, ['hogs', 'refill', 'callers', 'genSkip']);
}

const outPath = (flag: string, raw: string | undefined) => (raw === undefined ? undefined : outputPathFlag(flag, raw));

async function runStudy(kind: StudyKind, f: TimingFlags, ctx: CliContext): Promise<void> {
  const studies = await import('../../study/studies.js');
  const { runCells } = await import('../../study/run_cells.js');
  const doc = await import('../../study/doc.js');
  const { loadScenario } = await import('../../scenario/load.js');
  const shard =
    f.shard === undefined
      ? null
      : (() => {
          try {
            return doc.parseShard(f.shard!);
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        })();
  const model = f.model === undefined ? 'wall' : f.model.trim();
  if (model !== 'wall' && model !== 'logical') throw new UsageError(`--model: expected wall or logical, got '${f.model}'`);
  if (model === 'logical' && f.deterministic)
    throw new UsageError('--model logical and --deterministic: choose one (the logical-time model is deterministic too)');
  if (model === 'wall' && f.costs !== undefined) throw new UsageError('--costs: a cost file is for --model logical');
  if (model === 'logical' && f.perfetto !== undefined) throw new UsageError('--perfetto: not with --model logical (its times are modelled, not traced)');
  const mode = model === 'logical' ? 'logical' : f.deterministic ? 'deterministic' : 'free-run';
  const asked = jobsFlag(f.jobs ?? '1');
  const jobs = poolThreads(asked);
  if (asked > 1 && mode === 'free-run')
    throw new UsageError(`--jobs ${f.jobs}: for --model logical or --deterministic (a free-run cell times worker threads of its own: one cell at a time)`);
  if (asked > 1 && (f.ftrace !== undefined || f.perfetto !== undefined))
    throw new UsageError(`--jobs ${f.jobs}: not with --ftrace or --perfetto (a trace holds one cell after another)`);
  let costs: import('../../cost/model.js').CostModel | undefined;
  if (model === 'logical') {
    const { DEFAULT_COSTS } = await import('../../cost/model.js');
    const { loadCostFile } = await import('../../cost/file.js');
    costs = f.costs === undefined ? DEFAULT_COSTS : loadCostFile(f.costs);
  }
  const maxCpus = model === 'logical' ? MAX_CPUS : FREE_RUN_MAX_CPUS;
  const trials = f.trials === undefined ? undefined : trialsFlag(f.trials);
  const seed = f.seed === undefined ? 1 : seedFlag(f.seed);
  // Output paths are checked before anything runs.
  const jsonPath = outPath('--json', f.json);
  const perfettoPath = outPath('--perfetto', f.perfetto);
  const ftracePath = outPath('--ftrace', f.ftrace);
  const mechanisms = list('--mechanisms', f.mechanisms, undefined as unknown as DrainMechanism[], oneOf(DRAIN_MECHANISMS));
  let params: Record<string, unknown>;
  let cells: CellSpec[];
  if (kind === 'drain-latency') {
    const d = studies.DRAIN_LATENCY_DEFAULTS;
    const p = {
      cpus: list('--cpus', f.cpus, d.cpus, int(1, maxCpus)),
      mechanisms: mechanisms ?? d.mechanisms,
      occupancy: list('--occupancy', f.occupancy, d.occupancy, int(0, 30)),
      // The logical model's busy CPUs reach a scheduling point every busySpacingNs unless told otherwise.
      spacingUs: list('--spacing', f.spacing, costs ? [costs.busySpacingNs / 1000] : d.spacingUs, num(0, 100_000)),
      hog: list('--hog', f.hog, d.hog, oneOf(['off', 'on'] as const)),
      hogs: list('--hogs', f.hogs, d.hogs, int(1, maxCpus - 1)),
      load: list('--load', f.load, d.load, oneOf(['busy', 'idle'] as const)),
      refill: list('--refill', f.refill, d.refill, oneOf(['round', 'continuous'] as const)),
      callers: list('--callers', f.callers, d.callers, int(1, maxCpus)),
      genSkip: list('--gen-skip', f.genSkip, d.genSkip, oneOf(['policy', 'on', 'off'] as const)),
      hogUs: f.hogUs === undefined ? d.hogUs : intFlag('--hog-us', f.hogUs, 1, 1_000_000),
      rounds: f.rounds === undefined ? d.rounds : intFlag('--rounds', f.rounds, 1, 100_000),
      trials: trials ?? d.trials,
      seed,
      policy: f.policy === undefined ? d.policy : checkedPolicyText(f.policy),
    };
    const kept = drainLatencyKept(p, d);
    params = costs ? { ...kept, model: 'logical', costs } : kept;
    const unfit = { count: 0 };
    cells = studies.drainLatencyCells(p, unfit);
    if (unfit.count > 0 && cells.length > 0)
      ctx.err.write(
        `folio-race study drain-latency: ${unfit.count} combination(s) left out: their callers (the first CPUs) and hogs (the last) do not fit in their CPUs (--cpus ${p.cpus.join(',')})\n`,
      );
    // Callers are the first CPUs and a hog cell's hogs the last, different CPUs: a sweep can have no cell.
    if (cells.length === 0)
      throw new UsageError(
        `no cell fits in its CPUs: callers (the first CPUs) and, with --hog on, hogs (the last) must be different CPUs (--cpus ${p.cpus.join(',')}, --callers ${p.callers.join(',')}, --hog ${p.hog.join(',')}, --hogs ${p.hogs.join(',')})`,
      );
  } else if (kind === 'pin-storm') {
    const d = studies.PIN_STORM_DEFAULTS;
    const p = {
      policies: list('--policy', f.policy, d.policies, policyId),
      mechanisms: mechanisms ?? d.mechanisms,
      hog: list('--hog', f.hog, d.hog, oneOf(['off', 'on'] as const)),
      cpus: list('--cpus', f.cpus, d.cpus!, int(1, maxCpus)),
      pinners: list('--pinners', f.pinners, d.pinners!, int(1, maxCpus)),
      faulters: list('--faulters', f.faulters, d.faulters!, int(0, maxCpus)),
      jitterUs: f.jitterUs === undefined ? d.jitterUs! : intFlag('--jitter-us', f.jitterUs, 0, 1_000_000),
      trials: trials ?? d.trials,
      seed,
    };
    const kept = laterAtDefaults(p, d, ['cpus', 'pinners', 'faulters', 'jitterUs']);
    params = costs ? { ...kept, model: 'logical', costs } : kept;
    const unfit = { count: 0 };
    cells = studies.pinStormCells(loadScenario('S5'), p, unfit);
    const scale = `--cpus ${p.cpus.join(',')}, --pinners ${p.pinners.join(',')}, --faulters ${p.faulters.join(',')}`;
    if (cells.length === 0) throw new UsageError(`no scale fits in its CPUs: each needs its pinners, an idle CPU, the hog CPU and its faulters (${scale})`);
    if (unfit.count > 0)
      ctx.err.write(
        `folio-race study pin-storm: ${unfit.count} scale(s) left out: their pinners, an idle CPU, the hog CPU and their faulters do not fit in their CPUs (${scale})\n`,
      );
  } else {
    const d = studies.RACE_WINDOW_DEFAULTS;
    const p = {
      policies: list('--policy', f.policy, d.policies, policyId),
      windowsUs: list('--windows', f.windows, d.windowsUs, num(0, 1_000_000)),
      trials: trials ?? d.trials,
      seed,
    };
    params = costs ? { ...p, model: 'logical', costs } : p;
    cells = studies.raceWindowCells(loadScenario('S1w'), p);
  }
  const mine = doc.selectShard(cells, shard);
  if (shard && mine.length === 0) {
    throw new UsageError(
      `--shard: this sweep has ${cells.length} cells, so shard ${shard.index}/${shard.count} would run none (use at most ${cells.length} shards)`,
    );
  }
  // Logical time has no trace rings: its drains are written as the kernel's tracepoints instead.
  const tracepoints = mode === 'logical' && f.ftrace !== undefined ? new (await import('../../trace/tracepoints.js')).TracepointLog() : undefined;
  const tracing = !tracepoints && (f.perfetto !== undefined || f.ftrace !== undefined);
  ctx.err.write(
    `folio-race study ${kind}: ${mine.length} of ${cells.length} cells${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${mode}, seed ${seed}${jobsNote(asked, jobs)}\n`,
  );
  const traces: { name: string; events: import('../../trace/ring.js').TraceRecord[] }[] = [];
  const done: import('../../study/doc.js').StudyCell[] = [];
  /** Cells whose trials would all have been one trial (logical time, nothing random). */
  const identical: string[] = [];
  const table = studyTable(
    mine.map((c) => c.key),
    doc.timeBasis({ mode, params, hosts: [{ cores: (await import('node:os')).cpus().length, cpuModel: 'this host' }] }),
  );
  ctx.out.write(`${table.header}\n`);
  // Plain progress lines on stderr (at most one per 5 s): a live bar would fight the rows on stdout.
  const progress =
    f.progress === false ? null : new StressProgress({ total: mine.reduce((n, c) => n + c.trials, 0), stream: ctx.err, tty: false, label: 'study' });
  const onCell = (c: CellSpec, o: import('../../study/run_cells.js').CellOutcome) => {
    // A cell stopped part-way is no result: its rate and percentiles are of the trials that ran
    // before the signal, and a merge of shards would take it for whole. Not kept, and said so.
    if (o.aborted) {
      ctx.err.write(`folio-race: cell ${c.key} stopped after ${o.aggregate.trials} of ${c.trials} trials: not kept\n`);
      return;
    }
    done.push({ key: c.key, index: c.index, params: c.params, aggregate: o.aggregate, ...(o.identicalTrials ? { identicalTrials: o.identicalTrials } : {}) });
    if (o.identicalTrials) {
      identical.push(c.key);
      progress?.fewer(o.identicalTrials - o.aggregate.trials);
    }
    if (o.trace) traces.push({ name: c.key, events: o.trace });
    ctx.out.write(`${table.row(c.key, o.aggregate)}\n`);
  };
  let crashed = false;
  try {
    if (jobs > 1 && mode !== 'free-run') {
      progress?.policy(`${jobs} threads`);
      const { runCellsParallel } = await import('../../study/run_cells_parallel.js');
      await runCellsParallel(mine, {
        mode,
        jobs,
        ...(costs ? { costs } : {}),
        signal: interruptSignal,
        onCell,
        ...(progress ? { onProgress: (n: number, failed: number) => progress.trials(n, failed) } : {}),
      });
    } else {
      await runCells(mine, {
        mode,
        ...(costs ? { costs } : {}),
        signal: interruptSignal,
        onCellStart: (c) => progress?.policy(c.key),
        onTrial: (_c, r) => progress?.trial(r),
        ...(tracing ? { tracePerCpu: 4096 } : {}),
        ...(tracepoints ? { tracepoints } : {}),
        onCell,
      });
    }
  } catch (e) {
    crashed = true;
    throw e;
  } finally {
    progress?.stop();
    if (identical.length > 0) {
      const asked = mine.find((c) => c.key === identical[0])!.trials;
      ctx.err.write(
        `folio-race: ${identical.length} cell(s) ran 1 trial of ${asked}: nothing in them is random in logical time (no jitter, no seeded phase), so every trial repeats the first exactly and its copies would narrow the intervals without adding a sample${kind === 'pin-storm' ? "; --jitter-us varies the pinners' and faulters' pauses" : kind === 'drain-latency' ? '; --spacing above 0 with --load busy, or --hogs above 1, seeds a phase per trial' : ''} (${identical.slice(0, 3).join('; ')}${identical.length > 3 ? '; ...' : ''})\n`,
      );
    }
    // Also after a crashed cell: the cells that finished are kept.
    if (done.length < mine.length) ctx.err.write(`folio-race: ${done.length} of ${mine.length} cells finished\n`);
    // A document cut short by a signal or by a cell's error says so: its cells are those that finished.
    const out = doc.buildStudyDoc(kind, mode, params, cells.length, shard, done, interruptSignal.aborted || crashed);
    if (jsonPath !== undefined) {
      if (writeOutput(ctx, '--json', jsonPath, JSON.stringify(out, null, 2) + '\n') === jsonPath) ctx.err.write(`folio-race: wrote ${f.json}\n`);
    }
    if (perfettoPath !== undefined) {
      const { toPerfetto } = await import('../../trace/perfetto.js');
      if (writeOutput(ctx, '--perfetto', perfettoPath, JSON.stringify(toPerfetto(traces))) === perfettoPath)
        ctx.err.write(`folio-race: wrote ${f.perfetto} (open in ui.perfetto.dev)\n`);
    }
    if (ftracePath !== undefined && tracepoints) {
      if (writeOutput(ctx, '--ftrace', ftracePath, tracepoints.text()) === ftracePath)
        ctx.err.write(`folio-race: wrote ${f.ftrace} (workqueue, mm_lru_insertion and sched_switch events in logical time; costs --from-trace reads it)\n`);
    } else if (ftracePath !== undefined) {
      const { formatFtrace, ftraceHeader } = await import('../../trace/ftrace.js');
      const text = traces
        .map(
          (t) =>
            `# cell: ${t.name}\n${ftraceHeader({ nCpus: Math.max(1, ...t.events.map((e) => e.cpu + 1)) }, t.events.length, 0)}\n${formatFtrace(t.events, { holders: true })}\n`,
        )
        .join('');
      if (writeOutput(ctx, '--ftrace', ftracePath, text) === ftracePath) ctx.err.write(`folio-race: wrote ${f.ftrace}\n`);
    }
  }
}

function common(cmd: Command): Command {
  return cmd
    .option('--trials <k>', 'trials per cell')
    .option('--seed <s>', 'seed (default 1)')
    .option('--mechanisms <list>', `drain mechanisms: ${DRAIN_MECHANISMS.join(', ')}`)
    .option('--json <file>', 'write the study document (input of `report` and `merge`)')
    .option('--no-progress', 'no progress lines on stderr')
    .option('--shard <i/N>', 'run only shard i of N of the cells (1 <= i <= N); merge the shard documents with `folio-race merge`')
    .option('--perfetto <file>', 'write a Chrome/Perfetto trace of every cell (a process per cell, a track per CPU)')
    .option(
      '--ftrace <file>',
      'write page_ref_* and marker lines, ftrace style (with --model logical: the drains as workqueue, mm_lru_insertion and sched_switch tracepoints)',
    )
    .option('--deterministic', 'run on the deterministic runtime (logical time in steps, reproducible) instead of worker threads')
    .option('--model <wall|logical>', 'wall: time worker threads on this host (default); logical: simulate up to 512 CPUs in logical time with a cost model')
    .option('--costs <file>', 'with --model logical: a cost file (YAML/JSON, any subset of the cost fields; `folio-race costs` lists them)')
    .option(
      '--jobs <n>',
      "with --model logical or --deterministic: threads that run cells, or 'auto' (one per core); the same cells as with 1, in the same order",
      '1',
    );
}

/** Add the timing studies as subcommands of `study`. */
export function registerTimingStudies(study: Command, ctx: CliContext): void {
  common(
    study
      .command('drain-latency')
      .description('lru_add_drain_all() latency vs CPUs, mechanism, batch occupancy, scheduling-point spacing, a non-preemptible CPU, concurrent callers'),
  )
    .option('--cpus <list>', 'CPU counts (default 1,2,4,8; up to 64 on threads, 512 with --model logical)')
    .option('--occupancy <list>', 'lru_add entries per CPU when a drain starts (default 8)')
    .option('--spacing <list>', 'non-preemptible µs between scheduling points on busy CPUs (default 0)')
    .option('--hog <list>', 'off,on: the last CPU runs non-preemptible stretches (default off,on)')
    .option(
      '--hogs <list>',
      'with --hog on: how many CPUs (the last ones) run the stretches, isolated CPUs running RT work (default 1); cells where callers and hogs do not fit in their CPUs are left out, and said so',
    )
    .option('--hog-us <n>', 'length of one non-preemptible stretch, µs (default 250)')
    .option('--load <list>', 'busy,idle: other CPUs run work or sleep between rounds (default busy)')
    .option(
      '--refill <list>',
      'round,continuous: busy CPUs put their drained folios back once per round, or one at every scheduling point, as CPUs that keep adding folios (default round)',
    )
    .option('--callers <list>', 'CPUs calling lru_add_drain_all() at once each round, CPUs 0..k-1 (default 1); cells with more callers than CPUs are left out')
    .option('--gen-skip <list>', 'policy,on,off: the generation skip of eef1a429f234 (v5.8) as the policy has it, or forced on or off (default policy)')
    .option('--rounds <n>', 'drain-alls per trial (default 20)')
    .option('--policy <id>', 'kernel variant (default v6.11)')
    .action(async (f: TimingFlags) => {
      await runStudy('drain-latency', f, ctx);
    });
  common(
    study.command('pin-storm').description("S5 per policy, at its scale or a server's: pin latency and drains per pin, with and without a non-preemptible CPU"),
  )
    .option('--policy <list>', 'policies (default v6.11,merged,pin-refs-fix,targeted-extraction)')
    .option('--hog <list>', "on,off: the hog CPU (S5's CPU 5) non-preemptible, or the same time preemptible (default on,off)")
    .option('--cpus <list>', 'CPU counts: S5 scaled to each (default 8; up to 64 on threads, 512 with --model logical)')
    .option('--pinners <list>', 'vCPU threads pinning guest pages, CPUs 0..k-1, 8 pages each (default 4, as S5)')
    .option(
      '--faulters <list>',
      'CPUs faulting anonymous pages, keeping their lru_add batches busy, after the hog CPU (default 1, as S5); scales that do not fit in their CPUs are left out',
    )
    .option(
      '--jitter-us <n>',
      "a random extra pause of up to n µs after each pin and each fault (seeded): arrivals out of step, and in logical time trials that differ (default 0: S5's fixed pauses, one trial repeated)",
    )
    .action(async (f: TimingFlags) => {
      await runStudy('pin-storm', f, ctx);
    });
  common(study.command('race-window').description('S1 per policy: failure rate against race-window length'))
    .option('--policy <list>', 'policies (default v6.11,hugh-unevictable,merged)')
    .option('--windows <list>', 'race windows, µs (default 0,10,25,50,100,200)')
    .action(async (f: TimingFlags) => {
      await runStudy('race-window', f, ctx);
    });
}
