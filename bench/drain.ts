// lru_add_drain_all() round trip from the coordinator to N CPU workers that are busy running
// operations, or idle, beside the floor measured in the same run.
import { Coordinator } from '../src/coordinator/coordinator.js';
import { C, cpuBase } from '../src/mm/layout.js';
import { getPolicy } from '../src/mm/policy.js';
import { BENCH_READY, BENCH_RELEASE, BENCH_ROUND } from '../src/job/bench_program.js';
import { measureFloor } from './floor.js';

export interface DrainBenchRow {
  cpus: number;
  mode: 'busy' | 'idle';
  emuP50: number;
  emuP99: number;
  floorP50: number;
  floorP99: number;
  cpusQueued: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function measureEmulator(n: number, busy: boolean, rounds: number): Promise<{ lat: number[]; queued: number }> {
  const c = await Coordinator.start({ cpus: n, dims: { nFolios: n * 64 + 64 } });
  const lat: number[] = [];
  let queued = 0;
  try {
    await c.configure({ job: { kind: 'program', name: 'bench', params: { busy: busy ? 1 : 0, pool: 64 } }, policy: getPolicy('v6.11'), seed: 1 });
    const w = c.w;
    const ready = (round: number) => () => {
      for (let i = 0; i < n; i++) if (Atomics.load(w, cpuBase(i) + BENCH_READY) < round) return false;
      return true;
    };
    const outcome = await c.run({
      trials: 1,
      watchdogMs: 120_000,
      during: () => {
        c.waitFor(ready(busy ? 1 : 0));
        for (let r = 1; r <= rounds + 20; r++) {
          if (!busy) {
            Atomics.store(w, BENCH_ROUND, r);
            for (let i = 0; i < n; i++) {
              Atomics.add(w, cpuBase(i) + C.BELL, 1);
              Atomics.notify(w, cpuBase(i) + C.BELL);
            }
            c.waitFor(ready(r));
          }
          const rec = c.lruAddDrainAll();
          if (rec && r > 20) {
            lat.push(rec.endNs - rec.startNs);
            queued += rec.cpusQueued;
          }
        }
        Atomics.store(w, BENCH_RELEASE, 1);
      },
    });
    if (outcome.crash) throw new Error(`bench: CPU ${outcome.crash.cpu} crashed: ${outcome.crash.message}`);
  } finally {
    await c.shutdown();
  }
  return { lat, queued: queued / Math.max(1, lat.length) };
}

export async function benchDrain(cpuCounts: number[], rounds: number, onRow?: (r: DrainBenchRow) => void): Promise<DrainBenchRow[]> {
  const rows: DrainBenchRow[] = [];
  for (const n of cpuCounts) {
    for (const mode of ['busy', 'idle'] as const) {
      const emu = await measureEmulator(n, mode === 'busy', rounds);
      const floor = await measureFloor(n, mode === 'busy', rounds);
      rows.push({
        cpus: n,
        mode,
        emuP50: pct(emu.lat, 50),
        emuP99: pct(emu.lat, 99),
        floorP50: pct(floor.slice(20), 50),
        floorP99: pct(floor.slice(20), 99),
        cpusQueued: emu.queued,
      });
      onRow?.(rows[rows.length - 1]!);
    }
  }
  return rows;
}
