// costs --from-trace on a real kernel's trace: Debian's 6.1.192 (6.1.0-57) under QEMU, busybox
// filling each vCPU's lru_add batch and writing compact_memory (realkernel/drain_trace_guest.ts).
// A recorded trace is kept with the tests (test/data/trace-6.1-qemu-drains.txt.gz: 4 vCPUs, 12
// compactions, TCG, so its times are the emulated CPU's); where QEMU and the image are there the
// guest is booted again and a fresh trace read the same way. What is checked is the reading
// (formats, every drain work matched, the flusher's D sleeps found), not the times.
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateCostFile } from '../src/cost/file.js';
import { costFileFromFit, fitCostsFromTrace, type TraceFit } from '../src/cost/from_trace.js';
import { runCells } from '../src/study/run_cells.js';
import { DRAIN_LATENCY_DEFAULTS, drainLatencyCells } from '../src/study/studies.js';
import { DEFAULT_COSTS } from '../src/cost/model.js';
import { findGuestTools, which } from '../src/realkernel/tools.js';
import { parseFtrace } from '../src/trace/ftrace.js';
import { cli, cliWith } from './helpers/cli.js';

const FIXTURE = join(import.meta.dirname, 'data', 'trace-6.1-qemu-drains.txt.gz');
const dir = mkdtempSync(join(tmpdir(), 'folio-race-kernel-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const IMAGE = process.env['FOLIO_RACE_TEST_KERNEL'] ?? '/boot/vmlinuz-6.1.0-57-amd64';

/**
 * What any trace of `rounds` compactions on `cpus` vCPUs must give. `every`: each drain found
 * work on every CPU (so in the recorded trace; a fresh one may miss one, where a process that
 * exited on a CPU drained its batch first).
 */
function checkReading(text: string, rounds: number, cpus: number, every: boolean): TraceFit {
  const lines = text.split('\n');
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  const f = fitCostsFromTrace(parseFtrace(text), DEFAULT_COSTS);
  expect(f.resolutionNs).toBe(1000); // the tracing/trace file prints µs
  expect(f.onlineCpus).toBe(cpus);
  expect(f.drains).toBe(rounds); // compact_nodes() begins with lru_add_drain_all()
  // The writers pinned to each vCPU leave entries on every CPU's batch: each drain queues them all.
  const queued = count(/workqueue_queue_work: .*function=lru_add_drain_per_cpu /);
  if (every) expect(queued).toBe(rounds * cpus);
  else expect(queued).toBeGreaterThanOrEqual((rounds * cpus) / 2);
  // Every drain work's start and end matched to its queue_work.
  expect(f.measured.work.n).toBe(count(/workqueue_execute_end: .*function lru_add_drain_per_cpu$/));
  expect(f.measured.wakeIdle.n + f.measured.wakePolling.n + f.measured.wakeBusy.n).toBeGreaterThan(0);
  // The flusher sleeps in D (wait_for_completion()), and its wake-ups are found.
  expect(count(/sched_switch: prev_comm=init prev_pid=1 .*prev_state=D /)).toBeGreaterThan(0);
  expect(f.measured.flusherWake.n).toBeGreaterThanOrEqual(rounds / 2);
  expect(f.cpus).toBe(cpus);
  for (const k of ['kworkerWakeIdleNs', 'wakeupNs'])
    expect(
      f.fitted.map((x) => x.field),
      JSON.stringify(f.missing),
    ).toContain(k);
  return f;
}

describe('costs --from-trace on a real kernel trace (6.1.192 under QEMU)', () => {
  test('the recorded trace: every drain and drain work read, idle CPUs and the flusher found', () => {
    const f = checkReading(gunzipSync(readFileSync(FIXTURE)).toString('utf8'), 12, 4, true);
    // mm_lru_insertion per work gives the per-entry fit several batch sizes.
    expect(f.fitted.map((x) => x.field)).toContain('lruMoveNs');
  });

  test('the logical model priced by that fit gives the drain-all latency the kernel showed (within 1.5x)', async () => {
    const f = fitCostsFromTrace(parseFtrace(gunzipSync(readFileSync(FIXTURE)).toString('utf8')), DEFAULT_COSTS);
    const costs = validateCostFile(parseYaml(costFileFromFit(f, 'fixture')), 'fitted.yaml');
    const cells = drainLatencyCells({
      ...DRAIN_LATENCY_DEFAULTS,
      cpus: [4],
      mechanisms: ['workqueue'],
      hog: ['off'],
      load: ['idle'],
      occupancy: [Math.round(f.entriesPerWork)],
      trials: 2,
      rounds: 6,
    });
    const model = (await runCells(cells, { mode: 'logical', costs }))[0]!.aggregate.drainAllLatencyNs.p50;
    const real = f.measured.drainAll.p50;
    expect(f.measured.drainAll.n).toBe(12);
    expect(model / real, `model ${model} ns, kernel ${real} ns`).toBeGreaterThan(1 / 1.5);
    expect(model / real, `model ${model} ns, kernel ${real} ns`).toBeLessThan(1.5);
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
    'folio-race kernel-trace boots the guest again: its trace file reads the same way, and the fit is printed',
    async () => {
      const out = join(dir, 'drains.txt');
      const r = await cliWith({ timeoutMs: 170_000 }, 'kernel-trace', '--image', IMAGE, '--out', out, '--cpus', '4', '--rounds', '6');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/kernel-trace: 6 drains on 4 vCPUs of .* under QEMU/);
      expect(r.out).toMatch(/^# Fitted by folio-race costs --from-trace .*drains\.txt: \d+ drain-alls, drain work on 4 of 4 CPUs seen/);
      checkReading(readFileSync(out, 'utf8'), 6, 4, false);
    },
    180_000,
  );

  test.each([
    [[], /--image: the kernel to boot is required/],
    [['--image', IMAGE], /--out: where to write the trace is required/],
    [['--image', IMAGE, '--out', '/nonexistent-dir/t.txt'], /--out: directory '\/nonexistent-dir' does not exist/],
    [['--image', IMAGE, '--out', 'x.txt', '--cpus', '0'], /--cpus: expected an integer from 1 to 64, got 0/],
    [['--image', IMAGE, '--out', 'x.txt', '--rounds', 'many'], /--rounds: expected an integer/],
    [['--image', 'package.json', '--out', 'x.txt'], /--image: 'package.json' is not an x86 bzImage/],
  ])('kernel-trace %j is refused with exit 2, before any boot', async (args, msg) => {
    const r = await cli('kernel-trace', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });
});
