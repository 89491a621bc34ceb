/* arena.h - bump allocator for immutable trees: one free releases a whole
 * description, with no recursion over the tree (pupnp CVE-2021-28302). */
#ifndef UCP_CORE_ARENA_H
#define UCP_CORE_ARENA_H

#include <stddef.h>

typedef struct ucp__arena_block ucp__arena_block;
typedef struct ucp__arena {
  ucp__arena_block *head;
  size_t used, cap; /* in the head block */
  size_t total;     /* bytes allocated from the system */
} ucp__arena;

void ucp__arena_init(ucp__arena *a);
void ucp__arena_free(ucp__arena *a);
/* Zeroed memory aligned for any type, or NULL when out of memory. */
void *ucp__arena_alloc(ucp__arena *a, size_t n);
char *ucp__arena_strndup(ucp__arena *a, const char *s, size_t n);

#endif
