// The op table: one row per scenario op (define.ts OpSpec), assembled from the files that hold
// them by concern. A row is everything about its op: argument schema, meaning, kernel entry
// point, the loader's check, the compiled step and the English line of `explain`; the `Op`
// type is derived from the rows. Adding an op is adding its row to one of these files (and its
// C translation to src/realkernel/ops_c.ts, which the compiler asks for).
//
//   mm_ops.ts    fault, mlock, munlock, munmap, fork, pin, unpin, readahead
//   lru_ops.ts   mark_accessed, deactivate, deactivate_file, lazyfree, rotate, lru_add_drain,
//                lru_add_drain_all, bh_lru_install, lru_cache_disable, lru_cache_enable
//   cpu_ops.ts   cpu_offline, cpu_dead, cpu_online
//   sync_ops.ts  hog, delay, signal, wait
//   repeat.ts    repeat
import type { Timing } from '../schema.js';
import type { CompileCtx, StepBody } from '../compile_ctx.js';
import type { OpCheck } from '../script_check.js';
import { CPU_OPS } from './cpu_ops.js';
import type { RowOp } from './define.js';
import { LRU_OPS } from './lru_ops.js';
import { MM_OPS } from './mm_ops.js';
import { repeat } from './repeat.js';
import { SYNC_OPS } from './sync_ops.js';

export type { OpCommon } from './define.js';

// The order is the order of OP_NAMES, which messages list ("an op (one of fault, mlock, ...)").
const ROWS = [...MM_OPS, ...LRU_OPS, ...CPU_OPS, ...SYNC_OPS, repeat];
type Row = (typeof ROWS)[number];

export type OpName = Row['name'];
/** A validated op. Folio ops name a folio, or a VMA page whose mapped folio is meant. */
export type Op = RowOp<Row>;
/** The validated op named `N`. */
export type OpFor<N extends OpName> = Extract<Op, { op: N }>;

/** Per op: argument schema, one-line meaning, kernel entry point, check, step body, description. */
export const OP_SPECS = Object.fromEntries(ROWS.map((r) => [r.name, r])) as { readonly [R in Row as R['name']]: R };
if (Object.keys(OP_SPECS).length !== ROWS.length) throw new Error('op table: two rows have the same name');
export const OP_NAMES = Object.keys(OP_SPECS) as OpName[];
/** Ops written without arguments are allowed as a bare string (`- lru_add_drain`). */
export const NO_ARG_OPS: readonly OpName[] = ROWS.filter((r) => r.bare).map((r) => r.name);

/** A row as the loader, the compiler and `explain` call it: on an op of its own name. */
interface AnyRow {
  check(args: Record<string, unknown>, c: OpCheck): object | undefined;
  compile(op: Op, c: CompileCtx): StepBody;
  explain(op: Op, timing?: Timing): string;
}
/** The row of an op's name. Only ever called with an op (or arguments) of that name, the one erasure of the table. */
export const opRow = (name: OpName): AnyRow => OP_SPECS[name] as unknown as AnyRow;
