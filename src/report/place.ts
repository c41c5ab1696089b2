// Where something happened, for messages: the trial, the CPU, the step and op, each only when it
// is known (-1 and undefined are "not known" inside the runtimes, never printed as numbers).
export interface Place {
  trial?: number;
  cpu?: number;
  step?: number;
  op?: string;
}

/** "trial 3, CPU 1, step 2, pin" — or "trial 3, no single CPU" for a trial-wide finding. */
export function placeText(p: Place): string {
  const parts: string[] = [];
  if (p.trial !== undefined) parts.push(p.trial >= 0 ? `trial ${p.trial}` : 'outside any trial');
  if (p.cpu !== undefined) parts.push(p.cpu >= 0 ? `cpu ${p.cpu}` : 'no single CPU');
  if (p.step !== undefined && p.step >= 0) parts.push(`step ${p.step}`);
  if (p.op) parts.push(p.op);
  return parts.join(', ');
}
