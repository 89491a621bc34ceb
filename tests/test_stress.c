/* test_stress.c - cancellation race (liburing test/cancel-race.c style):
 * 100,000 description loads and invokes started from 4 threads and
 * cancelled at random moments, from the starting thread, from other threads
 * and from inside callbacks. Every id must get exactly one outcome, and no callback may
 * start after ucp_cancel() returned UCP_OK for its id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "helpers.h"

enum { THREADS = 4, SLOTS = 512 };

static ucp_sim *sim;
static ucp_cp *cp;
static size_t total_ops = 100000;
static atomic_uchar *done_count;   /* indexed by id */
static atomic_uchar *cancel_ok;    /* indexed by id */
static atomic_int violations;
static atomic_ullong slots[SLOTS]; /* ids waiting for a cancel */
static atomic_ullong completions_ok, completions_err, cancels_ok, cancels_fail,
    cancels_inval;

static void check_id(uint64_t id) {
  if (id == 0 || id > total_ops + 16) atomic_fetch_add(&violations, 1);
}

static void cancel_one(uint64_t id) {
  int rc = ucp_cancel(cp, id);
  if (rc == UCP_OK) {
    atomic_store(&cancel_ok[id], 1);
    atomic_fetch_add(&cancels_ok, 1);
  } else if (rc == UCP_E_FAIL) {
    atomic_fetch_add(&cancels_fail, 1);
  } else {
    atomic_fetch_add(&cancels_inval, 1);
  }
}

static void on_done(uint64_t id, const ucp_result *r, void *user) {
  (void)user;
  check_id(id);
  if (atomic_load(&cancel_ok[id])) atomic_fetch_add(&violations, 1);
  atomic_fetch_add(&done_count[id], 1);
  atomic_fetch_add(ucp_result_status(r) == UCP_OK ? &completions_ok
                                                  : &completions_err, 1);
  /* Cancel somebody else's pending op from inside a callback. */
  if (id % 7 == 0) {
    uint64_t other = atomic_exchange(&slots[id % SLOTS], 0);
    if (other) cancel_one(other);
  }
}

static void on_progress(uint64_t id, uint64_t n, uint64_t d, int s, void *u) {
  (void)n, (void)d, (void)s, (void)u;
  check_id(id);
  if (atomic_load(&cancel_ok[id]) || atomic_load(&done_count[id]))
    atomic_fetch_add(&violations, 1);
  if (id % 13 == 0) cancel_one(id); /* cancel itself from its progress */
}

static void spin(unsigned us) {
  uint64_t end = uv_hrtime() + (uint64_t)us * 1000u;
  while (uv_hrtime() < end) {
  }
}

typedef struct worker {
  unsigned seed;
  size_t n;
  char urls[3][256];
  char ctl[3][256];
} worker;

static void work(void *arg) {
  worker *w = arg;
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, on_progress);
  for (size_t i = 0; i < w->n; i++) {
    unsigned r = (unsigned)rand_r(&w->seed);
    uint64_t id;
    int rc;
    if (r % 10 >= 3 && r % 10 <= 5) { /* an invoke: quick, slow, refused */
      static const ucp_arg a[] = {{"newTargetValue", "1"}};
      rc = ucp_invoke_url(cp, w->ctl[r % 10 - 3],
                          "urn:schemas-upnp-org:service:SwitchPower:1", NULL,
                          "SetTarget", a, 1, o, on_done, NULL, &id);
    } else {
      const char *url = w->urls[r % 10 == 0 ? 1 : r % 10 == 1 ? 2 : 0];
      rc = ucp_load_description(cp, url, o, on_done, NULL, &id);
    }
    if (rc != UCP_OK) {
      atomic_fetch_add(&violations, 1);
      continue;
    }
    switch ((r >> 8) % 10) {
      case 0: case 1: case 2: cancel_one(id); break; /* at once */
      case 3: case 4: spin((r >> 12) % 200); cancel_one(id); break;
      case 5: case 6: case 7: { /* later, maybe by another thread */
        uint64_t old = atomic_exchange(&slots[(r >> 12) % SLOTS], id);
        if (old) cancel_one(old);
        break;
      }
      default: break; /* let it complete */
    }
    if (i % 64 == 0) spin(r % 50);
  }
  ucp_call_opts_free(o);
}

static int all_settled(void) {
  return ucp_cp_counter(cp, UCP_COUNTER_PENDING) == 0;
}

static void cancel_race_every_id_one_outcome(void **state) {
  (void)state;
  worker w[THREADS];
  uv_thread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i].seed = 1234u + (unsigned)i;
    w[i].n = total_ops / THREADS;
    snprintf(w[i].urls[0], 256, "%s", sim_url(sim, "/desc.xml"));
    snprintf(w[i].urls[1], 256, "%s", sim_url(sim, "/fault/stall?ms=100"));
    snprintf(w[i].urls[2], 256, "http://127.0.0.1:1/refused.xml");
    snprintf(w[i].ctl[0], 256, "%s", sim_url(sim, "/ctl/SwitchPower"));
    snprintf(w[i].ctl[1], 256, "%s",
             sim_url(sim, "/ctl/SwitchPower?fault=slow&ms=100"));
    snprintf(w[i].ctl[2], 256, "http://127.0.0.1:1/ctl");
    uv_thread_create(&t[i], work, &w[i]);
  }
  for (int i = 0; i < THREADS; i++) uv_thread_join(&t[i]);
  for (int i = 0; i < SLOTS; i++) {
    uint64_t id = atomic_exchange(&slots[i], 0);
    if (id) cancel_one(id);
  }
  for (int i = 0; i < 6000 && !all_settled(); i++) sleep_ms(10);
  assert_true(all_settled());
  size_t started = ucp_cp_counter(cp, UCP_COUNTER_STARTED);
  size_t bad = 0;
  for (size_t id = 1; id <= started; id++)
    if (atomic_load(&done_count[id]) + atomic_load(&cancel_ok[id]) != 1) bad++;
  printf("  %zu ops: %llu completed ok, %llu failed, %llu cancelled, cancel "
         "too late %llu, cancel invalid %llu; ids without exactly one "
         "outcome: %zu; callbacks after cancel: %d\n",
         started, (unsigned long long)completions_ok,
         (unsigned long long)completions_err, (unsigned long long)cancels_ok,
         (unsigned long long)cancels_fail, (unsigned long long)cancels_inval,
         bad, atomic_load(&violations));
  assert_int_equal(started, (total_ops / THREADS) * THREADS);
  assert_int_equal(bad, 0);
  assert_int_equal(atomic_load(&violations), 0);
  assert_int_equal(completions_ok + completions_err + cancels_ok, started);
  assert_true(cancels_ok > started / 4);   /* the race was exercised */
  assert_true(completions_ok > started / 50);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_CANCELLED), cancels_ok);
}

int main(void) {
  const char *env = getenv("UCP_STRESS_OPS");
  if (env && atol(env) >= THREADS) total_ops = (size_t)atol(env);
  done_count = calloc(total_ops + 32, sizeof *done_count);
  cancel_ok = calloc(total_ops + 32, sizeof *cancel_ok);
  sim = test_sim_start();
  if (!sim || ucp_cp_new(NULL, &cp) != UCP_OK) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cancel_race_every_id_one_outcome),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
  free(done_count);
  free(cancel_ok);
  return rc;
}
