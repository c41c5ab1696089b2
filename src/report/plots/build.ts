// Figures (src/report/plots/figure.ts) from study documents, one plot per question; values a log
// axis cannot draw (zero latencies in logical time) are named in the figure's note.
import type { StudyDoc } from '../../study/doc.js';
import { drainLatencyFigures } from './drain_latency.js';
import type { Figure } from './figure.js';
import { pinStormFigures } from './pin_storm.js';
import { raceWindowFigures } from './race_window.js';

export function buildFigures(docs: readonly StudyDoc[]): Figure[] {
  const figs: Figure[] = [];
  for (const d of docs) {
    if (d.study === 'drain-latency') figs.push(...drainLatencyFigures(d));
    else if (d.study === 'pin-storm') figs.push(...pinStormFigures(d));
    else figs.push(...raceWindowFigures(d));
  }
  return uniqueIds(figs).map(noteUndrawable);
}

/** Two documents of one study give figures of the same id: the second becomes `<id>-2` (HTML ids, figures.json). */
function uniqueIds(figs: readonly Figure[]): Figure[] {
  const seen = new Map<string, number>();
  return figs.map((f) => {
    const n = (seen.get(f.id) ?? 0) + 1;
    seen.set(f.id, n);
    return n === 1 ? f : { ...f, id: `${f.id}-${n}` };
  });
}

/** Can this point be drawn on the figure's axes (positive values on log axes)? */
export function drawable<P extends { x: number | string; y: number | null }>(f: Figure, p: P): p is P & { y: number } {
  if (p.y === null || !Number.isFinite(p.y)) return false;
  if (f.logY && p.y <= 0) return false;
  return !(f.kind === 'lines' && f.logX && !(Number(p.x) > 0));
}

function noteUndrawable(f: Figure): Figure {
  if (!f.logX && !f.logY) return f;
  const hidden = f.series.filter((s) => s.points.some((p) => p.y !== null && !drawable(f, p))).map((s) => s.name);
  if (!hidden.length) return f;
  const all = f.series.filter((s) => hidden.includes(s.name) && s.points.every((p) => p.y === null || !drawable(f, p))).map((s) => s.name);
  const some = hidden.filter((n) => !all.includes(n));
  const parts = [all.length ? `${all.join(', ')} (all values 0)` : '', some.length ? `the zero values of ${some.join(', ')}` : ''].filter(Boolean);
  return { ...f, note: `${f.note ? `${f.note} ` : ''}Not drawn on the log axis: ${parts.join('; ')}.` };
}
