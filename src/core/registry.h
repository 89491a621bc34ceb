/* registry.h - request id -> operation map (ids, not pointers).
 * Open addressing with linear probing and backward-shift deletion; keys are
 * never 0. Not thread-safe: the control point calls it under its lock. */
#ifndef UCP_CORE_REGISTRY_H
#define UCP_CORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

typedef struct ucp__registry {
  uint64_t *keys;  /* 0 = empty slot */
  void **vals;
  size_t cap;      /* power of two, or 0 */
  size_t count;
} ucp__registry;

void ucp__registry_init(ucp__registry *r);
void ucp__registry_free(ucp__registry *r);
/* 0 on success, -1 when out of memory. The key must not be present. */
int ucp__registry_put(ucp__registry *r, uint64_t key, void *val);
void *ucp__registry_get(const ucp__registry *r, uint64_t key);
/* Returns the removed value, or NULL when absent. */
void *ucp__registry_del(ucp__registry *r, uint64_t key);
/* Moves every value into `out` (count entries) and empties the map. */
size_t ucp__registry_drain(ucp__registry *r, void **out, size_t max);

#endif
