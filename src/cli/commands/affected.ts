// `folio-race affected <scenario>`: "which of my kernels have this bug?" — the scenario run under
// every release range of the kernel table (or the lines given), one verdict per range: the
// failure rate with its 95% interval, and what the pin cost in drains. The verdicts come from
// the emulated kernel running each range's switch set; nothing here knows which ranges are fixed.
// A scenario without a pin has no pin verdict: each range gets the figures of the scenario's
// declared measures instead (the counters behind `measure:`, e.g. S4's COW copies and reuses).
import type { Command } from 'commander';
import { RELEASES, resolveKernels } from '../../policy/releases.js';
import { noteAssumedReleases } from '../policy_flags.js';
import type { PolicyAggregate } from '../../stats/aggregate.js';
import { formatPct } from '../../report/table.js';
import { renderColumns } from '../../report/columns.js';
import { EXIT, UsageError } from '../errors.js';
import type { CliContext } from '../io.js';
import { interruptSignal } from '../signals.js';
import { loadRunStress, loadScenario } from '../modules.js';
import { cpusFlag, outputPathFlag, seedFlag, trialsFlag } from '../validate.js';
import { writeOutput } from '../output.js';
import type { Scenario } from '../../scenario/schema.js';
import { scenarioPins } from '../../scenario/has_pin.js';
import { END_STATE_MEASURES, measureCell, measureDocLines, measureFigures, type MeasureFigure } from '../../report/measures.js';

interface AffectedFlags {
  kernel?: string;
  trials?: string;
  seed?: string;
  cpus?: string;
  mode?: string;
  json?: string;
}

export interface AffectedRow {
  range: string;
  line: string;
  verdict: 'fails' | 'not seen';
  trials: number;
  failures: number;
  rate: number;
  ci95: [number, number];
  /** lru_add_drain() / lru_add_drain_all() calls by GUP per pin_user_pages() call. */
  localDrainsPerPin: number | null;
  drainAllsPerPin: number | null;
  /** Drain works queued on CPUs per pin_user_pages() call. */
  drainWorksPerPin: number | null;
  /** The holder seen most often at failures (the reference ledger). */
  topHolder: string | null;
  /** The figures of the scenario's declared measures under this range. */
  measures: MeasureFigure[];
}

export function affectedRow(range: string, line: string, a: PolicyAggregate, measure: Scenario['measure'] = []): AffectedRow {
  const pins = a.pins.calls;
  const per = (n: number) => (pins > 0 ? n / pins : null);
  const holders = Object.entries(a.attribution.ENOMEM ?? {}).sort((x, y) => y[1] - x[1]);
  return {
    range,
    line,
    verdict: a.failures.total > 0 ? 'fails' : 'not seen',
    trials: a.trials,
    failures: a.failures.total,
    rate: a.rate,
    ci95: a.ci95,
    localDrainsPerPin: a.drainsPerPin.local,
    drainAllsPerPin: a.drainsPerPin.all,
    drainWorksPerPin: per(a.drains.cpusQueued),
    topHolder: holders[0]?.[0] ?? null,
    measures: measureFigures(measure, a),
  };
}

const num = (x: number | null) => (x === null ? '-' : x === 0 ? '0' : x.toFixed(2));

export function renderAffected(rows: readonly AffectedRow[]): string {
  const head = ['line', 'releases', 'verdict', 'fail/trials', 'rate [95% CI]', 'local/pin', 'drain-all/pin', 'works/pin', 'extra reference at failure'];
  const cells = rows.map((r) => [
    r.line,
    r.range,
    r.verdict === 'fails' ? 'FAILS' : 'not seen',
    `${r.failures}/${r.trials}`,
    `${formatPct(r.rate)} [${formatPct(r.ci95[0])}, ${formatPct(r.ci95[1])}]`,
    num(r.localDrainsPerPin),
    num(r.drainAllsPerPin),
    num(r.drainWorksPerPin),
    r.topHolder ?? '-',
  ]);
  return renderColumns(head, cells).join('\n') + '\n';
}

/**
 * The table of a scenario without a pin: per range the counted failures (invariant violations,
 * watchdogs) and one column per figure of its declared measures (end-of-trial states left out:
 * they are not aggregated over trials).
 */
export function renderAffectedMeasures(rows: readonly AffectedRow[]): string {
  const keys: string[] = [];
  const byRow = rows.map((r) => {
    const m = new Map<string, MeasureFigure>();
    for (const f of r.measures) {
      if (f.counter === '-') continue;
      const k = `${f.measure}:${f.counter}`;
      if (!keys.includes(k)) keys.push(k);
      m.set(k, f);
    }
    return m;
  });
  const head = ['line', 'releases', 'fail/trials', 'rate [95% CI]', ...keys.map((k) => k.slice(k.indexOf(':') + 1))];
  const cells = rows.map((r, i) => [
    r.line,
    r.range,
    `${r.failures}/${r.trials}`,
    `${formatPct(r.rate)} [${formatPct(r.ci95[0])}, ${formatPct(r.ci95[1])}]`,
    ...keys.map((k) => {
      const f = byRow[i]!.get(k);
      return f ? measureCell(f) : '-';
    }),
  ]);
  return renderColumns(head, cells).join('\n') + '\n';
}

/** The note under the pin-less table: no pin verdict, what the columns are, what each measure counts. */
export function pinlessNote(s: Pick<Scenario, 'id' | 'measure'>, trials: number): string {
  const end = s.measure.filter((m) => END_STATE_MEASURES.includes(m));
  const lines = [
    `${s.id} has no pin (no pin op in its steps), so there is no pin verdict. fail/trials: trials with a counted failure (an invariant violation or a watchdog) in ${trials}.`,
    `The other columns are its declared measures (measure: ${s.measure.join(', ') || 'none'}): the mean per trial, then the trials in which the counter moved, k/n [95% interval].`,
    ...measureDocLines(s.measure),
  ];
  if (end.length) lines.push(`${end.join(', ')}: end-of-trial states, not aggregated over trials (\`folio-race run ${s.id} --kernel <version>\` prints them).`);
  return lines.join('\n') + '\n';
}

export function registerAffected(program: Command, ctx: CliContext): void {
  program
    .command('affected')
    .description('run a scenario under every kernel release range (folio-race kernels) and print the verdict per range')
    .argument('<scenario>', 'built-in scenario id or a .yaml/.yml/.json file')
    .option('--kernel <versions>', 'only these ranges: versions, lines (6.1.y, mainline) or all (default all)')
    .option('--trials <k>', 'trials per range (default 200)')
    .option('--seed <s>', 'seed (default 1: the same figures every run in deterministic mode)')
    .option('--cpus <n>', "emulated CPUs (default: the scenario's own count)")
    .option('--mode <mode>', 'deterministic (default: seeded cooperative CPUs, reproducible) or free-run (CPU worker threads)')
    .option('--json <file>', 'write the rows as JSON')
    .action(async (scenarioArg: string, f: AffectedFlags) => {
      const mode = f.mode === undefined || f.mode === 'deterministic' ? 'deterministic' : f.mode === 'free-run' ? 'free-run' : null;
      if (!mode) throw new UsageError(`--mode: expected deterministic or free-run, got '${f.mode}'`);
      let policies: ReturnType<typeof resolveKernels>;
      try {
        policies = resolveKernels(f.kernel ?? 'all');
      } catch (e) {
        throw new UsageError(`--kernel: ${(e as Error).message}`);
      }
      noteAssumedReleases(f.kernel ?? '', (l) => ctx.err.write(l));
      const trials = f.trials === undefined ? 200 : trialsFlag(f.trials);
      const seed = f.seed === undefined ? 1 : seedFlag(f.seed);
      const cpusArg = f.cpus === undefined ? undefined : cpusFlag(f.cpus);
      const jsonPath = f.json === undefined ? undefined : outputPathFlag('--json', f.json);
      const scenario = await loadScenario(scenarioArg, cpusArg);
      const cpus = cpusArg ?? scenario.cpus;
      const runStress = await loadRunStress(mode);
      const pinless = !scenarioPins(scenario);
      ctx.err.write(`folio-race affected: ${scenario.id} on ${cpus} CPUs, ${policies.length} release ranges x ${trials} trials, ${mode}, seed ${seed}\n`);
      const rows: AffectedRow[] = [];
      let aborted = false;
      for (const p of policies) {
        const r = RELEASES.find((x) => x.id === p.id)!; // a release's policy id is its range id
        const out = await runStress({ scenario, policy: p, cpus, trials, seed, signal: interruptSignal });
        rows.push(affectedRow(`${r.from}..${r.openEnded ? `${r.to}+` : r.to}`, r.line, out.aggregate, scenario.measure));
        if (out.aborted || interruptSignal.aborted) {
          aborted = true;
          break;
        }
      }
      if (pinless) {
        ctx.out.write(renderAffectedMeasures(rows));
        ctx.out.write('\n' + pinlessNote(scenario, trials));
      } else {
        ctx.out.write(renderAffected(rows));
        ctx.out.write(`\n"FAILS": the pin failed in at least one trial; "not seen": no failure in ${trials} trials (the interval bounds the rate).\n`);
      }
      if (jsonPath !== undefined) {
        const doc = { scenario: scenario.id, cpus, trials, seed, mode, aborted, pin: !pinless, measure: scenario.measure, rows };
        const at = writeOutput(ctx, '--json', jsonPath, JSON.stringify(doc, null, 2) + '\n');
        if (at === jsonPath) ctx.err.write(`folio-race: wrote ${jsonPath}\n`);
      }
      ctx.exitCode = aborted ? EXIT.INTERRUPTED : EXIT.OK;
    });
}
