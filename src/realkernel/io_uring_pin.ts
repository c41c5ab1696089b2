// Which GUP entry io_uring's buffer registration uses, per kernel: the guest's pins go through it,
// so the emulator's side of `folio-race kernel` runs the scenario's pins the same way.
// The release table says which (src/policy/releases.ts ioUringPinsFast); where it does not know,
// the scenario's own choice stands.
import { releaseFor } from '../policy/releases.js';
import type { Op, Scenario } from '../scenario/schema.js';

/** true: pin_user_pages_fast(); false: pin_user_pages(); null: not known for this version (the release table's fact). */
export function ioUringPinsFast(version: string): boolean | null {
  try {
    return releaseFor(version).ioUringPinsFast;
  } catch {
    return null; // a release the table does not know
  }
}

/** The scenario with every pin op's `fast` set; the same object when nothing changes. */
export function withPinPath(s: Scenario, fast: boolean): Scenario {
  let changed = false;
  const map = (ops: readonly Op[]): Op[] =>
    ops.map((op) => {
      if (op.op === 'pin' && op.fast !== fast) {
        changed = true;
        return { ...op, fast };
      }
      if (op.op === 'repeat') return { ...op, ops: map(op.ops) };
      return op;
    });
  const steps = Object.fromEntries(Object.entries(s.steps).map(([cpu, ops]) => [cpu, map(ops)]));
  return changed ? { ...s, steps } : s;
}
