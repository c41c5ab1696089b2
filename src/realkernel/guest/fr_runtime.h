/*
 * folio-race guest runtime: what a translated scenario needs to run its per-CPU scripts on a
 * real kernel and report what the kernel did. Included by the program `folio-race kernel`
 * generates (src/realkernel/translate.ts); built with `gcc -static -O2 -pthread`.
 *
 * One thread per scripted CPU, each bound to its CPU with sched_setaffinity(). A trial:
 *   main: setup (memfds, tmpfs files, mappings, pre-existing folios), local drain
 *   every CPU thread: local drain (empty batches, as the emulator starts a trial), ready
 *   main: /proc/vmstat snapshot, trace buffer cleared
 *   every CPU thread: its script (hand-offs through futex events), done
 *   main: /proc/vmstat snapshot, drain works counted from the trace, one FR-TRIAL line
 *   main: teardown (munmap, close)
 * Output lines start with "FR-" and carry JSON; the host parses them from the serial console.
 */
#ifndef FR_RUNTIME_H
#define FR_RUNTIME_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Helpers a given program may not call. */
#define FR_FN static __attribute__((unused))
#define FR_PS 4096UL
#define FR_MAX_CPUS 64
#define FR_MAX_EVENTS 64
#define FR_MAX_PINS 256
#define FR_MAX_HELD 64
#define FR_MAX_OBJ 16
#define FR_MAX_VMA 16
#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

/* ---- what one trial reports ------------------------------------------------------------ */
struct fr_pin_result {
  int cpu;
  const char *path;     /* the op's place in the scenario file, e.g. steps.3[1] */
  int err;              /* 0, or the errno of IORING_REGISTER_BUFFERS */
  int moved;            /* pfn after != pfn before (-1: unknown) */
  int movable_after;    /* the page after the pin lies in ZONE_MOVABLE (-1: unknown) */
  unsigned long pfn;    /* the page's pfn before the pin (0: not present) */
};

struct fr_trial {
  int objfd[FR_MAX_OBJ];
  char *vma[FR_MAX_VMA];
  size_t vma_len[FR_MAX_VMA];
  int vma_gone[FR_MAX_VMA];
  volatile int events[FR_MAX_EVENTS];
  pthread_mutex_t lock;
  struct fr_pin_result pins[FR_MAX_PINS];
  int npins;
  struct { int cpu; char *addr; int fd; } held[FR_MAX_HELD];
  int nheld;
  char op_error[512];   /* the first op that failed in an unexpected way */
};

typedef void (*fr_cpu_fn)(struct fr_trial *t, int cpu);
struct fr_scenario {
  const char *id;
  int ncpus;                 /* scripted CPUs */
  int cpus[FR_MAX_CPUS];
  fr_cpu_fn fns[FR_MAX_CPUS];
  void (*setup)(struct fr_trial *t);
  void (*teardown)(struct fr_trial *t);
};

/* ---- small helpers ----------------------------------------------------------------------- */
FR_FN void fr_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FR-FATAL \"");
  vprintf(fmt, ap);
  printf(": %s\"\n", strerror(errno));
  va_end(ap);
  fflush(stdout);
  exit(1);
}

FR_FN void fr_op_failed(struct fr_trial *t, int cpu, const char *path, const char *what) {
  pthread_mutex_lock(&t->lock);
  if (!t->op_error[0]) snprintf(t->op_error, sizeof t->op_error, "cpu %d %s: %s: %s", cpu, path, what, strerror(errno));
  pthread_mutex_unlock(&t->lock);
}

FR_FN long fr_futex(volatile int *addr, int op, int val) {
  return syscall(SYS_futex, (int *)addr, op, val, NULL, NULL, 0);
}

/* A one-shot event: signal wakes every waiter; wait sleeps until signalled. */
FR_FN void fr_signal(struct fr_trial *t, int ev) {
  __atomic_store_n(&t->events[ev], 1, __ATOMIC_SEQ_CST);
  fr_futex(&t->events[ev], FUTEX_WAKE, 1 << 30);
}
FR_FN void fr_wait(struct fr_trial *t, int ev) {
  while (!__atomic_load_n(&t->events[ev], __ATOMIC_SEQ_CST)) fr_futex(&t->events[ev], FUTEX_WAIT, 0);
}

/* A counter others wait on until it reaches a value (phase hand-offs between main and CPUs). */
FR_FN void fr_count_up(volatile int *c) {
  __atomic_add_fetch(c, 1, __ATOMIC_SEQ_CST);
  fr_futex(c, FUTEX_WAKE, 1 << 30);
}
FR_FN void fr_wait_count(volatile int *c, int want) {
  for (;;) {
    int v = __atomic_load_n(c, __ATOMIC_SEQ_CST);
    if (v >= want) return;
    fr_futex(c, FUTEX_WAIT, v);
  }
}

FR_FN void fr_bind_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) fr_die("sched_setaffinity(cpu %d)", cpu);
}

FR_FN void fr_delay_us(double us) {
  if (us <= 0) return;
  struct timespec ts = { (time_t)(us / 1e6), (long)((us - (double)(time_t)(us / 1e6) * 1e6) * 1000) };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

FR_FN double fr_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

FR_FN void fr_json_str(const char *s);

/* Uniform [0, 1) for an op's jitterUs (per thread, seeded from fr.seed= on the command line). */
static unsigned fr_seed_base;
static __thread unsigned fr_seed;
FR_FN double fr_rand01(void) {
  if (!fr_seed) fr_seed = (fr_seed_base ^ (unsigned)syscall(SYS_gettid) * 2654435761u) | 1;
  return rand_r(&fr_seed) / ((double)RAND_MAX + 1.0);
}

/* `key<N>` from the kernel command line (fr.trials=200), or dflt. */
FR_FN int fr_cmdline_int(const char *key, int dflt) {
  char buf[4096];
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return dflt;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return dflt;
  buf[n] = 0;
  char *p = strstr(buf, key);
  return p ? atoi(p + strlen(key)) : dflt;
}

/* hog: a SCHED_FIFO busy loop; kworkers (SCHED_OTHER) cannot run on this CPU meanwhile. */
FR_FN void fr_hog_us(double us) {
  struct sched_param rt = { .sched_priority = 1 }, other = { .sched_priority = 0 };
  int rt_ok = sched_setscheduler(0, SCHED_FIFO, &rt) == 0;
  double end = fr_now_us() + us;
  while (fr_now_us() < end) {}
  if (rt_ok) sched_setscheduler(0, SCHED_OTHER, &other);
}

/* ---- the kernel entry points --------------------------------------------------------------- */
/* A fault: one access to the page (a write for a write fault). */
FR_FN void fr_touch(char *addr, int write) {
  if (write) *(volatile char *)addr = 1;
  else (void)*(volatile char *)addr;
}

/* lru_add_drain() on this CPU: madvise(MADV_COLD) runs it before walking the range (mm/madvise.c
 * madvise_cold(), 6.1 and 6.12); the range is a never-touched anonymous page, so nothing else
 * happens. */
static __thread char *fr_dummy;
static char *fr_dummy_page(void) {
  if (!fr_dummy) {
    fr_dummy = mmap(NULL, FR_PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fr_dummy == MAP_FAILED) fr_die("mmap(dummy)");
  }
  return fr_dummy;
}
FR_FN int fr_local_drain(void) {
  return madvise(fr_dummy_page(), FR_PS, MADV_COLD);
}

/* lru_cache_disable() + lru_cache_enable(): mbind(MPOL_MF_MOVE) brackets its work with them
 * (mm/mempolicy.c do_mbind(), 6.1 and 6.12); on the untouched dummy page it migrates nothing. */
FR_FN int fr_lru_cache_disable_enable(void) {
  unsigned long nodes = 1;
  return (int)syscall(SYS_mbind, fr_dummy_page(), FR_PS, MPOL_BIND, &nodes, 2UL, MPOL_MF_MOVE);
}

/* ---- where a page is: /proc/self/pagemap and the zones of /proc/zoneinfo -------------------- */
static unsigned long fr_movable_start, fr_movable_end;
FR_FN void fr_read_zones(void) {
  FILE *f = fopen("/proc/zoneinfo", "r");
  if (!f) return;
  char line[256];
  int in_movable = 0;
  unsigned long spanned = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Node", 4) == 0) in_movable = strstr(line, "Movable") != NULL;
    else if (in_movable && sscanf(line, " spanned %lu", &spanned) == 1) {}
    else if (in_movable && sscanf(line, " start_pfn: %lu", &fr_movable_start) == 1) fr_movable_end = fr_movable_start + spanned;
  }
  fclose(f);
}
FR_FN unsigned long fr_pfn(void *addr) {
  static __thread int fd = -1;
  if (fd < 0) fd = open("/proc/self/pagemap", O_RDONLY);
  uint64_t e = 0;
  if (fd < 0 || pread(fd, &e, 8, (off_t)((uintptr_t)addr / FR_PS) * 8) != 8) return 0;
  if (!(e >> 63 & 1)) return 0; /* not present */
  return (unsigned long)(e & ((1ULL << 55) - 1));
}

/* ---- the long-term pin: io_uring IORING_REGISTER_BUFFERS ---------------------------------- */
/* io_uring pins registered buffers with FOLL_WRITE|FOLL_LONGTERM: pin_user_pages() on 6.1
 * (io_uring/rsrc.c io_pin_pages), pin_user_pages_fast() on 6.12 (io_uring/memmap.c). */
FR_FN void fr_pin(struct fr_trial *t, int cpu, const char *path, char *addr, unsigned long pages, int hold) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, 1, &p);
  if (fd < 0) { fr_op_failed(t, cpu, path, "io_uring_setup"); return; }
  unsigned long before = fr_pfn(addr);
  struct iovec iov = { addr, pages * FR_PS };
  int ret = (int)syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1);
  int err = ret < 0 ? errno : 0;
  unsigned long after = fr_pfn(addr);
  pthread_mutex_lock(&t->lock);
  if (t->npins < FR_MAX_PINS) {
    struct fr_pin_result *r = &t->pins[t->npins++];
    r->cpu = cpu;
    r->path = path;
    r->err = err;
    r->moved = before && after ? before != after : -1;
    r->movable_after = after && fr_movable_end ? after >= fr_movable_start && after < fr_movable_end : -1;
    r->pfn = before;
  }
  if (!err && hold && t->nheld < FR_MAX_HELD) {
    t->held[t->nheld].cpu = cpu;
    t->held[t->nheld].addr = addr;
    t->held[t->nheld].fd = fd;
    t->nheld++;
    fd = -1;
  }
  pthread_mutex_unlock(&t->lock);
  if (fd >= 0) close(fd); /* unregisters: unpin_user_pages() */
}
FR_FN void fr_unpin(struct fr_trial *t, int cpu, const char *path, char *addr) {
  int fd = -1;
  pthread_mutex_lock(&t->lock);
  for (int i = 0; i < t->nheld; i++)
    if (t->held[i].fd >= 0 && t->held[i].cpu == cpu && t->held[i].addr == addr) { fd = t->held[i].fd; t->held[i].fd = -1; break; }
  pthread_mutex_unlock(&t->lock);
  if (fd < 0) { errno = ENOENT; fr_op_failed(t, cpu, path, "unpin: no held pin at this page"); return; }
  close(fd);
}

/* ---- /proc/vmstat and the drain works of the trace buffer ---------------------------------- */
/* The counters the emulator keeps (src/report/vmstat.ts VMSTAT): the generated program defines the
 * list, so the guest and the emulator can never read different ones. */
#ifndef FR_VMSTAT_LIST
#error "FR_VMSTAT_LIST: define the /proc/vmstat names before including fr_runtime.h"
#endif
static const char *fr_vmstat_names[] = { FR_VMSTAT_LIST };
#define FR_NVMSTAT (sizeof fr_vmstat_names / sizeof fr_vmstat_names[0])
FR_FN void fr_vmstat(long long *out) {
  /* Fold every CPU's pending differentials first, or gauges such as nr_mlock lag (mm/vmstat.c
   * vmstat_refresh(); its works run refresh_vm_stats, not lru_add_drain_per_cpu). */
  int rfd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
  if (rfd >= 0) { if (write(rfd, "1", 1) < 0) {} close(rfd); }
  FILE *f = fopen("/proc/vmstat", "r");
  char name[64];
  long long v;
  memset(out, 0, sizeof(long long) * FR_NVMSTAT);
  if (!f) return;
  while (fscanf(f, "%63s %lld", name, &v) == 2)
    for (size_t i = 0; i < FR_NVMSTAT; i++)
      if (!strcmp(name, fr_vmstat_names[i])) out[i] = v;
  fclose(f);
}

static const char *fr_tracefs;
static int fr_trace_on;
/* page_ref tracepoints exist only with CONFIG_DEBUG_PAGE_REF; traced in the first trial of a scenario. */
static int fr_page_ref_on;
FR_FN int fr_write_file(const char *dir, const char *file, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_TRUNC);
  if (fd < 0) return -1;
  int ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  close(fd);
  return ok ? 0 : -1;
}
FR_FN void fr_trace_setup(void) {
  static const char *dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
  for (int i = 0; i < 2; i++) {
    if (fr_write_file(dirs[i], "events/workqueue/workqueue_queue_work/enable", "1") == 0) {
      fr_tracefs = dirs[i];
      fr_write_file(dirs[i], "buffer_size_kb", "4096");
      fr_write_file(dirs[i], "tracing_on", "1");
      fr_trace_on = 1;
      fr_page_ref_on = fr_write_file(dirs[i], "events/page_ref/enable", "0") == 0;
      return;
    }
  }
}
FR_FN void fr_trace_clear(void) {
  if (fr_trace_on) fr_write_file(fr_tracefs, "trace", "");
}
/* Drain works queued (workqueue_queue_work for lru_add_drain_per_cpu), per target CPU. */
FR_FN void fr_page_ref_enable(int on) {
  if (fr_page_ref_on) fr_write_file(fr_tracefs, "events/page_ref/enable", on ? "1" : "0");
}
/* The page_ref events of one pfn in the trace buffer, as FR-PAGEREF lines. */
FR_FN void fr_print_page_ref(const char *scenario, unsigned long pfn) {
  char path[256], line[1024], want[64];
  snprintf(path, sizeof path, "%s/trace", fr_tracefs);
  snprintf(want, sizeof want, "pfn=0x%lx ", pfn);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || !strstr(line, ": page_ref_") || !strstr(line, want)) continue;
    line[strcspn(line, "\n")] = 0;
    printf("FR-PAGEREF {\"scenario\":");
    fr_json_str(scenario);
    printf(",\"line\":");
    fr_json_str(line);
    printf("}\n");
  }
  fclose(f);
}
FR_FN int fr_trace_drain_works(int *by_cpu) {
  if (!fr_trace_on) return -1;
  char path[256], line[512];
  snprintf(path, sizeof path, "%s/trace", fr_tracefs);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int total = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || !strstr(line, "function=lru_add_drain_per_cpu")) continue;
    total++;
    char *c = strstr(line, " cpu=");
    int cpu = c ? atoi(c + 5) : -1;
    if (cpu >= 0 && cpu < FR_MAX_CPUS) by_cpu[cpu]++;
  }
  fclose(f);
  return total;
}

/* ---- running a scenario ------------------------------------------------------------------- */
struct fr_run {
  const struct fr_scenario *sc;
  struct fr_trial *t;
  volatile int gen;      /* trial generation main releases */
  volatile int phase;    /* 0: drain, 1: go (within a generation) */
  volatile int ready, done;
  int stop;
};
struct fr_thread_arg { struct fr_run *run; int idx; int cpu; };

FR_FN void *fr_cpu_thread(void *p) {
  struct fr_thread_arg *a = p;
  struct fr_run *run = a->run;
  /* Scripted CPUs first; then one thread on every other online CPU, which only drains. */
  int scripted = a->idx < run->sc->ncpus;
  int cpu = scripted ? run->sc->cpus[a->idx] : a->cpu;
  fr_bind_cpu(cpu);
  for (int gen = 1;; gen++) {
    fr_wait_count(&run->gen, gen);
    if (run->stop) return NULL;
    fr_local_drain();
    fr_count_up(&run->ready);
    if (!scripted) continue;
    fr_wait_count(&run->phase, gen);
    run->sc->fns[a->idx](run->t, cpu);
    fr_count_up(&run->done);
  }
}

FR_FN void fr_json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s >= 0x20) putchar(*s);
  }
  putchar('"');
}

FR_FN void fr_run_scenario(const struct fr_scenario *sc, int trials) {
  struct fr_run run;
  memset(&run, 0, sizeof run);
  run.sc = sc;
  run.t = calloc(1, sizeof *run.t);
  pthread_mutex_init(&run.t->lock, NULL);
  pthread_t th[FR_MAX_CPUS];
  struct fr_thread_arg args[FR_MAX_CPUS];
  /* Every online CPU starts a trial with empty batches, as the emulator's do. */
  int online = (int)sysconf(_SC_NPROCESSORS_ONLN), nthreads = sc->ncpus;
  for (int c = 0; c < online && nthreads < FR_MAX_CPUS; c++) {
    int has = 0;
    for (int i = 0; i < sc->ncpus; i++) has |= sc->cpus[i] == c;
    if (!has) args[nthreads++].cpu = c;
  }
  for (int i = 0; i < nthreads; i++) {
    args[i].run = &run;
    args[i].idx = i;
    if (i < sc->ncpus) args[i].cpu = sc->cpus[i];
    if (pthread_create(&th[i], NULL, fr_cpu_thread, &args[i]) != 0) fr_die("pthread_create");
  }
  printf("FR-SCENARIO {\"id\":");
  fr_json_str(sc->id);
  printf(",\"trials\":%d}\n", trials);
  fflush(stdout);
  /* Trial -1 is a warm-up, not reported: the threads' first stack and heap faults, and whatever
   * the system still does after boot, land in batches before the first counted trial. */
  for (int trial = -1; trial < trials; trial++) {
    struct fr_trial *t = run.t;
    pthread_mutex_t lock = t->lock;
    memset(t, 0, sizeof *t);
    t->lock = lock;
    for (int i = 0; i < FR_MAX_OBJ; i++) t->objfd[i] = -1;
    sc->setup(t);
    fr_local_drain();
    __atomic_store_n(&run.ready, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&run.done, 0, __ATOMIC_SEQ_CST);
    fr_count_up(&run.gen);
    fr_wait_count(&run.ready, nthreads);
    long long v0[FR_NVMSTAT], v1[FR_NVMSTAT];
    fr_page_ref_enable(trial == 0);
    fr_trace_clear();
    fr_vmstat(v0);
    fr_count_up(&run.phase);
    fr_wait_count(&run.done, sc->ncpus);
    fr_vmstat(v1);
    int by_cpu[FR_MAX_CPUS] = { 0 };
    int works = fr_trace_drain_works(by_cpu);
    if (trial < 0) {
      for (int i = 0; i < t->nheld; i++) if (t->held[i].fd >= 0) close(t->held[i].fd);
      sc->teardown(t);
      continue;
    }
    if (trial == 0 && fr_page_ref_on && t->npins > 0 && t->pins[0].pfn) {
      fr_page_ref_enable(0);
      fr_print_page_ref(sc->id, t->pins[0].pfn);
    }
    printf("FR-TRIAL {\"trial\":%d,\"pins\":[", trial);
    for (int i = 0; i < t->npins; i++) {
      struct fr_pin_result *r = &t->pins[i];
      printf("%s{\"cpu\":%d,\"path\":", i ? "," : "", r->cpu);
      fr_json_str(r->path);
      printf(",\"errno\":%d,\"moved\":%d,\"movableAfter\":%d,\"pfn\":%lu}", r->err, r->moved, r->movable_after, r->pfn);
    }
    printf("],\"drainWorks\":%d,\"drainWorksByCpu\":{", works);
    for (int c = 0, first = 1; c < FR_MAX_CPUS; c++)
      if (by_cpu[c]) { printf("%s\"%d\":%d", first ? "" : ",", c, by_cpu[c]); first = 0; }
    printf("},\"vmstat\":{");
    for (size_t i = 0; i < FR_NVMSTAT; i++) printf("%s\"%s\":%lld", i ? "," : "", fr_vmstat_names[i], v1[i] - v0[i]);
    printf("}");
    if (t->op_error[0]) { printf(",\"opError\":"); fr_json_str(t->op_error); }
    printf("}\n");
    fflush(stdout);
    for (int i = 0; i < t->nheld; i++) if (t->held[i].fd >= 0) close(t->held[i].fd);
    sc->teardown(t);
  }
  run.stop = 1;
  fr_count_up(&run.gen);
  for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  free(run.t);
}

/* Setup helpers the generated code calls. */
FR_FN int fr_memfd(const char *name, unsigned long pages) {
  int fd = (int)syscall(SYS_memfd_create, name, 0);
  if (fd < 0) fr_die("memfd_create(%s)", name);
  if (ftruncate(fd, (off_t)(pages * FR_PS)) != 0) fr_die("ftruncate(%s)", name);
  return fd;
}
FR_FN int fr_tmpfile(const char *dir, const char *name, unsigned long pages) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) fr_die("open(%s)", path);
  unlink(path); /* freed with the last close/munmap */
  if (ftruncate(fd, (off_t)(pages * FR_PS)) != 0) fr_die("ftruncate(%s)", path);
  return fd;
}
static char *fr_map(int fd, unsigned long pgoff, unsigned long pages, int prot, int shared) {
  int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (fd < 0 ? MAP_ANONYMOUS : 0);
  char *p = mmap(NULL, pages * FR_PS, prot, flags, fd, (off_t)(pgoff * FR_PS));
  if (p == MAP_FAILED) fr_die("mmap(%lu pages)", pages);
  return p;
}
/* Page-cache insertion without a mapping (readahead's effect on the batches): fallocate. */
FR_FN int fr_fallocate(int fd, unsigned long index, unsigned long pages) {
  return fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(index * FR_PS), (off_t)(pages * FR_PS));
}

FR_FN void fr_begin(void) {
  struct utsname u;
  uname(&u);
  fr_seed_base = (unsigned)fr_cmdline_int("fr.seed=", 1);
  fr_read_zones();
  fr_trace_setup();
  printf("FR-BEGIN {\"release\":");
  fr_json_str(u.release);
  printf(",\"version\":");
  fr_json_str(u.version);
  printf(",\"cpus\":%ld,\"movableZone\":[%lu,%lu],\"trace\":%d,\"pageRef\":%d}\n", sysconf(_SC_NPROCESSORS_ONLN), fr_movable_start, fr_movable_end, fr_trace_on, fr_page_ref_on);
  fflush(stdout);
}
FR_FN void fr_end(void) {
  printf("FR-END {}\n");
  fflush(stdout);
}
#endif
