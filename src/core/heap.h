/* heap.h - binary min-heap of intrusive nodes keyed by a 64-bit deadline.
 * One uv timer per control point serves every deadline through it, so a
 * pending operation costs a node, not a uv handle. Loop thread only. */
#ifndef UCP_CORE_HEAP_H
#define UCP_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ucp__heap_node {
  uint64_t key;
  size_t idx; /* position in the heap, SIZE_MAX when not in it */
} ucp__heap_node;

typedef struct ucp__heap {
  ucp__heap_node **v;
  size_t n, cap;
} ucp__heap;

void ucp__heap_init(ucp__heap *h);
void ucp__heap_free(ucp__heap *h);
/* 0, or -1 when out of memory. */
int ucp__heap_push(ucp__heap *h, ucp__heap_node *node);
void ucp__heap_remove(ucp__heap *h, ucp__heap_node *node);
static inline ucp__heap_node *ucp__heap_min(const ucp__heap *h) {
  return h->n ? h->v[0] : NULL;
}
static inline int ucp__heap_contains(const ucp__heap_node *node) {
  return node->idx != SIZE_MAX;
}

#endif
