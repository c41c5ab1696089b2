// Which kernel an image is: the version string of a bzImage's setup header (arch/x86/boot/header.S:
// `kernel_version` at 0x20e points at a NUL-terminated string, offset by 0x200), and of the booted
// guest's uname. Distribution kernels put the upstream release in `uname -v` ("Debian 6.1.192-3").
import { openSync, readSync, closeSync } from 'node:fs';

/** The version string in a bzImage, or null when the file is not one. */
export function bzImageVersion(path: string): string | null {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(0x10000);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
    const at = head.readUInt16LE(0x20e) + 0x200;
    if (at >= n) return null;
    const end = head.indexOf(0, at);
    return head.toString('latin1', at, end < 0 ? Math.min(n, at + 256) : end);
  } finally {
    closeSync(fd);
  }
}

/**
 * The upstream version a kernel string names: "Debian 6.1.192-3" (Debian's ABI release
 * 6.1.0-57 says nothing), else the release's leading x.y[.z][-rcN] ("6.12.45-dirty" -> 6.12.45).
 */
export function upstreamVersion(text: string): string | null {
  const deb = /\bDebian (\d+\.\d+\.\d+)/.exec(text);
  if (deb) return deb[1]!;
  const m = /^(\d+\.\d+(?:\.\d+)?)(-rc\d+)?/.exec(text.trim());
  if (!m) return null;
  return m[2] ? `v${m[1]}${m[2]}` : m[1]!;
}
