// Which GUP entry io_uring's buffer registration uses, per kernel: the guest's pins go through it,
// so the emulator's side of `folio-race kernel` runs the scenario's pins the same way.
// 6.1.y: io_pin_pages() calls pin_user_pages() under the mmap lock (6.1.192 io_uring/rsrc.c:1006);
// 6.12.y: pin_user_pages_fast() (6.12.117 io_uring/memmap.c:155). The mainline release between
// them that switched is not established here, so v6.2..v6.11 keep the scenario's own choice.
import { parseVersion } from '../policy/releases.js';
import type { Op, Scenario } from '../scenario/schema.js';

/** true: pin_user_pages_fast(); false: pin_user_pages(); null: not known for this version. */
export function ioUringPinsFast(version: string): boolean | null {
  const v = parseVersion(version.replace(/^v/, ''));
  if (!v) return null;
  const mm = v.major * 1000 + v.minor;
  if (mm <= 6001) return false;
  if (mm >= 6012) return true;
  return null;
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
