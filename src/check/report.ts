// Formatting invariant violations for people: emulator bugs first (nothing permits them), then the
// findings about kernel variants (violations the policy's switches permit, spec §10).
import { emulatorBugs, type InvariantId, type Violation } from './invariants.js';

/** Short names of the invariants of spec §10, for headings. */
export const INVARIANT_TITLES: Record<InvariantId, string> = {
  I1: 'refcount conservation (refcount == sum of the ledger)',
  I2: 'one reference per batch entry',
  I3: 'PG_lru => on exactly the list the flags select',
  I4: 'on a list with PG_lru clear only while a batch entry owns it',
  I5: 'lru_add / NEW mlock entries are off the LRU',
  I6: "6.11+: at most one LRU batch entry, then PG_lru clear (David's invariant)",
  I7: 'mlocked and on the LRU => unevictable',
  I8: 'unevictable placement is justified (not stranded)',
  I9: 'long-term pins only on pinnable folios',
  I10: 'a failed pin holds no pins',
  I11: 'mlock_count <= locked mappings',
  I12: 'NR_MLOCK == pages of PG_mlocked folios',
  I13: 'batches at rest: <= capacity - 1, no large folio, empty while lru_cache_disable()d',
  I14: 'only the owning CPU mutates its batches',
  I15: 'migration commits only at refcount == expected + 1',
  I16: 'mlock_count never negative, only set on the unevictable LRU',
  I17: 'drainGen only increases',
  I18: 'isolation: one ref, off-list, PG_lru clear',
};

const ORDER: InvariantId[] = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9', 'I10', 'I11', 'I12', 'I13', 'I14', 'I15', 'I16', 'I17', 'I18'];

export interface ViolationSummary {
  total: number;
  bugs: number;
  findings: number;
  /** Count per invariant id, split into bugs and permitted findings. */
  byId: Partial<Record<InvariantId, { bugs: number; findings: number }>>;
  /** Permitted findings per permitting switch. */
  byPermit: Record<string, number>;
}

export function summarizeViolations(vs: readonly Violation[]): ViolationSummary {
  const s: ViolationSummary = { total: vs.length, bugs: 0, findings: 0, byId: {}, byPermit: {} };
  for (const v of vs) {
    const e = (s.byId[v.id] ??= { bugs: 0, findings: 0 });
    if (v.permittedBy === undefined) {
      s.bugs++;
      e.bugs++;
    } else {
      s.findings++;
      e.findings++;
      s.byPermit[v.permittedBy] = (s.byPermit[v.permittedBy] ?? 0) + 1;
    }
  }
  return s;
}

/** One line per violation; permitted ones carry `[permitted by ...]`. */
export function formatViolation(v: Violation): string {
  return v.permittedBy === undefined ? v.message : `${v.message} [permitted by ${v.permittedBy}]`;
}

/**
 * A report block: emulator bugs grouped by invariant, then variant findings. `maxPerId` caps the
 * lines printed per invariant (the count is still given).
 */
export function formatViolations(vs: readonly Violation[], opts: { maxPerId?: number; policy?: string } = {}): string {
  if (vs.length === 0) return `invariants: all hold${opts.policy ? ` (${opts.policy})` : ''}`;
  const max = opts.maxPerId ?? 5;
  const lines: string[] = [];
  const bugs = emulatorBugs(vs);
  const finds = vs.filter((v) => v.permittedBy !== undefined);
  const section = (title: string, list: Violation[]) => {
    if (list.length === 0) return;
    lines.push(`${title} (${list.length}):`);
    for (const id of ORDER) {
      const of = list.filter((v) => v.id === id);
      if (of.length === 0) continue;
      lines.push(`  ${id} ${INVARIANT_TITLES[id]}: ${of.length}`);
      for (const v of of.slice(0, max)) lines.push(`    ${formatViolation(v)}`);
      if (of.length > max) lines.push(`    ... ${of.length - max} more`);
    }
  };
  const pol = opts.policy ? ` under ${opts.policy}` : '';
  section(`emulator bugs${pol} (no variant permits these)`, bugs);
  section(`findings about the kernel variant${pol} (permitted by its switches)`, finds);
  return lines.join('\n');
}
