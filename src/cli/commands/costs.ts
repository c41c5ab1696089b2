// `folio-race costs [file]`: the logical-time model's cost table: each field, its value (the
// defaults, or a cost file's values over them) and where the default comes from. With
// --from-trace, a cost file fitted to a kernel trace of lru_add_drain_all() (cost/from_trace.ts).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadCostFile } from '../../cost/file.js';
import { costFileFromFit, fitCostsFromTrace, TraceFitError } from '../../cost/from_trace.js';
import { parseFtrace } from '../../trace/ftrace.js';
import { UsageError } from '../errors.js';
import { COST_SOURCES, type CostField, DEFAULT_COSTS, isTimeField } from '../../cost/model.js';
import type { CliContext } from '../io.js';

const fmtNs = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toLocaleString('en-US', { maximumFractionDigits: 3 })} µs` : `${ns} ns`);

/** Read and fit a trace; problems name the file (exit 2). */
function fitTrace(path: string, base: typeof DEFAULT_COSTS) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--from-trace: cannot read '${path}': ${(e as Error).message}`);
  }
  try {
    return fitCostsFromTrace(parseFtrace(text), base);
  } catch (e) {
    if (e instanceof TraceFitError) throw new UsageError(`--from-trace: ${path}: ${e.message}`);
    throw e;
  }
}

export function registerCosts(program: Command, ctx: CliContext): void {
  program
    .command('costs')
    .description('the cost model of `study ... --model logical`: every cost, its value and its source (with a file: its values over the defaults)')
    .argument('[file]', 'a cost file (YAML or JSON) to check and show; with --from-trace, the costs the fit takes as given (stepNs, idlePollNs)')
    .option('--json', 'print the cost model as JSON (a starting point for a cost file); with --from-trace, the fit and its measured distributions')
    .option(
      '--from-trace <trace>',
      'fit a cost file to a kernel trace of lru_add_drain_all() (text from trace-cmd report -t or the tracing/trace file: workqueue_queue_work/execute_start/execute_end, with mm_lru_insertion and sched_switch for more fields) and print it',
    )
    .action((file: string | undefined, f: { json?: boolean; fromTrace?: string }) => {
      const m = file === undefined ? DEFAULT_COSTS : loadCostFile(file);
      if (f.fromTrace !== undefined) {
        const fit = fitTrace(f.fromTrace, m);
        ctx.out.write(f.json ? `${JSON.stringify(fit, null, 2)}\n` : costFileFromFit(fit, f.fromTrace));
        return;
      }
      if (f.json) {
        ctx.out.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const fields = Object.keys(COST_SOURCES) as CostField[];
      const w = Math.max(...fields.map((k) => k.length));
      ctx.out.write(`cost model: ${m.name}\n`);
      for (const k of fields) {
        const fmt = isTimeField(k) ? fmtNs : String;
        const changed = m[k] !== DEFAULT_COSTS[k];
        ctx.out.write(`  ${k.padEnd(w)}  ${fmt(m[k]).padStart(10)}${changed ? `  (default ${fmt(DEFAULT_COSTS[k])})` : ''}\n`);
        ctx.out.write(`  ${' '.repeat(w)}  ${COST_SOURCES[k]}\n`);
      }
    });
}
