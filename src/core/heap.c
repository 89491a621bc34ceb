/* heap.c - binary min-heap. See heap.h. */
#include "heap.h"

#include "mem.h"

void ucp__heap_init(ucp__heap *h) {
  h->v = NULL;
  h->n = h->cap = 0;
}

void ucp__heap_free(ucp__heap *h) {
  for (size_t i = 0; i < h->n; i++) h->v[i]->idx = SIZE_MAX;
  ucp__free(h->v);
  ucp__heap_init(h);
}

static void place(ucp__heap *h, size_t i, ucp__heap_node *node) {
  h->v[i] = node;
  node->idx = i;
}

static void sift_up(ucp__heap *h, size_t i) {
  ucp__heap_node *node = h->v[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->v[parent]->key <= node->key) break;
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, node);
}

static void sift_down(ucp__heap *h, size_t i) {
  ucp__heap_node *node = h->v[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && h->v[c + 1]->key < h->v[c]->key) c++;
    if (node->key <= h->v[c]->key) break;
    place(h, i, h->v[c]);
    i = c;
  }
  place(h, i, node);
}

int ucp__heap_push(ucp__heap *h, ucp__heap_node *node) {
  if (h->n == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 64;
    ucp__heap_node **nv = ucp__realloc(h->v, ncap * sizeof *nv);
    if (!nv) return -1;
    h->v = nv;
    h->cap = ncap;
  }
  place(h, h->n++, node);
  sift_up(h, h->n - 1);
  return 0;
}

void ucp__heap_remove(ucp__heap *h, ucp__heap_node *node) {
  size_t i = node->idx;
  if (i == SIZE_MAX || i >= h->n || h->v[i] != node) return;
  node->idx = SIZE_MAX;
  ucp__heap_node *last = h->v[--h->n];
  if (last == node) return;
  place(h, i, last);
  sift_down(h, i);
  sift_up(h, last->idx);
}
