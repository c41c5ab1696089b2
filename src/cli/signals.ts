// Ctrl-C and a batch scheduler's SIGTERM, for the command line only (the library installs no
// process handlers: its runs take an AbortSignal). The first signal aborts the command's signal and
// every live coordinator, so results so far are tabulated and written ("aborted": true); a second
// one leaves at once. Exit 130 after SIGINT, 143 after SIGTERM.
import { abortAll } from '../runtime/registry.js';

export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type Sig = keyof typeof SIGNAL_EXIT;

const controller = new AbortController();
let received: Sig | null = null;
let installed = false;

/** Aborted at the first SIGINT or SIGTERM (after installInterruptHandlers()). */
export const interruptSignal: AbortSignal = controller.signal;

/** Which signal stopped the run, if any. */
export function interruptedBy(): Sig | null {
  return received;
}

export function installInterruptHandlers(err: { write(s: string): unknown } = process.stderr): void {
  if (installed) return;
  installed = true;
  const on = (sig: Sig) => () => {
    if (received) process.exit(SIGNAL_EXIT[received]); // the second signal: leave at once
    received = sig;
    process.exitCode = SIGNAL_EXIT[sig];
    err.write(`\nfolio-race: ${sig === 'SIGINT' ? 'interrupted' : 'terminated (SIGTERM)'}; stopping CPUs and keeping results so far (again to quit at once)\n`);
    controller.abort(new Error(`interrupted (${sig})`));
    abortAll(`interrupted (${sig})`);
  };
  process.on('SIGINT', on('SIGINT'));
  process.on('SIGTERM', on('SIGTERM'));
}
