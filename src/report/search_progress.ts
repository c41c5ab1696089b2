// Live progress of a hunt or an exhaustive search: counts (schedules, interleavings) arrive as
// running totals on an rxjs Subject and `auditTime` throttles rendering, as for stress runs
// (progress.ts): a cli-progress bar on stderr when it is a TTY, its length the search's cap
// (--max-schedules, --max-interleavings), otherwise one plain line at most every few seconds.
import cliProgress from 'cli-progress';
import { Subject, auditTime, type Subscription } from 'rxjs';
import { type ProgressRenderOptions, renderDefaults } from './progress.js';

export interface SearchProgressOptions extends ProgressRenderOptions {
  /** What is searched: `hunt`, `explore`. */
  label: string;
  /** What is counted: `schedules`, `interleavings`. */
  unit: string;
  /** The most the search will count (its cap): the bar's length. */
  cap: number;
}

/** The plain line: the count, of how many at most, the time so far and the rate. */
export function searchProgressLine(label: string, unit: string, count: number, cap: number, elapsedMs: number): string {
  const s = elapsedMs / 1000;
  return `${label}: ${count.toLocaleString('en-US')} ${unit} of at most ${cap.toLocaleString('en-US')}, ${s.toFixed(0)}s (${(count / Math.max(s, 1e-3)).toFixed(0)}/s)\n`;
}

export class SearchProgress {
  private readonly counts = new Subject<number>();
  private readonly sub: Subscription;
  private bar: cliProgress.SingleBar | null = null;
  private latest = 0;
  private readonly started: number;
  private readonly now: () => number;

  constructor(o: SearchProgressOptions) {
    const { stream, tty, scheduler, now } = renderDefaults(o);
    this.now = now;
    this.started = this.now();
    if (tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: stream as NodeJS.WritableStream,
          format: `${o.label} [{bar}] {value} ${o.unit} of at most {total} | {rate}/s | {duration_formatted}`,
          barsize: Math.max(8, Math.min(30, ((stream as NodeJS.WriteStream).columns ?? 80) - 60)),
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(o.cap, 0, { rate: '0' });
      this.sub = this.counts.pipe(auditTime(o.refreshMs ?? 100, scheduler)).subscribe((n) => this.draw(n));
    } else {
      this.sub = this.counts
        .pipe(auditTime(o.plainEveryMs ?? 5000, scheduler))
        .subscribe((n) => stream.write(searchProgressLine(o.label, o.unit, n, o.cap, this.now() - this.started)));
    }
  }

  private draw(n: number): void {
    const s = (this.now() - this.started) / 1000;
    this.bar?.update(n, { rate: (n / Math.max(s, 1e-3)).toFixed(0) });
  }

  /** The count so far (a running total: pass as the search's onProgress). */
  update(count: number): void {
    if (this.sub.closed) return;
    this.latest = count;
    this.counts.next(count);
  }

  get count(): number {
    return this.latest;
  }

  /** Stop rendering (the bar is cleared; the results follow). Idempotent. */
  stop(): void {
    if (this.sub.closed) return;
    this.sub.unsubscribe();
    this.counts.complete();
    this.bar?.stop();
    this.bar = null;
  }
}
