/* test_h1.c - the plain-URL HTTP engine (src/http/h1.c) against a scripted
 * TCP peer on loopback: the exchanges a device can bend that libmicrohttpd
 * never produces (a kept-alive connection closed just as it is reused, a
 * body read to close, a 100 Continue, a response dribbled byte by byte,
 * bytes after the response, a malformed status line, silence), plus
 * keep-alive reuse, the per-host connection limit and address pinning.
 * The test thread is the loop thread (a caller's loop). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "helpers.h"
#include "http/http.h"

/* ------------------------------------------------------------ the peer */

typedef struct peer peer;
/* Serve one connection; `n` is its number (0, 1, ...). */
typedef void (*script_fn)(peer *p, int fd, int n);

struct peer {
  int lfd;
  unsigned short port;
  script_fn script;
  pthread_t thread;
  atomic_int conns, requests, open_now, max_open, stop;
};

/* One per test, never reused: a connection thread of an earlier test may
 * still run (the client keeps connections alive) and counts into its own. */
static peer peers[32];
static int npeers;
static peer *P;

/* One request (head and Content-Length body); 0 on EOF or error. */
#define read_request(fd, buf, cap) read_request_(p, fd, buf, cap)
static int read_request_(peer *p, int fd, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end) {
      size_t head = (size_t)(end - buf) + 4, body = 0;
      char *cl = memmem(buf, head, "Content-Length: ", 16);
      if (cl) body = strtoul(cl + 16, NULL, 10);
      while (len < head + body) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0) return 0;
        len += (size_t)n;
      }
      atomic_fetch_add(&p->requests, 1);
      return 1;
    }
    if (len == cap) return 0;
    ssize_t n = read(fd, buf + len, cap - len);
    if (n <= 0) return 0;
    len += (size_t)n;
  }
}

static void say(int fd, const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

typedef struct conn_arg {
  peer *p;
  int fd, n;
} conn_arg;

static void *conn_thread(void *arg) {
  conn_arg a = *(conn_arg *)arg;
  free(arg);
  peer *p = a.p;
  int now = atomic_fetch_add(&p->open_now, 1) + 1;
  int max = atomic_load(&p->max_open);
  while (now > max && !atomic_compare_exchange_weak(&p->max_open, &max, now)) {}
  p->script(p, a.fd, a.n);
  atomic_fetch_sub(&p->open_now, 1);
  close(a.fd);
  return NULL;
}

static void *accept_thread(void *arg) {
  peer *p = arg;
  while (!atomic_load(&p->stop)) {
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0) break;
    if (atomic_load(&p->stop)) {
      close(fd);
      break;
    }
    conn_arg *a = malloc(sizeof *a);
    a->p = p;
    a->fd = fd;
    a->n = atomic_fetch_add(&p->conns, 1);
    pthread_t t;
    pthread_create(&t, NULL, conn_thread, a);
    pthread_detach(t);
  }
  return NULL;
}

static void peer_start(script_fn script) {
  assert_true(npeers < 32);
  P = &peers[npeers++];
  P->script = script;
  P->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(P->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(P->lfd, 64), 0);
  socklen_t al = sizeof a;
  getsockname(P->lfd, (struct sockaddr *)&a, &al);
  P->port = ntohs(a.sin_port);
  pthread_create(&P->thread, NULL, accept_thread, P);
}

/* Stop accepting. Connections the client keeps alive end with it. */
static void peer_stop(void) {
  atomic_store(&P->stop, 1);
  shutdown(P->lfd, SHUT_RDWR);
  pthread_join(P->thread, NULL);
  close(P->lfd);
}

static const char *peer_url(const char *path) {
  static char url[8][128];
  static int slot;
  char *u = url[slot++ % 8];
  snprintf(u, 128, "http://127.0.0.1:%u%s", P->port, path);
  return u;
}

/* ------------------------------------------------------- the client side */

static uv_loop_t loop;
static ucp_cp *cp;

typedef struct exchange {
  int done;
  ucp__http_outcome o;
  char detail[512];
  char body[4096];
  size_t body_len;
  char sid[128], server[128];
  int had_sid;
  char sid_at_done[128];
  int trailer_seen;
  ucp__http_req *req;
} exchange;

static int on_headers(void *ctx, int status, uint64_t cl) {
  exchange *x = ctx;
  (void)status, (void)cl;
  const char *sid = ucp__http_header(x->req, "sid");
  if (sid) {
    x->had_sid = 1;
    snprintf(x->sid, sizeof x->sid, "[%s]", sid);
  }
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

static void on_done(void *ctx, const ucp__http_outcome *o) {
  exchange *x = ctx;
  const char *sid = ucp__http_header(x->req, "SID");
  const char *trailer = ucp__http_header(x->req, "X-T");
  snprintf(x->sid_at_done, sizeof x->sid_at_done, "%s", sid ? sid : "(none)");
  x->trailer_seen = trailer != NULL;
  x->done++;
  x->o = *o;
  snprintf(x->detail, sizeof x->detail, "%s", o->detail);
  x->o.detail = x->detail;
}

static const ucp__http_sink sink = {on_headers, on_body, NULL, on_done};

static void run_until(exchange *xs, int n, int ms) {
  for (int i = 0; i < ms; i++) {
    int all = 1;
    for (int k = 0; k < n; k++) all &= xs[k].done > 0;
    if (all) return;
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
}

static void start(exchange *x, ucp__http_spec *spec) {
  memset(x, 0, sizeof *x);
  assert_int_equal(ucp__http_start(cp, spec, &sink, x, &x->req), UCP_OK);
}

static int get(exchange *x, const char *path) {
  ucp__http_spec spec = {.method = "GET", .url = peer_url(path)};
  start(x, &spec);
  run_until(x, 1, 10000);
  assert_int_equal(x->done, 1);
  if (x->o.status != UCP_OK)
    printf("  GET %s -> %s: %s\n", path, ucp_err_name(x->o.status), x->detail);
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
  if (uv_loop_init(&loop) != 0) return -1;
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_loop(o, &loop);
  ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_PER_HOST, 2);
  int rc = ucp_cp_new(o, &cp);
  ucp_cp_opts_free(o);
  return rc == UCP_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ucp_cp_free(cp);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void stale_script(peer *p, int fd, int n);
static void hangup_script(peer *p, int fd, int n);

#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

/* --------------------------------------------------------------- tests */

static void keepalive_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  while (read_request(fd, buf, sizeof buf)) say(fd, OK_HELLO);
}

/* Sequential requests share one connection. */
static void sequential_requests_reuse_one_connection(void **state) {
  (void)state;
  peer_start(keepalive_script);
  exchange x;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(get(&x, "/a"), UCP_OK);
    assert_int_equal(x.o.http_status, 200);
    assert_string_equal(x.body, "hello");
  }
  assert_int_equal(atomic_load(&P->conns), 1);
  assert_int_equal(atomic_load(&P->requests), 5);
  peer_stop();
  uv_run(&loop, UV_RUN_NOWAIT);
}

/* The device drops a kept-alive connection just as the next request goes
 * out (it read the request, it never answers): the request is sent again,
 * once, on a new connection. */
static void stale_connection_is_retried_once(void **state) {
  (void)state;
  peer_start(stale_script);
  exchange x;
  assert_int_equal(get(&x, "/first"), UCP_OK);
  assert_int_equal(get(&x, "/second"), UCP_OK);
  assert_string_equal(x.body, "hello");
  assert_int_equal(atomic_load(&P->conns), 2);
  assert_int_equal(atomic_load(&P->requests), 3); /* /second twice */
  peer_stop();
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void stale_script(peer *p, int fd, int n) {
  (void)p;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  if (n == 0) {
    say(fd, OK_HELLO);
    read_request(fd, buf, sizeof buf); /* ... and close without a word */
    return;
  }
  say(fd, OK_HELLO);
  while (read_request(fd, buf, sizeof buf)) say(fd, OK_HELLO);
}

/* A fresh connection that closes without an answer is not retried. */
static void silent_close_on_new_connection_fails(void **state) {
  (void)state;
  peer_start(hangup_script);
  exchange x;
  assert_int_equal(get(&x, "/x"), UCP_E_NETWORK);
  assert_non_null(strstr(x.detail, "closed the connection without answering"));
  assert_non_null(strstr(x.detail, "GET http://127.0.0.1:"));
  assert_int_equal(atomic_load(&P->conns), 1);
  peer_stop();
}

static void hangup_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  read_request(fd, buf, sizeof buf);
}

static void eof_body_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  say(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a>to the end</a>");
}

/* No Content-Length, not chunked: the body runs to the close, and the
 * connection is not kept. */
static void body_read_to_close(void **state) {
  (void)state;
  peer_start(eof_body_script);
  exchange x;
  assert_int_equal(get(&x, "/eof"), UCP_OK);
  assert_string_equal(x.body, "<a>to the end</a>");
  assert_int_equal(get(&x, "/eof"), UCP_OK);
  assert_int_equal(atomic_load(&P->conns), 2);
  peer_stop();
}

static void interim_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  while (read_request(fd, buf, sizeof buf))
    say(fd, "HTTP/1.1 100 Continue\r\nSID: interim\r\n\r\n"
            "HTTP/1.1 200 OK\r\nSID: uuid:final\r\nContent-Length: 2\r\n\r\nok");
}

/* A 100 Continue before the answer is skipped, with its headers. */
static void interim_response_is_skipped(void **state) {
  (void)state;
  peer_start(interim_script);
  exchange x;
  assert_int_equal(get(&x, "/c"), UCP_OK);
  assert_int_equal(x.o.http_status, 200);
  assert_string_equal(x.body, "ok");
  assert_string_equal(x.sid, "[uuid:final]");
  peer_stop();
}

static void drip_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  const char *r = "HTTP/1.1 200 OK\r\nsId:   uuid:padded  \r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  for (const char *c = r; *c; c++) {
    if (send(fd, c, 1, MSG_NOSIGNAL) != 1) return;
    usleep(2000);
  }
  while (read_request(fd, buf, sizeof buf)) say(fd, OK_HELLO);
}

/* A response dribbled one byte per read: header names and values split
 * anywhere, chunked framing; header lookup ignores case and blanks. */
static void dribbled_chunked_response(void **state) {
  (void)state;
  peer_start(drip_script);
  exchange x;
  assert_int_equal(get(&x, "/drip"), UCP_OK);
  assert_string_equal(x.body, "abcdefg");
  assert_string_equal(x.sid, "[uuid:padded]");
  assert_int_equal(get(&x, "/after"), UCP_OK); /* same connection */
  assert_int_equal(atomic_load(&P->conns), 1);
  peer_stop();
}

static void extra_bytes_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  while (read_request(fd, buf, sizeof buf))
    say(fd, OK_HELLO "HTTP/1.1 200 OK\r\n"); /* something nobody asked for */
}

/* Bytes after a complete response: the response stands, the connection
 * is not trusted again. */
static void bytes_after_response_close_the_connection(void **state) {
  (void)state;
  peer_start(extra_bytes_script);
  exchange x;
  assert_int_equal(get(&x, "/1"), UCP_OK);
  assert_string_equal(x.body, "hello");
  assert_int_equal(get(&x, "/2"), UCP_OK);
  assert_int_equal(atomic_load(&P->conns), 2);
  peer_stop();
}

static void close_header_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
  read_request(fd, buf, sizeof buf); /* keeps its end open */
}

/* "Connection: close" from the device: the next request has a new one. */
static void connection_close_is_honoured(void **state) {
  (void)state;
  peer_start(close_header_script);
  exchange x;
  assert_int_equal(get(&x, "/1"), UCP_OK);
  assert_int_equal(get(&x, "/2"), UCP_OK);
  assert_int_equal(atomic_load(&P->conns), 2);
  assert_int_equal(atomic_load(&P->requests), 2);
  peer_stop();
}

static void garbage_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (read_request(fd, buf, sizeof buf)) say(fd, "HTTP/1.1 2OO OK\r\n\r\n");
}

static void malformed_status_line(void **state) {
  (void)state;
  peer_start(garbage_script);
  exchange x;
  assert_int_equal(get(&x, "/g"), UCP_E_NETWORK);
  assert_non_null(strstr(x.detail, "malformed HTTP response from 127.0.0.1:"));
  peer_stop();
}

static void silent_script(peer *p, int fd, int n) {
  (void)n;
  char buf[4096];
  read_request(fd, buf, sizeof buf);
  while (!atomic_load(&p->stop)) sleep_ms(5);
}

/* A device that takes the request and says nothing: the no-data limit,
 * and the whole-transfer limit, each name themselves. */
static void silence_times_out(void **state) {
  (void)state;
  peer_start(silent_script);
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/s"),
                         .low_speed_time_s = 1};
  uint64_t t0 = uv_hrtime();
  start(&x, &spec);
  run_until(&x, 1, 5000);
  uint64_t ms = (uv_hrtime() - t0) / 1000000;
  assert_int_equal(x.o.status, UCP_E_TIMEOUT);
  assert_non_null(strstr(x.detail, "no data from 127.0.0.1:"));
  printf("  no data for 1 s: failed after %llu ms\n", (unsigned long long)ms);
  assert_true(ms >= 900 && ms < 5000);
  ucp__http_spec whole = {.method = "GET", .url = peer_url("/s"),
                          .timeout_ms = 300};
  start(&x, &whole);
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_E_TIMEOUT);
  assert_non_null(strstr(x.detail, "within 300 ms"));
  peer_stop();
}

static void slow_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  while (read_request(fd, buf, sizeof buf)) {
    sleep_ms(50);
    say(fd, OK_HELLO);
  }
}

/* Eight at once to a host limited to two connections: two connections,
 * eight answers. */
static void per_host_limit_queues_requests(void **state) {
  (void)state;
  peer_start(slow_script);
  exchange x[8];
  for (int i = 0; i < 8; i++) {
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/q")};
    start(&x[i], &spec);
  }
  run_until(x, 8, 10000);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(x[i].o.status, UCP_OK);
    assert_string_equal(x[i].body, "hello");
  }
  assert_int_equal(atomic_load(&P->conns), 2);
  assert_int_equal(atomic_load(&P->max_open), 2);
  peer_stop();
}

/* Abort in every place a request can be: queued behind the host limit,
 * on a connection, and the engine goes on. */
static void abort_queued_and_running(void **state) {
  (void)state;
  peer_start(slow_script);
  exchange x[4];
  for (int i = 0; i < 4; i++) {
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/q")};
    start(&x[i], &spec);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  ucp__http_abort(x[0].req); /* running */
  ucp__http_abort(x[3].req); /* queued for a connection */
  run_until(&x[1], 2, 10000);
  assert_int_equal(x[0].done + x[3].done, 0);
  assert_int_equal(x[1].o.status, UCP_OK);
  assert_int_equal(x[2].o.status, UCP_OK);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_HTTP_ACTIVE), 0);
  peer_stop();
}

/* The device address pins the destination on this path too: nothing is
 * even connected. */
static void pinned_address_refused_before_connecting(void **state) {
  (void)state;
  peer_start(keepalive_script);
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/p"),
                         .pin_ip = "127.0.0.2"};
  start(&x, &spec);
  assert_int_equal(x.done, 0); /* reported later, never inside the start */
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_E_POLICY);
  assert_non_null(strstr(x.detail, "refused: device address is 127.0.0.2"));
  assert_int_equal(x.o.http_status, 0);
  spec.pin_ip = "127.0.0.1";
  start(&x, &spec);
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_OK);
  assert_int_equal(atomic_load(&P->conns), 1);
  peer_stop();
}

/* Request headers: ours, the caller's, "Name:" meaning "not sent", and a
 * line break in a header refused at the start. */
static void echo_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096], out[5000];
  ssize_t len = read(fd, buf, sizeof buf - 1);
  if (len <= 0) return;
  buf[len] = '\0';
  char *end = strstr(buf, "\r\n\r\n");
  if (end) *end = '\0';
  snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
           strlen(buf), buf);
  say(fd, out);
}

static void request_head_is_exact(void **state) {
  (void)state;
  peer_start(echo_script);
  exchange x;
  const char *hdrs[] = {"SOAPACTION: \"u#A\"", "Expect:", NULL};
  ucp__http_spec spec = {.method = "POST", .url = peer_url("/ctl?x=1"),
                         .headers = hdrs, .body = "abc", .body_len = 3};
  start(&x, &spec);
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_OK);
  char want[256];
  snprintf(want, sizeof want,
           "POST /ctl?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
           "User-Agent: Linux UPnP/1.1 upnpcp/" UCP_VERSION_STRING "\r\n"
           "SOAPACTION: \"u#A\"\r\nContent-Length: 3",
           P->port);
  assert_string_equal(x.body, want);
  const char *bad[] = {"X: a\r\nInjected: 1", NULL};
  spec.headers = bad;
  ucp__http_req *r = NULL;
  assert_int_equal(ucp__http_start(cp, &spec, &sink, &x, &r),
                   UCP_E_INVALIDARG);
  peer_stop();
}

/* Mutated responses (bytes flipped, cut short, bytes inserted), each on a
 * new connection: every request ends, with UCP_OK or a named error, and
 * nothing crashes or leaks (ASan in CI). */
static atomic_int mutation_seed;

static void mutant_script(peer *p, int fd, int n) {
  (void)p;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  static const char *const bases[] = {
      "HTTP/1.1 200 OK\r\nSID: uuid:1\r\nContent-Length: 5\r\n\r\nhello",
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"),
      "HTTP/1.0 500 Internal\r\nContent-Type: text/xml\r\n\r\n<a/>",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"};
  unsigned seed = (unsigned)(atomic_load(&mutation_seed) * 7919 + n);
  const char *b = bases[seed % 4];
  char out[512];
  size_t len = strlen(b);
  memcpy(out, b, len);
  int edits = 1 + (int)(rand_r(&seed) % 4);
  for (int e = 0; e < edits && len > 1; e++) {
    size_t at = (size_t)rand_r(&seed) % len;
    switch (rand_r(&seed) % 4) {
      case 0: out[at] ^= (char)(1 << (rand_r(&seed) % 8)); break;
      case 1: len = at + 1; break; /* cut short */
      case 2:
        if (len < sizeof out - 1) {
          memmove(out + at + 1, out + at, len - at);
          out[at] = "\r\n:0 \x00\xff"[rand_r(&seed) % 7];
          len++;
        }
        break;
      default: out[at] = (char)rand_r(&seed); break;
    }
  }
  for (size_t off = 0; off < len;) { /* in random pieces */
    size_t piece = 1 + (size_t)rand_r(&seed) % 40;
    if (piece > len - off) piece = len - off;
    if (send(fd, out + off, piece, MSG_NOSIGNAL) <= 0) return;
    off += piece;
    if (rand_r(&seed) % 4 == 0) usleep(200);
  }
}

static void mutated_responses_end_cleanly(void **state) {
  (void)state;
  peer_start(mutant_script);
  int ok = 0, failed = 0;
  for (int i = 0; i < 300; i++) {
    atomic_store(&mutation_seed, i);
    exchange x;
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/m"),
                           .low_speed_time_s = 2,
                           .headers = (const char *const[]){"Connection: close", NULL}};
    start(&x, &spec);
    run_until(&x, 1, 10000);
    assert_int_equal(x.done, 1);
    if (x.o.status == UCP_OK) {
      ok++;
    } else {
      failed++;
      assert_true(x.o.status == UCP_E_NETWORK || x.o.status == UCP_E_TIMEOUT ||
                  x.o.status == UCP_E_TOO_LARGE);
      assert_non_null(strstr(x.detail, "GET http://127.0.0.1:"));
    }
  }
  printf("  300 mutated responses: %d complete, %d refused with a reason\n",
         ok, failed);
  assert_true(ok > 0 && failed > 0);
  assert_int_equal(ucp_cp_counter(cp, UCP_COUNTER_HTTP_ACTIVE), 0);
  peer_stop();
}

/* ------------------------------------------ found by review, kept as tests */

static void interim_body_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (read_request(fd, buf, sizeof buf))
    say(fd, "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nEVIL!"
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static void odd_status_script(peer *p, int fd, int n) {
  (void)p;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  if (n == 0) say(fd, "HTTP/1.1 042 Odd\r\nContent-Length: 2\r\n\r\nok");
  else say(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
               "Connection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
}

/* A body on a 1xx never reaches the sink before the real headers (every
 * sink makes its parser in on_headers); status 042 and 101 are refused. */
static void interim_with_body_and_odd_status(void **state) {
  (void)state;
  peer_start(interim_body_script);
  exchange x;
  int rc = get(&x, "/i");
  assert_null(strstr(x.body, "EVIL"));
  assert_true(rc == UCP_E_NETWORK || (rc == UCP_OK && !strcmp(x.body, "ok")));
  peer_stop();
  peer_start(odd_status_script);
  assert_int_equal(get(&x, "/o"), UCP_E_NETWORK);
  assert_non_null(strstr(x.detail, "status code 42 is not HTTP"));
  assert_int_equal(get(&x, "/u"), UCP_E_NETWORK);
  assert_non_null(strstr(x.detail, "switches protocols"));
  peer_stop();
}

static void no_body_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  int i = 0;
  while (read_request(fd, buf, sizeof buf))
    say(fd, i++ == 0 ? "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
                     : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                       "SID: uuid:t\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n");
}

/* 204 has no body whatever its Content-Length says (the next answer on
 * the connection is read as the next answer); a chunked trailer is not a
 * header, and headers can be read from on_done. */
static void no_body_statuses_and_trailers(void **state) {
  (void)state;
  peer_start(no_body_script);
  exchange x;
  assert_int_equal(get(&x, "/204"), UCP_OK);
  assert_int_equal(x.o.http_status, 204);
  assert_int_equal(x.body_len, 0);
  assert_string_equal(x.sid_at_done, "(none)");
  assert_int_equal(get(&x, "/200"), UCP_OK);
  assert_string_equal(x.body, "ok");
  assert_string_equal(x.sid_at_done, "uuid:t");
  assert_false(x.trailer_seen);
  assert_int_equal(atomic_load(&P->conns), 1);
  peer_stop();
}

static void bigheader_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096], line[3000];
  if (!read_request(fd, buf, sizeof buf)) return;
  memset(line, 'a', sizeof line - 1);
  line[sizeof line - 1] = '\0';
  say(fd, "HTTP/1.1 200 OK\r\nSID: uuid:x\r\nX-Big: ");
  say(fd, line);
  say(fd, "\r\nContent-Length: 2\r\n\r\nok");
}

/* Headers cut short by the cap: nothing to look up (no read past them). */
static void capped_headers_are_not_looked_up(void **state) {
  (void)state;
  peer_start(bigheader_script);
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/b"),
                         .max_headers = 1000};
  start(&x, &spec);
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_E_TOO_LARGE);
  assert_string_equal(x.sid_at_done, "(none)");
  peer_stop();
}

static void close_after_delay_script(peer *p, int fd, int n) {
  (void)p, (void)n;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  sleep_ms(500);
  say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
}

/* Time spent waiting for one of the host's connections is not connect
 * time: three requests, two connections, a 300 ms connect limit and
 * answers after 500 ms. */
static void queue_wait_is_not_connect_time(void **state) {
  (void)state;
  peer_start(close_after_delay_script);
  exchange x[3];
  for (int i = 0; i < 3; i++) {
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/d"),
                           .connect_timeout_ms = 300};
    start(&x[i], &spec);
  }
  run_until(x, 3, 10000);
  for (int i = 0; i < 3; i++) assert_int_equal(x[i].o.status, UCP_OK);
  assert_int_equal(atomic_load(&P->conns), 3);
  peer_stop();
}

/* A no-data limit so large that seconds * 1000 overflows 64 bits is "no
 * limit", not a few hundred milliseconds. */
static void huge_quiet_limit_does_not_wrap(void **state) {
  (void)state;
  peer_start(silent_script);
  exchange x;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/s"),
                         .low_speed_time_s = UINT64_MAX / 1000 + 1,
                         .timeout_ms = 800};
  start(&x, &spec);
  run_until(&x, 1, 5000);
  assert_int_equal(x.o.status, UCP_E_TIMEOUT);
  assert_non_null(strstr(x.detail, "within 800 ms"));
  peer_stop();
}

/* A request handed to another owner stops borrowing: the old owner's URL
 * and header lines are scribbled over and freed before it is sent (it
 * waits for the one transfer slot), and it goes out intact. Both engines. */
static void handed_over_request_owns_its_strings(void **state) {
  (void)state;
  peer_start(echo_script);
  ucp_cp *one = limited_cp(1, 8); /* 8: the default per host */
  for (int name = 0; name <= 1; name++) {
    exchange first, moved;
    ucp__http_spec s1 = {.method = "GET", .url = peer_url("/first")};
    memset(&first, 0, sizeof first);
    assert_int_equal(ucp__http_start(one, &s1, &sink, &first, &first.req), UCP_OK);
    char *url = malloc(128), *line = strdup("NT: upnp:event");
    snprintf(url, 128, "http://%s:%u/moved", name ? "localhost" : "127.0.0.1",
             P->port);
    const char **lines = calloc(2, sizeof *lines);
    lines[0] = line;
    ucp__http_spec s2 = {.method = "SUBSCRIBE", .url = url, .headers = lines};
    memset(&moved, 0, sizeof moved);
    assert_int_equal(ucp__http_start(one, &s2, &sink, &moved, &moved.req), UCP_OK);
    exchange adopter;
    memset(&adopter, 0, sizeof adopter);
    adopter.req = moved.req;
    assert_int_equal(ucp__http_retarget(moved.req, &sink, &adopter), UCP_OK);
    memset(url, 'X', 127);
    memset(line, 'X', strlen(line));
    free(url);
    free(line);
    free(lines);
    exchange *both[2] = {&first, &adopter};
    for (int i = 0; i < 10000 && !(first.done && adopter.done); i++) {
      uv_run(&loop, UV_RUN_NOWAIT);
      sleep_ms(1);
    }
    (void)both;
    assert_int_equal(first.o.status, UCP_OK);
    assert_int_equal(adopter.o.status, UCP_OK);
    assert_int_equal(moved.done, 0);
    assert_non_null(strstr(adopter.body, "SUBSCRIBE /moved HTTP/1.1"));
    assert_non_null(strstr(adopter.body, "NT: upnp:event"));
  }
  ucp_cp_free(one);
  peer_stop();
}

/* Requests queued for a host that never answers hold no transfer slot:
 * with 4 slots and 2 connections per host, 8 requests to a silent device
 * take 2 slots, and a request to another device goes at once. */
static void silent_host_does_not_hold_up_others(void **state) {
  (void)state;
  ucp_cp *four = limited_cp(4, 2);
  peer_start(silent_script);
  peer *silent = P;
  exchange stuck[8];
  for (int i = 0; i < 8; i++) {
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/never")};
    memset(&stuck[i], 0, sizeof stuck[i]);
    assert_int_equal(ucp__http_start(four, &spec, &sink, &stuck[i], &stuck[i].req),
                     UCP_OK);
  }
  for (int i = 0; i < 100; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  assert_int_equal(ucp_cp_counter(four, UCP_COUNTER_HTTP_ACTIVE), 2);
  peer_start(keepalive_script);
  exchange other;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/now")};
  memset(&other, 0, sizeof other);
  assert_int_equal(ucp__http_start(four, &spec, &sink, &other, &other.req), UCP_OK);
  run_until(&other, 1, 5000);
  assert_int_equal(other.o.status, UCP_OK);
  for (int i = 0; i < 8; i++) assert_int_equal(stuck[i].done, 0);
  for (int i = 0; i < 8; i++) ucp__http_abort(stuck[i].req);
  assert_int_equal(ucp_cp_counter(four, UCP_COUNTER_HTTP_ACTIVE), 0);
  ucp_cp_free(four);
  peer_stop();
  P = silent;
  peer_stop();
}

/* Slots go round the hosts: a device with a long queue that keeps every
 * slot busy does not keep another device's request waiting until the
 * queue is empty (its own freed connections do not take the slot first). */
static void busy_host_does_not_starve_another(void **state) {
  (void)state;
  ucp_cp *two = limited_cp(2, 2);
  peer_start(slow_script); /* 50 ms per answer */
  peer *busy = P;
  enum { NBUSY = 20 };
  exchange q[NBUSY];
  for (int i = 0; i < NBUSY; i++) {
    ucp__http_spec spec = {.method = "GET", .url = peer_url("/q")};
    memset(&q[i], 0, sizeof q[i]);
    assert_int_equal(ucp__http_start(two, &spec, &sink, &q[i], &q[i].req), UCP_OK);
  }
  peer_start(keepalive_script);
  exchange other;
  ucp__http_spec spec = {.method = "GET", .url = peer_url("/now")};
  memset(&other, 0, sizeof other);
  assert_int_equal(ucp__http_start(two, &spec, &sink, &other, &other.req), UCP_OK);
  run_until(&other, 1, 10000);
  assert_int_equal(other.o.status, UCP_OK);
  int busy_done = 0;
  for (int i = 0; i < NBUSY; i++) busy_done += q[i].done;
  /* Its turn comes with the first slot that frees (2 answers; allow 4). */
  assert_true(busy_done <= 4);
  run_until(q, NBUSY, 10000);
  for (int i = 0; i < NBUSY; i++) assert_int_equal(q[i].o.status, UCP_OK);
  assert_int_equal(ucp_cp_counter(two, UCP_COUNTER_HTTP_ACTIVE), 0);
  ucp_cp_free(two);
  peer_stop();
  P = busy;
  peer_stop();
}

/* sendmsg, interposed: fails once with EPIPE on a connection to the port
 * in fail_port (the engine's first write on a kept-alive connection that
 * died), then passes everything to the real one. */
static atomic_int fail_port;

ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  static ssize_t (*real)(int, const struct msghdr *, int);
  if (!real) real = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
  int fp = atomic_load(&fail_port);
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  if (fp && getpeername(fd, (struct sockaddr *)&a, &al) == 0 &&
      ntohs(a.sin_port) == fp && atomic_exchange(&fail_port, 0) == fp) {
    errno = EPIPE;
    return -1;
  }
  return real(fd, m, flags);
}

static void go(ucp_cp *c, exchange *x, const char *path) {
  ucp__http_spec spec = {.method = "GET", .url = peer_url(path)};
  memset(x, 0, sizeof *x);
  assert_int_equal(ucp__http_start(c, &spec, &sink, x, &x->req), UCP_OK);
}

/* One slot. The kept-alive connection dies under r2 while r3 of the same
 * host waits for the slot: the retry of r2, holding the slot, goes first
 * (queued behind r3 it waited forever for its own slot). */
static void retry_goes_before_queued_requests(void **state) {
  (void)state;
  ucp_cp *one = limited_cp(1, 2);
  peer_start(stale_script);
  exchange x[3];
  go(one, &x[0], "/first");
  run_until(x, 1, 5000);
  assert_int_equal(x[0].o.status, UCP_OK);
  go(one, &x[1], "/second");
  go(one, &x[2], "/third");
  run_until(&x[1], 2, 5000);
  int ok = x[1].done && x[2].done && x[1].o.status == UCP_OK &&
           x[2].o.status == UCP_OK;
  for (int i = 1; i < 3; i++)
    if (!x[i].done) ucp__http_abort(x[i].req);
  ucp_cp_free(one);
  peer_stop();
  assert_true(ok);
}

/* One slot. Host a's turn comes round; the write on its kept-alive
 * connection fails at once (EPIPE), so the request is retried inside that
 * turn: the retry still goes (it holds the slot; it is not a new turn). */
static void send_failure_inside_a_turn_is_retried(void **state) {
  (void)state;
  ucp_cp *one = limited_cp(1, 2);
  peer_start(keepalive_script);
  peer *a = P;
  exchange r1, r2, rb;
  go(one, &r1, "/a1");
  run_until(&r1, 1, 5000);
  assert_int_equal(r1.o.status, UCP_OK);
  peer_start(close_header_script);
  peer *b = P;
  go(one, &rb, "/b"); /* takes the slot; a waits in the ready list */
  P = a;
  go(one, &r2, "/a2");
  atomic_store(&fail_port, a->port);
  run_until(&rb, 1, 5000);
  run_until(&r2, 1, 5000);
  int consumed = atomic_load(&fail_port) == 0;
  int ok = r2.done && r2.o.status == UCP_OK;
  if (!r2.done) ucp__http_abort(r2.req);
  atomic_store(&fail_port, 0);
  ucp_cp_free(one);
  peer_stop();
  P = b;
  peer_stop();
  assert_int_equal(rb.o.status, UCP_OK);
  assert_true(consumed); /* the failure did happen */
  assert_true(ok);
}

/* The device answers, then closes the kept-alive connection with the next
 * request unread: a reset while the client waits for that answer. Through
 * h1 (an address) and through curl (a host name) alike, the request is
 * sent again on a new connection (curl failed it with "select/poll
 * returned error" while the reset was passed on as CURL_CSELECT_ERR). */
static void reset_after_answer_script(peer *p, int fd, int n) {
  (void)n;
  char buf[4096];
  if (!read_request(fd, buf, sizeof buf)) return;
  say(fd, OK_HELLO);
  sleep_ms(300); /* the next request arrives, unread: the close resets */
}

static void reset_kept_alive_connection_is_retried(void **state) {
  (void)state;
  peer_start(reset_after_answer_script);
  for (int curl = 0; curl < 2; curl++) {
    char url[128];
    snprintf(url, sizeof url, "http://%s:%u/r", curl ? "localhost" : "127.0.0.1",
             P->port);
    for (int i = 0; i < 2; i++) {
      exchange x;
      ucp__http_spec spec = {.method = "GET", .url = url};
      start(&x, &spec);
      run_until(&x, 1, 10000);
      assert_int_equal(x.done, 1);
      if (x.o.status != UCP_OK)
        fail_msg("%s request %d: %s", curl ? "curl" : "h1", i + 1, x.detail);
      assert_string_equal(x.body, "hello");
    }
  }
  assert_int_equal(atomic_load(&P->conns), 4); /* two per engine */
  peer_stop();
  uv_run(&loop, UV_RUN_NOWAIT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sequential_requests_reuse_one_connection),
      cmocka_unit_test(stale_connection_is_retried_once),
      cmocka_unit_test(silent_close_on_new_connection_fails),
      cmocka_unit_test(body_read_to_close),
      cmocka_unit_test(interim_response_is_skipped),
      cmocka_unit_test(dribbled_chunked_response),
      cmocka_unit_test(bytes_after_response_close_the_connection),
      cmocka_unit_test(connection_close_is_honoured),
      cmocka_unit_test(malformed_status_line),
      cmocka_unit_test(silence_times_out),
      cmocka_unit_test(per_host_limit_queues_requests),
      cmocka_unit_test(abort_queued_and_running),
      cmocka_unit_test(pinned_address_refused_before_connecting),
      cmocka_unit_test(request_head_is_exact),
      cmocka_unit_test(mutated_responses_end_cleanly),
      cmocka_unit_test(interim_with_body_and_odd_status),
      cmocka_unit_test(no_body_statuses_and_trailers),
      cmocka_unit_test(capped_headers_are_not_looked_up),
      cmocka_unit_test(queue_wait_is_not_connect_time),
      cmocka_unit_test(huge_quiet_limit_does_not_wrap),
      cmocka_unit_test(handed_over_request_owns_its_strings),
      cmocka_unit_test(silent_host_does_not_hold_up_others),
      cmocka_unit_test(busy_host_does_not_starve_another),
      cmocka_unit_test(retry_goes_before_queued_requests),
      cmocka_unit_test(send_failure_inside_a_turn_is_retried),
      cmocka_unit_test(reset_kept_alive_connection_is_retried),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
