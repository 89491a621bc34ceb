/* registry.c - request id -> operation map. See registry.h. */
#include "registry.h"

#include <stdlib.h>

#include "mem.h"

static size_t slot_of(uint64_t key, size_t cap) {
  /* Fibonacci hashing: ids are sequential, the multiply spreads them. */
  return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void ucp__registry_init(ucp__registry *r) {
  r->keys = NULL;
  r->vals = NULL;
  r->cap = 0;
  r->count = 0;
}

void ucp__registry_free(ucp__registry *r) {
  ucp__free(r->keys);
  ucp__free(r->vals);
  ucp__registry_init(r);
}

static void insert_raw(uint64_t *keys, void **vals, size_t cap, uint64_t key,
                       void *val) {
  size_t i = slot_of(key, cap);
  while (keys[i] != 0) i = (i + 1) & (cap - 1);
  keys[i] = key;
  vals[i] = val;
}

static int grow(ucp__registry *r) {
  size_t ncap = r->cap ? r->cap * 2 : 64;
  uint64_t *nk = ucp__calloc(ncap, sizeof *nk);
  void **nv = ucp__calloc(ncap, sizeof *nv);
  if (!nk || !nv) {
    ucp__free(nk);
    ucp__free(nv);
    return -1;
  }
  for (size_t i = 0; i < r->cap; i++)
    if (r->keys[i]) insert_raw(nk, nv, ncap, r->keys[i], r->vals[i]);
  ucp__free(r->keys);
  ucp__free(r->vals);
  r->keys = nk;
  r->vals = nv;
  r->cap = ncap;
  return 0;
}

int ucp__registry_put(ucp__registry *r, uint64_t key, void *val) {
  /* Keep the load factor under 1/2 so probes stay short. */
  if ((r->count + 1) * 2 > r->cap && grow(r) != 0) return -1;
  insert_raw(r->keys, r->vals, r->cap, key, val);
  r->count++;
  return 0;
}

static size_t find(const ucp__registry *r, uint64_t key) {
  if (r->cap == 0 || key == 0) return SIZE_MAX;
  size_t i = slot_of(key, r->cap);
  while (r->keys[i] != 0) {
    if (r->keys[i] == key) return i;
    i = (i + 1) & (r->cap - 1);
  }
  return SIZE_MAX;
}

void *ucp__registry_get(const ucp__registry *r, uint64_t key) {
  size_t i = find(r, key);
  return i == SIZE_MAX ? NULL : r->vals[i];
}

void *ucp__registry_del(ucp__registry *r, uint64_t key) {
  size_t i = find(r, key);
  if (i == SIZE_MAX) return NULL;
  void *val = r->vals[i];
  size_t mask = r->cap - 1;
  /* Backward-shift deletion: no tombstones, lookups stay exact. */
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (r->keys[j] == 0) break;
    size_t home = slot_of(r->keys[j], r->cap);
    /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
    if (((j - home) & mask) >= ((j - i) & mask)) {
      r->keys[i] = r->keys[j];
      r->vals[i] = r->vals[j];
      i = j;
    }
  }
  r->keys[i] = 0;
  r->vals[i] = NULL;
  r->count--;
  return val;
}

size_t ucp__registry_drain(ucp__registry *r, void **out, size_t max) {
  size_t n = 0, i = 0;
  /* Remove through _del so a partial drain keeps every probe chain intact:
   * the backward shift may move a later entry into slot i, so look again. */
  while (n < max && r->count > 0 && i < r->cap) {
    if (r->keys[i] == 0) {
      i++;
      continue;
    }
    out[n++] = ucp__registry_del(r, r->keys[i]);
  }
  return n;
}
