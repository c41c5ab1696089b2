// The floor for the drain benchmark: a bare Atomics doorbell. Each thread polls its bell
// between units of work (busy) or waits on it (idle: spinning for `spinNs`, then asleep, as an
// emulated CPU's waits do), and acknowledges each ring. Parked (FLOOR_PARK), a busy thread sleeps
// so that the emulator measured meanwhile has the cores.
import { workerData } from 'node:worker_threads';

const { sab, i, busy, spinNs, legs } = workerData as { sab: SharedArrayBuffer; i: number; busy: boolean; spinNs: number; legs: boolean };
const w = new Int32Array(sab);
const BELL = (i + 1) * 16;
const ACK = BELL + 1;
const ACK_AT = BELL + 2; // low 30 bits of the clock (ns) at the acknowledgement
const MINE = BELL + 4; // private scratch on the thread's own line
const STOP = 8; // FLOOR_STOP in floor.ts
const PARK = 9; // FLOOR_PARK in floor.ts

function ack(v: number): void {
  // Only when the legs are timed: a clock read is ~50 ns of the round otherwise.
  if (legs) w[ACK_AT] = Number(process.hrtime.bigint() & 0x3fffffffn); // published by the store below
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
    // A unit of work of the same order as one emulated operation: a few dozen atomics.
    for (let k = 0; k < 24; k++) Atomics.add(w, MINE, 1);
  } else {
    let spins = 0;
    const spinUntil = performance.now() + spinNs / 1e6;
    while (Atomics.load(w, BELL) === seen && (spins++ < 200 || performance.now() < spinUntil)) {
      /* spin, then sleep */
    }
    if (Atomics.load(w, BELL) === seen) Atomics.wait(w, BELL, seen, 50);
  }
}
