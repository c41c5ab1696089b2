// Every live coordinator registers here so that any exit path (normal end, a crashed CPU,
// bad input, Ctrl-C) can stop all worker threads before the process ends. No process handlers
// here: the CLI installs them (src/cli/signals.ts).
export interface Stoppable {
  /** Ask running trials to stop; keep results gathered so far. */
  abort(reason: string): void;
  /** Stop and join every worker thread. */
  shutdown(): Promise<void>;
}

const live = new Set<Stoppable>();
let liveWorkers = 0;
export function register(s: Stoppable): void {
  live.add(s);
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

/** Ask every live coordinator to stop (the CLI calls this on SIGINT/SIGTERM; a library caller uses AbortSignals). */
export function abortAll(reason: string): void {
  for (const s of live) s.abort(reason);
}
