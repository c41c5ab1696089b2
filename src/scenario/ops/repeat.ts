// `repeat`: the one op that holds ops. The loader checks its body with pages moved by the
// strides (OpCheck.nested); compileScenario() unrolls it, so it has no step body of its own.
import { z } from 'zod';
import { count, opTiming } from './args.js';
import { defineOp, type OpSpec } from './define.js';
import type { Op } from './index.js';

const args = z.object({ times: count, ops: z.array(z.unknown()).min(1), stride: z.number().int().nonnegative().default(0), ...opTiming }).strict();

type RepeatFields = { times: number; stride: number; ops: Op[] };

// The row's type is spelled out: it holds `Op`, which is made of the rows, and TypeScript does
// not infer a type that refers to itself.
export const repeat: OpSpec<'repeat', RepeatFields, typeof args> = defineOp<RepeatFields>()({
  name: 'repeat',
  args,
  doc: 'run the nested ops `times` times; repetition k adds k*stride to every `page` and `index` inside',
  kernel: '-',
  // The last repetition moves the body's pages by (times - 1) * stride.
  check: (a, c) => ({ times: a.times, stride: a.stride, ops: c.nested(a.ops, (a.times - 1) * a.stride) }),
  compile: () => {
    throw new Error('unreachable: repeats are unrolled');
  },
  explain: (op) => `repeat ${op.times} times${op.stride ? ` (page/index + k*${op.stride} in repetition k)` : ''}:`,
});
