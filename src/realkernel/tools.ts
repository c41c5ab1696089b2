// The host programs `folio-race kernel` needs (Debian packages in brackets), found on PATH or
// named by flags. A missing one is bad input (exit 2) naming the package, before any work.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsageError } from '../cli/errors.js';

export interface GuestTools {
  gcc: string;
  busybox: string;
  cpio: string;
  qemu: string;
}

const WANTED: { key: keyof GuestTools; names: string[]; pkg: string; flag: string }[] = [
  { key: 'gcc', names: ['gcc'], pkg: 'gcc libc6-dev (static glibc)', flag: 'FOLIO_RACE_GCC' },
  { key: 'busybox', names: ['busybox'], pkg: 'busybox-static', flag: 'FOLIO_RACE_BUSYBOX' },
  { key: 'cpio', names: ['cpio'], pkg: 'cpio', flag: 'FOLIO_RACE_CPIO' },
  { key: 'qemu', names: ['qemu-system-x86_64'], pkg: 'qemu-system-x86', flag: '--qemu or FOLIO_RACE_QEMU' },
];

/** An executable on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Every tool, or a UsageError naming each missing one and its package. */
export function findGuestTools(overrides: Partial<GuestTools> = {}, command = 'kernel'): GuestTools {
  const env: Partial<GuestTools> = {
    gcc: process.env['FOLIO_RACE_GCC'],
    busybox: process.env['FOLIO_RACE_BUSYBOX'],
    cpio: process.env['FOLIO_RACE_CPIO'],
    qemu: process.env['FOLIO_RACE_QEMU'],
  };
  const found: Partial<GuestTools> = {};
  const missing: string[] = [];
  for (const w of WANTED) {
    const given = overrides[w.key] ?? env[w.key];
    if (given !== undefined) {
      if (!existsSync(given)) missing.push(`${w.key}: '${given}' does not exist`);
      else found[w.key] = given;
      continue;
    }
    // busybox-static installs /bin/busybox; a dynamically linked one would not run in the guest.
    const p = w.names.map(which).find((x) => x !== null) ?? (w.key === 'busybox' && existsSync('/bin/busybox') ? '/bin/busybox' : null);
    if (p) found[w.key] = p;
    else missing.push(`${w.names[0]} not found (Debian: apt-get install ${w.pkg}; or set ${w.flag})`);
  }
  if (missing.length > 0) throw new UsageError(`folio-race ${command} needs host tools that are missing:\n  ${missing.join('\n  ')}`);
  return found as GuestTools;
}
