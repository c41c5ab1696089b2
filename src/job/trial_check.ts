// After every trial: the invariant checker of spec §10 on quiescent memory, its violations
// turned into failures (findings a variant permits keep their permittedBy tag).
import type { KernelCtx } from '../mm/context.js';
import type { Failure } from '../trial/result.js';
import { checkInvariants } from '../check/invariants.js';

export function checkTrial(ctx: KernelCtx): Failure[] {
  const out: Failure[] = [];
  for (const v of checkInvariants(ctx.w, ctx.lay, ctx.policy)) {
    out.push({
      kind: 'invariant',
      cpu: v.cpu ?? -1,
      message: v.message,
      invariant: v.id,
      ...(v.permittedBy ? { permittedBy: v.permittedBy } : {}),
    });
  }
  return out;
}
