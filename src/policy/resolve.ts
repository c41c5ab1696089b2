// What `--policy` accepts, one item or a comma-separated list:
//   all                         every built-in policy
//   merged                      a built-in policy (folio-race policies)
//   6.12.45, 6.1.y, v6.17-rc6   a kernel release or stable line (folio-race kernels)
//   merged+batchCapacity=15     a base with switches changed inline
//   ./my-fix.yaml               a policy file (base + switches)
import { POLICIES, withSwitches, type Policy, type PolicySwitches } from '../mm/policy.js';
import { parseSwitchText } from '../mm/policy_schema.js';
import { loadPolicyFile, type BaseLookup } from './file.js';
import { knownReleaseNames, resolveKernels } from './releases.js';

export class PolicySpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const isPath = (s: string): boolean => /\.(ya?ml|json)$/i.test(s) || s.includes('/') || s.includes('\\');

/** A built-in policy id, or one kernel release (not a whole line). */
export const lookupBase: BaseLookup = (name) => {
  const b = POLICIES.find((p) => p.id === name);
  if (b) return b;
  const ks = tryKernels(name);
  if (ks && ks.length === 1) return ks[0]!;
  return { known: `${POLICIES.map((p) => p.id).join(', ')}; or a release such as ${knownReleaseNames()}` };
};

function tryKernels(name: string): Policy[] | null {
  try {
    return resolveKernels(name);
  } catch {
    return null;
  }
}

/** One `base+key=value+...` item. */
function inline(item: string): Policy {
  const [baseName, ...sets] = item.split('+');
  const base = lookupBase(baseName!.trim());
  if ('known' in base) throw new PolicySpecError(`unknown policy '${baseName}' (known: ${base.known})`);
  if (sets.length === 0) return base;
  const delta: Partial<PolicySwitches> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new PolicySpecError(`'${item}': expected <switch>=<value> after '+', found '${s}'`);
    const r = parseSwitchText(s.slice(0, eq).trim(), s.slice(eq + 1).trim());
    if ('error' in r) throw new PolicySpecError(`'${item}': ${r.error}`);
    (delta as Record<string, unknown>)[r.key] = r.value;
  }
  // The id keeps the item as written, so it names the variant the user asked for.
  return { ...withSwitches(base, delta), id: base.id + sets.map((x) => `+${x.trim()}`).join('') };
}

/** Resolve a `--policy` value. Throws PolicySpecError (or PolicyFileError) naming the bad item. */
export function resolvePolicySpec(spec: string): Policy[] {
  const out: Policy[] = [];
  const items = spec.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new PolicySpecError(`'${spec}': an empty item in the list`);
  for (const item of items) {
    if (item === 'all') out.push(...POLICIES);
    else if (isPath(item)) out.push(loadPolicyFile(item, lookupBase));
    else {
      const ks = !item.includes('+') && !POLICIES.some((p) => p.id === item) ? tryKernels(item) : null;
      out.push(...(ks ?? [inline(item)]));
    }
  }
  // The same variant named twice runs once; two different variants may not share an id.
  const seen = new Map<string, Policy>();
  for (const p of out) {
    const q = seen.get(p.id);
    if (q && JSON.stringify(q.switches) !== JSON.stringify(p.switches))
      throw new PolicySpecError(`'${spec}': two different policies are both named '${p.id}' (give one an id of its own)`);
    if (!q) seen.set(p.id, p);
  }
  return [...seen.values()];
}
