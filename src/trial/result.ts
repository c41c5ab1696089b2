// What a trial reports, and what the stress/study layers aggregate: the contract between the
// runtimes (coordinator + CPU workers, or the single-thread runtime), the jobs and checks below
// them, and the statistics, reporting and CLI layers above. Below runtime/ so that every layer
// can name a TrialResult without importing a runtime.
import type { DrainAllRecord, PinRecord } from '../mm/context.js';

export type FailureKind = 'ENOMEM' | 'pin_error' | 'invariant' | 'watchdog' | 'emulator';

export interface Failure {
  kind: FailureKind;
  /** CPU where it happened (the pinning CPU for ENOMEM; the crashing CPU for emulator errors). */
  cpu: number;
  /** Script step index and op name running at the time, when known. */
  step?: number;
  op?: string;
  message: string;
  /** Ledger attribution at the time: which holders held the folio's references. */
  attribution?: string[];
  /** Invariant id for kind 'invariant'. */
  invariant?: string;
  /** Set when the policy permits this violation (a finding about the variant). */
  permittedBy?: string;
}

export interface TrialResult {
  trial: number;
  failures: Failure[];
  pins: PinRecord[];
  drainAlls: DrainAllRecord[];
  /** Per-CPU event counters (layout.ts Stat), summed over CPUs. */
  stats: number[];
  /** Wall (free-run) or logical (deterministic) duration in ns. */
  durationNs: number;
  /** Deterministic search only: abandoned part-way as equivalent to an interleaving already explored (no outcome). */
  pruned?: boolean;
}
