// costs --from-trace on a real kernel's trace: Debian's 6.1.192 (6.1.0-57) under QEMU, busybox
// filling each vCPU's lru_add batch and writing compact_memory (realkernel/drain_trace_guest.ts).
// A recorded trace is kept with the tests (test/data/trace-6.1-qemu-drains.txt.gz: 4 vCPUs, 12
// compactions, TCG, so its times are the emulated CPU's); where QEMU and the image are there the
// guest is booted again and a fresh trace read the same way. What is checked is the reading
// (formats, every drain work matched, the flusher's D sleeps found), not the times.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { fitCostsFromTrace, type TraceFit } from '../src/cost/from_trace.js';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import { recordDrainTrace } from '../src/realkernel/drain_trace_guest.js';
import { findGuestTools, which } from '../src/realkernel/tools.js';
import { parseFtrace } from '../src/trace/ftrace.js';

const FIXTURE = join(import.meta.dirname, 'data', 'trace-6.1-qemu-drains.txt.gz');
const IMAGE = process.env['FOLIO_RACE_TEST_KERNEL'] ?? '/boot/vmlinuz-6.1.0-57-amd64';

/** What any trace of `rounds` compactions on `cpus` vCPUs must give. */
function checkReading(text: string, rounds: number, cpus: number): TraceFit {
  const lines = text.split('\n');
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  const f = fitCostsFromTrace(parseFtrace(text), DEFAULT_COSTS);
  expect(f.resolutionNs).toBe(1000); // the tracing/trace file prints µs
  expect(f.onlineCpus).toBe(cpus);
  expect(f.drains).toBe(rounds); // one lru_add_drain_all() per compaction
  // Every drain work's start and end matched to its queue_work.
  expect(f.measured.work.n).toBe(count(/workqueue_execute_end: .*function lru_add_drain_per_cpu$/));
  expect(f.measured.wakeIdle.n + f.measured.wakePolling.n + f.measured.wakeBusy.n).toBeGreaterThan(0);
  // The flusher sleeps in D (wait_for_completion()), and its wake-ups are found.
  expect(count(/sched_switch: prev_comm=init prev_pid=1 .*prev_state=D /)).toBeGreaterThan(0);
  expect(f.measured.flusherWake.n).toBeGreaterThanOrEqual(rounds / 2);
  for (const k of ['kworkerWakeIdleNs', 'wakeupNs'])
    expect(
      f.fitted.map((x) => x.field),
      JSON.stringify(f.missing),
    ).toContain(k);
  return f;
}

describe('costs --from-trace on a real kernel trace (6.1.192 under QEMU)', () => {
  test('the recorded trace: every drain and drain work read, idle CPUs and the flusher found', () => {
    const f = checkReading(gunzipSync(readFileSync(FIXTURE)).toString('utf8'), 12, 4);
    // mm_lru_insertion per work gives the per-entry fit several batch sizes.
    expect(f.fitted.map((x) => x.field)).toContain('lruMoveNs');
  });

  const missing = [...['qemu-system-x86_64', 'cpio'].filter((t) => !which(t))];
  try {
    accessSync(IMAGE, constants.R_OK);
    findGuestTools();
  } catch (e) {
    missing.push((e as Error).message.split('\n')[0]!);
  }
  if (missing.length > 0) console.warn(`realkernel-drain-trace: the QEMU boot is SKIPPED: missing ${missing.join(', ')}`);
  test.skipIf(missing.length > 0)(
    'a fresh trace from the guest reads the same way',
    async () => {
      const text = await recordDrainTrace({ tools: findGuestTools(), image: IMAGE, cpus: 4, rounds: 6, timeoutMs: 150_000 });
      checkReading(text, 6, 4);
    },
    180_000,
  );
});
