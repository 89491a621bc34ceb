/* test_contract.c - CONTRACT.md §1-§7 exercised through ucp_load_description
 * against the simulator and its fault endpoints (a real libmicrohttpd
 * server on loopback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "helpers.h"

static ucp_sim *sim;
static ucp_cp *cp;

static int setup(void **state) {
  (void)state;
  sim = test_sim_start();
  if (!sim) return -1;
  return ucp_cp_new(NULL, &cp) == UCP_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
  return 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Load `path` and wait for the outcome; returns the status. */
static int load_and_wait(probe *p, const char *path, uint64_t deadline) {
  probe_init(p);
  assert_int_equal(probe_load(cp, p, sim_url(sim, path), deadline), UCP_OK);
  assert_int_equal(probe_wait(p, 15000), 0);
  return p->status;
}

/* ------------------------------------------------------------ §1 start */

static void start_returns_at_once_with_fresh_ids(void **state) {
  (void)state;
  probe p[3];
  uint64_t t0 = now_ms();
  for (int i = 0; i < 3; i++) {
    probe_init(&p[i]);
    assert_int_equal(probe_load(cp, &p[i], sim_url(sim, "/fault/stall?ms=3000"), 0),
                     UCP_OK);
  }
  assert_true(now_ms() - t0 < 500); /* never blocks on the network */
  assert_true(p[0].id != 0);
  assert_true(p[1].id > p[0].id && p[2].id > p[1].id);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ucp_cancel(cp, p[i].id), UCP_OK);
    probe_destroy(&p[i]);
  }
}

static void bad_start_issues_no_id_and_no_callback(void **state) {
  (void)state;
  probe p;
  probe_init(&p);
  uint64_t id = 12345;
  assert_int_equal(ucp_load_description(cp, NULL, NULL, probe_done_cb, &p, &id),
                   UCP_E_INVALIDARG);
  assert_int_equal(ucp_load_description(cp, "ftp://127.0.0.1/x.xml", NULL,
                                        probe_done_cb, &p, &id), UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "not a url", NULL, probe_done_cb,
                                        &p, &id), UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "http://u:p@127.0.0.1/x", NULL,
                                        probe_done_cb, &p, &id), UCP_E_URL);
  assert_int_equal(ucp_load_description(cp, "http://127.0.0.1/", NULL, NULL,
                                        &p, &id), UCP_E_INVALIDARG);
  assert_int_equal(ucp_load_description(NULL, "http://127.0.0.1/", NULL,
                                        probe_done_cb, &p, &id), UCP_E_INVALIDARG);
  char big[3000];
  memset(big, 'a', sizeof big - 1);
  memcpy(big, "http://", 7);
  big[sizeof big - 1] = '\0';
  assert_int_equal(ucp_load_description(cp, big, NULL, probe_done_cb, &p, &id),
                   UCP_E_URL);
  assert_int_equal(id, 12345); /* no id issued */
  sleep_ms(200);
  assert_int_equal(probe_done_count(&p), 0);
  probe_destroy(&p);
}

static int g_start_returned;
static int g_inline;
static void inline_check_cb(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
  if (!g_start_returned) g_inline = 1;
  g_start_returned = 2;
}

/* Even an immediate failure is delivered on a later loop turn. */
static void completion_never_inline(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &loop);
  ucp_cp *c;
  assert_int_equal(ucp_cp_new(o, &c), UCP_OK);
  ucp_cp_opts_free(o);
  uint64_t id;
  g_start_returned = 0;
  /* Port 1 on loopback: connection refused, fails fast. */
  assert_int_equal(ucp_load_description(c, "http://127.0.0.1:1/d.xml", NULL,
                                        inline_check_cb, NULL, &id), UCP_OK);
  g_start_returned = 1;
  for (int i = 0; i < 200 && g_start_returned != 2; i++)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(g_start_returned, 2);
  assert_int_equal(g_inline, 0);
  ucp_cp_free(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---------------------------------------------------- §2 one outcome */

static void success_delivers_exactly_one_completion(void **state) {
  (void)state;
  probe p;
  assert_int_equal(load_and_wait(&p, "/desc.xml", 0), UCP_OK);
  sleep_ms(100);
  assert_int_equal(probe_done_count(&p), 1);
  assert_int_equal(p.http_status, 200);
  assert_non_null(p.desc);
  const ucp_device *root = ucp_description_root(p.desc);
  assert_string_equal(ucp_device_field_get(root, UCP_DEVICE_TYPE),
                      "urn:schemas-upnp-org:device:BinaryLight:1");
  assert_int_equal(ucp_device_service_count(root), 2);
  assert_string_equal(p.detail, "");
  assert_int_equal(ucp_cancel(cp, p.id), UCP_E_INVALIDARG);
  assert_false(p.concurrent);
  assert_false(pthread_equal(p.cb_thread, pthread_self()));
  probe_destroy(&p);
}

/* ---------------------------------------------------------- §3 cancel */

static void cancel_pending_then_no_callback(void **state) {
  (void)state;
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/fault/drip?bytes=400&interval_ms=20"), 0),
                   UCP_OK);
  sleep_ms(300); /* mid-body: progress has been flowing */
  int before = probe_progress_count(&p);
  assert_int_equal(ucp_cancel(cp, p.id), UCP_OK);
  int after_cancel = probe_progress_count(&p);
  sleep_ms(400);
  assert_true(before > 0);
  assert_int_equal(probe_progress_count(&p), after_cancel);
  assert_int_equal(probe_done_count(&p), 0);
  assert_int_equal(ucp_cancel(cp, p.id), UCP_E_INVALIDARG);
  probe_destroy(&p);
}

static void cancel_unknown_ids(void **state) {
  (void)state;
  assert_int_equal(ucp_cancel(cp, 0), UCP_E_INVALIDARG);
  assert_int_equal(ucp_cancel(cp, UINT64_MAX), UCP_E_INVALIDARG);
  assert_int_equal(ucp_cancel(NULL, 1), UCP_E_INVALIDARG);
}

static void cancel_inside_completion_is_too_late(void **state) {
  (void)state;
  probe p;
  probe_init(&p);
  p.cancel_in_done = 1;
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/desc.xml"), 0), UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  assert_int_equal(p.cancel_in_done, UCP_E_FAIL);
  assert_int_equal(p.status, UCP_OK);
  probe_destroy(&p);
}

static void cancel_inside_progress_stops_everything(void **state) {
  (void)state;
  probe p;
  probe_init(&p);
  p.cancel_in_progress = 1;
  assert_int_equal(probe_load(cp, &p, sim_url(sim, "/fault/drip?bytes=100&interval_ms=10"), 0),
                   UCP_OK);
  sleep_ms(1500);
  pthread_mutex_lock(&p.lock);
  int rc = p.cancel_in_progress_rc, calls = p.progress_calls;
  pthread_mutex_unlock(&p.lock);
  assert_int_equal(rc, UCP_OK);
  assert_int_equal(calls, 1);
  assert_int_equal(probe_done_count(&p), 0);
  probe_destroy(&p);
}

/* ---------------------------------------------------------- §4 progress */

static void progress_counts_bytes_of_content_length(void **state) {
  (void)state;
  probe p;
  assert_int_equal(load_and_wait(&p, "/fault/drip?bytes=300&interval_ms=2", 0),
                   UCP_E_XML); /* drip bytes are not a description */
  assert_true(p.progress_calls >= 2);
  assert_int_equal(p.last_den, 300);
  assert_int_equal(p.last_num, 300);
  assert_false(p.numerator_decreased);
  sleep_ms(100);
  assert_false(p.progress_after_done);
  probe_destroy(&p);
}

static void progress_unknown_total_is_zero(void **state) {
  (void)state;
  probe p;
  assert_int_equal(load_and_wait(&p, "/fault/chunked", 0), UCP_OK);
  assert_true(p.progress_calls >= 1);
  assert_int_equal(p.last_den, 0);
  assert_true(p.last_num > 100);
  probe_destroy(&p);
}

/* --------------------------------------------------- §5 results, errors */

static void deadline_expires_with_timeout(void **state) {
  (void)state;
  probe p;
  uint64_t t0 = now_ms();
  assert_int_equal(load_and_wait(&p, "/fault/drip?bytes=1000&interval_ms=100", 400),
                   UCP_E_TIMEOUT);
  uint64_t took = now_ms() - t0;
  assert_true(took >= 350 && took < 3000);
  assert_non_null(strstr(p.detail, "400 ms"));
  probe_destroy(&p);
  assert_int_equal(load_and_wait(&p, "/fault/stall?ms=5000", 300), UCP_E_TIMEOUT);
  assert_non_null(strstr(p.detail, "deadline"));
  probe_destroy(&p);
}

static void default_deadline_per_kind(void **state) {
  (void)state;
  ucp_cp_opts *o = ucp_cp_opts_new();
  assert_int_equal(ucp_cp_opts_set_deadline(o, UCP_OP_LOAD_DESCRIPTION, 300), UCP_OK);
  ucp_cp *c;
  assert_int_equal(ucp_cp_new(o, &c), UCP_OK);
  ucp_cp_opts_free(o);
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(c, &p, sim_url(sim, "/fault/stall?ms=5000"), 0), UCP_OK);
  assert_int_equal(probe_wait(&p, 5000), 0);
  assert_int_equal(p.status, UCP_E_TIMEOUT);
  probe_destroy(&p);
  ucp_cp_free(c);
}

typedef struct fault_case {
  const char *path;
  int status;
  int http_status;
  const char *detail_has;
} fault_case;

static void faults_fail_with_clear_errors(void **state) {
  (void)state;
  static const fault_case cases[] = {
      {"/fault/status?code=404", UCP_E_HTTP, 404, "HTTP status 404"},
      {"/fault/status?code=500", UCP_E_HTTP, 500, "/fault/status"},
      {"/fault/reset?after=100", UCP_E_NETWORK, 200, "GET http://127.0.0.1"},
      {"/fault/huge?bytes=3000000", UCP_E_TOO_LARGE, 200, "Content-Length"},
      {"/fault/huge?bytes=3000000&chunked=1", UCP_E_TOO_LARGE, 200, "cap"},
      {"/fault/malformed", UCP_E_XML, 200, "line "},
      {"/fault/doctype", UCP_E_DOCTYPE, 200, "DOCTYPE"},
      {"/fault/deep?depth=1000", UCP_E_TOO_LARGE, 200, "nested deeper than 32"},
      {"/fault/bigheader?bytes=100000", UCP_E_TOO_LARGE, 200, "headers exceed"},
      {"/fault/redirect", UCP_E_HTTP, 302, "HTTP status 302"},
      {"/nonexistent.xml", UCP_E_HTTP, 404, "/nonexistent.xml"},
      {"/files/contract/not-root.xml", UCP_E_PROTOCOL, 200, "expected <root>"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    probe p;
    int st = load_and_wait(&p, cases[i].path, 0);
    printf("  %-42s -> %s http %d: %s\n", cases[i].path, ucp_err_name(st),
           p.http_status, p.detail);
    assert_int_equal(st, cases[i].status);
    assert_int_equal(p.http_status, cases[i].http_status);
    assert_non_null(strstr(p.detail, cases[i].detail_has));
    assert_null(p.desc);
    probe_destroy(&p);
  }
}

static void connect_refused_is_connect_error(void **state) {
  (void)state;
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(cp, &p, "http://127.0.0.1:1/desc.xml", 0), UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  assert_int_equal(p.status, UCP_E_CONNECT);
  assert_int_equal(p.http_status, 0);
  assert_non_null(strstr(p.detail, "127.0.0.1:1"));
  probe_destroy(&p);
}

static void other_host_url_is_marked_not_fetched(void **state) {
  (void)state;
  probe p;
  assert_int_equal(load_and_wait(&p, "/fault/otherhost", 0), UCP_OK);
  const ucp_device *root = ucp_description_root(p.desc);
  const ucp_service *bad = ucp_device_service(root, 0);
  const ucp_service *good = ucp_device_service(root, 1);
  assert_null(ucp_service_field_get(bad, UCP_SERVICE_CONTROL_URL));
  assert_non_null(strstr(ucp_service_url_error(bad, UCP_SERVICE_CONTROL_URL),
                         "192.0.2.1"));
  assert_non_null(ucp_service_field_get(good, UCP_SERVICE_CONTROL_URL));
  assert_null(ucp_service_url_error(good, UCP_SERVICE_CONTROL_URL));
  probe_destroy(&p);
}

/* Bad input never blocks other work: a stalled and a dripping device do
 * not delay a healthy one. */
static void stalled_device_does_not_block_others(void **state) {
  (void)state;
  probe slow[4], fast;
  for (int i = 0; i < 4; i++) {
    probe_init(&slow[i]);
    assert_int_equal(probe_load(cp, &slow[i], sim_url(sim, i % 2 ? "/fault/stall?ms=4000"
                                                       : "/fault/drip?bytes=500&interval_ms=50"), 0),
                     UCP_OK);
  }
  uint64_t t0 = now_ms();
  assert_int_equal(load_and_wait(&fast, "/desc.xml", 0), UCP_OK);
  assert_true(now_ms() - t0 < 1500);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(ucp_cancel(cp, slow[i].id), UCP_OK);
    probe_destroy(&slow[i]);
  }
  probe_destroy(&fast);
}

/* ---------------------------------------------------------- §7 bounds */

static void pending_limit_refuses_start(void **state) {
  (void)state;
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_limit(o, UCP_LIMIT_PENDING_OPS, 3);
  ucp_cp *c;
  assert_int_equal(ucp_cp_new(o, &c), UCP_OK);
  ucp_cp_opts_free(o);
  probe p[4];
  for (int i = 0; i < 3; i++) {
    probe_init(&p[i]);
    assert_int_equal(probe_load(c, &p[i], sim_url(sim, "/fault/stall?ms=3000"), 0), UCP_OK);
  }
  probe_init(&p[3]);
  assert_int_equal(probe_load(c, &p[3], sim_url(sim, "/desc.xml"), 0), UCP_E_LIMIT);
  assert_int_equal(ucp_cp_counter(c, UCP_COUNTER_PENDING), 3);
  assert_int_equal(ucp_cancel(c, p[0].id), UCP_OK);
  assert_int_equal(probe_load(c, &p[3], sim_url(sim, "/desc.xml"), 0), UCP_OK);
  assert_int_equal(probe_wait(&p[3], 10000), 0);
  ucp_cp_free(c);
  for (int i = 0; i < 4; i++) probe_destroy(&p[i]);
}

static void http_active_limit_queues_in_order(void **state) {
  (void)state;
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_ACTIVE, 2);
  ucp_cp *c;
  assert_int_equal(ucp_cp_new(o, &c), UCP_OK);
  ucp_cp_opts_free(o);
  probe stall[2], q;
  for (int i = 0; i < 2; i++) {
    probe_init(&stall[i]);
    assert_int_equal(probe_load(c, &stall[i], sim_url(sim, "/fault/stall?ms=3000"), 0), UCP_OK);
  }
  sleep_ms(100);
  probe_init(&q);
  assert_int_equal(probe_load(c, &q, sim_url(sim, "/desc.xml"), 0), UCP_OK);
  sleep_ms(300);
  assert_int_equal(probe_done_count(&q), 0); /* waiting for a slot */
  assert_int_equal(ucp_cp_counter(c, UCP_COUNTER_HTTP_ACTIVE), 2);
  assert_int_equal(ucp_cancel(c, stall[0].id), UCP_OK); /* frees a slot */
  assert_int_equal(probe_wait(&q, 5000), 0);
  assert_int_equal(q.status, UCP_OK);
  ucp_cp_free(c);
  probe_destroy(&stall[0]);
  probe_destroy(&stall[1]);
  probe_destroy(&q);
}

/* Keep-alive: sequential loads reuse one connection. */
static void connections_are_reused(void **state) {
  (void)state;
  uint64_t before = ucp_sim_connections(sim);
  for (int i = 0; i < 20; i++) {
    probe p;
    assert_int_equal(load_and_wait(&p, "/desc.xml", 0), UCP_OK);
    probe_destroy(&p);
  }
  uint64_t used = ucp_sim_connections(sim) - before;
  printf("  20 sequential loads used %llu connection(s)\n", (unsigned long long)used);
  assert_true(used <= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(start_returns_at_once_with_fresh_ids),
      cmocka_unit_test(bad_start_issues_no_id_and_no_callback),
      cmocka_unit_test(completion_never_inline),
      cmocka_unit_test(success_delivers_exactly_one_completion),
      cmocka_unit_test(cancel_pending_then_no_callback),
      cmocka_unit_test(cancel_unknown_ids),
      cmocka_unit_test(cancel_inside_completion_is_too_late),
      cmocka_unit_test(cancel_inside_progress_stops_everything),
      cmocka_unit_test(progress_counts_bytes_of_content_length),
      cmocka_unit_test(progress_unknown_total_is_zero),
      cmocka_unit_test(deadline_expires_with_timeout),
      cmocka_unit_test(default_deadline_per_kind),
      cmocka_unit_test(faults_fail_with_clear_errors),
      cmocka_unit_test(connect_refused_is_connect_error),
      cmocka_unit_test(other_host_url_is_marked_not_fetched),
      cmocka_unit_test(stalled_device_does_not_block_others),
      cmocka_unit_test(pending_limit_refuses_start),
      cmocka_unit_test(http_active_limit_queues_in_order),
      cmocka_unit_test(connections_are_reused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
