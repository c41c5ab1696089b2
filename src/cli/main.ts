#!/usr/bin/env node
// The `folio-race` command line (commander). Every command lives in commands/<name>.ts; this
// file assembles them, maps commander's own errors to exit 2 (exitOverride) and hands the
// outcome to the single top-level handler, which stops all worker threads before the process
// ends. Exit codes: 0 done, 1 --fail-on matched or a failure found, 2 bad usage or input,
// 3 internal error, 130 interrupted.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { toolVersion } from '../report/json.js';
import { registerDemo } from './commands/demo.js';
import { registerExplain } from './commands/explain.js';
import { registerList } from './commands/list.js';
import { registerPolicies } from './commands/policies.js';
import { registerKernels } from './commands/kernels.js';
import { registerAffected } from './commands/affected.js';
import { registerKernel } from './commands/kernel.js';
import { registerKernelTrace } from './commands/kernel_trace.js';
import { registerRun } from './commands/run.js';
import { registerStress } from './commands/stress.js';
import { registerStudy } from './commands/study.js';
import { registerMerge } from './commands/merge.js';
import { registerReport } from './commands/report.js';
import { registerHunt } from './commands/hunt.js';
import { registerReplay } from './commands/replay.js';
import { registerExplore } from './commands/explore.js';
import { registerCosts } from './commands/costs.js';
import { EXIT, runTopLevel } from './errors.js';
import { outputFailures } from './output.js';
import type { CliContext } from './io.js';
import { shutdownAll } from './modules.js';
import { installInterruptHandlers } from './signals.js';

const EPILOG = `
Exit codes: 0 done; 1 --fail-on <kind> given and such a failure occurred (hunt, explore: a
failure found; replay: not reproduced; kernel: a disagreement); 2 bad usage or input;
3 internal error; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): results so far are still
printed and written.

Examples:
  folio-race list
  folio-race policies
  folio-race kernels 6.12.y
  folio-race affected S1
  folio-race kernel S1 --image /boot/vmlinuz-6.1.0-57-amd64
  folio-race stress S1 --kernel 6.1.150,6.12.45 --trials 200
  folio-race stress S1 --policy v6.11,merged --cpus 8 --trials 500 --seed 1 --json s1.json
  folio-race run S1 --policy v6.11 --trace
`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('folio-race');
  // Set before adding commands: subcommands inherit exitOverride and the output configuration.
  program
    .description("Reproduce, measure and explain races in the Linux kernel's per-CPU folio batching")
    .version(toolVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out.write(s),
      writeErr: (s) => ctx.err.write(s),
      outputError: () => {}, // the top-level handler prints `folio-race: <message>`
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', EPILOG);
  registerList(program, ctx);
  registerExplain(program, ctx);
  registerPolicies(program, ctx);
  registerKernels(program, ctx);
  registerAffected(program, ctx);
  registerKernel(program, ctx);
  registerKernelTrace(program, ctx);
  registerStress(program, ctx);
  registerRun(program, ctx);
  registerDemo(program, ctx);
  registerStudy(program, ctx);
  registerMerge(program, ctx);
  registerReport(program, ctx);
  registerHunt(program, ctx);
  registerReplay(program, ctx);
  registerExplore(program, ctx);
  registerCosts(program, ctx);
  return program;
}

/** Parse `argv` (process.argv shape), run the command, return the exit code (also set on process.exitCode). */
/** A reader that went away (`folio-race ... | head`) is not an error: stop writing, quietly. */
function ignoreEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

export async function main(argv: string[] = process.argv): Promise<number> {
  ignoreEpipe(process.stdout);
  ignoreEpipe(process.stderr);
  installInterruptHandlers();
  const ctx: CliContext = { out: process.stdout, err: process.stderr, exitCode: 0, env: process.env };
  return runTopLevel(
    async () => {
      await buildProgram(ctx).parseAsync(argv);
      // An output that had to go to a temporary file outranks "done" and "--fail-on matched".
      return outputFailures() > 0 && ctx.exitCode <= EXIT.FAIL_ON ? EXIT.OUTPUT : ctx.exitCode;
    },
    shutdownAll,
    ctx.err,
  );
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) void main();
