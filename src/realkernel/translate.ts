// Scenarios as a static C test program for a real kernel (`folio-race kernel`). Each scenario
// becomes a setup, a teardown and one function per scripted CPU; the guest runtime
// (guest/fr_runtime.h) runs them trial after trial on CPU-bound threads and reports what the
// kernel did. An op without a user-space equivalent (ops_c.ts says which) refuses the whole
// translation, every such op named with its CPU and step, before anything is built or booted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { ANON, folioInstanceName, scriptedCpus, type Op, type Scenario } from '../scenario/schema.js';
import { opC, type OpEmitCtx } from './ops_c.js';
import { VMSTAT } from '../report/vmstat.js';

/** Where the guest mounts the file systems file objects live on (the guest's /init mounts them). */
export const GUEST_MOUNTS = {
  tmp: '/fr/tmp',
  /** tmpfs with huge=always: the objects whose folios are large (order > 0). */
  huge: '/fr/huge',
  /** ramfs: its page cache is unevictable (mapping_set_unevictable). */
  ramfs: '/fr/ramfs',
} as const;

/** Limits of the guest runtime (fr_runtime.h), checked here so the C never overflows. */
export const GUEST_LIMITS = { objects: 16, vmas: 16, events: 64, cpus: 64 } as const;

export interface Untranslatable {
  scenario: string;
  path: string;
  message: string;
}

/** A scenario that cannot run on a real kernel: bad input (exit 2), every reason listed. */
export class UntranslatableError extends Error {
  constructor(readonly problems: readonly Untranslatable[]) {
    super(
      problems.map((p) => `${p.scenario}: ${p.path}: ${p.message}`).join('\n') +
        `\n${problems.length === 1 ? 'this scenario cannot' : 'these scenarios cannot'} run on a real kernel (folio-race kernel --help lists what translates)`,
    );
    this.name = 'UntranslatableError';
  }
}

export interface Translation {
  /** The whole C program (the guest runtime is #included from guest/). */
  c: string;
  /** Where the emulator's model and the guest differ, one line each (printed with the results). */
  notes: string[];
  /** CPUs the guest needs (the highest scripted CPU + 1, at least 2). */
  guestCpus: number;
}

export function guestRuntimeDir(): string {
  return join(packageRoot(), 'src', 'realkernel', 'guest');
}
export function guestRuntimeSource(): string {
  return readFileSync(join(guestRuntimeDir(), 'fr_runtime.h'), 'utf8');
}

const cstr = (s: string) => JSON.stringify(s); // a JSON string is a valid C string literal for ASCII
const stepOf = (path: string) => {
  const m = /^steps\.(\d+)\[(\d+)\]/.exec(path);
  return m ? `CPU ${m[1]}, step ${Number(m[2]) + 1}` : path;
};

/** Is a folio with this placement unpinnable (a long-term pin must migrate it)? */
function unpinnable(mt: string, zone: string): boolean {
  return mt === 'cma' || zone === 'movable';
}

interface Sc {
  s: Scenario;
  n: number;
  problems: Untranslatable[];
  notes: Set<string>;
}

function problem(sc: Sc, path: string, message: string): void {
  sc.problems.push({ scenario: sc.s.id, path, message });
}

function translateSetup(sc: Sc): { setup: string[]; teardown: string[] } {
  const { s } = sc;
  const setup: string[] = [];
  const teardown: string[] = [];
  if (s.objects.length > GUEST_LIMITS.objects) problem(sc, 'objects', `more than ${GUEST_LIMITS.objects} objects`);
  if (s.vmas.length > GUEST_LIMITS.vmas) problem(sc, 'vmas', `more than ${GUEST_LIMITS.vmas} VMAs`);
  s.objects.forEach((o, i) => {
    if (o.kind === 'shmem' && o.order === 0) {
      setup.push(`t->objfd[${i}] = fr_memfd(${cstr(o.name)}, ${o.pages});`);
    } else {
      const dir = o.kind === 'unevictable_file' ? GUEST_MOUNTS.ramfs : o.order > 0 ? GUEST_MOUNTS.huge : GUEST_MOUNTS.tmp;
      setup.push(`t->objfd[${i}] = fr_tmpfile(${cstr(dir)}, ${cstr(o.name)}, ${o.pages});`);
      if (o.kind === 'file') sc.notes.add(`${s.id}: file object '${o.name}' is a tmpfs file in the guest (shmem page cache: the guest has no block device)`);
      if (o.kind === 'unevictable_file') sc.notes.add(`${s.id}: unevictable_file object '${o.name}' is a ramfs file in the guest`);
      if (o.order > 0)
        sc.notes.add(
          `${s.id}: object '${o.name}' has order-${o.order} folios here; its tmpfs (huge=always) makes order-9 ones: the same effect on the batches (a large folio is never cached)`,
        );
    }
    teardown.push(`close(t->objfd[${i}]);`);
  });
  s.vmas.forEach((v, j) => {
    const objIdx = v.object === ANON ? -1 : s.objects.findIndex((o) => o.name === v.object);
    const obj = objIdx < 0 ? undefined : s.objects[objIdx]!;
    if (obj && obj.order > 0)
      problem(
        sc,
        `vmas[${j}]`,
        `VMA '${v.name}' maps object '${obj.name}' of order-${obj.order} folios; a guest makes order-0 or order-9 (tmpfs huge=always) ones, and a mapped or pinned folio of another order is another scenario (large objects translate only for readahead)`,
      );
    const fd = objIdx < 0 ? '-1' : `t->objfd[${objIdx}]`;
    const prot = [v.flags.includes('read') ? 'PROT_READ' : '', v.flags.includes('write') ? 'PROT_WRITE' : ''].filter(Boolean).join(' | ') || 'PROT_NONE';
    setup.push(
      `t->vma[${j}] = fr_map(${fd}, ${v.pgoff}, ${v.pages}, ${prot}, ${v.flags.includes('shared') ? 1 : 0}); t->vma_len[${j}] = ${v.pages} * FR_PS; /* ${v.name} */`,
    );
    if (v.flags.includes('locked')) {
      // VM_LOCKED without populating: a scenario's VMA starts empty, and mlock(2) would fault it all in.
      setup.push(`if (mlock2(t->vma[${j}], ${v.pages} * FR_PS, MLOCK_ONFAULT) != 0) fr_die("mlock2(${v.name})");`);
      if (!v.flags.includes('lockonfault'))
        sc.notes.add(
          `${s.id}: VMA '${v.name}' is [locked]: mlock2(MLOCK_ONFAULT) at setup, so it starts VM_LOCKED and empty as the scenario says (mlock(2) would populate it)`,
        );
    }
    teardown.unshift(`if (!t->vma_gone[${j}]) munmap(t->vma[${j}], t->vma_len[${j}]);`);
  });
  if (new Set(s.vmas.map((v) => v.mm)).size > 1) sc.notes.add("every VMA lives in the one test process (the scenario's `mm` ids are not kept)");
  s.folios.forEach((f, i) => {
    const at = `folios[${i}]`;
    if (f.order > 0) problem(sc, `${at}.order`, `pre-existing large folios (order ${f.order}) are not translated`);
    if (f.lru !== 'inactive' && f.lru !== 'unevictable')
      problem(
        sc,
        `${at}.lru`,
        `'${f.lru}': user space can make a folio that is on the inactive LRU (faulted, then drained) or unevictable (faulted through a locked VMA), not '${f.lru}'`,
      );
    for (const fl of f.flags) {
      if (fl !== 'dirty' && fl !== 'uptodate' && fl !== 'mlocked')
        problem(sc, `${at}.flags`, `'${fl}': a pre-existing folio can be made dirty, uptodate or mlocked from user space, not '${fl}'`);
    }
    const lockedMaps = f.mappedBy.filter((m) => s.vmas.find((v) => v.name === m.vma)?.flags.includes('locked'));
    if (f.lru === 'unevictable' && (!f.flags.includes('mlocked') || lockedMaps.length === 0))
      problem(sc, `${at}.lru`, 'an unevictable pre-existing folio must be mlocked and mapped by a locked VMA (it is made by faulting it there)');
    if (f.lru === 'unevictable' && f.mlockCount !== undefined && f.mlockCount !== lockedMaps.length)
      problem(sc, `${at}.mlockCount`, `${f.mlockCount}: faulting it through its ${lockedMaps.length} locked mapping(s) gives mlock_count ${lockedMaps.length}`);
    if (f.lru === 'inactive' && lockedMaps.length > 0)
      problem(sc, `${at}.mappedBy`, 'a folio on the inactive LRU cannot be mapped by a locked VMA (the fault would mlock it)');
    if (f.object === ANON && f.mappedBy.length === 0) problem(sc, `${at}.mappedBy`, 'an anonymous folio exists only mapped: give it a mapping');
    if (f.migratetype !== undefined || f.zone !== undefined)
      sc.notes.add(`${s.id}: folio '${f.name}': its placement comes from the guest's allocator (ZONE_MOVABLE), not from the scenario`);
    const objIdx = s.objects.findIndex((o) => o.name === f.object);
    for (let k = 0; k < f.count; k++) {
      const name = folioInstanceName(f, k);
      if (f.mappedBy.length === 0) {
        setup.push(
          f.flags.includes('dirty')
            ? `if (pwrite(t->objfd[${objIdx}], "x", 1, (off_t)${f.index + k} * FR_PS) != 1) fr_die("pwrite(${name})");`
            : `if (fr_fallocate(t->objfd[${objIdx}], ${f.index + k}, 1) != 0) fr_die("fallocate(${name})");`,
        );
      }
      f.mappedBy.forEach((m, mi) => {
        const v = s.vmas.find((x) => x.name === m.vma)!;
        const j = s.vmas.indexOf(v);
        const write = f.flags.includes('dirty') && mi === 0 && v.flags.includes('write') && (v.flags.includes('shared') || f.object === ANON);
        setup.push(`fr_touch(t->vma[${j}] + ${m.page + k} * FR_PS, ${write ? 1 : 0}); /* ${name} via ${m.vma} */`);
      });
    }
  });
  if (s.folios.length > 0)
    sc.notes.add(
      'pre-existing folios are made by faulting them in through their mappings (a write where dirty) on CPU 0 at setup, then a local drain puts them on their LRU',
    );
  return { setup, teardown };
}

function translateScripts(sc: Sc): string[] {
  const { s, n } = sc;
  const out: string[] = [];
  const events = new Map<string, number>();
  const event = (name: string) => {
    if (!events.has(name)) events.set(name, events.size);
    return events.get(name)!;
  };
  const vmaIdx = (name: string) => s.vmas.findIndex((v) => v.name === name);
  const placementOf = (vmaName: string) => {
    const v = s.vmas.find((x) => x.name === vmaName)!;
    const o = v.object === ANON ? undefined : s.objects.find((x) => x.name === v.object);
    return { mt: o?.migratetype ?? s.alloc.migratetype, zone: o?.zone ?? s.alloc.zone };
  };
  let depth = 0;
  const emitList = (ops: readonly Op[], offset: string, indent: string, lines: string[]) => {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const where = `${op.path} (${stepOf(op.path)})`;
      if (op.op === 'repeat') {
        const k = `k${depth++}`;
        lines.push(`${indent}for (int ${k} = 0; ${k} < ${op.times}; ${k}++) {`);
        emitList(op.ops, op.stride ? `${offset} + ${k} * ${op.stride}` : offset, indent + '  ', lines);
        pause(op.delayAfterUs ?? 0, op.jitterUs ?? 0, indent + '  ', lines);
        lines.push(`${indent}}`);
        continue;
      }
      const row = opC(op);
      if ('none' in row) {
        problem(sc, op.path, `op '${op.op}' on ${stepOf(op.path)} has no user-space equivalent: ${row.none}`);
        continue;
      }
      if ('vma' in op && op.vma !== undefined && vmaIdx(op.vma) < 0) {
        problem(sc, op.path, `op '${op.op}' on ${stepOf(op.path)}: VMA '${op.vma}' is made by a fork, which is not translated`);
        continue;
      }
      if (op.op === 'lru_cache_disable') {
        const next = ops[i + 1];
        const between = (op.delayAfterUs ?? s.timing.delayAfterUs) > 0 || (op.jitterUs ?? s.timing.jitterUs) > 0;
        if (next?.op !== 'lru_cache_enable' || between) {
          problem(
            sc,
            op.path,
            `op 'lru_cache_disable' on ${stepOf(op.path)} has no user-space equivalent on its own: only mbind(MPOL_MF_MOVE) disables the LRU cache, and it re-enables it before returning; put \`lru_cache_enable\` right after it, with no pause between`,
          );
          continue;
        }
      }
      if (op.op === 'pin') {
        const p = placementOf(op.vma);
        if (!unpinnable(p.mt, p.zone)) {
          problem(
            sc,
            op.path,
            `pin on ${stepOf(op.path)}: VMA '${op.vma}' holds pinnable folios in the scenario (${p.mt} in ZONE_${p.zone.toUpperCase()}), but every user page of the guest lies in ZONE_MOVABLE (movablecore=75%), where a long-term pin migrates: the outcomes would not compare`,
          );
          continue;
        }
      }
      const c: OpEmitCtx = {
        vma: (name) => `t->vma[${vmaIdx(name)}]`,
        vmaIndex: vmaIdx,
        vmaPages: (name) => s.vmas.find((v) => v.name === name)!.pages,
        objFd: (name) => `t->objfd[${s.objects.findIndex((o) => o.name === name)}]`,
        offset,
        event,
        path: cstr(op.path),
        delayUs: s.timing.delayUs,
        hogUs: s.timing.hogUs,
      };
      if (op.op === 'readahead') {
        const o = s.objects.find((x) => x.name === op.object)!;
        if (o.kind === 'unevictable_file') {
          problem(sc, op.path, `op 'readahead' on ${stepOf(op.path)}: object '${o.name}' is a ramfs file in the guest, and ramfs cannot fallocate`);
          continue;
        }
      }
      lines.push(`${indent}${row.emit(op, c)} /* ${where} */`);
      if (op.op === 'lru_cache_disable') {
        const en = ops[++i]!; // the enable is part of the same call
        pause(en.delayAfterUs ?? s.timing.delayAfterUs, en.jitterUs ?? s.timing.jitterUs, indent, lines);
        continue;
      }
      pause(op.delayAfterUs ?? s.timing.delayAfterUs, op.jitterUs ?? s.timing.jitterUs, indent, lines);
    }
  };
  const pause = (us: number, jitter: number, indent: string, lines: string[]) => {
    if (us > 0 || jitter > 0) lines.push(`${indent}fr_delay_us(${us}${jitter > 0 ? ` + ${jitter} * fr_rand01()` : ''});`);
  };
  for (const cpu of scriptedCpus(s)) {
    const lines: string[] = [];
    emitList(s.steps[cpu]!, '', '  ', lines);
    out.push(`static void sc${n}_cpu${cpu}(struct fr_trial *t, int cpu) {`, '  (void)t; (void)cpu;', ...lines, '}');
  }
  if (events.size > GUEST_LIMITS.events) problem(sc, 'steps', `more than ${GUEST_LIMITS.events} event names`);
  return out;
}

/** Translate scenarios into one program; throws UntranslatableError listing every op that cannot run. */
export function translateScenarios(scenarios: readonly Scenario[]): Translation {
  const problems: Untranslatable[] = [];
  const notes = new Set<string>();
  const body: string[] = [];
  let guestCpus = 2;
  scenarios.forEach((s, n) => {
    const sc: Sc = { s, n, problems, notes };
    const cpus = scriptedCpus(s);
    guestCpus = Math.max(guestCpus, s.cpus, ...cpus.map((c) => c + 1));
    const { setup, teardown } = translateSetup(sc);
    body.push(`/* ---- ${s.id}: ${s.title.replace(/\*\//g, '* /')} */`);
    body.push(`static void sc${n}_setup(struct fr_trial *t) {`, ...setup.map((l) => `  ${l}`), '}');
    body.push(`static void sc${n}_teardown(struct fr_trial *t) {`, ...teardown.map((l) => `  ${l}`), '}');
    body.push(...translateScripts(sc));
    body.push(
      `static const struct fr_scenario sc${n} = {`,
      `  .id = ${cstr(s.id)}, .ncpus = ${cpus.length},`,
      `  .cpus = { ${cpus.join(', ')} },`,
      `  .fns = { ${cpus.map((c) => `sc${n}_cpu${c}`).join(', ')} },`,
      `  .setup = sc${n}_setup, .teardown = sc${n}_teardown,`,
      '};',
    );
  });
  if (guestCpus > GUEST_LIMITS.cpus)
    problems.push({ scenario: scenarios[0]?.id ?? '-', path: 'cpus', message: `${guestCpus} CPUs: the guest runtime runs at most ${GUEST_LIMITS.cpus}` });
  if (problems.length > 0) throw new UntranslatableError(problems);
  const c = [
    '/* Generated by `folio-race kernel`: the scenarios below as user-space code for a real kernel. */',
    `#define FR_VMSTAT_LIST ${VMSTAT.map((v) => cstr(v.name)).join(', ')}`,
    '#include "fr_runtime.h"',
    '',
    ...body,
    '',
    'int main(void) {',
    '  int trials = fr_cmdline_int("fr.trials=", 200);',
    '  fr_bind_cpu(0);',
    '  fr_begin();',
    ...scenarios.map((_, n) => `  fr_run_scenario(&sc${n}, trials);`),
    '  fr_end();',
    '  return 0;',
    '}',
    '',
  ].join('\n');
  return { c, notes: [...notes], guestCpus };
}
