// Whether a scenario pins at all: without a `pin` op there is no pin verdict, and its declared
// measures are the result (stress, run and affected print them).
import type { Op } from './ops/index.js';
import type { Scenario } from './schema.js';

/** Does any CPU's script pin (a `pin` op, repeats included)? */
export function scenarioPins(s: Pick<Scenario, 'steps'>): boolean {
  const pins = (ops: readonly Op[]): boolean => ops.some((o) => o.op === 'pin' || (o.op === 'repeat' && pins(o.ops)));
  return Object.values(s.steps).some(pins);
}
