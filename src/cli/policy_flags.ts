// `--policy` and `--kernel`: which kernel variants a command runs. --policy takes built-in ids,
// releases, inline `base+switch=value` variants and policy files (src/policy/resolve.ts);
// --kernel takes releases only (6.12.45, 6.1.y, mainline, all), so `--kernel v6.11` means the
// release even where a built-in policy has that name.
import type { Command } from 'commander';
import type { Policy } from '../mm/policy.js';
import { releaseAssumption, resolveKernels } from '../policy/releases.js';
import { resolvePolicySpec } from '../policy/resolve.js';
import { UsageError } from './errors.js';

export interface PolicyFlags {
  policy?: string;
  kernel?: string;
}

export const POLICY_HELP =
  'kernel variant(s): built-in ids, "all", a release (6.12.45), a line (6.1.y), base+switch=value, or a policy file (see `folio-race policies`)';
export const KERNEL_HELP = 'kernel release(s) instead of --policy: 6.12.45, 6.1.y, mainline, all (see `folio-race kernels`)';

export const ONE_POLICY_HELP = 'one kernel variant (default v6.11): a built-in id, a release (6.12.45), base+switch=value, or a policy file';
export const ONE_KERNEL_HELP = 'one kernel release instead of --policy (6.12.45; see `folio-race kernels`)';

/** Add --policy and --kernel (lists) to a command. */
export function policyOptions(cmd: Command): Command {
  return cmd.option('--policy <spec>', POLICY_HELP).option('--kernel <versions>', KERNEL_HELP);
}

/** --policy value to policies; bad items are usage errors naming them (policy files: their own error). */
export function policiesFlag(raw: string): Policy[] {
  try {
    return resolvePolicySpec(raw.trim());
  } catch (e) {
    if ((e as Error).name === 'PolicyFileError') throw e;
    throw new UsageError(`--policy: ${(e as Error).message}`);
  }
}

/** Say on stderr which listed versions lie past the releases read (their switches are assumed). */
export function noteAssumedReleases(spec: string, write: (line: string) => void = (l) => process.stderr.write(l)): void {
  for (const item of spec.split(',')) {
    const note = releaseAssumption(item.trim());
    if (note !== null) write(`folio-race: note: ${note}\n`);
  }
}

/** The variants a command runs: --policy or --kernel (not both); `fallback` when neither is given. */
export function policiesFrom(f: PolicyFlags, fallback?: string): Policy[] {
  const ps = resolvedPolicies(f, fallback);
  noteAssumedReleases(f.kernel ?? f.policy ?? '');
  return ps;
}

function resolvedPolicies(f: PolicyFlags, fallback?: string): Policy[] {
  if (f.policy !== undefined && f.kernel !== undefined) throw new UsageError('--policy and --kernel: give one of them, not both');
  if (f.kernel !== undefined) {
    try {
      return resolveKernels(f.kernel);
    } catch (e) {
      throw new UsageError(`--kernel: ${(e as Error).message}`);
    }
  }
  if (f.policy !== undefined) return policiesFlag(f.policy);
  if (fallback === undefined) throw new UsageError("required option '--policy <spec>' (or --kernel <versions>) not specified");
  return policiesFlag(fallback);
}

/** Exactly one variant (run, hunt, explore, study drain-latency). */
export function onePolicyFrom(f: PolicyFlags, cmd: string, fallback = 'v6.11'): Policy {
  const ps = policiesFrom(f, fallback);
  if (ps.length !== 1) {
    const flag = f.kernel !== undefined ? '--kernel' : '--policy';
    throw new UsageError(`${flag}: ${cmd} takes exactly one policy, got '${f.kernel ?? f.policy}' (${ps.length}: ${ps.map((p) => p.id).join(', ')})`);
  }
  return ps[0]!;
}
