/* test_unit_core.c - unit tests of the core data structures and of the
 * small public helpers: the id registry, the deadline heap, the error
 * table, the version check and the option setters. No network. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/heap.h"
#include "core/registry.h"
#include "upnpcp.h"

/* ------------------------------------------------------------ utilities */

/* xorshift64*: deterministic, so a failure is reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}
static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

static void *val_of(size_t i) { return (void *)(uintptr_t)(i + 1); }

/* ------------------------------------------------------------- registry */

/* The home slot of `key` in a table of `cap` slots, found without knowing
 * the hash: a registry holding only `key` keeps it in its home slot. Only
 * valid for cap 64 (the first table size). */
static size_t home_slot64(uint64_t key) {
  ucp__registry r;
  ucp__registry_init(&r);
  assert_int_equal(ucp__registry_put(&r, key, val_of(0)), 0);
  assert_int_equal(r.cap, 64);
  size_t h = SIZE_MAX;
  for (size_t i = 0; i < r.cap; i++)
    if (r.keys[i] == key) h = i;
  ucp__registry_free(&r);
  assert_true(h != SIZE_MAX);
  return h;
}

/* Where `key` sits in the table, SIZE_MAX if nowhere. */
static size_t slot_where(const ucp__registry *r, uint64_t key) {
  for (size_t i = 0; i < r->cap; i++)
    if (r->keys[i] == key) return i;
  return SIZE_MAX;
}

/* The linear probing invariant: every stored key is reachable from its
 * home slot without crossing an empty slot, and count matches. Checked
 * through get() (which probes from the home slot) plus a census. */
static void check_registry(const ucp__registry *r, const uint64_t *keys,
                           const unsigned char *present, size_t nkeys) {
  size_t stored = 0;
  for (size_t i = 0; i < r->cap; i++) {
    if (r->keys[i] == 0) {
      assert_null(r->vals[i]);
      continue;
    }
    stored++;
    /* get() must find exactly this slot's value */
    assert_ptr_equal(ucp__registry_get(r, r->keys[i]), r->vals[i]);
  }
  assert_int_equal(stored, r->count);
  size_t expect = 0;
  for (size_t i = 0; i < nkeys; i++) {
    if (present[i]) {
      expect++;
      assert_ptr_equal(ucp__registry_get(r, keys[i]), val_of(i));
    } else {
      assert_null(ucp__registry_get(r, keys[i]));
    }
  }
  assert_int_equal(expect, r->count);
}

static void test_registry_empty(void **state) {
  (void)state;
  ucp__registry r;
  ucp__registry_init(&r);
  assert_int_equal(r.count, 0);
  assert_null(ucp__registry_get(&r, 0));
  assert_null(ucp__registry_get(&r, 1));
  assert_null(ucp__registry_get(&r, UINT64_MAX));
  assert_null(ucp__registry_del(&r, 1));
  void *out[4];
  assert_int_equal(ucp__registry_drain(&r, out, 4), 0);

  assert_int_equal(ucp__registry_put(&r, 7, val_of(7)), 0);
  assert_int_equal(r.count, 1);
  assert_true(r.cap >= 2 && (r.cap & (r.cap - 1)) == 0);
  /* key 0 is "empty slot": never found, even with slots holding 0 */
  assert_null(ucp__registry_get(&r, 0));
  assert_null(ucp__registry_del(&r, 0));
  assert_null(ucp__registry_get(&r, 8));
  assert_null(ucp__registry_del(&r, 8));
  assert_int_equal(r.count, 1);
  assert_ptr_equal(ucp__registry_get(&r, 7), val_of(7));
  assert_ptr_equal(ucp__registry_del(&r, 7), val_of(7));
  assert_null(ucp__registry_get(&r, 7));
  assert_null(ucp__registry_del(&r, 7));
  assert_int_equal(r.count, 0);
  ucp__registry_free(&r);
  assert_null(r.keys);
  assert_int_equal(r.cap, 0);
  ucp__registry_free(&r); /* twice is harmless */
}

/* Random puts, gets and deletes over a fixed key table, checked against
 * a plain array (present[i] / val_of(i)). Returns the number of deletes
 * that started in the last slot while slot 0 was in use, i.e. backward
 * shifts across the wrap-around point. */
static size_t run_random(const uint64_t *keys, size_t nkeys, size_t ops,
                         size_t check_every) {
  unsigned char *present = calloc(nkeys, 1);
  assert_non_null(present);
  ucp__registry r;
  ucp__registry_init(&r);
  size_t puts = 0, dels = 0, misses = 0, wrapped_dels = 0;
  for (size_t op = 0; op < ops; op++) {
    /* Phases: mostly inserting, then mostly deleting, so the table both
     * fills (long probe runs) and empties (many backward shifts). */
    unsigned bias = (op / 5000) % 2 ? 70 : 30; /* % of deletes */
    size_t i = rnd_below(nkeys);
    unsigned action = (unsigned)rnd_below(100);
    if (action < 15) {
      assert_ptr_equal(ucp__registry_get(&r, keys[i]),
                       present[i] ? val_of(i) : NULL);
    } else if (present[i] && action < 15 + bias) {
      size_t where = slot_where(&r, keys[i]);
      if (where == r.cap - 1 && r.keys[0] != 0) wrapped_dels++;
      assert_ptr_equal(ucp__registry_del(&r, keys[i]), val_of(i));
      present[i] = 0;
      dels++;
    } else if (!present[i]) {
      assert_int_equal(ucp__registry_put(&r, keys[i], val_of(i)), 0);
      present[i] = 1;
      puts++;
    } else {
      /* deleting an absent key changes nothing */
      size_t before = r.count;
      uint64_t absent = keys[i] ^ 0x8000000000000000ull;
      int is_key = absent == 0;
      for (size_t j = 0; j < nkeys && !is_key; j++) is_key = keys[j] == absent;
      if (!is_key) {
        assert_null(ucp__registry_del(&r, absent));
        assert_null(ucp__registry_get(&r, absent));
        assert_int_equal(r.count, before);
        misses++;
      }
    }
    if (op % check_every == 0) check_registry(&r, keys, present, nkeys);
  }
  check_registry(&r, keys, present, nkeys);
  print_message("registry: %zu keys, %zu puts, %zu deletes (%zu across the "
                "wrap), %zu absent deletes, cap %zu\n",
                nkeys, puts, dels, wrapped_dels, misses, r.cap);
  assert_true(puts > ops / 10);
  assert_true(dels > ops / 10);
  /* Delete everything that is left, checking as we go. */
  for (size_t i = 0; i < nkeys; i++) {
    if (!present[i]) continue;
    assert_ptr_equal(ucp__registry_del(&r, keys[i]), val_of(i));
    present[i] = 0;
    if (i % 97 == 0) check_registry(&r, keys, present, nkeys);
  }
  assert_int_equal(r.count, 0);
  for (size_t i = 0; i < r.cap; i++) assert_int_equal(r.keys[i], 0);
  ucp__registry_free(&r);
  free(present);
  return wrapped_dels;
}

/* 60k operations over 3000 keys mixing sequential ids (what the control
 * point uses), random 64-bit values and values near the top of the range;
 * the table grows to thousands of slots. */
static void test_registry_random(void **state) {
  (void)state;
  enum { NKEYS = 3000 };
  uint64_t *keys = calloc(NKEYS, sizeof *keys);
  assert_non_null(keys);
  for (size_t i = 0; i < NKEYS; i++) {
    uint64_t k;
    int dup;
    do {
      switch (i % 3) {
        case 0: k = i + 1; break;
        case 1: k = rnd(); break;
        default: k = UINT64_MAX - rnd_below(1u << 20); break;
      }
      dup = k == 0;
      for (size_t j = 0; j < i && !dup; j++) dup = keys[j] == k;
    } while (dup);
    keys[i] = k;
  }
  run_random(keys, NKEYS, 60000, 2500);
  free(keys);
}

/* Keys whose home slot (in a 64-slot table) is `h`, written to out[]. */
static size_t keys_with_home(size_t h, uint64_t *out, size_t want,
                             uint64_t from) {
  size_t n = 0;
  for (uint64_t k = from; n < want && k < from + 100000; k++)
    if (home_slot64(k) == h) out[n++] = k;
  return n;
}

/* 40k operations over 31 keys whose home slots are the last four and the
 * first four of a 64-slot table (31 keys never make it grow): clusters
 * constantly straddle the end of the table, so backward shifts across the
 * wrap-around point are exercised thousands of times. */
static void test_registry_random_wraparound(void **state) {
  (void)state;
  enum { NKEYS = 31 };
  uint64_t keys[NKEYS];
  size_t n = 0;
  for (uint64_t k = 1; n < NKEYS && k < 100000; k++) {
    size_t h = home_slot64(k);
    if (h >= 60 || h < 4) keys[n++] = k;
  }
  assert_int_equal(n, NKEYS);
  size_t wrapped = run_random(keys, NKEYS, 40000, 50);
  assert_true(wrapped > 200);
}

/* Deterministic backward shift across the end of the table: a cluster
 * that starts in the last slot and continues in slots 0, 1, 2... */
static void test_registry_wraparound(void **state) {
  (void)state;
  uint64_t last[4] = {0}, first[2] = {0}, second[1] = {0};
  assert_int_equal(keys_with_home(63, last, 4, 1), 4);
  assert_int_equal(keys_with_home(0, first, 2, 1), 2);
  assert_int_equal(keys_with_home(2, second, 1, 1), 1);

  ucp__registry r;
  ucp__registry_init(&r);
  /* slots: 63=L0 0=L1 1=L2 2=L3 3=F0 4=S0(home 2) 5=F1 */
  uint64_t order[] = {last[0], last[1], last[2], last[3], first[0], second[0],
                      first[1]};
  size_t n = sizeof order / sizeof order[0];
  for (size_t i = 0; i < n; i++)
    assert_int_equal(ucp__registry_put(&r, order[i], val_of(i)), 0);
  assert_int_equal(r.cap, 64);
  assert_int_equal(slot_where(&r, last[0]), 63);
  assert_int_equal(slot_where(&r, last[1]), 0);
  assert_int_equal(slot_where(&r, last[3]), 2);
  assert_int_equal(slot_where(&r, first[0]), 3);
  assert_int_equal(slot_where(&r, second[0]), 4);
  assert_int_equal(slot_where(&r, first[1]), 5);

  /* Deleting slot 63 must pull the whole wrapped cluster back by one. */
  assert_ptr_equal(ucp__registry_del(&r, last[0]), val_of(0));
  assert_int_equal(slot_where(&r, last[1]), 63);
  assert_int_equal(slot_where(&r, last[2]), 0);
  assert_int_equal(slot_where(&r, last[3]), 1);
  assert_int_equal(slot_where(&r, first[0]), 2);
  assert_int_equal(slot_where(&r, second[0]), 3);
  assert_int_equal(slot_where(&r, first[1]), 4);
  assert_int_equal(r.keys[5], 0);
  for (size_t i = 1; i < n; i++)
    assert_ptr_equal(ucp__registry_get(&r, order[i]), val_of(i));

  /* Deleting F0 (slot 2): S0 has home 2, so it moves into 2; F1 (home 0)
   * may move into 3. */
  assert_ptr_equal(ucp__registry_del(&r, first[0]), val_of(4));
  assert_int_equal(slot_where(&r, second[0]), 2);
  assert_int_equal(slot_where(&r, first[1]), 3);
  assert_null(ucp__registry_get(&r, first[0]));

  /* Deleting slot 0 (L2): L3 (home 63) moves back from 1 to 0, leaving a
   * hole at 1; S0 at 2 (home 2) must not move before its home slot and
   * stays; F1 at 3 (home 0) jumps over S0 into the hole at 1. */
  assert_ptr_equal(ucp__registry_del(&r, last[2]), val_of(2));
  assert_int_equal(slot_where(&r, last[3]), 0);
  assert_int_equal(slot_where(&r, first[1]), 1);
  assert_int_equal(slot_where(&r, second[0]), 2);
  assert_int_equal(r.keys[3], 0);
  assert_ptr_equal(ucp__registry_get(&r, last[1]), val_of(1));
  assert_ptr_equal(ucp__registry_get(&r, last[3]), val_of(3));
  assert_ptr_equal(ucp__registry_get(&r, first[1]), val_of(6));
  assert_ptr_equal(ucp__registry_get(&r, second[0]), val_of(5));
  assert_int_equal(r.count, 4);
  ucp__registry_free(&r);
}

static void test_registry_drain(void **state) {
  (void)state;
  enum { N = 1000 };
  ucp__registry r;
  ucp__registry_init(&r);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(ucp__registry_put(&r, i + 1, val_of(i)), 0);
  void **out = calloc(N, sizeof *out);
  assert_non_null(out);
  unsigned char *seen = calloc(N, 1);
  assert_non_null(seen);
  size_t total = 0, n;
  /* in chunks, as the control point's teardown does */
  while ((n = ucp__registry_drain(&r, out, 256)) > 0) {
    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++) {
      size_t v = (size_t)(uintptr_t)out[i] - 1;
      assert_true(v < N);
      assert_false(seen[v]);
      seen[v] = 1;
    }
    total += n;
    assert_int_equal(r.count, N - total);
  }
  assert_int_equal(total, N);
  assert_int_equal(r.count, 0);
  for (size_t i = 0; i < N; i++) {
    assert_true(seen[i]);
    assert_null(ucp__registry_get(&r, i + 1));
  }
  /* reusable after a drain */
  assert_int_equal(ucp__registry_put(&r, 5, val_of(5)), 0);
  assert_ptr_equal(ucp__registry_get(&r, 5), val_of(5));
  assert_int_equal(ucp__registry_drain(&r, out, N), 1);
  assert_ptr_equal(out[0], val_of(5));
  ucp__registry_free(&r);
  free(out);
  free(seen);
}

/* A partial drain (max < count) must leave the remaining entries findable:
 * the control point drains in chunks of 256 and releases its lock between
 * chunks, so ucp_cancel() may look up an id that is still registered. */
static ucp__registry g_reg;
static int free_g_reg(void **state) {
  (void)state;
  ucp__registry_free(&g_reg);
  return 0;
}

static void test_registry_partial_drain_keeps_lookups(void **state) {
  (void)state;
  uint64_t same[2] = {0};
  size_t h = home_slot64(1);
  same[0] = 1;
  assert_int_equal(keys_with_home(h, &same[1], 1, 2), 1);
  /* g_reg: freed by the teardown even when an assertion fails */
  ucp__registry_init(&g_reg);
  assert_int_equal(ucp__registry_put(&g_reg, same[0], val_of(0)), 0);
  assert_int_equal(ucp__registry_put(&g_reg, same[1], val_of(1)), 0);
  void *out[1];
  assert_int_equal(ucp__registry_drain(&g_reg, out, 1), 1);
  assert_int_equal(g_reg.count, 1);
  uint64_t left = out[0] == val_of(0) ? same[1] : same[0];
  void *left_val = out[0] == val_of(0) ? val_of(1) : val_of(0);
  assert_ptr_equal(ucp__registry_get(&g_reg, left), left_val);
  assert_ptr_equal(ucp__registry_del(&g_reg, left), left_val);
  assert_int_equal(g_reg.count, 0);
  ucp__registry_free(&g_reg);

  /* The same with many colliding-ish keys: drain a few at a time, every
   * key not yet drained must still be found. */
  enum { N = 400 };
  ucp__registry_init(&g_reg);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(ucp__registry_put(&g_reg, (uint64_t)(i * 977 + 3),
                                       val_of(i)),
                     0);
  unsigned char drained[N] = {0};
  void *chunk[7];
  size_t n;
  while ((n = ucp__registry_drain(&g_reg, chunk, 7)) > 0) {
    for (size_t i = 0; i < n; i++) drained[(uintptr_t)chunk[i] - 1] = 1;
    for (size_t i = 0; i < N; i++)
      if (!drained[i])
        assert_ptr_equal(ucp__registry_get(&g_reg, (uint64_t)(i * 977 + 3)),
                         val_of(i));
  }
  for (size_t i = 0; i < N; i++) assert_true(drained[i]);
  ucp__registry_free(&g_reg);
}

/* ----------------------------------------------------------------- heap */

static void check_heap(const ucp__heap *h) {
  for (size_t i = 0; i < h->n; i++) {
    assert_int_equal(h->v[i]->idx, i);
    if (i > 0) assert_true(h->v[(i - 1) / 2]->key <= h->v[i]->key);
  }
}

static void test_heap_basic(void **state) {
  (void)state;
  ucp__heap h;
  ucp__heap_init(&h);
  assert_null(ucp__heap_min(&h));
  ucp__heap_node a = {.key = 5, .idx = SIZE_MAX};
  ucp__heap_node b = {.key = 3, .idx = SIZE_MAX};
  ucp__heap_node c = {.key = 3, .idx = SIZE_MAX};
  assert_false(ucp__heap_contains(&a));
  /* removing a node that is not in the heap is a no-op */
  ucp__heap_remove(&h, &a);
  assert_int_equal(h.n, 0);
  assert_int_equal(ucp__heap_push(&h, &a), 0);
  assert_true(ucp__heap_contains(&a));
  assert_ptr_equal(ucp__heap_min(&h), &a);
  assert_int_equal(ucp__heap_push(&h, &b), 0);
  assert_int_equal(ucp__heap_push(&h, &c), 0);
  assert_int_equal(ucp__heap_min(&h)->key, 3);
  check_heap(&h);
  ucp__heap_remove(&h, &a);
  assert_int_equal(a.idx, SIZE_MAX);
  assert_false(ucp__heap_contains(&a));
  ucp__heap_remove(&h, &a); /* twice: no-op */
  assert_int_equal(h.n, 2);
  check_heap(&h);
  /* free marks the remaining nodes as out of the heap */
  ucp__heap_free(&h);
  assert_int_equal(b.idx, SIZE_MAX);
  assert_int_equal(c.idx, SIZE_MAX);
  assert_int_equal(h.n, 0);
  assert_null(ucp__heap_min(&h));
}

static void test_heap_random(void **state) {
  (void)state;
  enum { N = 10000 };
  ucp__heap_node *nodes = calloc(N, sizeof *nodes);
  assert_non_null(nodes);
  for (size_t i = 0; i < N; i++) nodes[i].idx = SIZE_MAX;
  ucp__heap h;
  ucp__heap_init(&h);
  size_t in = 0;
  /* Random pushes and removals of arbitrary nodes, keys with many ties. */
  for (size_t step = 0; step < 4 * N; step++) {
    size_t i = rnd_below(N);
    if (ucp__heap_contains(&nodes[i])) {
      ucp__heap_remove(&h, &nodes[i]);
      assert_int_equal(nodes[i].idx, SIZE_MAX);
      in--;
    } else {
      nodes[i].key = rnd_below(step % 2 ? 50 : 1000000);
      assert_int_equal(ucp__heap_push(&h, &nodes[i]), 0);
      assert_true(ucp__heap_contains(&nodes[i]));
      in++;
    }
    assert_int_equal(h.n, in);
    if (step % 1000 == 0) check_heap(&h);
  }
  check_heap(&h);
  /* Fill up: every node in. */
  for (size_t i = 0; i < N; i++)
    if (!ucp__heap_contains(&nodes[i])) {
      nodes[i].key = rnd_below(1000000);
      assert_int_equal(ucp__heap_push(&h, &nodes[i]), 0);
    }
  assert_int_equal(h.n, N);
  check_heap(&h);
  /* Remove a third of them, chosen at random, checking each time. */
  for (size_t k = 0; k < N / 3; k++) {
    size_t i = rnd_below(N);
    if (!ucp__heap_contains(&nodes[i])) continue;
    ucp__heap_remove(&h, &nodes[i]);
    assert_int_equal(nodes[i].idx, SIZE_MAX);
    if (k % 100 == 0) check_heap(&h);
  }
  check_heap(&h);
  /* Pop the minimum repeatedly: keys never decrease. */
  uint64_t prev = 0;
  size_t popped = 0, remaining = h.n;
  ucp__heap_node *m;
  while ((m = ucp__heap_min(&h)) != NULL) {
    assert_true(m->key >= prev);
    for (size_t j = 0; j < 8 && j < h.n; j++)
      assert_true(h.v[j]->key >= m->key);
    prev = m->key;
    ucp__heap_remove(&h, m);
    assert_int_equal(m->idx, SIZE_MAX);
    popped++;
    if (popped % 997 == 0) check_heap(&h);
  }
  assert_int_equal(popped, remaining);
  for (size_t i = 0; i < N; i++) assert_int_equal(nodes[i].idx, SIZE_MAX);
  ucp__heap_free(&h);
  free(nodes);
}

/* A node whose idx is stale (points at another node's slot) must not be
 * removed in place of that other node. */
static void test_heap_remove_foreign(void **state) {
  (void)state;
  ucp__heap h;
  ucp__heap_init(&h);
  ucp__heap_node a = {.key = 1, .idx = SIZE_MAX};
  ucp__heap_node b = {.key = 2, .idx = SIZE_MAX};
  assert_int_equal(ucp__heap_push(&h, &a), 0);
  assert_int_equal(ucp__heap_push(&h, &b), 0);
  ucp__heap_node fake = {.key = 0, .idx = 0}; /* claims slot 0 */
  ucp__heap_remove(&h, &fake);
  assert_int_equal(h.n, 2);
  assert_ptr_equal(ucp__heap_min(&h), &a);
  ucp__heap_node far = {.key = 0, .idx = 99};
  ucp__heap_remove(&h, &far);
  assert_int_equal(h.n, 2);
  ucp__heap_free(&h);
}

/* --------------------------------------------------------------- errors */

typedef struct err_row {
  int code;
  const char *name;
  const char *text;
} err_row;

static const err_row err_table[] = {
#define ROW(name, code, text) {code, "UCP_" #name, text},
    UCP_ERRNO_MAP(ROW)
#undef ROW
};
enum { NERR = sizeof err_table / sizeof err_table[0] };

static void test_errors(void **state) {
  (void)state;
  assert_true(NERR >= 18);
  for (size_t i = 0; i < NERR; i++) {
    const char *s = ucp_strerror(err_table[i].code);
    const char *n = ucp_err_name(err_table[i].code);
    assert_non_null(s);
    assert_non_null(n);
    assert_true(strlen(s) > 0);
    assert_string_equal(s, err_table[i].text);
    assert_string_not_equal(s, "unknown error");
    assert_int_equal(strncmp(n, "UCP_", 4), 0);
    assert_string_equal(n, err_table[i].name);
    assert_string_not_equal(n, "UCP_E_UNKNOWN");
    if (err_table[i].code != 0) assert_true(err_table[i].code < 0);
    assert_true(err_table[i].code >= UCP__ERR_MIN);
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(err_table[i].code, err_table[j].code);
      assert_string_not_equal(s, ucp_strerror(err_table[j].code));
      assert_string_not_equal(n, ucp_err_name(err_table[j].code));
    }
  }
  assert_string_equal(ucp_err_name(UCP_OK), "UCP_OK");
  assert_string_equal(ucp_err_name(UCP_E_TIMEOUT), "UCP_E_TIMEOUT");
  assert_string_equal(ucp_err_name(UCP_E_INTERNAL), "UCP_E_INTERNAL");
  const int unknown[] = {1, 2, 100, UCP__ERR_MIN - 1, -1000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(ucp_strerror(unknown[i]), "unknown error");
    assert_string_equal(ucp_err_name(unknown[i]), "UCP_E_UNKNOWN");
  }
}

static void test_version(void **state) {
  (void)state;
  const char *v = ucp_version(NULL);
  assert_non_null(v);
  assert_string_equal(v, UCP_VERSION_STRING);
  char self[64];
  snprintf(self, sizeof self, "%d.%d.%d", UCP_VERSION_MAJOR,
           UCP_VERSION_MINOR, UCP_VERSION_PATCH);
  assert_string_equal(self, UCP_VERSION_STRING);
  assert_non_null(ucp_version("0.0.1"));
  assert_string_equal(ucp_version("0.0.1"), UCP_VERSION_STRING);
  assert_non_null(ucp_version("0.0.0"));
  assert_non_null(ucp_version(self)); /* exactly the same version */
  assert_null(ucp_version("999.0.0"));
  char newer[64];
  snprintf(newer, sizeof newer, "%d.%d.%d", UCP_VERSION_MAJOR,
           UCP_VERSION_MINOR, UCP_VERSION_PATCH + 1);
  assert_null(ucp_version(newer));
  snprintf(newer, sizeof newer, "%d.%d.0", UCP_VERSION_MAJOR,
           UCP_VERSION_MINOR + 1);
  assert_null(ucp_version(newer));
  snprintf(newer, sizeof newer, "%d.0.0", UCP_VERSION_MAJOR + 1);
  assert_null(ucp_version(newer));
}

/* ------------------------------------------------------------- options */

static void dummy_progress(uint64_t id, uint64_t num, uint64_t den, int st,
                           void *user) {
  (void)id, (void)num, (void)den, (void)st, (void)user;
}
static void dummy_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
}

static void test_cp_opts(void **state) {
  (void)state;
  ucp_cp_opts *o = ucp_cp_opts_new();
  assert_non_null(o);
  /* NULL opts */
  assert_int_equal(ucp_cp_opts_set_limit(NULL, UCP_LIMIT_PENDING_OPS, 1),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_deadline(NULL, UCP_OP_LOAD_DESCRIPTION, 5),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_loop(NULL, NULL), UCP_E_INVALIDARG);
  /* value 0 and unknown limits */
  for (int l = 0; l < UCP_LIMIT__COUNT; l++) {
    assert_int_equal(ucp_cp_opts_set_limit(o, (ucp_limit)l, 0),
                     UCP_E_INVALIDARG);
    assert_int_equal(ucp_cp_opts_set_limit(o, (ucp_limit)l, 1), UCP_OK);
    assert_int_equal(ucp_cp_opts_set_limit(o, (ucp_limit)l, UINT64_MAX),
                     UCP_OK);
  }
  assert_int_equal(ucp_cp_opts_set_limit(o, UCP_LIMIT__COUNT, 10),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_limit(o, (ucp_limit)(UCP_LIMIT__COUNT + 7),
                                         10),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_limit(o, (ucp_limit)-1, 10),
                   UCP_E_INVALIDARG);
  /* deadlines: unknown kinds and 0 */
  assert_int_equal(ucp_cp_opts_set_deadline(o, UCP_OP_LOAD_DESCRIPTION, 1),
                   UCP_OK);
  assert_int_equal(ucp_cp_opts_set_deadline(o, UCP_OP_LOAD_DESCRIPTION, 0),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_deadline(o, (ucp_op_kind)0, 10),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_deadline(o, UCP_OP__COUNT, 10),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_deadline(o, (ucp_op_kind)-3, 10),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_opts_set_loop(o, NULL), UCP_OK);
  ucp_cp_opts_free(o);
  ucp_cp_opts_free(NULL); /* harmless */
}

static void test_call_opts(void **state) {
  (void)state;
  ucp_call_opts *o = ucp_call_opts_new();
  assert_non_null(o);
  assert_int_equal(ucp_call_opts_set_deadline(NULL, 10), UCP_E_INVALIDARG);
  assert_int_equal(ucp_call_opts_set_progress(NULL, dummy_progress),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_call_opts_set_deadline(o, 10), UCP_OK);
  assert_int_equal(ucp_call_opts_set_deadline(o, 0), UCP_OK); /* default */
  assert_int_equal(ucp_call_opts_set_progress(o, dummy_progress), UCP_OK);
  assert_int_equal(ucp_call_opts_set_progress(o, NULL), UCP_OK);
  ucp_call_opts_free(o);
  ucp_call_opts_free(NULL);
}

/* Accessors and start calls that must refuse NULLs without a crash. */
static void test_null_args(void **state) {
  (void)state;
  assert_int_equal(ucp_cp_free(NULL), UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_new(NULL, NULL), UCP_E_INVALIDARG);
  assert_int_equal(ucp_result_status(NULL), UCP_E_INVALIDARG);
  assert_int_equal(ucp_result_http_status(NULL), 0);
  assert_non_null(ucp_result_detail(NULL));
  assert_string_equal(ucp_result_detail(NULL), "");
  assert_int_equal(ucp_result_upnp_error(NULL), 0);
  assert_null(ucp_result_upnp_error_description(NULL));
  assert_null(ucp_result_description(NULL));
  assert_null(ucp_description_root(NULL));
  assert_int_equal(ucp_description_device_count(NULL), 0);
  assert_null(ucp_description_device(NULL, 0));
  assert_string_equal(ucp_description_warnings(NULL), "");
  assert_int_equal(ucp_description_config_id(NULL), -1);
  int ma = 7, mi = 7;
  ucp_description_spec_version(NULL, &ma, &mi);
  assert_int_equal(ma, 0);
  assert_int_equal(mi, 0);
  assert_null(ucp_description_ref(NULL));
  ucp_description_unref(NULL);
  assert_null(ucp_device_field_get(NULL, UCP_DEVICE_UDN));
  assert_null(ucp_device_parent(NULL));
  assert_int_equal(ucp_device_child_count(NULL), 0);
  assert_int_equal(ucp_device_service_count(NULL), 0);
  assert_int_equal(ucp_device_icon_count(NULL), 0);
  assert_null(ucp_service_field_get(NULL, UCP_SERVICE_TYPE));
  assert_null(ucp_service_url_error(NULL, UCP_SERVICE_SCPD_URL));
  assert_int_equal(ucp_icon_width(NULL), -1);
  assert_null(ucp_icon_url(NULL));
  assert_int_equal(ucp_cancel(NULL, 1), UCP_E_INVALIDARG);
  uint64_t id = 0;
  assert_int_equal(ucp_load_description(NULL, "http://127.0.0.1/", NULL,
                                        dummy_done, NULL, &id),
                   UCP_E_INVALIDARG);
  assert_int_equal(id, 0);
}

/* Start calls refused before any I/O: no id, no callback, no counters. */
static void test_load_refused(void **state) {
  (void)state;
  ucp_cp *cp = NULL;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  assert_non_null(cp);
  uint64_t id = 0;
  assert_int_equal(ucp_load_description(cp, NULL, NULL, dummy_done, NULL, &id),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_load_description(cp, "http://127.0.0.1:1/", NULL, NULL,
                                        NULL, &id),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_load_description(cp, "http://127.0.0.1:1/", NULL,
                                        dummy_done, NULL, NULL),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_load_description(cp, "https://127.0.0.1:1/", NULL,
                                        dummy_done, NULL, &id),
                   UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "ftp://127.0.0.1/", NULL,
                                        dummy_done, NULL, &id),
                   UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "not a url", NULL, dummy_done,
                                        NULL, &id),
                   UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "http://user:pw@127.0.0.1/", NULL,
                                        dummy_done, NULL, &id),
                   UCP_E_URL);
  char *longurl = malloc(3000);
  assert_non_null(longurl);
  memcpy(longurl, "http://127.0.0.1/", 17);
  memset(longurl + 17, 'a', 3000 - 18);
  longurl[2999] = '\0';
  assert_int_equal(ucp_load_description(cp, longurl, NULL, dummy_done, NULL,
                                        &id),
                   UCP_E_URL);
  free(longurl);
  assert_int_equal(id, 0);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_STARTED), 0);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_PENDING), 0);
  assert_int_equal(ucp_cancel(cp, 0), UCP_E_INVALIDARG);
  assert_int_equal(ucp_cancel(cp, 12345), UCP_E_INVALIDARG);
  assert_int_equal(ucp_cp_free(cp), UCP_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry_empty),
      cmocka_unit_test(test_registry_random),
      cmocka_unit_test(test_registry_random_wraparound),
      cmocka_unit_test(test_registry_wraparound),
      cmocka_unit_test(test_registry_drain),
      cmocka_unit_test_teardown(test_registry_partial_drain_keeps_lookups,
                                free_g_reg),
      cmocka_unit_test(test_heap_basic),
      cmocka_unit_test(test_heap_random),
      cmocka_unit_test(test_heap_remove_foreign),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_cp_opts),
      cmocka_unit_test(test_call_opts),
      cmocka_unit_test(test_null_args),
      cmocka_unit_test(test_load_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
