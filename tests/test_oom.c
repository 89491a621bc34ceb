/* test_oom.c - out of memory returns an error and never aborts, leaks or
 * hangs (nghttp2 failmalloc style): every allocation of the library (and
 * of expat, which allocates through it) is failed in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/upnpcp_internal_test.h"
#include "helpers.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  *len = 0;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* Parse a real description with the n-th allocation failing, for every n
 * until it succeeds. */
static void parse_survives_every_failed_allocation(void **state) {
  (void)state;
  size_t len = 0;
  char *doc = read_file(UCP_CORPUS_DIR "/description/sonos-play1-s1-device_description.xml", &len);
  if (!doc) skip();
  long n;
  int nomem = 0;
  for (n = 0; n < 100000; n++) {
    const ucp_description *d = NULL;
    char detail[256];
    ucp__test_mem_fail_after(n);
    int rc = ucp_description_parse(doc, len, "http://10.0.0.5:1400/xml/desc.xml",
                                   &d, detail, sizeof detail);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK) {
      assert_non_null(ucp_description_root(d));
      ucp_description_unref(d);
      break;
    }
    assert_int_equal(rc, UCP_E_NOMEM);
    assert_null(d);
    nomem++;
  }
  printf("  parse: %d failing allocation points, success after %ld\n", nomem, n);
  assert_true(nomem > 5);
  free(doc);
}

static void load_survives_every_failed_allocation(void **state) {
  (void)state;
  ucp_sim *sim = test_sim_start();
  assert_non_null(sim);
  const char *url = sim_url(sim, "/desc.xml");
  long n;
  int failures = 0;
  for (n = 0; n < 5000; n++) {
    ucp_cp *cp = NULL;
    ucp__test_mem_fail_after(n);
    int rc = ucp_cp_new(NULL, &cp);
    if (rc != UCP_OK) {
      ucp__test_mem_fail_after(-1);
      assert_int_equal(rc, UCP_E_NOMEM);
      failures++;
      continue;
    }
    probe p;
    probe_init(&p);
    rc = probe_load(cp, &p, url, 3000);
    if (rc == UCP_OK) {
      assert_int_equal(probe_wait(&p, 10000), 0);
      rc = p.status;
    }
    ucp__test_mem_fail_after(-1);
    ucp_cp_free(cp);
    probe_destroy(&p);
    if (rc == UCP_OK) break;
    if (rc != UCP_E_NOMEM) printf("  allocation %ld: %s: %s\n", n, ucp_err_name(rc), p.detail);
    assert_int_equal(rc, UCP_E_NOMEM);
    failures++;
  }
  printf("  load: %d failing allocation points, success after %ld\n", failures, n);
  assert_true(failures > 5);
  assert_true(n < 5000);
  ucp_sim_stop(sim);
}


typedef struct oom_rec {
  probe *p;
  const ucp_scpd *scpd;
  size_t nout;
} oom_rec;

static void oom_done(uint64_t id, const ucp_result *r, void *user) {
  oom_rec *o = user;
  if (ucp_result_kind(r) == UCP_OP_SCPD_DOWNLOAD)
    o->scpd = ucp_scpd_ref(ucp_result_scpd(r));
  else o->nout = ucp_result_out_count(r);
  probe_done_cb(id, r, o->p);
}

static const ucp_service *sim_service(const ucp_description *d) {
  return ucp_device_service(ucp_description_root(d), 0); /* SwitchPower */
}

/* One SCPD download (after forgetting the cache) or one invoke with the
 * n-th allocation failing; returns the outcome. */
static int control_once(ucp_cp *cp, const ucp_description *d,
                        const ucp_scpd *scpd, long n, oom_rec *o) {
  probe p;
  probe_init(&p);
  o->p = &p;
  uint64_t id;
  ucp_arg a[] = {{"newTargetValue", "true"}};
  ucp__test_mem_fail_after(n);
  int rc = scpd ? ucp_invoke(cp, sim_service(d), scpd, "SetTarget", a, 1,
                             NULL, oom_done, o, &id)
                : ucp_scpd_download(cp, sim_service(d), NULL, oom_done, o,
                                    &id);
  if (rc == UCP_OK) {
    assert_int_equal(probe_wait(&p, 10000), 0);
    rc = p.status;
  }
  ucp__test_mem_fail_after(-1);
  if (rc != UCP_OK && rc != UCP_E_NOMEM)
    printf("  allocation %ld: %s: %s\n", n, ucp_err_name(rc), p.detail);
  probe_destroy(&p);
  return rc;
}

static void control_survives_every_failed_allocation(void **state) {
  (void)state;
  ucp_sim *sim = test_sim_start();
  assert_non_null(sim);
  ucp_cp *cp = NULL;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 3000), UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  const ucp_description *d = ucp_description_ref(p.desc);
  probe_destroy(&p);
  const char *udn = ucp_device_field_get(ucp_description_root(d), UCP_DEVICE_UDN);
  for (int kind = 0; kind < 2; kind++) {
    oom_rec o = {0};
    const ucp_scpd *scpd = NULL;
    if (kind == 1) { /* invoke: with a model downloaded normally */
      assert_int_equal(control_once(cp, d, NULL, -1, &o), UCP_OK);
      scpd = o.scpd;
    }
    long n;
    int failures = 0;
    for (n = 0; n < 2000; n++) {
      oom_rec r = {0};
      if (kind == 0) {
        /* Tasks run before the starts queued after them: a download. */
        assert_int_equal(ucp_cp_forget_device(cp, udn), UCP_OK);
      }
      int rc = control_once(cp, d, scpd, n, &r);
      ucp_scpd_unref(r.scpd);
      if (rc == UCP_OK) break;
      assert_int_equal(rc, UCP_E_NOMEM);
      failures++;
    }
    printf("  %s: %d failing allocation points, success after %ld\n",
           kind ? "invoke" : "SCPD download", failures, n);
    assert_true(failures > 3);
    assert_true(n < 2000);
    ucp_scpd_unref(scpd);
  }
  ucp_description_unref(d);
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
}


typedef struct sub_probe {
  atomic_int active, done, status;
} sub_probe;

static void sub_ev(uint64_t id, const ucp_event *ev, void *user) {
  (void)id;
  sub_probe *p = user;
  if (ucp_event_state(ev) == UCP_SUB_ACTIVE) atomic_store(&p->active, 1);
}

static void sub_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id;
  sub_probe *p = user;
  atomic_store(&p->status, ucp_result_status(r));
  atomic_store(&p->done, 1);
}

/* A subscription started with the n-th allocation failing ends with
 * UCP_E_NOMEM (or gets going): never another error, never a crash or a
 * leak. Allocations succeed again once it is ACTIVE or done. */
static void subscribe_survives_every_failed_allocation(void **state) {
  (void)state;
  ucp_sim *sim = test_sim_start();
  assert_non_null(sim);
  char url[160];
  snprintf(url, sizeof url, "%s/evt/SwitchPower", ucp_sim_base_url(sim));
  long n;
  int failures = 0;
  for (n = 0; n < 500; n++) {
    ucp_cp *cp = NULL;
    assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
    sub_probe p = {0};
    uint64_t id;
    ucp__test_mem_fail_after(n);
    int rc = ucp_subscribe_url(cp, url, NULL, NULL, NULL, NULL, sub_ev,
                               sub_done, &p, &id);
    for (int i = 0; rc == UCP_OK && i < 400 && !atomic_load(&p.active) &&
                    !atomic_load(&p.done);
         i++)
      sleep_ms(5);
    ucp__test_mem_fail_after(-1);
    if (rc == UCP_OK && atomic_load(&p.done)) rc = atomic_load(&p.status);
    int active = rc == UCP_OK && atomic_load(&p.active);
    ucp_cp_free(cp); /* a live subscription is unsubscribed here */
    if (active) break;
    if (rc != UCP_E_NOMEM)
      printf("  allocation %ld: %s\n", n, ucp_err_name(rc));
    assert_int_equal(rc, UCP_E_NOMEM);
    failures++;
  }
  printf("  subscribe: %d failing allocation points, ACTIVE after %ld\n",
         failures, n);
  assert_true(failures > 3);
  assert_true(n < 500);
  for (int i = 0; i < 200 && ucp_sim_subscriptions(sim); i++) sleep_ms(10);
  assert_int_equal(ucp_sim_subscriptions(sim), 0);
  ucp_sim_stop(sim);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_survives_every_failed_allocation),
      cmocka_unit_test(load_survives_every_failed_allocation),
      cmocka_unit_test(control_survives_every_failed_allocation),
      cmocka_unit_test(subscribe_survives_every_failed_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
