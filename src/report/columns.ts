// Plain aligned text tables, for every command that prints columns (kernels, affected, kernel,
// the vmstat table): one implementation of widths, padding and the rule under the header.

function pad(s: string, w: number, right: boolean): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/**
 * A plain aligned table: the header, a rule of dashes, the rows; columns two spaces apart, each as
 * wide as its widest cell, left-aligned unless `right(i)`. Returns the lines (no newlines).
 */
export function renderColumns(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  opts: { right?: (i: number) => boolean; indent?: string } = {},
): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = opts.right ?? (() => false);
  const line = (cells: readonly string[]) => `${opts.indent ?? ''}${cells.map((c, i) => pad(c, w[i]!, right(i))).join('  ')}`.trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}
