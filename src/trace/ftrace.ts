// Formatting trace records as the kernel's page_ref tracepoints print them
// (include/trace/events/page_ref.h, as in Will's trace, spec §1.8):
//   crosvm_VmRunApp-6493 [007] ...2. 144.767288: page_ref_mod: pfn=0x9f83a8 flags=locked|uptodate|swapbacked|mlocked count=4 mapcount=0 mapping=00000000f0e9c5fd mt=4 val=1
// page_ref_mod_and_test and page_ref_freeze (the mod_and_test template) add ` ret=0|1`. Optionally
// followed by what the emulator knows beyond the kernel: ` holder=MLOCK_BATCH fn=mlock_folio`.
// Marks print as `tracing_mark_write: <text> a=<n> b=<n>`. A parser reads both back.
import { HOLDER_NAMES, MappingKind, PG, PG_PRINT_ORDER, type PageFlagName } from '../mm/constants.js';
import type { TraceRecord, TraceRingDims } from './ring.js';

export interface TaskLabel {
  task: string;
  pid: number;
}

export interface FtraceOptions {
  /** Task name and pid shown per CPU (cosmetic). Default `cpu<N>-<1000+N>`. */
  labels?: Record<number, TaskLabel> | ((cpu: number) => TaskLabel);
  /** Append ` holder=... fn=...` (default false: lines are exactly the kernel's). */
  holders?: boolean;
  /** Added to every event time (e.g. to start at 144.767288 s like Will's trace). */
  timeOffsetNs?: number;
  /** Printed pointer per mapping id (`%p` hashes pointers; default: a stable pseudo-hash). */
  mappingPointers?: Record<number, string>;
  /** Include mark lines (default true). */
  marks?: boolean;
  /** Only events of this folio (marks are kept). */
  folio?: number;
}

const FLAG_BIT: Record<string, number> = PG;

/** show_page_flags(): names in the kernel's print order joined by `|` ("" when none). */
export function formatPageFlags(flags: number): string {
  const out: string[] = [];
  for (const n of PG_PRINT_ORDER) if (flags & PG[n]) out.push(n);
  return out.length ? out.join('|') : 'none'; // show_page_flags() prints "none" for no flag
}
/** Inverse of formatPageFlags; throws on an unknown name. */
export function parsePageFlags(s: string): number {
  if (s === '' || s === 'none') return 0;
  let f = 0;
  for (const n of s.split('|')) {
    const bit = FLAG_BIT[n];
    if (bit === undefined) throw new Error(`unknown page flag '${n}'`);
    f |= bit;
  }
  return f;
}

/** `%p` of folio->mapping: 16 hex digits, hashed like the kernel's pointer hashing (stable per id). */
export function mappingPointer(kind: number, id: number, overrides?: Record<number, string>): string {
  if (kind === MappingKind.NONE) return '0000000000000000';
  const o = overrides?.[id];
  if (o !== undefined) return o;
  // FNV-1a over (kind, id): only needs to be stable and distinct per mapping.
  let h = 0x811c9dc5;
  for (const v of [kind, id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, id >>> 24]) {
    h ^= v;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return '00000000' + h.toString(16).padStart(8, '0');
}

function labelOf(cpu: number, opts: FtraceOptions): TaskLabel {
  const l = opts.labels;
  if (typeof l === 'function') return l(cpu);
  return l?.[cpu] ?? { task: `cpu${cpu}`, pid: 1000 + cpu };
}

/**
 * ftrace's `%5lu.%06lu` timestamp without padding, as in Will's trace (the tracing/trace file),
 * or with `ns` digits, `sec.nanoseconds`, as `trace-cmd report -t` prints it.
 */
export function formatTimestamp(ns: number, nanoseconds = false): string {
  const t = Math.round(ns);
  const sec = Math.floor(t / 1e9);
  const rest = t - sec * 1e9;
  return nanoseconds ? `${sec}.${String(rest).padStart(9, '0')}` : `${sec}.${String(Math.floor(rest / 1000)).padStart(6, '0')}`;
}

/** The irqs-off / need-resched / hardirq-softirq / preempt-depth / migrate-disable column. */
function latencyField(preempt: number): string {
  return `...${preempt === 0 ? '.' : Math.min(preempt, 15).toString(16)}.`;
}

/** One line (no newline). */
export function formatFtraceLine(e: TraceRecord, opts: FtraceOptions = {}): string {
  const lab = labelOf(e.cpu, opts);
  const head = `${lab.task}-${lab.pid} [${String(e.cpu).padStart(3, '0')}] ${latencyField(e.preempt)} ${formatTimestamp(e.timeNs + (opts.timeOffsetNs ?? 0))}: `;
  if (e.event === 'mark') return `${head}tracing_mark_write: ${e.fn} a=${e.folio} b=${e.delta}`;
  // page_ref_freeze prints the count it tries to freeze at (val = count) and whether it did (ret).
  const val = e.event === 'page_ref_freeze' ? -e.delta : e.delta;
  let line =
    `${head}${e.event}: pfn=0x${(e.pfn >>> 0).toString(16)} flags=${formatPageFlags(e.flags)} count=${e.count} ` +
    `mapcount=${e.mapcount} mapping=${mappingPointer(e.mappingKind, e.mappingId, opts.mappingPointers)} mt=${e.mt} val=${val}`;
  // mod_and_test: ret = the count reached zero; freeze: ret = the count was frozen (read as 0
  // right after; the model never tries to freeze a folio whose count is already 0);
  // mod_unless: we only trace references actually taken.
  if (e.event === 'page_ref_mod_and_test' || e.event === 'page_ref_freeze') line += ` ret=${e.count === 0 ? 1 : 0}`;
  else if (e.event === 'page_ref_mod_unless') line += ' ret=1';
  if (opts.holders) line += ` holder=${HOLDER_NAMES[e.holder] ?? e.holder} fn=${e.fn}`;
  return line;
}

/** Format records (already merged by sequence, e.g. TraceRing.read().events) as trace text. */
export function formatFtrace(events: readonly TraceRecord[], opts: FtraceOptions = {}): string {
  const lines: string[] = [];
  for (const e of events) {
    if (e.event === 'mark') {
      if (opts.marks === false) continue;
    } else if (opts.folio !== undefined && e.folio !== opts.folio) continue;
    lines.push(formatFtraceLine(e, opts));
  }
  return lines.join('\n');
}

/** A header like `cat trace` prints (comment lines; the parser skips them). */
export function ftraceHeader(d: Pick<TraceRingDims, 'nCpus'>, total: number, lost: number): string {
  return `# tracer: nop\n#\n# entries-in-buffer/entries-written: ${total}/${total + lost}   #P:${d.nCpus}\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n#              | |         |   |||||     |         |`;
}

/** A parsed line. page_ref fields are set for page_ref_* events; what/a/b for marks. */
export interface FtraceLine {
  task: string;
  pid: number;
  cpu: number;
  latency: string;
  /** Preempt depth from the latency column. */
  preempt: number;
  /** Timestamp as printed (seconds with 6 decimals, or 9 from `trace-cmd report -t`) and in ns. */
  timestamp: string;
  timeNs: number;
  event: string;
  /** What follows `event: ` (the tracepoint's own fields, as its TP_printk() prints them). */
  body: string;
  pfn?: number;
  flags?: number;
  flagNames?: PageFlagName[];
  count?: number;
  mapcount?: number;
  mapping?: string;
  mt?: number;
  val?: number;
  ret?: number;
  holder?: string;
  fn?: string;
  what?: string;
  a?: number;
  b?: number;
}

// The latency column (irqs-off, need-resched, ...) is absent from `trace-cmd report` without -l.
const LINE_RE = /^\s*(.+)-(\d+)\s+\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+)\.(\d{9}|\d{6}):\s+(\w+):\s?(.*)$/;

/** Parse one ftrace line (kernel or ours); null for comments, stack-trace lines and blanks. */
export function parseFtraceLine(line: string): FtraceLine | null {
  if (line.trim() === '' || line.startsWith('#') || line.startsWith('=>')) return null;
  const m = LINE_RE.exec(line);
  if (!m) return null;
  const [, task, pid, cpu, latency = '', sec, frac, event, rest] = m as unknown as string[];
  const d = latency[3] ?? '.';
  const out: FtraceLine = {
    task: task!,
    pid: Number(pid),
    cpu: Number(cpu),
    latency,
    preempt: d === '.' ? 0 : parseInt(d, 16),
    timestamp: `${sec}.${frac}`,
    timeNs: Number(sec) * 1e9 + Number(frac) * (frac!.length === 6 ? 1000 : 1),
    event: event!,
    body: rest!,
  };
  if (event === 'tracing_mark_write') {
    const mm = /^(.*?)(?: a=(-?\d+))?(?: b=(-?\d+))?$/.exec(rest!)!;
    out.what = mm[1]!;
    if (mm[2] !== undefined) out.a = Number(mm[2]);
    if (mm[3] !== undefined) out.b = Number(mm[3]);
    return out;
  }
  if (!event!.startsWith('page_ref_')) return out;
  const kv = new Map<string, string>();
  for (const tok of rest!.split(' ')) {
    const i = tok.indexOf('=');
    if (i > 0) kv.set(tok.slice(0, i), tok.slice(i + 1));
  }
  const num = (k: string) => (kv.has(k) ? Number(kv.get(k)) : undefined);
  const pfn = kv.get('pfn');
  if (pfn !== undefined) out.pfn = parseInt(pfn, 16);
  const fl = kv.get('flags');
  if (fl !== undefined) {
    out.flags = parsePageFlags(fl);
    out.flagNames = fl === '' || fl === 'none' ? [] : (fl.split('|') as PageFlagName[]);
  }
  const set = <K extends 'count' | 'mapcount' | 'mt' | 'val' | 'ret'>(k: K) => {
    const v = num(k);
    if (v !== undefined) out[k] = v;
  };
  set('count');
  set('mapcount');
  set('mt');
  set('val');
  set('ret');
  const mp = kv.get('mapping');
  if (mp !== undefined) out.mapping = mp;
  const h = kv.get('holder');
  if (h !== undefined) out.holder = h;
  const fn = kv.get('fn');
  if (fn !== undefined) out.fn = fn;
  return out;
}

/** Parse a whole trace text (skips comments and `=> stack` lines). */
export function parseFtrace(text: string): FtraceLine[] {
  const out: FtraceLine[] = [];
  for (const l of text.split('\n')) {
    const p = parseFtraceLine(l);
    if (p) out.push(p);
  }
  return out;
}
