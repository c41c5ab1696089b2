// A real kernel's trace of lru_add_drain_all(), recorded in a QEMU guest: busybox fills each
// vCPU's lru_add batch (a few page-cache pages written by a shell pinned there) and writes
// /proc/sys/vm/compact_memory, whose compact_nodes() starts with lru_add_drain_all()
// (mm/compaction.c), with the workqueue, mm_lru_insertion and sched_switch tracepoints on; the
// guest prints its tracing/trace file between markers. What `costs --from-trace` reads, from the
// kernel itself (its formats; under TCG its times are the emulated CPU's, not a machine's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import { packInitramfs } from './guest_image.js';
import { bootGuest } from './qemu.js';
import type { GuestTools } from './tools.js';

export const DRAIN_TRACE_EVENTS = [
  'workqueue/workqueue_queue_work',
  'workqueue/workqueue_execute_start',
  'workqueue/workqueue_execute_end',
  'pagemap/mm_lru_insertion',
  'sched/sched_switch',
] as const;

const BEGIN = 'FR-TRACE-BEGIN';
const END = 'FR-TRACE-END';

/**
 * The guest's PID 1: tracepoints on, `rounds` rounds of batch fills and a compaction, the trace
 * out. PID 1 forks nothing in a round: a process that exits drains its CPU's batches
 * (exit_mmap() calls lru_add_drain()), so its loops use shell builtins only, over a CPU list
 * made before; each writer's one fork runs before its writes, on its own CPU.
 */
export function drainTraceInit(rounds: number): string {
  const B = '/bin/busybox';
  const T = '/sys/kernel/tracing';
  return [
    `#!${B} sh`,
    `${B} mount -t proc proc /proc`,
    `${B} mount -t sysfs sysfs /sys`,
    `${B} mount -t devtmpfs devtmpfs /dev`,
    `${B} mount -t tracefs tracefs ${T} || echo "FR-NOTE no tracefs (CONFIG_TRACING)"`,
    `${B} mount -t tmpfs -o size=128m tmpfs /tmp`,
    `[ -w /proc/sys/vm/compact_memory ] || echo "FR-NOTE no /proc/sys/vm/compact_memory (CONFIG_COMPACTION)"`,
    `echo 0 > ${T}/tracing_on`,
    `echo 4096 > ${T}/buffer_size_kb`,
    ...DRAIN_TRACE_EVENTS.map((e) => `echo 1 > ${T}/events/${e}/enable || echo "FR-NOTE no ${e} event"`),
    `CPUS=$(${B} seq 0 $(($(${B} nproc) - 1)))`,
    // A writer pinned to each CPU that stays alive between rounds: on each "go" it removes its
    // last round's files (the rm runs and exits on the writer's CPU, whose batch is empty since
    // the compaction), writes 1-8 new page-cache pages (batches of several sizes; a batch holds
    // 15 or 31 folios) with the shell's printf, and answers "ok"; it says "ok" once when it
    // starts. New files: truncating one would drain the CPU's batch.
    'for c in $CPUS; do',
    `  ${B} mkfifo /tmp/go$c /tmp/done$c`,
    `  ${B} taskset -c $c ${B} sh -c "echo ok > /tmp/done$c; i=0; while read go < /tmp/go$c; do ${B} rm -f /tmp/f$c.*; k=0; n=\\$((1 + (i*7+$c*3) % 8)); while [ \\$k -lt \\$n ]; do printf '%4096s' '' > /tmp/f$c.\\$i.\\$k; k=\\$((k+1)); done; echo ok > /tmp/done$c; i=\\$((i+1)); done" &`,
    'done',
    'for c in $CPUS; do read x < /tmp/done$c; [ "$x" = ok ] || echo "FR-NOTE no writer on CPU $c"; done',
    `ROUNDS=$(${B} seq 1 ${rounds})`,
    `echo 1 > ${T}/tracing_on`,
    'for i in $ROUNDS; do',
    '  for c in $CPUS; do echo go > /tmp/go$c; done',
    '  for c in $CPUS; do read x < /tmp/done$c; done',
    '  echo 1 > /proc/sys/vm/compact_memory',
    'done',
    `echo 0 > ${T}/tracing_on`,
    `echo ${BEGIN}`,
    `${B} cat ${T}/trace`,
    `echo ${END}`,
    `${B} sleep 2`, // let the console send what cat wrote: power-off drops the tty's buffer
    `${B} poweroff -f`,
    '',
  ].join('\n');
}

export interface DrainTraceOptions {
  tools: Pick<GuestTools, 'busybox' | 'cpio' | 'qemu'>;
  image: string;
  cpus: number;
  rounds: number;
  timeoutMs: number;
}

/** Boot the guest and return its trace text; throws with the console's tail if it never printed one. */
export async function recordDrainTrace(o: DrainTraceOptions): Promise<string> {
  const stage = mkdtempSync(join(tmpdir(), 'folio-race-drain-trace-'));
  try {
    const initramfs = join(stage, 'initramfs.cpio');
    packInitramfs(join(stage, 'root'), drainTraceInit(o.rounds), o.tools, initramfs);
    const r = await bootGuest({ qemu: o.tools.qemu, image: o.image, initramfs, cpus: o.cpus, memory: '1024M', append: [], timeoutMs: o.timeoutMs });
    // The markers may share their line with a kernel message printed meanwhile.
    const a = r.console.findIndex((l) => l.includes(BEGIN));
    const b = r.console.findIndex((l, i) => i > a && l.includes(END));
    // What the kernel lacks is bad input (exit 2), named; a guest that never got that far, too.
    const notes = r.console.filter((l) => l.includes('FR-NOTE')).map((l) => l.slice(l.indexOf('FR-NOTE') + 8));
    if (notes.length > 0) throw new UsageError(`--image: ${o.image}: the guest cannot record drains: ${[...new Set(notes)].join('; ')}`);
    if (a < 0 || b < a) {
      const why = r.timedOut ? `timed out after ${o.timeoutMs / 1000} s` : (r.panic ?? `exit ${r.exitCode}`);
      const what = a >= 0 ? 'a trace cut short (no end marker)' : 'no trace';
      throw new UsageError(`--image: ${o.image}: the guest printed ${what} (${why}); its console ended:\n${r.console.slice(-15).join('\n')}`);
    }
    return `${r.console.slice(a + 1, b).join('\n')}\n`;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
