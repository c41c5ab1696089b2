// `folio-race demo`: the CPU runtime at work without a scenario. Four emulated CPUs start as
// worker threads; three keep queueing folios on their lru_add batches while CPU 0 calls
// lru_add_drain_all() and checks, by state, that every entry queued before each call was
// drained when it returned. Prints what the drains cost and what the checker found.
import { Coordinator } from '../coordinator/coordinator.js';
import { Stat } from '../mm/layout.js';
import { getPolicy } from '../mm/policy.js';
import { LatencyHistogram } from '../stats/histogram.js';
import type { TrialResult } from '../trial/result.js';

export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const cpus = 4;
  const trials = 20;
  const c = await Coordinator.start({ cpus });
  const results: TrialResult[] = [];
  try {
    await c.configure({
      job: { kind: 'program', name: 'drain', params: { drainers: 1, adders: 3, drains: 20, adds: 60 } },
      policy: getPolicy('v6.11'),
      seed: 1,
    });
    out(`folio-race demo: ${cpus} CPU worker threads; CPUs 1-3 queue folios on their lru_add batches, CPU 0 calls lru_add_drain_all()`);
    const outcome = await c.run({ trials, onTrial: (r) => results.push(r) });
    const lat = new LatencyHistogram();
    let queued = 0;
    let calls = 0;
    for (const r of results)
      for (const d of r.drainAlls) {
        lat.record(d.endNs - d.startNs);
        queued += d.cpusQueued;
        calls++;
      }
    const sum = (s: number) => results.reduce((a, r) => a + (r.stats[s] ?? 0), 0);
    const failures = results.flatMap((r) => r.failures);
    const s = lat.summary();
    out(`trials: ${results.length}/${trials}; lru_add_drain_all() calls: ${calls}, CPUs queued per call: ${(queued / Math.max(1, calls)).toFixed(2)}`);
    out(
      `drain work run on the CPUs' kworkers: ${sum(Stat.DRAIN_WORK_RUN)} (queued ${sum(Stat.DRAIN_ALL_CPUS_QUEUED)}); lru_add batches flushed because full: ${sum(Stat.BATCH_FLUSH_FULL)}`,
    );
    out(`lru_add_drain_all() latency: p50 ${(s.p50 / 1000).toFixed(1)} µs, p99 ${(s.p99 / 1000).toFixed(1)} µs, max ${(s.max / 1000).toFixed(1)} µs`);
    out(
      failures.length === 0
        ? 'checks: every flush returned only after the queued CPUs ran their drain work; invariants I1-I18 held after every trial'
        : `checks FAILED:\n  ${failures.map((f) => f.message).join('\n  ')}`,
    );
    if (outcome.crash) out(`CPU ${outcome.crash.cpu} crashed in ${outcome.crash.op}: ${outcome.crash.message}`);
    out("next: `folio-race study` (Will's race under every kernel variant), `folio-race list`, `folio-race --help`");
    return failures.length === 0 && !outcome.crash ? 0 : 1;
  } finally {
    await c.shutdown();
  }
}
