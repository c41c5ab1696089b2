// Checking a variant that arrives as data. Every variant, built-in or a user's, is a full switch
// set (mm/policy.ts withSwitches makes one from a base), so it crosses to CPU threads, pool
// workers and replay files as data, never as an id to be looked up again.
import type { Policy } from '../mm/policy.js';
import { FullSwitchesSchema } from '../mm/policy_schema.js';

/**
 * A policy received from elsewhere (a message, a replay file): its switch set must be complete
 * and every value one its switch takes. Throws naming the policy and the first bad switch.
 */
export function checkPolicy(p: Policy): Policy {
  const r = FullSwitchesSchema.safeParse(p.switches);
  if (!r.success) {
    const is = r.error.issues[0]!;
    throw new RangeError(`policy '${p.id}': switch ${is.path.join('.') || '(all)'}: ${is.message}`);
  }
  return { id: p.id, description: p.description, source: p.source, switches: Object.freeze(r.data) };
}
