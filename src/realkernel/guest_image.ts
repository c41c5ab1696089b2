// The guest's initramfs: the translated program (built static), busybox, and an /init that mounts
// what the program reads (/proc, /sys, /dev, tracefs, the tmpfs and ramfs file objects live on),
// runs it and powers off. Built into a cache directory keyed by its inputs, so the same
// scenarios boot again without a compile.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { UsageError } from '../cli/errors.js';
import type { GuestTools } from './tools.js';
import { GUEST_MOUNTS, guestRuntimeDir, guestRuntimeSource } from './translate.js';

/** The guest's PID 1: mounts, the test program, its exit status, power off. */
export function initScript(): string {
  const bb = '/bin/busybox';
  return [
    `#!${bb} sh`,
    `${bb} mkdir -p /proc /sys /dev /tmp ${GUEST_MOUNTS.tmp} ${GUEST_MOUNTS.huge} ${GUEST_MOUNTS.ramfs}`,
    `${bb} mount -t proc proc /proc`,
    `${bb} mount -t sysfs sysfs /sys`,
    `${bb} mount -t devtmpfs devtmpfs /dev`,
    `${bb} mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || ${bb} mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null`,
    `${bb} mount -t tmpfs -o size=256m tmpfs ${GUEST_MOUNTS.tmp}`,
    `${bb} mount -t tmpfs -o huge=always,size=512m tmpfs ${GUEST_MOUNTS.huge} 2>/dev/null || { echo "FR-NOTE \\"tmpfs huge=always refused: large file folios are small\\""; ${bb} mount -t tmpfs -o size=512m tmpfs ${GUEST_MOUNTS.huge}; }`,
    `${bb} mount -t ramfs ramfs ${GUEST_MOUNTS.ramfs}`,
    'echo FR-INIT',
    '/fr-test',
    'echo "FR-EXIT $?"',
    `${bb} poweroff -f`,
    '',
  ].join('\n');
}

/** Pack `root` (plus busybox and `init`) into a newc cpio archive at `out`. */
export function packInitramfs(root: string, init: string, tools: Pick<GuestTools, 'busybox' | 'cpio'>, out: string): void {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(tools.busybox, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(join(root, 'init'), init, { mode: 0o755 });
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      files.push(relative(root, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  const cp = spawnSync('sh', ['-c', `"$0" -o -H newc --quiet > "$1"`, tools.cpio, out], { cwd: root, input: files.join('\n') + '\n', encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cpio could not pack the initramfs: ${(cp.stderr || '').trim()}`);
}

export function defaultCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir() || tmpdir(), '.cache');
  return join(base, 'folio-race', 'kernel');
}

export interface GuestImage {
  initramfs: string;
  /** Whether it came from the cache. */
  cached: boolean;
  dir: string;
}

/** Build (or reuse) the initramfs for a program. Compile errors are internal errors: the translator wrote bad C. */
export function buildGuestImage(programC: string, tools: GuestTools, cacheDir = defaultCacheDir()): GuestImage {
  const bb = statSync(tools.busybox);
  const key = createHash('sha256')
    .update(programC)
    .update('\0')
    .update(guestRuntimeSource())
    .update('\0')
    .update(initScript())
    .update(`\0${tools.busybox}:${bb.size}:${bb.mtimeMs}\0${tools.gcc}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, key);
  const initramfs = join(dir, 'initramfs.cpio');
  if (existsSync(initramfs)) return { initramfs, cached: true, dir };
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--cache: cannot create '${cacheDir}': ${(e as Error).message}`);
  }
  const stage = mkdtempSync(join(cacheDir, 'build-'));
  try {
    const root = join(stage, 'root');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'fr']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(stage, 'fr-test.c'), programC);
    const cc = spawnSync(
      tools.gcc,
      ['-static', '-O2', '-pthread', '-Wall', '-Wextra', '-Werror', '-I', guestRuntimeDir(), '-o', join(root, 'fr-test'), join(stage, 'fr-test.c')],
      { encoding: 'utf8' },
    );
    if (cc.status !== 0) {
      const why = (cc.stderr || cc.error?.message || '').trim().split('\n').slice(0, 20).join('\n');
      throw new Error(`gcc could not build the guest program (${join(stage, 'fr-test.c')}):\n${why}`);
    }
    const out = join(stage, 'initramfs.cpio');
    packInitramfs(root, initScript(), tools, out);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(stage, 'fr-test.c'), join(dir, 'fr-test.c'));
    renameSync(out, initramfs); // last: a half-built image is never found in the cache
    return { initramfs, cached: false, dir };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
