// The load-time check of the scripts' signal/wait order alone (load.ts): a scenario in which some
// wait can never end, whatever the kernel does, is the author's mistake, and a run would count it
// as a watchdog finding about the policy. A signal is a one-shot event that stays raised for the
// trial, and a wait does not consume it (ScenarioBoard, fr_signal/fr_wait): raising only ever lets
// more CPUs on. So running every CPU as far as the raised signals allow, until nothing changes,
// reaches the most that any interleaving can: a CPU still stopped at a wait there is stopped in
// every interleaving, and one that is not has an interleaving that passes it. Every other op is
// skipped: kernel ops finish or block on kernel state, which can only stop a CPU sooner and raise
// fewer signals; no other op waits on script-level state (a fork child used before its fork ran
// is a step error, not a wait).
import { type Problems, splitPath } from '../input/problems.js';
import type { Op } from './ops/index.js';
import { list } from './script_check.js';

/** A signal or wait of one CPU's script, in order. */
interface SyncOp {
  kind: 'signal' | 'wait';
  name: string;
  /** The op's path (`steps.1[0]`, inside a repeat `steps.1[0].repeat.ops[1]`). */
  path: string;
}

/** A wait that no interleaving passes, and the signal ops that would end it. */
export interface StuckWait {
  cpu: number;
  path: string;
  name: string;
  /** Per CPU that raises `name`: its first such signal, and the stuck wait it sits behind. */
  raisers: { cpu: number; path: string; behind: { path: string; name: string } }[];
}

/**
 * The signals and waits of a script. A repeat counts once: its later repetitions pass every wait
 * the first passed (the signals stay raised), and raise nothing new.
 */
function syncOps(ops: readonly Op[], out: SyncOp[] = []): SyncOp[] {
  for (const op of ops) {
    if (op.op === 'repeat') syncOps(op.ops, out);
    else if (op.op === 'signal' || op.op === 'wait') out.push({ kind: op.op, name: op.name, path: op.path });
  }
  return out;
}

/** The waits at which CPUs stop for good, one per stopped CPU (none: the scripts can all finish). */
export function syncDeadlocks(steps: Readonly<Record<number, readonly Op[]>>): StuckWait[] {
  const progs = new Map(Object.entries(steps).map(([cpu, ops]) => [Number(cpu), syncOps(ops)]));
  const at = new Map([...progs.keys()].map((cpu) => [cpu, 0]));
  const raised = new Set<string>();
  for (let moved = true; moved; ) {
    moved = false;
    for (const [cpu, prog] of progs) {
      let i = at.get(cpu)!;
      for (; i < prog.length; i++) {
        const s = prog[i]!;
        if (s.kind === 'wait' && !raised.has(s.name)) break;
        if (s.kind === 'signal' && !raised.has(s.name)) {
          raised.add(s.name);
          moved = true; // a CPU already looked at may now go on
        }
      }
      at.set(cpu, i);
    }
  }
  const stuck = new Map<number, SyncOp>();
  for (const [cpu, prog] of progs) {
    const s = prog[at.get(cpu)!];
    if (s) stuck.set(cpu, s);
  }
  return [...stuck].map(([cpu, w]) => ({
    cpu,
    path: w.path,
    name: w.name,
    // A signal of an unraised name is never reached: its CPU is stuck before it.
    raisers: [...progs].flatMap(([c, prog]) => {
      const sig = prog.find((s) => s.kind === 'signal' && s.name === w.name);
      const behind = stuck.get(c);
      return sig && behind ? [{ cpu: c, path: sig.path, behind: { path: behind.path, name: behind.name } }] : [];
    }),
  }));
}

/** Report each stuck wait at its `name` field, with what keeps its signal from being raised. */
export function reportSyncDeadlocks(pr: Problems, steps: Readonly<Record<number, readonly Op[]>>): void {
  const stuck = syncDeadlocks(steps);
  const cpus = list(stuck.map((w) => String(w.cpu)));
  for (const w of stuck) {
    const by = w.raisers.map(
      (r) => `CPU ${r.cpu} at ${r.path}, after ${r.behind.path === w.path ? 'this wait' : `its wait for '${r.behind.name}' at ${r.behind.path}`}`,
    );
    pr.add(
      [...splitPath(w.path), 'wait', 'name'],
      `a signal some CPU can raise while CPU ${w.cpu} waits here (the signal/wait order alone deadlocks CPU${stuck.length === 1 ? '' : 's'} ${cpus}, whatever the kernel does)`,
      `'${w.name}', raised only by ${by.length > 0 ? by.join(', and by ') : 'no CPU'}`,
    );
  }
}
