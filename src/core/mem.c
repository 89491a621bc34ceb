/* mem.c - allocation with a test hook for failure injection. */
#include "mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upnpcp_internal_test.h"

/* < 0: never fail. Otherwise the number of allocations still allowed. */
static _Atomic long fail_after = -1;

void ucp__test_mem_fail_after(long n) { atomic_store(&fail_after, n); }

static int should_fail(void) {
  long v = atomic_load_explicit(&fail_after, memory_order_relaxed);
  if (v < 0) return 0;
  while (v > 0) {
    if (atomic_compare_exchange_weak(&fail_after, &v, v - 1)) return 0;
    if (v < 0) return 0;
  }
  return 1;
}

void *ucp__malloc(size_t n) { return should_fail() ? NULL : malloc(n); }
void *ucp__calloc(size_t n, size_t size) {
  return should_fail() ? NULL : calloc(n, size);
}
void *ucp__realloc(void *p, size_t n) {
  return should_fail() ? NULL : realloc(p, n);
}
void ucp__free(void *p) { free(p); }

char *ucp__strndup(const char *s, size_t n) {
  char *d = ucp__malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *ucp__strdup(const char *s) { return ucp__strndup(s, strlen(s)); }

int ucp__bytes_append(char **buf, size_t *len, size_t *cap, const void *src,
                      size_t n) {
  if (*len + n > *cap) {
    size_t c = *cap ? *cap : 4096;
    while (c < *len + n) c *= 2;
    char *nb = ucp__realloc(*buf, c);
    if (!nb) return -1;
    *buf = nb;
    *cap = c;
  }
  memcpy(*buf + *len, src, n);
  *len += n;
  return 0;
}

char *ucp__aprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = ucp__malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}
