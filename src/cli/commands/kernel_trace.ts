// `folio-race kernel-trace --image <bzImage> --out trace.txt`: a real kernel's own tracepoints
// around lru_add_drain_all() (workqueue, mm_lru_insertion, sched_switch), recorded in a QEMU guest
// (realkernel/drain_trace_guest.ts), written to a file `costs --from-trace` reads, and fitted.
import type { Command } from 'commander';
import { DEFAULT_COSTS } from '../../cost/model.js';
import type { CliContext } from '../io.js';
import { writeOutput } from '../output.js';
import { UsageError } from '../errors.js';
import { intFlag, outputPathFlag } from '../validate.js';
import { checkImageFlag } from './kernel.js';

interface Flags {
  image?: string;
  out?: string;
  cpus?: string;
  rounds?: string;
  timeout?: string;
  qemu?: string;
}

export function registerKernelTrace(program: Command, ctx: CliContext): void {
  program
    .command('kernel-trace')
    .description(
      "boot a kernel under QEMU and record its own tracepoints around lru_add_drain_all() (each vCPU's lru_add batch filled, compact_memory written): a trace file for costs --from-trace",
    )
    .option('--image <file>', 'the kernel to boot (bzImage / vmlinuz), with tracefs and the workqueue, pagemap and sched events')
    .option('--out <file>', 'where the trace goes (the guest tracing/trace text)')
    .option('--cpus <n>', 'vCPUs (default 4)')
    .option('--rounds <n>', 'rounds of batch fills, each followed by a compaction and so one lru_add_drain_all() (default 12)')
    .option('--timeout <s>', 'give up on the guest after this many seconds (default 60, + 2 per round, + 5 per vCPU)')
    .option('--qemu <path>', 'qemu-system-x86_64 to use')
    .addHelpText(
      'after',
      `
The guest runs under TCG: the trace's formats and the kernel's drain behaviour are the kernel's,
its times are the emulated CPU's. For a machine's own costs, record on the machine itself
(docs/timing-studies.md). Example:
  folio-race kernel-trace --image /boot/vmlinuz-6.1.0-57-amd64 --out drains.txt
  folio-race costs --from-trace drains.txt`,
    )
    .action(async (f: Flags) => {
      if (f.image === undefined) throw new UsageError('--image: the kernel to boot is required');
      if (f.out === undefined) throw new UsageError('--out: where to write the trace is required');
      if (f.out === '-') throw new UsageError('--out: name a file (the fit goes to stdout)');
      const out = outputPathFlag('--out', f.out);
      const cpus = f.cpus === undefined ? 4 : intFlag('--cpus', f.cpus, 1, 64);
      const rounds = f.rounds === undefined ? 12 : intFlag('--rounds', f.rounds, 1, 1000);
      // TCG boots and runs a vCPU at a time: more vCPUs, more time.
      const timeoutS = f.timeout === undefined ? 60 + 2 * rounds + 5 * cpus : intFlag('--timeout', f.timeout, 10, 86400);
      const version = checkImageFlag(f.image);
      const { findGuestTools } = await import('../../realkernel/tools.js');
      const tools = findGuestTools(f.qemu === undefined ? {} : { qemu: f.qemu }, 'kernel-trace');
      ctx.err.write(`folio-race kernel-trace: ${rounds} drains on ${cpus} vCPUs of ${f.image} (${version.split(' ')[0]}) under QEMU\n`);
      const { recordDrainTrace } = await import('../../realkernel/drain_trace_guest.js');
      const text = await recordDrainTrace({ tools, image: f.image, cpus, rounds, timeoutMs: timeoutS * 1000 });
      const written = writeOutput(ctx, '--out', out, text); // a failed write goes to a temporary file, named on stderr
      if (written === out) ctx.err.write(`folio-race: wrote ${f.out}\n`);
      const { costFileFromFit, fitCostsFromTrace } = await import('../../cost/from_trace.js');
      const { parseFtrace } = await import('../../trace/ftrace.js');
      ctx.out.write(costFileFromFit(fitCostsFromTrace(parseFtrace(text), DEFAULT_COSTS), written === out || written === '' ? f.out : written));
    });
}
