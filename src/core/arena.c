/* arena.c - bump allocator. See arena.h. */
#include "arena.h"

#include <stdalign.h>
#include <string.h>

#include "mem.h"

struct ucp__arena_block {
  ucp__arena_block *next;
  alignas(max_align_t) unsigned char data[];
};

enum { BLOCK_SIZE = 4096 - sizeof(ucp__arena_block) };

void ucp__arena_init(ucp__arena *a) {
  a->head = NULL;
  a->used = a->cap = a->total = 0;
}

void ucp__arena_free(ucp__arena *a) {
  ucp__arena_block *b = a->head;
  while (b) {
    ucp__arena_block *next = b->next;
    ucp__free(b);
    b = next;
  }
  ucp__arena_init(a);
}

void *ucp__arena_alloc(ucp__arena *a, size_t n) {
  size_t align = alignof(max_align_t);
  n = (n + align - 1) & ~(align - 1);
  if (!a->head || a->used + n > a->cap) {
    size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
    ucp__arena_block *b = ucp__malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = a->head;
    a->head = b;
    a->used = 0;
    a->cap = cap;
    a->total += sizeof *b + cap;
  }
  void *p = a->head->data + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

char *ucp__arena_strndup(ucp__arena *a, const char *s, size_t n) {
  char *d = ucp__arena_alloc(a, n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}
