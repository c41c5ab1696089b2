// `folio-race replay <file> [--trace]`: re-run a replay file's schedule strictly and check that
// it reproduces: the same failure signature and the identical page_ref_* trace (its sha256).
// Exit 0 when it reproduces, 1 when it no longer does (the kernel model changed, or the file was
// edited), 2 when the file is not a replay file.
import type { Command } from 'commander';
import { readReplayFile, sha256, tracedReplay } from '../../sched/replay_file.js';
import { ScheduleDivergence } from '../../sched/replay.js';
import { EXIT } from '../errors.js';
import type { CliContext } from '../io.js';
import { describeTrialFailures } from './run.js';

export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description('re-run a replay file written by hunt, explore or run --out; verify the same failure and the identical trace')
    .argument('<file>', 'replay file (.replay.json)')
    .option('--trace', 'print the page_ref_* trace lines')
    .action(async (path: string, f: { trace?: boolean }) => {
      const { file, setup } = readReplayFile(path);
      ctx.err.write(
        `folio-race replay: ${file.scenario.id} under ${setup.policy.id} on ${file.cpus} CPUs, seed ${file.seed}, schedule ${file.schedule || '(default order)'}\n`,
      );
      let out: ReturnType<typeof tracedReplay>;
      try {
        out = tracedReplay(setup, file.schedule);
      } catch (e) {
        if (!(e instanceof ScheduleDivergence)) throw e;
        ctx.out.write(`NOT reproduced: ${e.message}\n`);
        ctx.exitCode = EXIT.FAIL_ON;
        return;
      }
      if (f.trace) for (const l of out.trace.split('\n')) if (l) ctx.out.write(l + '\n');
      const fails = describeTrialFailures(out.run.result);
      ctx.out.write(fails.length ? `\nFailures:\n${fails.map((l) => `  ${l}\n`).join('')}` : '\nNo failures.\n');
      const sameSig = out.run.signature === file.signature;
      const sameTrace = sha256(out.trace) === file.traceSha256;
      ctx.out.write(`\nsignature: ${sameSig ? 'same' : `DIFFERENT (file: ${file.signature ?? 'no failure'}; now: ${out.run.signature ?? 'no failure'})`}\n`);
      ctx.out.write(`trace: ${sameTrace ? 'identical' : 'DIFFERENT'} (sha256 ${file.traceSha256.slice(0, 16)}...)\n`);
      ctx.out.write(sameSig && sameTrace ? 'reproduced\n' : 'NOT reproduced\n');
      ctx.exitCode = sameSig && sameTrace ? EXIT.OK : EXIT.FAIL_ON;
    });
}
