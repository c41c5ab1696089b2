// The seeded PRNG every seeded choice uses (jitter in scenario jobs, the random and PCT
// schedulers): below the jobs and sched/ so neither imports the other for it.
/** A small seeded PRNG (mulberry32): jitter must replay from the run's seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
