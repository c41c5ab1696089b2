// lru_add_drain_all() round trip from the coordinator to N CPU workers that are busy running
// operations, or idle, beside the floor measured in the same run.
import { availableParallelism } from 'node:os';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { C, cpuBase, Stat } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import { BENCH_READY, BENCH_RELEASE, BENCH_ROUND, BENCH_WARM_CYCLES } from '../src/job/bench_program.js';
import { IDLE_SETTLE_US, measureFloor, settle } from './floor.js';

export interface DrainBenchRow {
  cpus: number;
  mode: 'busy' | 'idle';
  emuP50: number;
  emuP99: number;
  /** Per drain: the longest drain work (lru_add_drain_per_cpu on one CPU, DRAIN_WORK_NS), median. */
  workP50: number;
  /** Per drain: the round trip less that work (signalling, the coordinator's own code, the wait for a scheduling point), median. */
  restP50: number;
  /** The coordinator's own lru_add_drain_all() code with nothing to drain (N idle CPUs, empty batches: mutex, scan, unlock), median. */
  ownP50: number;
  floorP50: number;
  floorP99: number;
  cpusQueued: number;
  /** Drains (after the warm-up) that found no CPU to queue and were not timed. */
  emptyDrains: number;
}

/** Drains before timing starts (the coordinator's drain path compiled). */
const WARM_DRAINS = 500;
/**
 * Cells whose threads all have a core (N CPUs + the coordinator): their round trip is a few µs, so
 * they take this many times the rounds and warm-up drains. At 300 + 500 the CPU's drain work was
 * still being compiled (2.4-3.6 µs against 1.1-1.4 µs after 5,000 drains), which the hop then absorbed.
 */
const FIT_FACTOR = 10;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * N CPU threads running the bench program (busy: isolate/putback cycles; idle: a refill per
 * round), `during` run on the coordinator, then the CPUs released and shut down.
 */
async function onBenchCpus(n: number, busy: boolean, during: (c: Coordinator) => void): Promise<void> {
  const c = await Coordinator.start({ cpus: n, dims: { nFolios: n * 64 + 64 } });
  try {
    await c.configure({ job: { kind: 'program', name: 'bench', params: { busy: busy ? 1 : 0, pool: 64 } }, policy: getPolicy('v6.11'), seed: 1 });
    const outcome = await c.run({
      trials: 1,
      watchdogMs: 120_000,
      during: () => {
        during(c);
        Atomics.store(c.w, BENCH_RELEASE, 1);
      },
    });
    if (outcome.crash) throw new Error(`bench: CPU ${outcome.crash.cpu} crashed: ${outcome.crash.message}`);
  } finally {
    await c.shutdown();
  }
}

async function measureEmulator(
  n: number,
  busy: boolean,
  rounds: number,
  warmDrains: number,
): Promise<{ lat: number[]; work: number[]; rest: number[]; queued: number; empty: number }> {
  const lat: number[] = [];
  const work: number[] = [];
  const rest: number[] = [];
  // Each CPU's DRAIN_WORK_NS, read before and after a drain: its kworker adds the time of its
  // drain work before it signals completion, so the coordinator sees it once the drain returns.
  const workNs = (w: Int32Array, into: number[]) => {
    for (let i = 0; i < n; i++) into[i] = Atomics.load(w, cpuBase(i) + C.STATS + Stat.DRAIN_WORK_NS);
  };
  const before: number[] = [];
  const after: number[] = [];
  let timed = 0;
  let empty = 0;
  let queued = 0;
  await onBenchCpus(n, busy, (c) => {
    const w = c.w;
    const ready = (round: number) => () => {
      for (let i = 0; i < n; i++) if (Atomics.load(w, cpuBase(i) + BENCH_READY) < round) return false;
      return true;
    };
    c.waitFor(ready(busy ? BENCH_WARM_CYCLES : 0), 60_000);
    // Busy: only drains that found work are timed. A busy CPU the host has descheduled adds
    // nothing to its batch, and the drains meanwhile find nothing to do (a few µs each): they
    // are counted apart (`empty`, printed as untimed), not mixed into the round trip.
    for (let r = 1; timed < rounds && r <= (rounds + warmDrains) * 20; r++) {
      if (!busy) {
        Atomics.store(w, BENCH_ROUND, r);
        for (let i = 0; i < n; i++) {
          Atomics.add(w, cpuBase(i) + C.BELL, 1);
          Atomics.notify(w, cpuBase(i) + C.BELL);
        }
        c.waitFor(ready(r));
        settle(IDLE_SETTLE_US);
      }
      workNs(w, before);
      const rec = c.lruAddDrainAll();
      workNs(w, after);
      if (!rec || r <= warmDrains) continue;
      if (rec.cpusQueued === 0) {
        empty++;
        continue;
      }
      timed++;
      const ns = rec.endNs - rec.startNs;
      let longest = 0;
      for (let i = 0; i < n; i++) longest = Math.max(longest, after[i]! - before[i]!);
      lat.push(ns);
      work.push(longest);
      rest.push(ns - longest);
      queued += rec.cpusQueued;
    }
  });
  return { lat, work, rest, queued: queued / Math.max(1, lat.length), empty };
}

/** lru_add_drain_all() from the coordinator when no CPU has anything to drain: its own code alone. */
async function measureOwnCode(n: number, rounds: number): Promise<number[]> {
  const lat: number[] = [];
  const warm = 20_000; // the coordinator's drain path is still being optimised after 2,000 calls (1.0 µs then, 0.34 µs after 20,000)
  await onBenchCpus(n, false, (c) => {
    for (let r = 1; r <= rounds + warm; r++) {
      const rec = c.lruAddDrainAll();
      if (rec && r > warm && rec.cpusQueued === 0) lat.push(rec.endNs - rec.startNs);
    }
  });
  return lat;
}

export async function benchDrain(cpuCounts: number[], rounds: number, onRow?: (r: DrainBenchRow) => void): Promise<DrainBenchRow[]> {
  const rows: DrainBenchRow[] = [];
  for (const n of cpuCounts) {
    const fits = n + 1 <= availableParallelism();
    const cellRounds = fits ? rounds * FIT_FACTOR : rounds;
    const own = await measureOwnCode(n, cellRounds);
    for (const mode of ['busy', 'idle'] as const) {
      const emu = await measureEmulator(n, mode === 'busy', cellRounds, fits ? WARM_DRAINS * FIT_FACTOR : WARM_DRAINS);
      const floor = await measureFloor(n, mode === 'busy', cellRounds);
      rows.push({
        cpus: n,
        mode,
        emuP50: pct(emu.lat, 50),
        emuP99: pct(emu.lat, 99),
        workP50: pct(emu.work, 50),
        restP50: pct(emu.rest, 50),
        ownP50: own.length ? pct(own, 50) : Number.NaN,
        floorP50: pct(floor.slice(20), 50),
        floorP99: pct(floor.slice(20), 99),
        cpusQueued: emu.queued,
        emptyDrains: emu.empty,
      });
      onRow?.(rows[rows.length - 1]!);
    }
  }
  return rows;
}
