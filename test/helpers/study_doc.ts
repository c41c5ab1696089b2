// A whole-sweep study document from cells and their outcomes, as `study --json` writes one.
import type { StudyKind, StudyMode } from '../../src/study/doc.js';
import { buildStudyDoc } from '../../src/study/doc.js';
import type { CellOutcome, CellSpec } from '../../src/study/run_cells.js';

export function studyDocOf(kind: StudyKind, mode: StudyMode, params: object, cells: readonly CellSpec[], outs: readonly CellOutcome[]) {
  const done = cells.map((c, i) => ({ key: c.key, index: c.index, params: c.params, aggregate: outs[i]!.aggregate }));
  return buildStudyDoc(kind, mode, params as Record<string, unknown>, cells.length, null, done);
}
