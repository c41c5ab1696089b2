// Every live coordinator registers here so that any exit path (normal end, a crashed CPU,
// bad input, Ctrl-C) can stop all worker threads before the process ends.
export interface Stoppable {
  /** Ask running trials to stop; keep results gathered so far. */
  abort(reason: string): void;
  /** Stop and join every worker thread. */
  shutdown(): Promise<void>;
}

const live = new Set<Stoppable>();
let liveWorkers = 0;
let sigintInstalled = false;
let interrupted = false;

export function register(s: Stoppable): void {
  live.add(s);
  installSigint();
}
export function unregister(s: Stoppable): void {
  live.delete(s);
}
export function workerStarted(): void {
  liveWorkers++;
}
export function workerExited(): void {
  liveWorkers--;
}
/** Worker threads started and not yet exited, over all coordinators. */
export function liveWorkerCount(): number {
  return liveWorkers;
}

/** Stop every coordinator and wait until all their threads have exited. */
export async function shutdownAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.shutdown()));
}

function installSigint(): void {
  if (sigintInstalled) return;
  sigintInstalled = true;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130); // second Ctrl-C: leave at once
    interrupted = true;
    process.exitCode = 130;
    process.stderr.write('\nfolio-race: interrupted; stopping CPUs and keeping results so far (Ctrl-C again to quit at once)\n');
    for (const s of live) s.abort('interrupted (SIGINT)');
  });
}
