// Floor measurement: broadcast a doorbell to N threads and collect their acknowledgements,
// waiting as the emulator does in the same cell: spin for waitSpinNs() (while every thread has a
// core), then sleep, on both sides.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { busyBesideSpinNs } from '../src/cpu/freerun.js';
import { stampDiff } from '../src/mm/lru_add_drain_all.js';
import { hostPerf } from '../src/mm/boot.js';
import { mulberry32 } from '../src/rng/mulberry32.js';

/** Taken once: `process` is an accessor on the global object (15-30 ns a read), as in nowNs(). */
const hrtimeBigint = process.hrtime.bigint;

/**
 * Idle cells: after a round's refill the timed drain waits this long, and so does the floor's
 * next round, so an idle CPU is idle when the drain comes: asleep, or spinning where the
 * emulator's rule spins. Without it the drain met the CPUs finishing their refill, three threads
 * for two cores at N = 2 (55-63 µs against a 15 µs floor; 27-28 µs with it).
 */
export const IDLE_SETTLE_US = 100;

/** Words of the floor's shared buffer (floor-worker.ts uses the same). */
export const FLOOR_STOP = 8;
/** Non-zero: busy threads stop their work and sleep (the drain bench measures the emulator meanwhile). */
export const FLOOR_PARK = 9;
/** Busy threads' unit of work between looks at the bell (ns); 0: the bare unit of 24 atomics. */
export const FLOOR_UNIT_NS = 10;
/**
 * Busy cells: before each timed ring (the floor's rounds and the emulator's drains alike) the
 * ringer waits a random 0 to this many µs, untimed. A busy thread looks for its bell once per unit
 * of work; rung back to back, the ring always came the same short while into a fresh unit and waited
 * out nearly all of it (a 1.5 µs unit: 1.7 µs round trips, 0.9 µs rung at random moments). Two µs
 * span several units of any gap measured here, so the ring lands at an all but uniform phase.
 */
export const BUSY_PHASE_US = 2;

/** The seeded random phase before each busy ring (BUSY_PHASE_US). */
export function busyPhase(seed: number): () => void {
  const rng = mulberry32(seed);
  return () => settle(rng() * BUSY_PHASE_US);
}

/** Untimed rounds after each resume() of busy threads. */
const RESUME_ROUNDS = 5;
/** A round that waits this long for its acknowledgements (ms) throws. */
const ROUND_TIMEOUT_MS = 10_000;

/**
 * The two legs of a floor round: ring to the acknowledgement of thread 0 (rung first, as the
 * emulator's first queued CPU is), and the last acknowledgement back (ns each).
 */
export interface FloorLegs {
  there: number[];
  back: number[];
}

/** Wait `us` without giving up the thread (a benchmark's pause between rounds). */
export function settle(us: number): void {
  const end = hostPerf.now() + us / 1000;
  while (hostPerf.now() < end) {
    /* the CPU threads go idle meanwhile */
  }
}

/**
 * N doorbell threads, kept alive across rounds so that the drain bench can time them in slices
 * alternating with the emulator's, in one process. `spinNs`: how long each side's wait spins
 * before it sleeps; by default the emulator's rule for the cell; 0 measures a thread that sleeps
 * every round (the logical model's wake-up of a sleeping thread, bench/logical.ts).
 */
export class FloorThreads {
  private readonly w: Int32Array;
  private readonly threads: Worker[];
  private r = 0;
  private readonly phase = busyPhase(2);

  private constructor(
    readonly n: number,
    readonly busy: boolean,
    private readonly spinNs: number,
    private readonly legs: boolean,
  ) {
    const sab = new SharedArrayBuffer((n + 2) * 64);
    this.w = new Int32Array(sab);
    const path = fileURLToPath(new URL('./floor-worker.js', import.meta.url));
    this.threads = Array.from({ length: n }, (_, i) => new Worker(path, { workerData: { sab, i, busy, spinNs, legs } }));
  }

  /** `legs`: the threads stamp their acknowledgements, so that round(legs) can split a round. */
  static async start(n: number, busy: boolean, opts: { spinNs?: number; legs?: boolean } = {}): Promise<FloorThreads> {
    const f = new FloorThreads(n, busy, opts.spinNs ?? busyBesideSpinNs(n, n), opts.legs ?? false);
    await new Promise((r) => setTimeout(r, 200)); // let them start
    return f;
  }

  /** Busy threads stop working and sleep until resume() (idle threads sleep anyway). */
  park(): void {
    Atomics.store(this.w, FLOOR_PARK, 1);
  }

  /**
   * Busy threads back at work. A few untimed rounds follow, so that no timed round meets a thread
   * still waking from its park (32-113 µs for that first round, against about 1 µs after).
   */
  resume(): void {
    Atomics.store(this.w, FLOOR_PARK, 0);
    Atomics.notify(this.w, FLOOR_PARK);
    if (this.busy && Atomics.load(this.w, FLOOR_STOP) === 0) for (let r = 0; r < RESUME_ROUNDS; r++) this.round();
  }

  /**
   * Busy threads work `ns` between looks at their bell, as long as the emulated CPU runs between
   * two scheduling points (0: the bare unit). A few untimed rounds follow, so every thread has
   * taken up the new unit before a timed round.
   */
  setUnitNs(ns: number): void {
    Atomics.store(this.w, FLOOR_UNIT_NS, Math.max(0, Math.round(ns)));
    if (this.busy && Atomics.load(this.w, FLOOR_STOP) === 0) for (let r = 0; r < RESUME_ROUNDS; r++) this.round();
  }

  /** One round: ring every bell, wait for every acknowledgement (ns); `legs` gets its two legs. */
  round(legs?: FloorLegs): number {
    const { w, n, spinNs } = this;
    const r = ++this.r;
    if (this.busy) this.phase();
    const t0 = hrtimeBigint();
    for (let i = 0; i < n; i++) {
      Atomics.store(w, (i + 1) * 16, r);
      Atomics.notify(w, (i + 1) * 16);
    }
    let spins = 0;
    const spinUntil = hostPerf.now() + spinNs / 1e6;
    const deadline = spinUntil + ROUND_TIMEOUT_MS;
    for (;;) {
      let all = true;
      for (let i = 0; i < n; i++)
        if (Atomics.load(w, (i + 1) * 16 + 1) !== r) {
          all = false;
          break;
        }
      if (all) break;
      if (++spins < 200 || (spins & 7) !== 0 || hostPerf.now() < spinUntil) continue; // the clock every 8th turn, as the emulator's waits
      const seen = Atomics.load(w, 0);
      let again = true;
      for (let i = 0; i < n; i++)
        if (Atomics.load(w, (i + 1) * 16 + 1) !== r) {
          again = false;
          break;
        }
      if (again) continue;
      // A floor thread that died cannot report it while this thread waits here (its 'error' event
      // needs the event loop): give up instead of hanging the bench.
      if (hostPerf.now() > deadline) throw new Error(`floor: a thread did not acknowledge round ${r} within ${ROUND_TIMEOUT_MS / 1000} s (${this.missing(r)})`);
      Atomics.wait(w, 0, seen, 50);
    }
    const t1 = hrtimeBigint();
    const ns = Number(t1 - t0);
    if (legs) {
      const mask = 0x3fffffffn;
      let last = w[16 + 2]!;
      for (let i = 1; i < n; i++) if (stampDiff(last, w[(i + 1) * 16 + 2]!) < 1 << 29) last = w[(i + 1) * 16 + 2]!;
      legs.there.push(stampDiff(Number(t0 & mask), w[16 + 2]!));
      legs.back.push(stampDiff(last, Number(t1 & mask)));
    }
    if (!this.busy) settle(IDLE_SETTLE_US); // as the emulator's idle cells wait before each drain
    return ns;
  }

  private missing(r: number): string {
    const late: number[] = [];
    for (let i = 0; i < this.n; i++) if (Atomics.load(this.w, (i + 1) * 16 + 1) !== r) late.push(i);
    return `thread ${late.join(', ')}`;
  }

  async stop(): Promise<void> {
    Atomics.store(this.w, FLOOR_STOP, 1);
    this.resume();
    for (let i = 0; i < this.n; i++) Atomics.notify(this.w, (i + 1) * 16);
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** `rounds` floor rounds on fresh threads (ns each). */
export async function measureFloor(n: number, busy: boolean, rounds: number, spinNs = busyBesideSpinNs(n, n)): Promise<number[]> {
  const f = await FloorThreads.start(n, busy, { spinNs });
  try {
    const out: number[] = [];
    for (let r = 0; r < rounds; r++) {
      out.push(f.round());
      if (!busy) await new Promise((res) => setImmediate(res));
    }
    return out;
  } finally {
    await f.stop();
  }
}
