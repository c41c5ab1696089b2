// Long single-thread work (a hunt, an exhaustive search, a study's trials on the deterministic or
// logical runtime) in slices that give the event loop a turn between them. Run in one go it holds
// the loop for its whole length, and Ctrl-C's handler (a callback on that loop) runs only after it,
// or not at all when the process exits first: the interrupt is lost.

/** How long single-thread work runs between two turns of the event loop (ms). */
export const SLICE_MS = 20;

/**
 * A clock of turns: call it between two units of work; it returns a promise to await when a turn
 * of the event loop is due (every `sliceMs`), and null otherwise (no microtask per unit).
 */
export function eventLoopTurns(sliceMs = SLICE_MS): () => Promise<void> | null {
  let until = performance.now() + sliceMs;
  return () => {
    if (performance.now() < until) return null;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        until = performance.now() + sliceMs;
        resolve();
      }),
    );
  };
}

/** Run a search that yields after each run (its count so far) to its end without giving up the thread. */
export function driveToEnd<T>(g: Generator<number, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/**
 * Run a search that yields after each run (its count so far) to its end, giving the event loop a
 * turn every `sliceMs`; `onTurn` hears the count at each turn (progress).
 */
export async function driveInSlices<T>(g: Generator<number, T>, sliceMs = SLICE_MS, onTurn?: (count: number) => void): Promise<T> {
  const turn = eventLoopTurns(sliceMs);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    const t = turn();
    if (t) {
      onTurn?.(r.value);
      await t;
    }
  }
}
