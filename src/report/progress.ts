// Live progress of a stress run. Trials arrive on an rxjs Subject; `scan` folds them into running
// counts and `auditTime` throttles rendering: a cli-progress bar on stderr when it is a TTY
// (refreshed at most every 100 ms), otherwise one plain line at most every few seconds (logs and
// CI stay readable). Rendering never touches the TrialResults themselves.
import cliProgress from 'cli-progress';
import { Subject, asyncScheduler, auditTime, scan, share, type SchedulerLike, type Subscription } from 'rxjs';
import type { TrialResult } from '../trial/result.js';
import { trialFailed } from '../stats/aggregate.js';
import { formatPct } from './table.js';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Where and how often a progress display renders (stress runs, studies, hunts and searches). */
export interface ProgressRenderOptions {
  stream?: ProgressStream;
  /** Draw a bar (default: the stream is a TTY). */
  tty?: boolean;
  /** Bar refresh interval (default 100 ms). */
  refreshMs?: number;
  /** Plain-line interval when not a TTY (default 5000 ms). */
  plainEveryMs?: number;
  scheduler?: SchedulerLike;
  now?: () => number;
}

/** The render options with their defaults: stderr, a bar when it is a TTY, rxjs's async clock. */
export function renderDefaults(o: ProgressRenderOptions): { stream: ProgressStream; tty: boolean; scheduler: SchedulerLike; now: () => number } {
  const stream = o.stream ?? process.stderr;
  const scheduler = o.scheduler ?? asyncScheduler;
  return { stream, tty: o.tty ?? stream.isTTY === true, scheduler, now: o.now ?? (() => scheduler.now()) };
}

export interface ProgressOptions extends ProgressRenderOptions {
  /** Total trials over all policies. */
  total: number;
  /** What the line says it is the progress of (default `stress`; studies say `study`). */
  label?: string;
}

export interface ProgressState {
  total: number;
  done: number;
  failed: number;
  policy: string;
  policyDone: number;
  policyFailed: number;
}

type ProgressEvent =
  | { kind: 'policy'; policy: string }
  | { kind: 'trial'; failed: boolean }
  | { kind: 'totals'; done: number; failed: number }
  | { kind: 'fewer'; n: number };

function fold(s: ProgressState, e: ProgressEvent): ProgressState {
  if (e.kind === 'policy') return { ...s, policy: e.policy, policyDone: 0, policyFailed: 0 };
  if (e.kind === 'fewer') return { ...s, total: Math.max(s.done, s.total - e.n) };
  // Running totals of trials run elsewhere (worker threads), since the last 'policy'.
  if (e.kind === 'totals')
    return { ...s, done: s.done - s.policyDone + e.done, failed: s.failed - s.policyFailed + e.failed, policyDone: e.done, policyFailed: e.failed };
  const f = e.failed ? 1 : 0;
  return { ...s, done: s.done + 1, failed: s.failed + f, policyDone: s.policyDone + 1, policyFailed: s.policyFailed + f };
}

/** Plain progress line (also used by tests). */
export function progressLine(s: ProgressState, elapsedMs: number, label = 'stress'): string {
  const pct = s.total ? Math.floor((100 * s.done) / s.total) : 100;
  const rate = s.policyDone ? formatPct(s.policyFailed / s.policyDone) : '-';
  return `${label}: ${s.done}/${s.total} trials (${pct}%), ${(elapsedMs / 1000).toFixed(0)}s; ${s.policy}: ${s.policyDone} done, ${s.policyFailed} failed (${rate})\n`;
}

export class StressProgress {
  private readonly events = new Subject<ProgressEvent>();
  private readonly sub: Subscription;
  private latest: ProgressState;
  private bar: cliProgress.SingleBar | null = null;
  private readonly started: number;
  private readonly now: () => number;

  constructor(opts: ProgressOptions) {
    const { stream, tty, scheduler, now } = renderDefaults(opts);
    this.now = now;
    this.started = this.now();
    this.latest = { total: opts.total, done: 0, failed: 0, policy: '', policyDone: 0, policyFailed: 0 };
    const state$ = this.events.pipe(scan(fold, this.latest), share());
    if (tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: stream as NodeJS.WritableStream,
          // What matters first (failures, time left): a narrow terminal cuts the line from the right.
          format: `${opts.label ?? 'stress'} [{bar}] {value}/{total} | {pfailed} failed ({prate}) | eta {eta_formatted} | {policy}: {pdone} done`,
          barsize: Math.max(8, Math.min(30, ((stream as NodeJS.WriteStream).columns ?? 80) - 66)),
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 200,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(opts.total, 0, this.payload(this.latest));
      this.sub = state$.pipe(auditTime(opts.refreshMs ?? 100, scheduler)).subscribe((s) => this.drawBar(s));
    } else {
      this.sub = state$
        .pipe(auditTime(opts.plainEveryMs ?? 5000, scheduler))
        .subscribe((s) => stream.write(progressLine(s, this.now() - this.started, opts.label)));
    }
    this.sub.add(state$.subscribe((s) => (this.latest = s)));
  }

  private payload(s: ProgressState) {
    return { policy: s.policy, pdone: s.policyDone, pfailed: s.policyFailed, prate: s.policyDone ? formatPct(s.policyFailed / s.policyDone) : '-' };
  }
  private drawBar(s: ProgressState): void {
    if (this.bar && this.bar.getTotal() !== s.total) this.bar.setTotal(s.total);
    this.bar?.update(s.done, this.payload(s));
  }

  /** A new policy starts (its trials follow). */
  policy(id: string): void {
    this.events.next({ kind: 'policy', policy: id });
  }
  /** One trial finished (pass as runStress's onTrial). */
  trial(r: TrialResult): void {
    this.events.next({ kind: 'trial', failed: trialFailed(r) });
  }
  /** `n` trials of the total will not run (a study cell whose other trials would repeat its first). */
  fewer(n: number): void {
    if (n > 0) this.events.next({ kind: 'fewer', n });
  }
  /** Trials done and failed so far since the last policy(), as running totals (from worker threads' shared counts). */
  trials(done: number, failed: number): void {
    this.events.next({ kind: 'totals', done, failed });
  }
  get state(): ProgressState {
    return this.latest;
  }
  /** Stop rendering (the bar is cleared; the table follows). Idempotent. */
  stop(): void {
    if (this.sub.closed) return;
    this.drawBar(this.latest);
    this.sub.unsubscribe();
    this.events.complete();
    this.bar?.stop();
    this.bar = null;
  }
}
