// Merge what each CPU reported for a batch into one TrialResult per trial.
import type { BatchResult, CpuTrialRecord } from '../cpu/worker_main.js';
import type { TrialResult } from '../trial/result.js';

/**
 * Trials with a leader record are complete. A trial some CPU started but no leader closed was
 * cut short: by the watchdog (reported as such) or by a stop/crash (reported by the caller).
 */
export function assembleTrials(batch: BatchResult[], first: number, count: number, watchdog: boolean, watchdogDetail = '', watchdogCpu = -1): TrialResult[] {
  const out: TrialResult[] = [];
  const leaders = new Map(batch.flatMap((b) => b.leader).map((l) => [l.trial, l]));
  const byTrial = new Map<number, CpuTrialRecord[]>();
  for (const b of batch)
    for (const r of b.records) {
      const list = byTrial.get(r.trial);
      if (list) list.push(r);
      else byTrial.set(r.trial, [r]);
    }
  for (let t = first; t < first + count; t++) {
    const leader = leaders.get(t);
    const recs = byTrial.get(t) ?? [];
    if (!leader && recs.length === 0) break;
    const r: TrialResult = {
      trial: t,
      failures: [...(leader?.failures ?? []), ...recs.flatMap((x) => x.failures)],
      pins: recs.flatMap((x) => x.pins),
      drainAlls: recs.flatMap((x) => x.drainAlls),
      stats: leader?.stats ?? [],
      durationNs: leader?.durationNs ?? 0,
    };
    if (!leader) {
      if (!watchdog) break; // stopped or crashed mid-trial: not a result
      r.failures.push({
        kind: 'watchdog',
        cpu: watchdogCpu,
        message: `trial ${t} did not finish before the watchdog fired${watchdogDetail ? `: ${watchdogDetail}` : ''}`,
      });
    }
    out.push(r);
  }
  return out;
}
