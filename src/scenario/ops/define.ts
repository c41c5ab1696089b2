// The shape of one row of the op table (ops/index.ts OP_SPECS): everything the tool knows about
// one scenario op, so that adding an op is adding one row. The validated op's type comes from the
// row too (`Fields`), and the loader, the compiler and `explain` read the row by the op's name.
import type { z } from 'zod';
import type { CompileCtx, StepBody } from '../compile_ctx.js';
import type { Timing } from '../schema.js';
import type { OpCheck } from '../script_check.js';

/** What every validated op carries besides its own fields. */
export interface OpCommon {
  /** Where the op is in the file (e.g. `steps.7[2]`), for messages and crash reports. */
  path: string;
  delayAfterUs?: number;
  jitterUs?: number;
}

/** The validated op `name` whose own fields are `Fields`. */
export type OpOf<Name extends string, Fields> = { op: Name } & Fields & OpCommon;

/** One op: its file syntax, its meaning, and what the loader, the compiler and `explain` do with it. */
export interface OpSpec<Name extends string, Fields, Args extends z.ZodTypeAny = z.ZodTypeAny> {
  /** The op's name in scenario files (`- fault: {...}`). */
  name: Name;
  /** Argument schema (zod): types and defaults; names and ranges are `check`'s. */
  args: Args;
  /** One-line meaning (`folio-race explain`, the format's help). */
  doc: string;
  /** The kernel entry point the op calls, or '-' for a script-only op. */
  kernel: string;
  /** The op may be written as a bare name (`- lru_add_drain`): all its arguments have defaults. */
  bare?: true;
  /**
   * Scenario-level validation of the parsed arguments (names, pages, CPU numbers against the
   * scenario): the op's normalised fields, or undefined once the problem has been reported.
   */
  check(args: z.output<Args>, c: OpCheck): Fields | undefined;
  /** The step body: the kernel calls of one occurrence of the op (`c.offset` = enclosing repeats). */
  compile(op: OpOf<Name, Fields>, c: CompileCtx): StepBody;
  /** The op in words, e.g. `fault on VMA 'guest' page 0 (write)`. */
  explain(op: OpOf<Name, Fields>, timing?: Timing): string;
}

/**
 * A row of the op table. `Fields` is the validated op's own fields, spelled out (they are the
 * type every consumer of `Op` sees); the argument schema's type is inferred from `args`:
 *
 *   export const munlock = defineOp<{ vma: string }>()({ name: 'munlock', args: ..., ... });
 */
export const defineOp =
  <Fields>() =>
  <Name extends string, Args extends z.ZodTypeAny>(row: OpSpec<Name, Fields, Args>): OpSpec<Name, Fields, Args> =>
    row;

/** The validated op a row makes. */
export type RowOp<R> = R extends OpSpec<infer Name, infer Fields, z.ZodTypeAny> ? OpOf<Name, Fields> : never;

/** The fields of an op that has none of its own (only the timing knobs every op takes). */
export type NoFields = Record<never, never>;
