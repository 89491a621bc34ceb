/* test_http.c - the HTTP client layer (src/http/) against the simulator's
 * /echo endpoint: methods, request headers and bodies, caps, the connect-
 * time address check, redirects not followed, no proxy, no compression,
 * abort. URLs of the simulator (127.0.0.1) go through h1.c, "localhost"
 * URLs through curl (http_engine.h); test_h1.c covers what only a scripted
 * peer can produce. Runs on a caller's loop so the test thread is the loop
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "helpers.h"
#include "http/http.h"
#include "http/url.h"

#include <curl/curl.h>

static ucp_sim *sim;
static uv_loop_t loop;
static ucp_cp *cp;

typedef struct exchange {
  int done;
  ucp__http_outcome o;
  char detail[512];
  char body[8192];
  size_t body_len;
  int headers_status;
  uint64_t content_length;
  int max_phase, phase_went_back, progress_calls;
  uint64_t last_now;
} exchange;

static int on_headers(void *ctx, int status, uint64_t cl) {
  exchange *x = ctx;
  x->headers_status = status;
  x->content_length = cl;
  return UCP_OK;
}

static int on_body(void *ctx, const char *p, size_t n) {
  exchange *x = ctx;
  size_t room = sizeof x->body - 1 - x->body_len;
  memcpy(x->body + x->body_len, p, n < room ? n : room);
  x->body_len += n < room ? n : room;
  x->body[x->body_len] = '\0';
  return UCP_OK;
}

static void on_progress(void *ctx, int phase, uint64_t now, uint64_t total) {
  exchange *x = ctx;
  (void)total;
  if (phase < x->max_phase) x->phase_went_back = 1;
  if (phase > x->max_phase) x->max_phase = phase;
  x->last_now = now;
  x->progress_calls++;
}

static void on_done(void *ctx, const ucp__http_outcome *o) {
  exchange *x = ctx;
  x->done++;
  x->o = *o;
  snprintf(x->detail, sizeof x->detail, "%s", o->detail);
  x->o.detail = x->detail;
}

static const ucp__http_sink sink = {on_headers, on_body, on_progress, on_done};

/* UV_RUN_ONCE could block in poll after a completion delivered from a
 * timer callback (the control point's async handle keeps the loop alive),
 * so turn the loop without blocking, for at most 10 s. */
static int run_until_done(exchange *x) {
  for (int i = 0; i < 10000 && !x->done; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (!x->done) sleep_ms(1);
  }
  return x->done;
}

static int exchange_run(exchange *x, const ucp__http_spec *spec) {
  memset(x, 0, sizeof *x);
  ucp__http_req *req = NULL;
  int rc = ucp__http_start(cp, spec, &sink, x, &req);
  if (rc != UCP_OK) return rc;
  assert_non_null(req);
  assert_true(run_until_done(x));
  assert_int_equal(x->done, 1);
  if (x->o.status != UCP_OK)
    printf("  %s %s -> %s (http %d): %s\n", spec->method, spec->url,
           ucp_err_name(x->o.status), x->o.http_status, x->detail);
  return x->o.status;
}

/* A control point on the test's loop with these transfer limits. */
static ucp_cp *limited_cp(int active, int per_host) {
  ucp_cp *c = test_cp_on_loop(&loop, (uint64_t)active, (uint64_t)per_host);
  assert_non_null(c);
  return c;
}

static int setup(void **state) {
  (void)state;
  sim = test_sim_start();
  if (!sim || uv_loop_init(&loop) != 0) return -1;
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &loop);
  int rc = ucp_cp_new(o, &cp);
  ucp_cp_opts_free(o);
  return rc == UCP_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ucp_cp_free(cp);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop);
  ucp_sim_stop(sim);
  return rc == 0 ? 0 : -1;
}

static void get_reports_phases_and_bytes(void **state) {
  (void)state;
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = sim_url(sim, "/desc.xml")};
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_int_equal(x.o.http_status, 200);
  assert_int_equal(x.headers_status, 200);
  assert_int_equal(x.content_length, x.body_len);
  assert_non_null(strstr(x.body, "BinaryLight:1"));
  assert_int_equal(x.max_phase, UCP_PHASE_RECEIVING);
  assert_false(x.phase_went_back);
  assert_int_equal(x.last_now, x.body_len);
  assert_string_equal(x.detail, "");
}

static void post_sends_body_and_headers(void **state) {
  (void)state;
  exchange x;
  const char *hdrs[] = {"Content-Type: text/xml; charset=\"utf-8\"",
                        "SOAPACTION: \"urn:schemas-upnp-org:service:SwitchPower:1#SetTarget\"",
                        NULL};
  const char *body = "<s:Envelope>x</s:Envelope>";
  ucp__http_spec spec = {.method = "POST", .url = sim_url(sim, "/echo"),
                         .headers = hdrs, .body = body, .body_len = strlen(body)};
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_non_null(strstr(x.body, "method POST\n"));
  assert_non_null(strstr(x.body, "header SOAPACTION: \"urn:schemas-upnp-org:service:SwitchPower:1#SetTarget\""));
  assert_non_null(strstr(x.body, "header Content-Type: text/xml; charset=\"utf-8\""));
  assert_non_null(strstr(x.body, "body-length 26\nbody <s:Envelope>x</s:Envelope>"));
  /* Never ask for compressed bodies (decompression bombs). */
  assert_null(strstr(x.body, "Accept-Encoding"));
}

static void custom_methods_with_headers(void **state) {
  (void)state;
  exchange x;
  const char *sub[] = {"CALLBACK: <http://127.0.0.1:4000/cb>", "NT: upnp:event",
                       "TIMEOUT: Second-1800", NULL};
  ucp__http_spec spec = {.method = "SUBSCRIBE", .url = sim_url(sim, "/echo"),
                         .headers = sub};
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_non_null(strstr(x.body, "method SUBSCRIBE\n"));
  assert_non_null(strstr(x.body, "header NT: upnp:event"));
  assert_non_null(strstr(x.body, "header CALLBACK: <http://127.0.0.1:4000/cb>"));
  const char *unsub[] = {"SID: uuid:1234", NULL};
  spec.method = "UNSUBSCRIBE";
  spec.headers = unsub;
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_non_null(strstr(x.body, "method UNSUBSCRIBE\n"));
  assert_non_null(strstr(x.body, "header SID: uuid:1234"));
}

/* The address curl really connects to is checked against the device's:
 * a host name is used so that the connection is new and resolved (a
 * pooled connection to an IP literal was checked when it was opened). */
static void connect_time_address_check(void **state) {
  (void)state;
  exchange x;
  char url[128];
  snprintf(url, sizeof url, "http://localhost:%u/desc.xml",
           (unsigned)ucp_sim_port(sim));
  ucp__http_spec spec = {.method = "GET", .url = url, .pin_ip = "127.0.0.2"};
  assert_int_equal(exchange_run(&x, &spec), UCP_E_POLICY);
  assert_non_null(strstr(x.detail, "refused"));
  assert_int_equal(x.o.http_status, 0);
  spec.pin_ip = "127.0.0.1";
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  /* curl now has a kept-alive connection to localhost: another pin is
   * still refused, though no connection is made (checked per request) */
  spec.pin_ip = "127.0.0.2";
  assert_int_equal(exchange_run(&x, &spec), UCP_E_POLICY);
  spec.pin_ip = "127.0.0.1";
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  /* Compared as addresses, not as text: curl keeps an IPv6 literal as
   * written, and this one reaches the IPv4 listener. */
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (s6 < 0) return; /* no IPv6 here */
  close(s6);
  snprintf(url, sizeof url, "http://[::FFFF:127.0.0.1]:%u/desc.xml",
           (unsigned)ucp_sim_port(sim));
  spec.pin_ip = "::FFFF:127.0.0.1";
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  spec.pin_ip = "::ffff:7f00:1";
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  spec.pin_ip = "::ffff:127.0.0.2";
  assert_int_equal(exchange_run(&x, &spec), UCP_E_POLICY);
}

/* The curl engine (a host name) answers like h1.c: body, headers, caps. */
static void curl_engine_serves_names(void **state) {
  (void)state;
  exchange x;
  char url[128];
  unsigned port = (unsigned)ucp_sim_port(sim);
  snprintf(url, sizeof url, "http://localhost:%u/echo", port);
  const char *hdrs[] = {"SOAPACTION: \"u#A\"", NULL};
  ucp__http_spec spec = {.method = "POST", .url = url, .headers = hdrs,
                         .body = "abc", .body_len = 3};
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_non_null(strstr(x.body, "method POST\n"));
  assert_non_null(strstr(x.body, "header SOAPACTION: \"u#A\""));
  assert_non_null(strstr(x.body, "body-length 3\nbody abc"));
  assert_null(strstr(x.body, "Accept-Encoding"));
  snprintf(url, sizeof url, "http://localhost:%u/fault/huge?bytes=500000", port);
  ucp__http_spec big = {.method = "GET", .url = url, .max_body = 10000};
  assert_int_equal(exchange_run(&x, &big), UCP_E_TOO_LARGE);
  assert_non_null(strstr(x.detail, "exceeds the cap of 10000 bytes"));
}

/* The curl engine holds no transfer slot for a request waiting for one of
 * its host's connections: with 4 slots and 2 connections per host, 8
 * requests to a device that never answers take 2 slots, and a request to
 * another device (another name:port) goes at once. */
static void curl_silent_host_does_not_hold_up_others(void **state) {
  (void)state;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(l, 16), 0); /* connects complete; nobody answers */
  socklen_t al = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &al);
  ucp_cp *four = limited_cp(4, 2);
  char url[128];
  snprintf(url, sizeof url, "http://localhost:%u/never", ntohs(a.sin_port));
  exchange stuck[8];
  ucp__http_req *reqs[8];
  for (int i = 0; i < 8; i++) {
    ucp__http_spec spec = {.method = "GET", .url = url};
    memset(&stuck[i], 0, sizeof stuck[i]);
    assert_int_equal(ucp__http_start(four, &spec, &sink, &stuck[i], &reqs[i]),
                     UCP_OK);
  }
  for (int i = 0; i < 100; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  assert_int_equal(ucp_cp_counter(four, UCP_COUNTER_HTTP_ACTIVE), 2);
  char other_url[128];
  snprintf(other_url, sizeof other_url, "http://localhost:%u/echo",
           (unsigned)ucp_sim_port(sim));
  exchange other;
  memset(&other, 0, sizeof other);
  ucp__http_req *oreq = NULL;
  ucp__http_spec spec = {.method = "GET", .url = other_url};
  assert_int_equal(ucp__http_start(four, &spec, &sink, &other, &oreq), UCP_OK);
  assert_true(run_until_done(&other));
  assert_int_equal(other.o.status, UCP_OK);
  for (int i = 0; i < 8; i++) assert_int_equal(stuck[i].done, 0);
  for (int i = 0; i < 8; i++) ucp__http_abort(reqs[i]);
  assert_int_equal(ucp_cp_counter(four, UCP_COUNTER_HTTP_ACTIVE), 0);
  ucp_cp_free(four);
  for (int i = 0; i < 20; i++) uv_run(&loop, UV_RUN_NOWAIT);
  close(l);
}

/* One connection per host: requests for it wait their turn, in order,
 * and every one completes (the host's record outlives all of them); an
 * abort of a waiting one from another's completion does not strand the
 * rest; the host is the same however the URL spells it. */
typedef struct chained {
  exchange x;
  ucp__http_req *abort_on_done; /* aborted from this one's on_done */
  int order;                    /* 1 for the first to complete, ... */
} chained;

static int chained_seq;

static void chained_done(void *ctx, const ucp__http_outcome *o) {
  chained *c = ctx;
  on_done(&c->x, o);
  c->order = ++chained_seq;
  if (c->abort_on_done) ucp__http_abort(c->abort_on_done);
}

static const ucp__http_sink chained_sink = {on_headers, on_body, NULL,
                                            chained_done};

static void curl_host_queue_in_order(void **state) {
  (void)state;
  ucp_cp *one = limited_cp(4, 1);
  unsigned port = (unsigned)ucp_sim_port(sim);
  enum { N = 4 };
  chained c[N];
  ucp__http_req *req[N];
  chained_seq = 0;
  char url[N][128];
  for (int i = 0; i < N; i++) {
    /* the same host, spelt four ways */
    snprintf(url[i], sizeof url[i],
             i == 0 ? "http://localhost:%u/echo"
             : i == 1 ? "HTTP://LOCALHOST:%u/echo"
             : i == 2 ? "http://LocalHost:%u/echo?x"
                      : "http://%%6cocalhost:%u/echo",
             port);
    memset(&c[i], 0, sizeof c[i]);
    ucp__http_spec spec = {.method = "GET", .url = url[i]};
    assert_int_equal(ucp__http_start(one, &spec, &chained_sink, &c[i], &req[i]),
                     UCP_OK);
  }
  /* 4 slots, but one host: one transfer at a time */
  assert_int_equal(ucp_cp_counter(one, UCP_COUNTER_HTTP_ACTIVE), 1);
  c[0].abort_on_done = req[1]; /* the next in line goes; the rest must not wait */
  for (int i = 0; i < 10000 && !(c[0].x.done && c[2].x.done && c[3].x.done); i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  assert_int_equal(c[0].x.o.status, UCP_OK);
  assert_int_equal(c[1].x.done, 0);
  assert_int_equal(c[2].x.o.status, UCP_OK);
  assert_int_equal(c[3].x.o.status, UCP_OK);
  assert_true(c[0].order < c[2].order && c[2].order < c[3].order);
  assert_int_equal(ucp_cp_counter(one, UCP_COUNTER_HTTP_ACTIVE), 0);
  ucp_cp_free(one);
  for (int i = 0; i < 20; i++) uv_run(&loop, UV_RUN_NOWAIT);
}

/* A request started from another's completion (an M-POST retry does
 * this) queues behind the requests already waiting: one slot, A running,
 * B (another host) waiting, C (A's host) started from A's on_done: B
 * completes before C. */
typedef struct starter {
  chained c;
  ucp_cp *cp;
  const char *url;
  chained *next; /* started from on_done */
  ucp__http_req *next_req;
} starter;

static void starter_done(void *ctx, const ucp__http_outcome *o) {
  starter *st = ctx;
  chained_done(&st->c, o);
  if (!st->next) return;
  ucp__http_spec spec = {.method = "GET", .url = st->url};
  assert_int_equal(ucp__http_start(st->cp, &spec, &chained_sink, st->next,
                                   &st->next_req),
                   UCP_OK);
}

static const ucp__http_sink starter_sink = {on_headers, on_body, NULL,
                                            starter_done};

static void curl_start_from_done_queues_behind(void **state) {
  (void)state;
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (s6 < 0) skip(); /* B's host below is an IPv6 spelling */
  close(s6);
  ucp_cp *one = limited_cp(1, 4);
  char url[128], other[128]; /* two hosts for curl: two keys */
  snprintf(url, sizeof url, "http://localhost:%u/echo",
           (unsigned)ucp_sim_port(sim));
  snprintf(other, sizeof other, "http://[::ffff:127.0.0.1]:%u/echo",
           (unsigned)ucp_sim_port(sim));
  chained_seq = 0;
  starter a;
  chained b, c;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&c, 0, sizeof c);
  a.cp = one;
  a.url = url;
  a.next = &c;
  ucp__http_req *ra, *rb;
  ucp__http_spec spec = {.method = "GET", .url = url};
  assert_int_equal(ucp__http_start(one, &spec, &starter_sink, &a, &ra), UCP_OK);
  spec.url = other;
  assert_int_equal(ucp__http_start(one, &spec, &chained_sink, &b, &rb), UCP_OK);
  for (int i = 0; i < 10000 && !(b.x.done && c.x.done); i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  assert_int_equal(a.c.x.o.status, UCP_OK);
  assert_int_equal(b.x.o.status, UCP_OK);
  assert_int_equal(c.x.o.status, UCP_OK);
  assert_true(a.c.order < b.order && b.order < c.order);
  ucp_cp_free(one);
  for (int i = 0; i < 20; i++) uv_run(&loop, UV_RUN_NOWAIT);
}

static void caps_abort_in_callbacks(void **state) {
  (void)state;
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = sim_url(sim, "/desc.xml"),
                         .max_body = 100};
  assert_int_equal(exchange_run(&x, &spec), UCP_E_TOO_LARGE);
  spec.url = sim_url(sim, "/fault/huge?bytes=500000&chunked=1");
  spec.max_body = 10000;
  assert_int_equal(exchange_run(&x, &spec), UCP_E_TOO_LARGE);
  assert_true(x.body_len <= 10000);
  spec.url = sim_url(sim, "/fault/bigheader?bytes=5000");
  spec.max_body = 0;
  spec.max_headers = 4096;
  assert_int_equal(exchange_run(&x, &spec), UCP_E_TOO_LARGE);
  assert_non_null(strstr(x.detail, "headers exceed"));
}

static void redirect_not_followed_and_no_proxy(void **state) {
  (void)state;
  exchange x;
  /* A proxy in the environment must not be used for device traffic. */
  setenv("http_proxy", "http://127.0.0.1:1", 1);
  setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
  ucp__http_spec spec = {.method = "GET", .url = sim_url(sim, "/fault/redirect")};
  assert_int_equal(exchange_run(&x, &spec), UCP_OK);
  assert_int_equal(x.o.http_status, 302);
  assert_int_equal(x.headers_status, 302);
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
}

static void on_abort_timer(uv_timer_t *t) {
  ucp__http_abort(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static void abort_mid_body_then_engine_goes_on(void **state) {
  (void)state;
  exchange x;
  memset(&x, 0, sizeof x);
  ucp__http_spec spec = {.method = "GET",
                         .url = sim_url(sim, "/fault/drip?bytes=100&interval_ms=20")};
  ucp__http_req *req;
  assert_int_equal(ucp__http_start(cp, &spec, &sink, &x, &req), UCP_OK);
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = req;
  uv_timer_start(&t, on_abort_timer, 300, 0);
  for (int i = 0; i < 5000 && uv_is_active((uv_handle_t *)&t); i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_true(x.body_len > 0 && x.body_len < 100);
  assert_int_equal(x.done, 0); /* aborted: on_done never runs */
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_HTTP_ACTIVE), 0);
  exchange y;
  spec.url = sim_url(sim, "/desc.xml");
  assert_int_equal(exchange_run(&y, &spec), UCP_OK);
}

/* The start call's fast URL check must read the same host as curl does,
 * and refuse what the policy refuses. */
static void url_check_agrees_with_curl(void **state) {
  (void)state;
  static const char *const urls[] = {
      "http://192.168.1.1:5000/rootDesc.xml", "http://10.0.0.5/desc.xml",
      "http://Router.local:80/a/b?c=d&e=f", "http://127.0.0.1:1",
      "HTTP://127.0.0.1:8080/x", "http://[::1]:8080/x", "http://a-b.c/x y",
      "http://127.0.0.1:80@evil.example/x", "http://u:p@127.0.0.1/x",
      "http://127.0.0.1%2f@evil/x", "http://127.0.0.1:99999/x",
      "http://127.0.0.1:0/x", "https://127.0.0.1/x", "ftp://127.0.0.1/x",
      "http:/127.0.0.1/x", "http://127.0.0.1\\@evil/x", "http://0x7f.1/x"};
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    char host[UCP__HOST_MAX];
    const char *why;
    int rc = ucp__url_check_http(urls[i], host, sizeof host, &why);
    CURLU *u = curl_url();
    char *chost = NULL, *user = NULL;
    int curl_ok = curl_url_set(u, CURLUPART_URL, urls[i], 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_HOST, &chost, 0) == CURLUE_OK;
    int has_user = curl_ok && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
    printf("  %-40s -> %s %s (curl: %s)\n", urls[i], ucp_err_name(rc),
           rc == UCP_OK ? host : why, curl_ok ? chost : "refused");
    if (rc == UCP_OK) {
      assert_true(curl_ok);
      assert_false(has_user);
      char bracketed[UCP__HOST_MAX + 2];
      snprintf(bracketed, sizeof bracketed, "[%s]", host);
      assert_true(strcasecmp(chost, host) == 0 || strcasecmp(chost, bracketed) == 0);
    }
    curl_free(chost);
    curl_free(user);
    curl_url_cleanup(u);
  }
  char host[UCP__HOST_MAX];
  const char *why;
  assert_int_equal(ucp__url_check_http("http://127.0.0.1:80@evil.example/x", host,
                                       sizeof host, &why), UCP_E_URL);
  assert_int_equal(ucp__url_check_http("https://127.0.0.1/x", host, sizeof host, &why),
                   UCP_E_URL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(get_reports_phases_and_bytes),
      cmocka_unit_test(post_sends_body_and_headers),
      cmocka_unit_test(custom_methods_with_headers),
      cmocka_unit_test(connect_time_address_check),
      cmocka_unit_test(curl_engine_serves_names),
      cmocka_unit_test(curl_silent_host_does_not_hold_up_others),
      cmocka_unit_test(curl_host_queue_in_order),
      cmocka_unit_test(curl_start_from_done_queues_behind),
      cmocka_unit_test(caps_abort_in_callbacks),
      cmocka_unit_test(redirect_not_followed_and_no_proxy),
      cmocka_unit_test(abort_mid_body_then_engine_goes_on),
      cmocka_unit_test(url_check_agrees_with_curl),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
