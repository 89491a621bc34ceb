/* bench_util.h - what the benchmarks share: clocks, sleeping, statistics
 * over rounds, full reads and writes. Header-only (static inline): each
 * benchmark is one translation unit. */
#ifndef UCP_BENCH_UTIL_H
#define UCP_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline void sleep_s(double s) {
  long ns = (long)(s * 1e9);
  struct timespec ts = {(time_t)(ns / 1000000000L), ns % 1000000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static inline int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The median of v[0..n), n <= 64 (rounds). */
static inline double median(const double *v, int n) {
  double t[64];
  if (n < 1 || n > 64) return 0;
  memcpy(t, v, (size_t)n * sizeof *t);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static inline double vmin(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static inline double vmax(const double *v, int n) {
  double m = n ? v[0] : 0;
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

static inline int read_full(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r, n -= (size_t)r;
  }
  return 0;
}

static inline int write_full(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t r = write(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r, n -= (size_t)r;
  }
  return 0;
}

/* Fork a child running fn(cmd, reply) on two pipes (parent -> child,
 * child -> parent); fn must not return. 0, or -1 with nothing left open. */
static inline int bench_fork(void (*fn)(int cmd, int reply), pid_t *pid,
                             int *cmd, int *reply) {
  int a[2], b[2];
  if (pipe2(a, O_CLOEXEC) != 0) return -1;
  if (pipe2(b, O_CLOEXEC) != 0) {
    close(a[0]), close(a[1]);
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t p = fork();
  if (p < 0) {
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    return -1;
  }
  if (p == 0) {
    close(a[1]);
    close(b[0]);
    fn(a[0], b[1]);
    _exit(0);
  }
  close(a[0]);
  close(b[1]);
  *pid = p;
  *cmd = a[1];
  *reply = b[0];
  return 0;
}

/* Ask the child (one byte 'Q') for a reply of n bytes; zeroes on failure. */
static inline void bench_query(int cmd, int reply, void *out, size_t n) {
  if (write_full(cmd, "Q", 1) != 0 || read_full(reply, out, n) != 0)
    memset(out, 0, n);
}

/* Close the pipes and reap the child; SIGKILL (ours, by its pid) after
 * 5 s. */
static inline void bench_child_stop(pid_t *pid, int cmd, int reply) {
  if (*pid <= 0) return;
  close(cmd);
  close(reply);
  for (int i = 0; i < 500; i++) {
    if (waitpid(*pid, NULL, WNOHANG) == *pid) {
      *pid = 0;
      return;
    }
    sleep_s(0.01);
  }
  kill(*pid, SIGKILL);
  waitpid(*pid, NULL, 0);
  *pid = 0;
}

#endif
