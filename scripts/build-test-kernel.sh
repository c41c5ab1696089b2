#!/usr/bin/env bash
# Build the small 6.12.117 test kernel `folio-race kernel` was checked against: Debian's
# linux-source-6.12 with the GUP drain rule put back to the pre-6.11 `!PG_lru` test (S1 fails on
# it every time), CONFIG_DEBUG_PAGE_REF for the page_ref tracepoints, and only what the guest
# needs (serial console, initramfs, tmpfs, io_uring, tracefs, NUMA for mbind, THP for huge tmpfs,
# ACPI for poweroff). About 7 minutes on 2 cores.
#   scripts/build-test-kernel.sh [out-bzImage] [work-dir]
# then: FOLIO_RACE_TEST_UNFIXED_KERNEL=<out-bzImage> npm test   (or folio-race kernel S1 --image ...)
set -euo pipefail
OUT=${1:-$PWD/bzImage-6.12.117-frunfixed}
WORK=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/folio-race/kbuild}
TARBALL=/usr/src/linux-source-6.12.tar.xz
[ -f "$TARBALL" ] || { echo "build-test-kernel: $TARBALL missing (apt-get install linux-source-6.12 flex bison bc libelf-dev libssl-dev)" >&2; exit 2; }
mkdir -p "$WORK"
cd "$WORK"
[ -d linux-source-6.12 ] || tar -xf "$TARBALL"
cd linux-source-6.12
# The drain rule: replace the two-stage `ref != expected + pin_refs` drain by v6.10's `!lru` one.
python3 - <<'PY'
import re, sys
p = 'mm/gup.c'
s = open(p).read()
if 'folio-race test build' not in s:
    a = s.index('\t\tif (drained == 0 && folio_may_be_lru_cached(folio) &&')
    b = s.index('\t\tif (!folio_isolate_lru(folio))', a)
    s = s[:a] + ('\t\t(void)pin_refs;\n'
                 '\t\t/* folio-race test build: the pre-6.11 rule, drain-all only when PG_lru is clear. */\n'
                 '\t\tif (drained == 0 && !folio_test_lru(folio)) {\n'
                 '\t\t\tlru_add_drain_all();\n'
                 '\t\t\tdrained = 1;\n'
                 '\t\t}\n\n') + s[b:]
    open(p, 'w').write(s)
PY
make tinyconfig >/dev/null
./scripts/config -e 64BIT -e SMP --set-val NR_CPUS 8 -e PRINTK -e EARLY_PRINTK -e TTY -e SERIAL_8250 \
  -e SERIAL_8250_CONSOLE -e BLK_DEV_INITRD -e PROC_FS -e PROC_SYSCTL -e SYSFS -e DEVTMPFS -e TMPFS -e SHMEM \
  -e IO_URING -e FUTEX -e MEMFD_CREATE -e MULTIUSER -e BINFMT_ELF -e BINFMT_SCRIPT -e FTRACE \
  -e ENABLE_DEFAULT_TRACERS -e DEBUG_KERNEL -e DEBUG_PAGE_REF -e COMPACTION -e MIGRATION -e NUMA \
  -e TRANSPARENT_HUGEPAGE -e VM_EVENT_COUNTERS -e PROC_PAGE_MONITOR -e ACPI -e KALLSYMS -e HIGH_RES_TIMERS \
  -e POSIX_TIMERS -e X86_TSC -e PCI -e ADVISE_SYSCALLS --set-str LOCALVERSION "-frunfixed" \
  -d LOCALVERSION_AUTO -d WERROR
make olddefconfig >/dev/null
make -j"$(nproc)" bzImage
cp arch/x86/boot/bzImage "$OUT"
echo "build-test-kernel: wrote $OUT"
