// The floor for the drain benchmark: a bare Atomics doorbell. Each thread polls its bell
// between units of work (busy) or waits on it (idle: spinning for `spinNs`, then asleep, as an
// emulated CPU's waits do), and acknowledges each ring. Parked (FLOOR_PARK), a busy thread sleeps
// so that the emulator measured meanwhile has the cores.
import { workerData } from 'node:worker_threads';

const { sab, i, busy, spinNs, legs } = workerData as { sab: SharedArrayBuffer; i: number; busy: boolean; spinNs: number; legs: boolean };
const w = new Int32Array(sab);
// Taken once, as the emulator's clocks are (src/mm/boot.ts): both are accessors on the global object.
const hostPerf = performance;
const hrtimeBigint = process.hrtime.bigint;
const BELL = (i + 1) * 16;
const ACK = BELL + 1;
const ACK_AT = BELL + 2; // low 30 bits of the clock (ns) at the acknowledgement
const MINE = BELL + 4; // private scratch on the thread's own line
const STOP = 8; // FLOOR_STOP in floor.ts
const PARK = 9; // FLOOR_PARK in floor.ts
const UNIT_NS = 10; // FLOOR_UNIT_NS in floor.ts

function ack(v: number): void {
  // Only when the legs are timed: a clock read is ~50 ns of the round otherwise.
  if (legs) w[ACK_AT] = Number(hrtimeBigint() & 0x3fffffffn); // published by the store below
  Atomics.store(w, ACK, v);
  Atomics.add(w, 0, 1);
  Atomics.notify(w, 0);
}

let seen = 0;
while (Atomics.load(w, STOP) === 0) {
  const v = Atomics.load(w, BELL);
  if (v !== seen) {
    seen = v;
    ack(v);
    continue;
  }
  if (busy) {
    if (Atomics.load(w, PARK) !== 0) {
      Atomics.wait(w, PARK, 1, 50);
      continue;
    }
    const unitNs = Atomics.load(w, UNIT_NS);
    if (unitNs === 0) {
      // The bare floor's unit of work: a few dozen atomics (~170 ns here) between looks at the bell.
      for (let k = 0; k < 24; k++) Atomics.add(w, MINE, 1);
    } else {
      // As long as the emulated CPU runs between two scheduling points (FloorThreads.setUnitNs).
      const end = hostPerf.now() + unitNs / 1e6;
      do Atomics.add(w, MINE, 1);
      while (hostPerf.now() < end);
    }
  } else {
    let spins = 0;
    const spinUntil = hostPerf.now() + spinNs / 1e6;
    while (Atomics.load(w, BELL) === seen && (spins++ < 200 || (spins & 7) !== 0 || hostPerf.now() < spinUntil)) {
      /* spin, then sleep (the clock only every 8th turn, as the emulator's waits read it) */
    }
    if (Atomics.load(w, BELL) === seen) Atomics.wait(w, BELL, seen, 50);
  }
}
