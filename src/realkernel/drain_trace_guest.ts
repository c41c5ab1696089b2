// A real kernel's trace of lru_add_drain_all(), recorded in a QEMU guest: busybox fills each
// vCPU's lru_add batch (a few page-cache pages written by a shell pinned there) and writes
// /proc/sys/vm/compact_memory, whose compact_nodes() starts with lru_add_drain_all()
// (mm/compaction.c), with the workqueue, mm_lru_insertion and sched_switch tracepoints on; the
// guest prints its tracing/trace file between markers. What `costs --from-trace` reads, from the
// kernel itself (its formats; under TCG its times are the emulated CPU's, not a machine's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The guest's PID 1: tracepoints on, `rounds` rounds of batch fills and a compaction, the trace out. */
export function drainTraceInit(rounds: number): string {
  const B = '/bin/busybox';
  const T = '/sys/kernel/tracing';
  return [
    `#!${B} sh`,
    `${B} mount -t proc proc /proc`,
    `${B} mount -t sysfs sysfs /sys`,
    `${B} mount -t devtmpfs devtmpfs /dev`,
    `${B} mount -t tracefs tracefs ${T}`,
    `${B} mount -t tmpfs -o size=128m tmpfs /tmp`,
    `echo 0 > ${T}/tracing_on`,
    `echo 4096 > ${T}/buffer_size_kb`,
    ...DRAIN_TRACE_EVENTS.map((e) => `echo 1 > ${T}/events/${e}/enable || echo "FR-NOTE no ${e}"`),
    `N=$(${B} nproc)`,
    // A writer pinned to each CPU that stays alive between rounds (an exiting process drains its
    // CPU's batches: exit_mmap() calls lru_add_drain()): on each "go" it writes 1-8 page-cache
    // pages (batches of several sizes; a batch holds 15 or 31 folios) with the shell's printf.
    `for c in $(${B} seq 0 $((N-1))); do`,
    `  ${B} mkfifo /tmp/go$c /tmp/done$c`,
    `  ${B} taskset -c $c ${B} sh -c "i=0; while read go < /tmp/go$c; do k=0; n=\\$((1 + (i*7+$c*3) % 8)); while [ \\$k -lt \\$n ]; do printf '%4096s' '' > /tmp/f$c.\\$i.\\$k; k=\\$((k+1)); done; echo ok > /tmp/done$c; i=\\$((i+1)); done" &`,
    'done',
    `${B} sleep 1`,
    `echo 1 > ${T}/tracing_on`,
    `for i in $(${B} seq 1 ${rounds}); do`,
    `  for c in $(${B} seq 0 $((N-1))); do echo go > /tmp/go$c; done`,
    `  for c in $(${B} seq 0 $((N-1))); do read x < /tmp/done$c; done`,
    '  echo 1 > /proc/sys/vm/compact_memory',
    'done',
    `echo 0 > ${T}/tracing_on`,
    `echo 4096 > ${T}/buffer_size_kb`,
    ...DRAIN_TRACE_EVENTS.map((e) => `echo 1 > ${T}/events/${e}/enable || echo "FR-NOTE no ${e}"`),
    `N=$(${B} nproc)`,
    `echo 1 > ${T}/tracing_on`,
    `for i in $(${B} seq 1 ${rounds}); do`,
    // 1-8 pages per CPU and round: batches of several sizes (a batch holds 15 or 31 folios).
    `  for c in $(${B} seq 0 $((N-1))); do ${B} taskset -c $c ${B} dd if=/dev/zero of=/tmp/f$c.$i bs=4k count=$((1 + (i*7+c*3) % 8)) 2>/dev/null; done`,
    '  echo 1 > /proc/sys/vm/compact_memory',
    'done',
    `echo 0 > ${T}/tracing_on`,
    `echo ${BEGIN}`,
    `${B} cat ${T}/trace`,
    `echo ${END}`,
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
    if (a < 0 || b < a) {
      const why = r.timedOut ? `timed out after ${o.timeoutMs / 1000} s` : (r.panic ?? `exit ${r.exitCode}`);
      throw new Error(`the guest printed no trace (${why}); its console ended:\n${r.console.slice(-15).join('\n')}`);
    }
    const notes = r.console.filter((l) => l.startsWith('FR-NOTE'));
    if (notes.length > 0) throw new Error(`the guest kernel lacks tracepoints: ${notes.join('; ')}`);
    return `${r.console.slice(a + 1, b).join('\n')}\n`;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
