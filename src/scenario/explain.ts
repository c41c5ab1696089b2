// `folio-race explain <scenario>`: the setup, the steps per CPU (with the kernel entry point
// each op calls), the race window and what is measured. No outcomes: those come from runs.
import { ANON, MEASURES, OP_SPECS, scriptedCpus, type Op, type Scenario, type Timing } from './schema.js';

/** One op in words, e.g. `fault on VMA 'guest' page 0 (write)`. */
export function describeOp(op: Op, timing?: Timing): string {
  switch (op.op) {
    case 'fault':
      return `fault on VMA '${op.vma}' page ${op.page} (${op.write ? 'write' : 'read'})`;
    case 'mlock':
      return `mlock${op.onfault ? '2(MLOCK_ONFAULT)' : ''} VMA '${op.vma}'`;
    case 'munlock':
      return `munlock VMA '${op.vma}'`;
    case 'munmap':
      return `munmap VMA '${op.vma}'`;
    case 'fork':
      return `fork: copy VMA '${op.vma}' into the child's VMA '${op.as}'`;
    case 'pin': {
      const what = op.pages === 1 ? `page ${op.page}` : `pages ${op.page}..${op.page + op.pages - 1}`;
      return `${op.fast ? 'pin_user_pages_fast' : 'pin_user_pages'}(FOLL_LONGTERM${op.write ? '|FOLL_WRITE' : ''}) VMA '${op.vma}' ${what}${op.hold ? ', keep the pins' : ', unpin at the end of the step'}`;
    }
    case 'unpin':
      return `unpin the pins held on VMA '${op.vma}' page ${op.page}`;
    case 'readahead':
      return `readahead of object '${op.object}' pages ${op.index}..${op.index + op.pages - 1}`;
    case 'mark_accessed':
    case 'deactivate':
    case 'deactivate_file':
    case 'lazyfree':
    case 'rotate': {
      const target = op.folio !== undefined ? `folio ${op.folio}` : `the folio mapped at VMA '${op.vma}' page ${op.page}`;
      return `${op.op} ${target}`;
    }
    case 'lru_add_drain':
    case 'lru_add_drain_all':
    case 'lru_cache_disable':
    case 'lru_cache_enable':
      return op.op;
    case 'bh_lru_install':
      return `install ${op.count} buffer head${op.count === 1 ? '' : 's'} in this CPU's bh LRU`;
    case 'cpu_offline':
      return `take CPU ${op.cpu} offline (out of cpu_online_mask)`;
    case 'cpu_dead':
      return `CPU-dead callback for CPU ${op.cpu}`;
    case 'cpu_online':
      return `bring CPU ${op.cpu} back online`;
    case 'hog':
      return `non-preemptible for ${op.us ?? timing?.hogUs ?? 'the default'} µs (no scheduling point, no kworker)`;
    case 'delay':
      return `preemptible pause of ${op.us ?? timing?.delayUs ?? 'the default'} µs (kworker may run)`;
    case 'signal':
      return `signal '${op.name}'`;
    case 'wait':
      return `wait for signal '${op.name}' (sleeping: kworker may run)`;
    case 'repeat':
      return `repeat ${op.times} times${op.stride ? ` (page/index + k*${op.stride} in repetition k)` : ''}:`;
  }
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
