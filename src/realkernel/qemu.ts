// Booting the guest: qemu-system-x86_64 under TCG (KVM guests die with emulation failures on
// these hosts; multi-threaded TCG gave sporadic boot oopses), the kernel image and the initramfs,
// the serial console on stdout. Lines are handed over as they arrive; the run ends when the guest
// powers off, panics (panic=-1 reboots, -no-reboot makes that an exit), or the timeout fires.
import { spawn } from 'node:child_process';

export interface BootOptions {
  qemu: string;
  image: string;
  initramfs: string;
  cpus: number;
  memory: string;
  /** Extra kernel command-line words (fr.trials=N ...). */
  append: string[];
  timeoutMs: number;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface BootResult {
  console: string[];
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  wallMs: number;
  panic: string | null;
  /** The qemu command line, for the report. */
  argv: string[];
}

/** The kernel command line the prototype established: ZONE_MOVABLE holds user pages, no THP. */
export const GUEST_CMDLINE = ['console=ttyS0', 'movablecore=75%', 'transparent_hugepage=never', 'quiet', 'panic=-1'];

export function qemuArgs(o: BootOptions): string[] {
  return [
    '-accel',
    'tcg,thread=single',
    '-cpu',
    'max',
    '-smp',
    String(o.cpus),
    '-m',
    o.memory,
    '-kernel',
    o.image,
    '-initrd',
    o.initramfs,
    '-append',
    [...GUEST_CMDLINE, ...o.append].join(' '),
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-nodefaults',
    '-serial',
    'stdio',
  ];
}

export function bootGuest(o: BootOptions): Promise<BootResult> {
  const argv = qemuArgs(o);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(o.qemu, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let timedOut = false;
    let aborted = false;
    let panic: string | null = null;
    const feed = (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl).replace(/\r$/, '');
        partial = partial.slice(nl + 1);
        lines.push(line);
        if (panic === null && /Kernel panic - not syncing/.test(line)) panic = line.trim();
        o.onLine?.(line);
      }
    };
    child.stdout.setEncoding('latin1').on('data', feed);
    child.stderr.setEncoding('latin1').on('data', feed);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${o.qemu}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (partial) feed('\n');
      resolve({ console: lines, exitCode: code, timedOut, aborted, wallMs: Date.now() - started, panic, argv });
    });
  });
}
