// Lining up page_ref tracepoint events (include/trace/events/page_ref.h, CONFIG_DEBUG_PAGE_REF)
// of a real kernel with the emulator's `--trace` output: both print ftrace lines of the same
// shape, so the events of one folio compare field by field (event, val, count, flags, mapcount).
import { GUP_PIN_COUNTING_BIAS } from '../mm/constants.js';
import { parseFtraceLine } from './ftrace.js';

export interface PageRefEvent {
  event: string;
  pfn: number;
  flags: string;
  count: number;
  mapcount: number;
  val: number;
}

/** The page_ref events of ftrace lines (kernel or ours), read with the one ftrace parser. */
export function parsePageRef(lines: readonly string[]): PageRefEvent[] {
  const out: PageRefEvent[] = [];
  for (const l of lines) {
    const e = parseFtraceLine(l);
    if (!e?.event.startsWith('page_ref_') || e.pfn === undefined || e.count === undefined || e.val === undefined) continue;
    out.push({
      event: e.event,
      pfn: e.pfn,
      flags: e.flagNames?.length ? e.flagNames.join('|') : 'none',
      count: e.count,
      mapcount: e.mapcount ?? 0,
      val: e.val,
    });
  }
  return out;
}

/** What must agree between the two traces (pfns and timestamps differ by nature). */
export const pageRefFields = (e: PageRefEvent) => `${e.event} val=${e.val} count=${e.count} flags=${e.flags} mapcount=${e.mapcount}`;

/** The pfn of the first long-term pin's reference (+GUP_PIN_COUNTING_BIAS), or null. */
export function pinnedPfn(events: readonly PageRefEvent[]): number | null {
  return events.find((e) => e.val === GUP_PIN_COUNTING_BIAS)?.pfn ?? null;
}

export interface LineUp {
  real: number;
  emulator: number;
  /** Index of the first event that differs (or where one trace ends), null when identical. */
  firstDifference: number | null;
  realAt: string | null;
  emulatorAt: string | null;
}

/** Compare the events of one folio, in order. */
export function lineUp(real: readonly PageRefEvent[], emu: readonly PageRefEvent[]): LineUp {
  const a = real.map(pageRefFields),
    b = emu.map(pageRefFields);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const same = i === a.length && i === b.length;
  return {
    real: a.length,
    emulator: b.length,
    firstDifference: same ? null : i,
    realAt: same ? null : (a[i] ?? '(end)'),
    emulatorAt: same ? null : (b[i] ?? '(end)'),
  };
}
