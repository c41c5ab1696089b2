// `folio-race explain <scenario>`: the setup, the steps per CPU (with the kernel entry point
// each op calls), the race window and what is measured. No outcomes: those come from runs.
import { ANON, MEASURES, scriptedCpus, type Scenario, type Timing } from './schema.js';
import { OP_SPECS, opRow, type Op } from './ops/index.js';

/** One op in words, e.g. `fault on VMA 'guest' page 0 (write)` (each row's `explain`, ops/). */
export function describeOp(op: Op, timing?: Timing): string {
  return opRow(op.op).explain(op, timing);
}

function timingNote(op: Op): string {
  const parts: string[] = [];
  if (op.delayAfterUs !== undefined) parts.push(`then ${op.delayAfterUs} µs pause`);
  if (op.jitterUs !== undefined) parts.push(`+ up to ${op.jitterUs} µs jitter`);
  return parts.length ? ` [${parts.join(' ')}]` : '';
}

function opLines(ops: readonly Op[], indent: string, out: string[], numbered: boolean, timing: Timing): void {
  ops.forEach((op, i) => {
    const kernel = OP_SPECS[op.op].kernel;
    const num = numbered ? `${i + 1}. ` : '- ';
    out.push(`${indent}${num}${describeOp(op, timing)}${timingNote(op)}${kernel !== '-' ? `\n${indent}${' '.repeat(num.length)}-> ${kernel}` : ''}`);
    if (op.op === 'repeat') opLines(op.ops, indent + '     ', out, false, timing);
  });
}

function wrap(text: string, indent: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : indent + l.trimEnd()));
}

/** The full explanation of a scenario, as printed by `folio-race explain`. */
export function explainScenario(s: Scenario): string {
  const out: string[] = [];
  out.push(`${s.id} — ${s.title}`);
  out.push(`(${s.file})`);
  out.push('');
  out.push(...wrap(s.description, '  '));
  out.push('');
  out.push('Setup');
  out.push(`  CPUs: ${s.cpus} at least`);
  out.push(`  User faults allocate from: ${s.alloc.migratetype} pageblocks, zone ${s.alloc.zone}`);
  if (s.objects.length) {
    out.push('  Page-cache objects:');
    for (const o of s.objects) {
      out.push(
        `    ${o.name}: ${o.kind}, ${o.pages} pages, ${o.migratetype ?? s.alloc.migratetype}/${o.zone ?? s.alloc.zone}` +
          `${o.order ? `, order-${o.order} folios (readahead)` : ''}`,
      );
    }
  }
  if (s.vmas.length) {
    out.push('  VMAs:');
    for (const v of s.vmas) {
      const what = v.object === ANON ? 'private anonymous' : `object ${v.object} pages ${v.pgoff}..${v.pgoff + v.pages - 1}`;
      out.push(`    ${v.name}: ${v.pages} pages, ${what}, flags ${v.flags.join('|') || 'none'}, mm ${v.mm}`);
    }
  }
  if (s.folios.length) {
    out.push('  Pre-existing folios (at rest: no batch entries):');
    for (const f of s.folios) {
      const where = f.object === ANON ? 'anon' : `${f.object} index ${f.index}`;
      const place = `${f.migratetype ?? s.objects.find((o) => o.name === f.object)?.migratetype ?? s.alloc.migratetype}`;
      const maps = f.mappedBy.length
        ? `, mapped by ${f.mappedBy.map((m) => `${m.vma} page ${m.page}${m.pages && m.pages > 1 ? `+${m.pages}` : ''}`).join(', ')}`
        : ', unmapped';
      out.push(
        `    ${f.name}${f.count > 1 ? ` (x${f.count}: ${f.name}, ${f.name}#1 ...)` : ''}: ${where}, order ${f.order}, ${place}, ` +
          `LRU ${f.lru}${f.mlockCount !== undefined ? ` (mlock_count ${f.mlockCount})` : ''}` +
          `${f.flags.length ? `, flags ${f.flags.join('|')}` : ''}${maps}`,
      );
    }
  }
  out.push('');
  out.push('Steps per CPU');
  const cpus = scriptedCpus(s);
  for (const cpu of cpus) {
    out.push(`  CPU ${cpu}:`);
    opLines(s.steps[cpu]!, '    ', out, true, s.timing);
  }
  const idle = s.cpus - cpus.length;
  if (idle > 0) out.push(`  Other CPUs (${idle}): no script; they run only drain work queued on their kworkers.`);
  out.push('');
  out.push('Race window');
  out.push(...wrap(s.raceWindow, '  '));
  out.push('');
  const t = s.timing;
  out.push('Timing');
  out.push(
    `  default pause after each op: ${t.delayAfterUs} µs (+ up to ${t.jitterUs} µs jitter); delay op default ${t.delayUs} µs; ` +
      `hog op default ${t.hogUs} µs; scheduling-point spacing ${t.schedPointSpacingUs} µs`,
  );
  out.push('');
  out.push('Measured');
  if (s.measure.length === 0) out.push('  (the default report)');
  for (const m of s.measure) out.push(`  ${m}: ${MEASURES[m].doc}`);
  return out.join('\n') + '\n';
}
