// lru_add_drain_all() round trip from the coordinator to N CPU workers that are busy running
// operations, or idle, beside the floor measured in the same run. The emulator and the floor are
// timed in alternating slices with both sets of threads alive, so a slow spell of the host moves
// one slice's figures on both sides, and the ratios come from pairs taken together. Each drain is
// split by its time stamps into the caller's code, the signal to the CPUs, their drain work and
// the signal back; the floor's rounds into the same two legs.
import { availableParallelism } from 'node:os';
import { Coordinator } from '../src/coordinator/coordinator.js';
import { C, cpuBase, Stat } from '../src/mm/layout.js';
import { STAMP_MASK, stampDiff } from '../src/mm/lru_add_drain_all.js';
import { getPolicy } from '../src/mm/policy.js';
import { BENCH_PARK, BENCH_PARKED, BENCH_READY, BENCH_RELEASE, BENCH_ROUND, BENCH_WARM_CYCLES } from '../src/job/bench_program.js';
import { busyPhase, FloorThreads, IDLE_SETTLE_US, settle } from './floor.js';
import { nowNs } from '../src/mm/boot.js';

/** Median and quartiles over the slices. */
export interface Quartiles {
  p25: number;
  p50: number;
  p75: number;
}

export interface DrainBenchRow {
  cpus: number;
  mode: 'busy' | 'idle';
  emuP50: number;
  emuP99: number;
  /** Per drain: the longest drain work (lru_add_drain_per_cpu on one CPU, DRAIN_WORK_NS), median. */
  workP50: number;
  /** Per drain: the caller's own code, lru_add_drain_all() up to its first queue_work_on() and after its last flush_work(), median. */
  callerP50: number;
  /** Per drain: the first queue_work_on() to the first CPU's drain work starting (the signal there and the wait for a scheduling point), median. */
  thereP50: number;
  /** Per drain: the last CPU's drain work ending to the last flush_work() returning (the completion's signal back), median. */
  backP50: number;
  floorP50: number;
  floorP99: number;
  /** The floor's legs: ring to the first acknowledgement, and the last acknowledgement back, medians. */
  floorThereP50: number;
  floorBackP50: number;
  /** Per slice: the emulator's median round trip over the floor's median. */
  ratio: Quartiles;
  /** Per slice: the emulator's median signalling (there + back) over the floor's median round trip. */
  signalRatio: Quartiles;
  /**
   * Busy: the mean time (ns) a busy CPU ran between two scheduling points (its free-run thread's
   * SCHED_POINTS over the slice, less its drain work), where it looks for queued work; NaN idle.
   */
  pointGapNs: number;
  /** Busy: the floor whose threads work `pointGapNs` between looks at their bell: round trip p50. */
  gapFloorP50: number;
  /** Busy: per slice, the emulator's median signalling over that floor's median round trip. */
  gapSignalRatio: Quartiles;
  slices: number;
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
/** Slices per cell: each times the emulator, then the floor. */
const SLICES = 10;
/**
 * Pause at each switch of side (µs): longer than a wait's spin (waitSpinNs(), 200 µs), so the
 * threads of the side just parked are asleep, not spinning on a core the other side needs.
 */
const SWITCH_US = 1000;

/** NaN for no samples (a cell whose every drain went untimed prints NaN, not a crash). */
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function quartiles(xs: number[]): Quartiles {
  return { p25: pct(xs, 25), p50: pct(xs, 50), p75: pct(xs, 75) };
}

interface Slice {
  lat: number[];
  work: number[];
  caller: number[];
  there: number[];
  back: number[];
  /** there + back, drain by drain. */
  signal: number[];
  floor: number[];
  floorLegs: { there: number[]; back: number[] };
  /** Busy: the slice's mean gap between a CPU's scheduling points (ns), and the floor polled at it. */
  gap: number;
  gapFloor: number[];
}

const newSlice = (): Slice => ({
  lat: [],
  work: [],
  caller: [],
  there: [],
  back: [],
  signal: [],
  floor: [],
  floorLegs: { there: [], back: [] },
  gap: Number.NaN,
  gapFloor: [],
});

/** The emulator's side of a cell, driven from the coordinator's thread inside Coordinator.run(). */
class EmulatorCell {
  private parks = 0;
  private round = 0;
  queued = 0;
  empty = 0;
  private readonly before: number[] = [];
  private readonly after: number[] = [];
  private readonly phase = busyPhase(1);

  constructor(
    private readonly c: Coordinator,
    private readonly n: number,
    private readonly busy: boolean,
  ) {}

  private allAtLeast(word: number, v: number): () => boolean {
    const w = this.c.w;
    return () => {
      for (let i = 0; i < this.n; i++) if (Atomics.load(w, cpuBase(i) + word) < v) return false;
      return true;
    };
  }

  private ring(): void {
    const w = this.c.w;
    for (let i = 0; i < this.n; i++) {
      Atomics.add(w, cpuBase(i) + C.BELL, 1);
      Atomics.notify(w, cpuBase(i) + C.BELL);
    }
  }

  /** Busy CPUs empty their batches and sleep while the floor is timed (idle ones wait for a round anyway). */
  park(): void {
    if (!this.busy) return;
    Atomics.store(this.c.w, BENCH_PARK, ++this.parks);
    this.c.waitFor(this.allAtLeast(BENCH_PARKED, this.parks), 60_000);
  }

  /** Busy CPUs back at work, each 512 cycles in (its batch refilled). */
  resume(): void {
    if (!this.busy) return;
    const w = this.c.w;
    const from = Array.from({ length: this.n }, (_, i) => Atomics.load(w, cpuBase(i) + BENCH_READY));
    Atomics.store(w, BENCH_PARK, 0);
    this.ring();
    this.c.waitFor(() => from.every((v, i) => Atomics.load(w, cpuBase(i) + BENCH_READY) >= v + 512), 60_000);
  }

  /** Each CPU's scheduling points and drain work so far, and the clock: gapNs() takes the differences. */
  private mark(): { t: number; points: number; work: number } {
    const w = this.c.w;
    let points = 0;
    let work = 0;
    for (let i = 0; i < this.n; i++) {
      points += Atomics.load(w, cpuBase(i) + C.SCHED_POINTS);
      work += Atomics.load(w, cpuBase(i) + C.STATS + Stat.DRAIN_WORK_NS);
    }
    return { t: nowNs(), points, work };
  }

  /** Busy: the mean time a CPU ran between two scheduling points since `m` (its drain work left out). */
  gapNs(m: { t: number; points: number; work: number }): number {
    const now = this.mark();
    const points = (now.points - m.points) | 0;
    return points > 0 ? ((now.t - m.t) * this.n - ((now.work - m.work) | 0)) / points : Number.NaN;
  }

  /**
   * drains() for a slice, with the busy CPUs' gap between scheduling points meanwhile (into
   * s.gap), where every thread has a core: else the wall time counts the time slices a CPU
   * thread spent descheduled, which the floor's threads then spend too.
   */
  timedDrains(rounds: number, s: Slice, fits: boolean): void {
    const m = this.mark();
    this.drains(rounds, s);
    if (this.busy && fits) s.gap = this.gapNs(m);
  }

  private workNs(into: number[]): void {
    const w = this.c.w;
    for (let i = 0; i < this.n; i++) into[i] = Atomics.load(w, cpuBase(i) + C.STATS + Stat.DRAIN_WORK_NS);
  }

  /**
   * `rounds` timed drains that found work (into `s`, or none while warming). Busy, drains follow
   * each other within a µs or so of the last one's return, about one isolate/putback cycle: a drain
   * that comes before the CPU has put a folio back since the last one (or while the host has
   * descheduled it) finds nothing to do. Those are counted apart (`empty`, printed as untimed), not
   * mixed into the round trip.
   */
  drains(rounds: number, s: Slice | null): void {
    const { c, n, before, after } = this;
    const w = c.w;
    for (let timed = 0, tries = 0; timed < rounds && tries < rounds * 20; tries++) {
      if (!this.busy) {
        Atomics.store(w, BENCH_ROUND, ++this.round);
        this.ring();
        c.waitFor(this.allAtLeast(BENCH_READY, this.round));
        settle(IDLE_SETTLE_US);
      } else this.phase(); // the drain comes at a random moment of the CPU's work, as the floor's ring does
      this.workNs(before);
      // Each CPU's DRAIN_WORK_NS, read before and after a drain: its kworker adds the time of its
      // drain work before it signals completion, so the coordinator sees it once the drain returns.
      const rec = c.lruAddDrainAll(10_000, true);
      this.workNs(after);
      if (!rec) continue;
      if (rec.cpusQueued === 0) {
        if (s) this.empty++;
        continue;
      }
      timed++;
      if (!s) continue;
      const { queueNs, flushedNs } = rec.phases!;
      // The first CPU with work was queued first (the scan goes up from CPU 0); the flush
      // returns after the last CPU's work has ended.
      let longest = 0;
      let first = -1;
      let lastEnd = -1;
      for (let i = 0; i < n; i++) {
        const ran = after[i]! - before[i]!;
        if (ran <= 0) continue; // not queued: no drain work ran there
        longest = Math.max(longest, ran);
        if (first < 0) first = i;
        const end = Atomics.load(w, cpuBase(i) + C.DRAIN_WORK_END);
        if (lastEnd < 0 || stampDiff(lastEnd, end) < 1 << 29) lastEnd = end;
      }
      // Queued, but no CPU's DRAIN_WORK_NS moved (a work item that took under 1 ns?): no legs to take.
      if (first < 0) throw new Error(`bench drain: ${rec.cpusQueued} CPU(s) queued but no drain work recorded`);
      const there = stampDiff(queueNs & STAMP_MASK, Atomics.load(w, cpuBase(first) + C.DRAIN_WORK_START));
      const back = stampDiff(lastEnd, flushedNs & STAMP_MASK);
      s.lat.push(rec.endNs - rec.startNs);
      s.work.push(longest);
      s.caller.push(queueNs - rec.startNs + (rec.endNs - flushedNs));
      s.there.push(there);
      s.back.push(back);
      s.signal.push(there + back);
      this.queued += rec.cpusQueued;
    }
  }
}

/** N CPU threads on the bench program (busy: isolate/putback cycles; idle: a refill per round). */
async function onBenchCpus(n: number, busy: boolean, during: (c: Coordinator) => void): Promise<void> {
  const c = await Coordinator.start({ cpus: n, dims: { nFolios: n * 64 + 64 } });
  try {
    await c.configure({ job: { kind: 'program', name: 'bench', params: { busy: busy ? 1 : 0, pool: 64 } }, policy: getPolicy('v6.11'), seed: 1 });
    const outcome = await c.run({
      trials: 1,
      during: () => {
        during(c);
        Atomics.store(c.w, BENCH_PARK, 0);
        Atomics.store(c.w, BENCH_RELEASE, 1);
      },
    });
    if (outcome.crash) throw new Error(`bench: CPU ${outcome.crash.cpu} crashed: ${outcome.crash.message}`);
  } finally {
    await c.shutdown();
  }
}

async function measureCell(n: number, busy: boolean, rounds: number, warmDrains: number): Promise<{ slices: Slice[]; queued: number; empty: number }> {
  const floor = await FloorThreads.start(n, busy, { legs: true });
  const slices: Slice[] = [];
  let queued = 0;
  let empty = 0;
  try {
    floor.park(); // busy floor threads leave the cores to the emulator until their slice
    await onBenchCpus(n, busy, (c) => {
      const emu = new EmulatorCell(c, n, busy);
      c.waitFor(() => {
        for (let i = 0; i < n; i++) if (Atomics.load(c.w, cpuBase(i) + BENCH_READY) < (busy ? BENCH_WARM_CYCLES : 0)) return false;
        return true;
      }, 60_000);
      emu.drains(warmDrains, null);
      emu.park();
      settle(SWITCH_US);
      floor.resume();
      for (let r = 0; r < 20; r++) floor.round();
      floor.park();
      settle(SWITCH_US);
      emu.resume();
      const per = Math.max(1, Math.ceil(rounds / SLICES));
      for (let k = 0; k < SLICES; k++) {
        const s = newSlice();
        emu.timedDrains(per, s, n + 1 <= availableParallelism());
        emu.park();
        settle(SWITCH_US);
        floor.resume();
        for (let r = 0; r < per; r++) s.floor.push(floor.round(s.floorLegs));
        if (busy && Number.isFinite(s.gap)) {
          floor.setUnitNs(s.gap);
          for (let r = 0; r < per; r++) s.gapFloor.push(floor.round());
          floor.setUnitNs(0);
        }
        floor.park();
        settle(SWITCH_US);
        emu.resume();
        slices.push(s);
      }
      queued = emu.queued;
      empty = emu.empty;
    });
  } finally {
    await floor.stop();
  }
  return { slices, queued, empty };
}

export async function benchDrain(cpuCounts: number[], rounds: number, onRow?: (r: DrainBenchRow) => void): Promise<DrainBenchRow[]> {
  const rows: DrainBenchRow[] = [];
  for (const n of cpuCounts) {
    const fits = n + 1 <= availableParallelism();
    const cellRounds = fits ? rounds * FIT_FACTOR : rounds;
    for (const mode of ['busy', 'idle'] as const) {
      const cell = await measureCell(n, mode === 'busy', cellRounds, fits ? WARM_DRAINS * FIT_FACTOR : WARM_DRAINS);
      const all = (k: Exclude<keyof Slice, 'floorLegs'>) => cell.slices.flatMap((s) => s[k]);
      const lat = all('lat');
      const floor = all('floor');
      const full = cell.slices.filter((s) => s.lat.length > 0);
      rows.push({
        cpus: n,
        mode,
        emuP50: pct(lat, 50),
        emuP99: pct(lat, 99),
        workP50: pct(all('work'), 50),
        callerP50: pct(all('caller'), 50),
        thereP50: pct(all('there'), 50),
        backP50: pct(all('back'), 50),
        floorP50: pct(floor, 50),
        floorP99: pct(floor, 99),
        floorThereP50: pct(
          cell.slices.flatMap((s) => s.floorLegs.there),
          50,
        ),
        floorBackP50: pct(
          cell.slices.flatMap((s) => s.floorLegs.back),
          50,
        ),
        ratio: quartiles(full.map((s) => pct(s.lat, 50) / pct(s.floor, 50))),
        signalRatio: quartiles(full.map((s) => pct(s.signal, 50) / pct(s.floor, 50))),
        pointGapNs: pct(full.map((s) => s.gap).filter(Number.isFinite), 50),
        gapFloorP50: pct(
          full.flatMap((s) => s.gapFloor),
          50,
        ),
        gapSignalRatio: quartiles(full.filter((s) => s.gapFloor.length > 0).map((s) => pct(s.signal, 50) / pct(s.gapFloor, 50))),
        slices: full.length,
        cpusQueued: cell.queued / Math.max(1, lat.length),
        emptyDrains: cell.empty,
      });
      onRow?.(rows[rows.length - 1]!);
    }
  }
  return rows;
}
