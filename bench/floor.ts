// Floor measurement: broadcast a doorbell to N threads and collect their acknowledgements,
// waiting as the emulator does in the same cell: spin for waitSpinNs() (while every thread has a
// core), then sleep, on both sides.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { busyBesideSpinNs } from '../src/cpu/freerun.js';

/**
 * Idle cells: after a round's refill the timed drain waits this long, and so does the floor's
 * next round, so an idle CPU is idle when the drain comes: asleep, or spinning where the
 * emulator's rule spins. Without it the drain met the CPUs finishing their refill, three threads
 * for two cores at N = 2 (55-63 µs against a 15 µs floor; 27-28 µs with it).
 */
export const IDLE_SETTLE_US = 100;

/** Wait `us` without giving up the thread (a benchmark's pause between rounds). */
export function settle(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    /* the CPU threads go idle meanwhile */
  }
}

/**
 * `spinNs`: how long each side's wait spins before it sleeps; by default the emulator's rule for
 * the cell (the drain bench); 0 measures a thread that sleeps every round (the logical model's
 * wake-up of a sleeping thread, bench/logical.ts).
 */
export async function measureFloor(n: number, busy: boolean, rounds: number, spinNs = busyBesideSpinNs(n, n)): Promise<number[]> {
  const sab = new SharedArrayBuffer((n + 2) * 64);
  const w = new Int32Array(sab);
  const path = fileURLToPath(new URL('./floor-worker.js', import.meta.url));
  const threads = Array.from({ length: n }, (_, i) => new Worker(path, { workerData: { sab, i, busy, spinNs } }));
  await new Promise((r) => setTimeout(r, 200)); // let them start
  const out: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      Atomics.store(w, (i + 1) * 16, r);
      Atomics.notify(w, (i + 1) * 16);
    }
    let spins = 0;
    const spinUntil = performance.now() + spinNs / 1e6;
    for (;;) {
      let all = true;
      for (let i = 0; i < n; i++)
        if (Atomics.load(w, (i + 1) * 16 + 1) !== r) {
          all = false;
          break;
        }
      if (all) break;
      if (++spins < 200 || performance.now() < spinUntil) continue;
      const seen = Atomics.load(w, 0);
      let again = true;
      for (let i = 0; i < n; i++)
        if (Atomics.load(w, (i + 1) * 16 + 1) !== r) {
          again = false;
          break;
        }
      if (!again) Atomics.wait(w, 0, seen, 50);
    }
    out.push(Number(process.hrtime.bigint() - t0));
    if (!busy) {
      await new Promise((res) => setImmediate(res));
      settle(IDLE_SETTLE_US); // as the emulator's idle cells wait before each drain
    }
  }
  Atomics.store(w, 8, 1);
  for (let i = 0; i < n; i++) Atomics.notify(w, (i + 1) * 16);
  await Promise.all(threads.map((t) => t.terminate()));
  return out;
}
