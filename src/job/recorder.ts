// What one CPU observes during a trial, as the kernel model reports it: drain-all and pin
// records, and the failures they imply (an -ENOMEM pin with the ledger's attribution taken when
// migration gave up; a long-term pin that returned an unpinnable folio, I9). Used by every
// runtime so a failure reads the same whichever runtime found it.
import { describeFolioHolders } from '../check/ledger.js';
import { Errno } from '../mm/constants.js';
import type { DrainAllRecord, KernelCtx, KernelObserver, PinRecord } from '../mm/context.js';
import type { Failure } from '../trial/result.js';
import { errnoName } from '../mm/errno.js';
import { folio_is_longterm_pinnable, fw } from '../mm/folio.js';
import { C, F, NR_STATS, cpuBase } from '../mm/layout.js';

/** What one CPU recorded in one trial (merged with the others' by coordinator/assemble.ts). */
export interface CpuTrialRecord {
  trial: number;
  pins: PinRecord[];
  drainAlls: DrainAllRecord[];
  failures: Failure[];
}

/**
 * The CPUs' records of one trial merged, in CPU order, after `first` failures (the runtime's
 * own and the job's checks). Plain loops: this runs once per trial of the deterministic
 * runtime, tens of thousands of times a second, where flatMap and spreads showed in profiles.
 */
export function mergeRecords(records: readonly CpuTrialRecord[], first: readonly Failure[]): Pick<CpuTrialRecord, 'pins' | 'drainAlls' | 'failures'> {
  const pins: PinRecord[] = [];
  const drainAlls: DrainAllRecord[] = [];
  const failures: Failure[] = first.slice();
  for (const r of records) {
    for (const p of r.pins) pins.push(p);
    for (const d of r.drainAlls) drainAlls.push(d);
    for (const f of r.failures) failures.push(f);
  }
  return { pins, drainAlls, failures };
}

export class TrialRecorder implements KernelObserver {
  current: CpuTrialRecord | null = null;
  private lastAttribution: string[] | null = null;

  begin(trial: number): CpuTrialRecord {
    this.current = { trial, pins: [], drainAlls: [], failures: [] };
    this.lastAttribution = null;
    return this.current;
  }

  drainAll(_ctx: KernelCtx, r: Parameters<KernelObserver['drainAll']>[1]): void {
    this.current?.drainAlls.push(r);
  }

  /** Taken at the failure, before putback: the extra references are still where they were. */
  migrateFailed(ctx: KernelCtx, folios: readonly number[]): void {
    const lines = folios.flatMap((f) => describeFolioHolders(ctx.w, ctx.lay, f, { onlyBatches: true }).map((l) => `folio ${f}: ${l}`));
    this.lastAttribution = lines.length ? lines : ['no batch entry held a reference when migration gave up (a transient reference)'];
  }

  pin(ctx: KernelCtx, r: PinRecord): void {
    const rec = this.current;
    if (!rec) return;
    rec.pins.push(r);
    if (r.rc > 0) {
      // I9: every folio a successful long-term pin returns must be pinnable.
      for (const f of r.folios ?? []) {
        if (folio_is_longterm_pinnable(ctx, f)) continue;
        rec.failures.push({
          kind: 'invariant',
          invariant: 'I9',
          cpu: ctx.cpu,
          message: `I9 pin_user_pages(FOLL_LONGTERM) on cpu ${ctx.cpu} returned folio ${f} (pfn 0x${fw(ctx, f, F.PFN).toString(16)}) that is not long-term pinnable`,
          ...(ctx.policy.switches.gupEmptyListSucceeds ? { permittedBy: 'gupEmptyListSucceeds=true' } : {}),
        });
      }
      return;
    }
    if (r.rc === 0) return;
    const attribution = r.attribution ?? this.lastAttribution ?? undefined;
    this.lastAttribution = null;
    rec.failures.push({
      kind: r.rc === Errno.ENOMEM ? 'ENOMEM' : 'pin_error',
      cpu: ctx.cpu,
      message: `pin_user_pages() returned ${errnoName(r.rc)} after ${r.migrateAttempts} migration attempts`,
      ...(attribution ? { attribution } : {}),
    });
  }
}

/** Every CPU's event counters, summed (read at the end of a trial). */
export function sumCpuStats(w: Int32Array, nCpus: number): number[] {
  const stats = new Array<number>(NR_STATS).fill(0);
  for (let c = 0; c < nCpus; c++) {
    const b = cpuBase(c) + C.STATS;
    for (let s = 0; s < NR_STATS; s++) stats[s]! += w[b + s]!;
  }
  return stats;
}
