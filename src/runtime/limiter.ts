// At most n of a pool's tasks in flight: --jobs N on a pool sized to the host's cores (explore,
// studies, deterministic stress).

/**
 * Start at most `n` tasks at once, each as soon as a slot is free. A task is started at once when
 * one is free, not from a microtask (as p-limit does): a parallel explore's first subtrees are
 * being searched during its own search's first slice (sched/explore_parallel.ts).
 */
export function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  const done = () => {
    active--;
    waiting.shift()?.();
  };
  return <T>(f: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const go = () => {
        active++;
        let p: Promise<T>;
        try {
          p = f();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(done);
      };
      if (active < n) go();
      else waiting.push(go);
    });
}
