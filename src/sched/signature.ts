// A failure's signature: what makes two failing runs "the same failure" for shrinking and for
// the exhaustive search's list of distinct failures. Kind, invariant id, the CPU it happened on
// and the reference-ledger attribution (which CPU's which batch held the extra reference);
// never trial numbers, times or step counts. Permitted findings are not failures.
import type { Failure, TrialResult } from '../trial/result.js';

/**
 * Deliberately wider than the stress failure rate (src/stats/aggregate.ts trialFailed): an
 * emulator error also stops a hunt and has a signature, because a tool bug is worth finding.
 */
export function isCounted(f: Failure): boolean {
  return !f.permittedBy;
}

export function failureKey(f: Failure): string {
  const head = `${f.kind}${f.invariant ? ` ${f.invariant}` : ''} on cpu ${f.cpu}`;
  return f.attribution?.length ? `${head}: ${f.attribution.join('; ')}` : head;
}

/** The trial's failure signature, or null when it passed. */
export function failureSignature(r: TrialResult): string | null {
  if (r.failures.length === 0) return null; // most runs of a hunt: no arrays made
  const keys = [...new Set(r.failures.filter(isCounted).map(failureKey))].sort();
  return keys.length ? keys.join(' | ') : null;
}
