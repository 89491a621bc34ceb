/*
 * test_sim_gena.c - the simulator's GENA device side (UDA 2.0 section 4).
 *
 * A small libmicrohttpd callback receiver records every NOTIFY (method,
 * path, NT/NTS/SID/SEQ, body); raw libcurl SUBSCRIBE/UNSUBSCRIBE requests
 * drive the simulator. Loopback only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ------------------------------------------------------------------ */
/* The callback receiver                                              */
/* ------------------------------------------------------------------ */

#define RCV_MAX 64
#define BODY_MAX 2048

typedef struct rcv_rec {
  char method[16], path[64], nt[32], nts[32], sid[64], ctype[64], host[64];
  long long seq; /* -1: no SEQ header */
  char body[BODY_MAX];
  uint64_t at_ms;
} rcv_rec;

typedef struct rcv {
  struct MHD_Daemon *d;
  unsigned short port;
  char base[48]; /* "http://127.0.0.1:PORT" */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  rcv_rec recs[RCV_MAX];
  int n;
  atomic_uint status;   /* answer */
  atomic_uint delay_ms; /* before answering */
  int active, max_active;
  atomic_bool stop;
  atomic_int conns;
} rcv;

typedef struct rcv_req {
  char body[BODY_MAX];
  size_t len;
} rcv_req;

static void copy_hdr(struct MHD_Connection *c, const char *key, char *out,
                     size_t cap) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, key);
  snprintf(out, cap, "%s", v ? v : "");
}

static void rcv_record(rcv *r, struct MHD_Connection *c, const char *url,
                       const char *method, const rcv_req *q) {
  pthread_mutex_lock(&r->lock);
  if (r->n < RCV_MAX) {
    rcv_rec *x = &r->recs[r->n++];
    snprintf(x->method, sizeof x->method, "%s", method);
    snprintf(x->path, sizeof x->path, "%s", url);
    copy_hdr(c, "NT", x->nt, sizeof x->nt);
    copy_hdr(c, "NTS", x->nts, sizeof x->nts);
    copy_hdr(c, "SID", x->sid, sizeof x->sid);
    copy_hdr(c, "Content-Type", x->ctype, sizeof x->ctype);
    copy_hdr(c, "Host", x->host, sizeof x->host);
    const char *seq = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "SEQ");
    x->seq = seq ? strtoll(seq, NULL, 10) : -1;
    snprintf(x->body, sizeof x->body, "%.*s", (int)q->len, q->body);
    x->at_ms = now_ms();
  }
  if (++r->active > r->max_active) r->max_active = r->active;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

/* Waits delay_ms (a stall) unless the receiver stops. */
static void rcv_delay(rcv *r) {
  uint64_t end = now_ms() + atomic_load(&r->delay_ms);
  while (now_ms() < end && !atomic_load(&r->stop)) sleep_ms(5);
}

static enum MHD_Result rcv_access(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **ctx) {
  rcv *r = cls;
  (void)version;
  rcv_req *q = *ctx;
  if (!q) {
    *ctx = calloc(1, sizeof *q);
    return *ctx ? MHD_YES : MHD_NO;
  }
  if (*size) {
    size_t n = *size < BODY_MAX - 1 - q->len ? *size : BODY_MAX - 1 - q->len;
    memcpy(q->body + q->len, data, n);
    q->len += n;
    *size = 0;
    return MHD_YES;
  }
  rcv_record(r, c, url, method, q);
  rcv_delay(r);
  pthread_mutex_lock(&r->lock);
  r->active--;
  pthread_mutex_unlock(&r->lock);
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      0, (void *)(uintptr_t)"", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(c, atomic_load(&r->status), resp);
  MHD_destroy_response(resp);
  return ret;
}

static void rcv_done(void *cls, struct MHD_Connection *c, void **ctx,
                     enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*ctx);
  *ctx = NULL;
}

static void rcv_conn(void *cls, struct MHD_Connection *c, void **sctx,
                     enum MHD_ConnectionNotificationCode code) {
  rcv *r = cls;
  (void)c;
  (void)sctx;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&r->conns, 1);
}

static void rcv_start(rcv *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
  atomic_store(&r->status, 200u);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r->d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_ITC,
      0, NULL, NULL, rcv_access, r, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_NOTIFY_COMPLETED, rcv_done, r, MHD_OPTION_NOTIFY_CONNECTION,
      rcv_conn, r, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  assert_non_null(r->d);
  r->port = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT)->port;
  snprintf(r->base, sizeof r->base, "http://127.0.0.1:%u", r->port);
}

static void rcv_stop(rcv *r) {
  if (!r->d) return;
  atomic_store(&r->stop, true);
  MHD_stop_daemon(r->d);
  r->d = NULL;
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->lock);
}

static int rcv_count(rcv *r) {
  pthread_mutex_lock(&r->lock);
  int n = r->n;
  pthread_mutex_unlock(&r->lock);
  return n;
}

/* True once n NOTIFYs arrived, false after ms. */
static bool rcv_wait(rcv *r, int n, unsigned ms) {
  uint64_t end = now_ms() + ms;
  pthread_mutex_lock(&r->lock);
  while (r->n < n && now_ms() < end) {
    pthread_mutex_unlock(&r->lock);
    sleep_ms(5);
    pthread_mutex_lock(&r->lock);
  }
  bool ok = r->n >= n;
  pthread_mutex_unlock(&r->lock);
  return ok;
}

static int rcv_max_active(rcv *r) {
  pthread_mutex_lock(&r->lock);
  int n = r->max_active;
  pthread_mutex_unlock(&r->lock);
  return n;
}

static rcv_rec rcv_get(rcv *r, int i) {
  pthread_mutex_lock(&r->lock);
  rcv_rec x = r->recs[i];
  pthread_mutex_unlock(&r->lock);
  return x;
}

/* ------------------------------------------------------------------ */
/* Raw requests                                                       */
/* ------------------------------------------------------------------ */

typedef struct resp {
  long status;
  char sid[64], timeout[32], allow[64];
  bool date, server;
  long clen;
  uint64_t done_ms;
} resp;

static bool hdr_is(const char *line, size_t n, const char *key,
                   const char **val, size_t *vlen) {
  size_t k = strlen(key);
  if (n <= k || strncasecmp(line, key, k) != 0 || line[k] != ':') return false;
  const char *v = line + k + 1;
  const char *e = line + n;
  while (v < e && *v == ' ') v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
  *val = v;
  *vlen = (size_t)(e - v);
  return true;
}

static size_t on_hdr(char *b, size_t sz, size_t nitems, void *ud) {
  resp *r = ud;
  size_t n = sz * nitems, vl;
  const char *v;
  if (hdr_is(b, n, "SID", &v, &vl))
    snprintf(r->sid, sizeof r->sid, "%.*s", (int)vl, v);
  else if (hdr_is(b, n, "TIMEOUT", &v, &vl))
    snprintf(r->timeout, sizeof r->timeout, "%.*s", (int)vl, v);
  else if (hdr_is(b, n, "Allow", &v, &vl))
    snprintf(r->allow, sizeof r->allow, "%.*s", (int)vl, v);
  else if (hdr_is(b, n, "Content-Length", &v, &vl))
    r->clen = strtol(v, NULL, 10);
  else if (hdr_is(b, n, "Date", &v, &vl))
    r->date = true;
  else if (hdr_is(b, n, "Server", &v, &vl))
    r->server = true;
  return n;
}

static size_t on_body(char *b, size_t sz, size_t n, void *ud) {
  (void)b;
  (void)ud;
  return sz * n;
}

/* method url [body] then header lines, NULL-terminated; the status. */
static long vreq(resp *out, const char *method, const char *url,
                 const char *body, va_list ap) {
  memset(out, 0, sizeof *out);
  out->clen = -1;
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  for (const char *l; (l = va_arg(ap, const char *)) != NULL;)
    h = curl_slist_append(h, l);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_hdr);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, out);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  CURLcode rc = curl_easy_perform(e);
  out->done_ms = now_ms();
  if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return out->status;
}

static long req(resp *out, const char *method, const char *url, ...) {
  va_list ap;
  va_start(ap, url);
  long s = vreq(out, method, url, NULL, ap);
  va_end(ap);
  return s;
}

static long post(resp *out, const char *url, const char *body, ...) {
  va_list ap;
  va_start(ap, body);
  long s = vreq(out, "POST", url, body, ap);
  va_end(ap);
  return s;
}

/* ------------------------------------------------------------------ */
/* Fixture                                                            */
/* ------------------------------------------------------------------ */

typedef struct fx {
  ucp_sim *sim;
  rcv rc;
  char cb[128];  /* "CALLBACK: <receiver/cb>" */
  char url[160]; /* scratch */
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  rcv_start(&f->rc);
  snprintf(f->cb, sizeof f->cb, "CALLBACK: <%s/cb>", f->rc.base);
  if (ucp_sim_start(NULL, &f->sim) != 0) return -1;
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  ucp_sim_stop(f->sim);
  rcv_stop(&f->rc);
  free(f);
  return 0;
}

static void fx_restart(fx *f, const ucp_sim_opts *o) {
  ucp_sim_stop(f->sim);
  f->sim = NULL;
  assert_int_equal(ucp_sim_start(o, &f->sim), 0);
}

/* The eventSubURL of svc on device dev, plus query ("" for none). */
static const char *evt(fx *f, int dev, const char *svc, const char *query) {
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/evt/%s%s",
           ucp_sim_device_port(f->sim, dev), svc, query);
  return f->url;
}

static long subscribe(fx *f, resp *r, const char *url, const char *timeout) {
  return req(r, "SUBSCRIBE", url, f->cb, "NT: upnp:event", timeout, NULL);
}

static long renew(resp *r, const char *url, const char *sid,
                  const char *timeout) {
  char h[96];
  snprintf(h, sizeof h, "SID: %s", sid);
  return req(r, "SUBSCRIBE", url, h, timeout, NULL);
}

static long unsubscribe(resp *r, const char *url, const char *sid) {
  char h[96];
  snprintf(h, sizeof h, "SID: %s", sid);
  return req(r, "UNSUBSCRIBE", url, h, NULL);
}

#define BODY_HEAD                     \
  "<?xml version=\"1.0\"?>\n<e:propertyset " \
  "xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
#define PROP(n, v) "<e:property><" n ">" v "</" n "></e:property>"
#define BODY_TAIL "</e:propertyset>"

static void assert_notify(rcv *r, int i, const char *sid, long long seq,
                          const char *body) {
  rcv_rec x = rcv_get(r, i);
  assert_string_equal(x.method, "NOTIFY");
  assert_string_equal(x.nt, "upnp:event");
  assert_string_equal(x.nts, "upnp:propchange");
  assert_string_equal(x.ctype, "text/xml; charset=\"utf-8\"");
  assert_true(x.host[0] != '\0');
  assert_string_equal(x.sid, sid);
  assert_int_equal(x.seq, seq);
  if (body) assert_string_equal(x.body, body);
}

/* Subscribes to SwitchPower on dev 0 and waits for the initial event. */
static void sub_sp(fx *f, resp *r, const char *query) {
  assert_int_equal(subscribe(f, r, evt(f, 0, "SwitchPower", query), NULL),
                   200);
}

static void wait_counter(uint64_t (*get)(const ucp_sim *), const ucp_sim *s,
                         uint64_t want) {
  for (int i = 0; i < 400 && get(s) < want; i++) sleep_ms(5);
  assert_true(get(s) >= want);
}

/* ------------------------------------------------------------------ */
/* Subscribing                                                        */
/* ------------------------------------------------------------------ */

static void test_subscribe(void **state) {
  fx *f = *state;
  resp r;
  assert_int_equal(subscribe(f, &r, evt(f, 0, "SwitchPower", ""),
                             "TIMEOUT: Second-300"),
                   200);
  assert_int_equal(strncmp(r.sid, "uuid:", 5), 0);
  assert_int_equal(strlen(r.sid), 41);
  assert_string_equal(r.timeout, "Second-300");
  assert_true(r.date && r.server);
  assert_int_equal(r.clen, 0);
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_notify(&f->rc, 0, r.sid, 0,
                BODY_HEAD PROP("Status", "0") BODY_TAIL);
  assert_string_equal(rcv_get(&f->rc, 0).path, "/cb");
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
  wait_counter(ucp_sim_notifies_sent, f->sim, 1);
  assert_int_equal(ucp_sim_notify_failures(f->sim), 0);
  resp r2;
  sub_sp(f, &r2, "");
  assert_string_not_equal(r2.sid, r.sid);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 2);
}

static void check_grant(fx *f, const char *query, const char *timeout,
                        const char *want) {
  resp r;
  assert_int_equal(
      subscribe(f, &r, evt(f, 0, "SwitchPower", query), timeout), 200);
  assert_string_equal(r.timeout, want);
}

static void test_timeout_grant(void **state) {
  fx *f = *state;
  check_grant(f, "", NULL, "Second-1800");
  check_grant(f, "", "TIMEOUT: Second-infinite", "Second-1800");
  check_grant(f, "", "TIMEOUT: Second-99999", "Second-1800");
  check_grant(f, "", "TIMEOUT: second-10", "Second-10");
  check_grant(f, "", "TIMEOUT: Second-0", "Second-1");
  check_grant(f, "?timeout_cap=2", "TIMEOUT: Second-300", "Second-2");
  check_grant(f, "?timeout_cap=3", "TIMEOUT: Second-infinite", "Second-3");
  check_grant(f, "?timeout_cap=0", NULL, "Second-1");
  resp r;
  assert_int_equal(subscribe(f, &r, evt(f, 0, "SwitchPower", ""),
                             "TIMEOUT: Second-abc"),
                   400);
  assert_int_equal(subscribe(f, &r, evt(f, 0, "SwitchPower", ""),
                             "TIMEOUT: 300"),
                   400);
  ucp_sim_opts o = {.gena_timeout_cap_s = 5};
  fx_restart(f, &o);
  check_grant(f, "", NULL, "Second-5");
  check_grant(f, "?timeout_cap=2", NULL, "Second-2");
}

static void test_dimming_initial(void **state) {
  fx *f = *state;
  resp r;
  assert_int_equal(subscribe(f, &r, evt(f, 0, "Dimming", ""), NULL), 200);
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_notify(&f->rc, 0, r.sid, 0,
                BODY_HEAD PROP("LoadLevelStatus", "0") PROP("StepDelta", "10")
                    PROP("RampRate", "0") PROP("IsRamping", "0")
                        PROP("RampPaused", "0") BODY_TAIL);
}

static void test_errors(void **state) {
  fx *f = *state;
  resp r;
  char cb[256];
  const char *sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(req(&r, "SUBSCRIBE", sp, f->cb, NULL), 412); /* no NT */
  assert_int_equal(req(&r, "SUBSCRIBE", sp, "NT: upnp:event", NULL), 412);
  assert_int_equal(req(&r, "SUBSCRIBE", sp, f->cb, "NT: upnp:other", NULL),
                   412);
  const char *bad[] = {"CALLBACK: http://127.0.0.1:1/cb",
                       "CALLBACK: <https://127.0.0.1:1/cb>",
                       "CALLBACK: <http://localhost:1/cb>",
                       "CALLBACK: <http://u:p@127.0.0.1:1/cb>",
                       "CALLBACK: <>", "CALLBACK: <http://127.0.0.1:1/cb"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(req(&r, "SUBSCRIBE", sp, bad[i], "NT: upnp:event", NULL),
                     412);
  assert_int_equal(req(&r, "SUBSCRIBE", sp, "SID: uuid:x", "NT: upnp:event",
                       NULL),
                   400);
  assert_int_equal(req(&r, "SUBSCRIBE", sp, "SID: uuid:x", f->cb, NULL), 400);
  assert_int_equal(req(&r, "UNSUBSCRIBE", sp, "SID: uuid:x", "NT: upnp:event",
                       NULL),
                   400);
  assert_int_equal(req(&r, "UNSUBSCRIBE", sp, NULL), 412);
  assert_int_equal(req(&r, "UNSUBSCRIBE", sp, "SID: uuid:x", NULL), 412);
  assert_int_equal(subscribe(f, &r, evt(f, 0, "SwitchPower", "?fault=nope"),
                             NULL),
                   400);
  assert_int_equal(subscribe(f, &r, evt(f, 0, "SwitchPower",
                                        "?fault=slow_notify&ms=x"),
                             NULL),
                   400);
  sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(req(&r, "GET", sp, NULL), 405);
  assert_string_equal(r.allow, "SUBSCRIBE, UNSUBSCRIBE");
  assert_int_equal(req(&r, "NOTIFY", sp, NULL), 405);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0);
  /* the first usable URL of several */
  snprintf(cb, sizeof cb, "CALLBACK: <ftp://x/> <http://host/><%s/cb>",
           f->rc.base);
  assert_int_equal(req(&r, "SUBSCRIBE", sp, cb, "NT: upnp:event", NULL), 200);
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_notify(&f->rc, 0, r.sid, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Events, renewal, unsubscribe, expiry                               */
/* ------------------------------------------------------------------ */

static void assert_quiet(rcv *r, int n, unsigned ms) {
  sleep_ms(ms);
  assert_int_equal(rcv_count(r), n);
}

static void test_change_events(void **state) {
  fx *f = *state;
  resp r;
  sub_sp(f, &r, "");
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_int_equal(ucp_sim_set_switch(f->sim, 0, 1), 0);
  assert_true(rcv_wait(&f->rc, 2, 2000));
  assert_notify(&f->rc, 1, r.sid, 1, BODY_HEAD PROP("Status", "1") BODY_TAIL);
  assert_int_equal(ucp_sim_switch_status(f->sim, 0), 1);
  assert_int_equal(ucp_sim_set_switch(f->sim, 0, 1), 0); /* no change */
  assert_quiet(&f->rc, 2, 250);
  assert_int_equal(ucp_sim_set_switch(f->sim, 0, 0), 0);
  assert_true(rcv_wait(&f->rc, 3, 2000));
  assert_notify(&f->rc, 2, r.sid, 2, BODY_HEAD PROP("Status", "0") BODY_TAIL);
  assert_int_equal(ucp_sim_set_switch(f->sim, 5, 1), -1);
}

/* An action over SOAP goes through the same hook. */
static void test_soap_action_event(void **state) {
  fx *f = *state;
  resp r, p;
  assert_int_equal(subscribe(f, &r, evt(f, 0, "Dimming", ""), NULL), 200);
  assert_true(rcv_wait(&f->rc, 1, 2000));
  char url[96];
  snprintf(url, sizeof url, "%s/ctl/Dimming", ucp_sim_base_url(f->sim));
  assert_int_equal(
      post(&p, url,
           "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas."
           "xmlsoap.org/soap/envelope/\"><s:Body><u:SetLoadLevelTarget xmlns:"
           "u=\"urn:schemas-upnp-org:service:Dimming:1\"><newLoadlevelTarget>"
           "50</newLoadlevelTarget></u:SetLoadLevelTarget></s:Body>"
           "</s:Envelope>",
           "SOAPACTION: \"urn:schemas-upnp-org:service:Dimming:1#"
           "SetLoadLevelTarget\"",
           "Content-Type: text/xml; charset=\"utf-8\"", NULL),
      200);
  assert_true(rcv_wait(&f->rc, 2, 2000));
  assert_notify(&f->rc, 1, r.sid, 1,
                BODY_HEAD PROP("LoadLevelStatus", "50") BODY_TAIL);
}

/* UDA 2.0 section 4.3.1: 0xFFFFFFFF is followed by 1, never 0. */
static void test_seq_wrap(void **state) {
  fx *f = *state;
  resp r;
  sub_sp(f, &r, "");
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_int_equal(ucp_sim_set_next_seq(f->sim, r.sid, 0xFFFFFFFEu), 0);
  assert_int_equal(ucp_sim_set_next_seq(f->sim, "uuid:nope", 5), -1);
  for (int i = 0; i < 3; i++) ucp_sim_set_switch(f->sim, 0, (i + 1) % 2);
  assert_true(rcv_wait(&f->rc, 4, 2000));
  const long long want[] = {0, 0xFFFFFFFELL, 0xFFFFFFFFLL, 1};
  for (int i = 0; i < 4; i++) assert_notify(&f->rc, i, r.sid, want[i], NULL);
}

static void test_renew(void **state) {
  fx *f = *state;
  resp r, n;
  sub_sp(f, &r, "");
  const char *sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(renew(&n, sp, r.sid, "TIMEOUT: Second-60"), 200);
  assert_string_equal(n.sid, r.sid);
  assert_string_equal(n.timeout, "Second-60");
  assert_int_equal(n.clen, 0);
  assert_int_equal(renew(&n, sp, r.sid, NULL), 200);
  assert_string_equal(n.timeout, "Second-1800");
  assert_int_equal(renew(&n, evt(f, 0, "SwitchPower", "?timeout_cap=2"),
                         r.sid, NULL),
                   200);
  assert_string_equal(n.timeout, "Second-2");
  sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(renew(&n, sp, "uuid:00000000-0000-4000-8000-000000000000",
                         NULL),
                   412);
  assert_int_equal(renew(&n, evt(f, 0, "Dimming", ""), r.sid, NULL), 412);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
}

static void test_unsubscribe(void **state) {
  fx *f = *state;
  resp r, u;
  sub_sp(f, &r, "");
  assert_true(rcv_wait(&f->rc, 1, 2000));
  const char *sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(unsubscribe(&u, sp, r.sid), 200);
  assert_int_equal(u.clen, 0);
  assert_int_equal(unsubscribe(&u, sp, r.sid), 412);
  assert_int_equal(renew(&u, sp, r.sid, NULL), 412);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0);
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_quiet(&f->rc, 1, 250);
}

/* A (1 s) is never renewed, B (2 s) is renewed after 1 s: after A's
 * grant only B gets events. Sleeps only ever make A later, so the margin
 * that matters is B's (about 1.7 s). */
static void test_expiry(void **state) {
  fx *f = *state;
  resp a, b, n;
  char cb[128];
  sub_sp(f, &a, "?timeout_cap=1");
  assert_string_equal(a.timeout, "Second-1");
  snprintf(cb, sizeof cb, "CALLBACK: <%s/b>", f->rc.base);
  assert_int_equal(req(&b, "SUBSCRIBE", evt(f, 0, "SwitchPower",
                                            "?timeout_cap=2"),
                       cb, "NT: upnp:event", NULL),
                   200);
  assert_string_equal(b.timeout, "Second-2");
  assert_true(rcv_wait(&f->rc, 2, 2000));
  sleep_ms(1000);
  const char *sp = evt(f, 0, "SwitchPower", "");
  assert_int_equal(renew(&n, sp, b.sid, NULL), 200);
  assert_string_equal(n.timeout, "Second-2"); /* the cap is kept */
  sleep_ms(300);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
  assert_int_equal(renew(&n, sp, a.sid, NULL), 412);
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_true(rcv_wait(&f->rc, 3, 2000));
  assert_notify(&f->rc, 2, b.sid, 1, NULL);
  assert_quiet(&f->rc, 3, 200);
}

/* SEQ order, one NOTIFY at a time per subscription, one connection. */
static void test_order(void **state) {
  fx *f = *state;
  resp r;
  atomic_store(&f->rc.delay_ms, 40u);
  sub_sp(f, &r, "");
  for (int i = 0; i < 5; i++) ucp_sim_set_switch(f->sim, 0, (i + 1) % 2);
  assert_true(rcv_wait(&f->rc, 6, 3000));
  for (int i = 0; i < 6; i++) assert_notify(&f->rc, i, r.sid, i, NULL);
  assert_int_equal(rcv_max_active(&f->rc), 1);
  assert_true(atomic_load(&f->rc.conns) <= 2);
  wait_counter(ucp_sim_notifies_sent, f->sim, 6);
}

static void test_failures(void **state) {
  fx *f = *state;
  resp r;
  atomic_store(&f->rc.status, 500u);
  sub_sp(f, &r, "");
  assert_true(rcv_wait(&f->rc, 1, 2000));
  wait_counter(ucp_sim_notify_failures, f->sim, 1);
  atomic_store(&f->rc.status, 200u);
  ucp_sim_set_switch(f->sim, 0, 1); /* kept: still gets events */
  assert_true(rcv_wait(&f->rc, 2, 2000));
  assert_notify(&f->rc, 1, r.sid, 1, NULL);
  /* nothing listens there: connection refused */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  close(fd);
  char cb[96];
  snprintf(cb, sizeof cb, "CALLBACK: <http://127.0.0.1:%u/x>",
           ntohs(sa.sin_port));
  assert_int_equal(req(&r, "SUBSCRIBE", evt(f, 0, "SwitchPower", ""), cb,
                       "NT: upnp:event", NULL),
                   200);
  wait_counter(ucp_sim_notify_failures, f->sim, 2);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 2);
}

static void test_max_subscriptions(void **state) {
  fx *f = *state;
  ucp_sim_opts o = {.gena_max_subscriptions = 2};
  fx_restart(f, &o);
  resp a, b, c;
  sub_sp(f, &a, "");
  assert_int_equal(subscribe(f, &b, evt(f, 0, "Dimming", ""), NULL), 200);
  assert_int_equal(subscribe(f, &c, evt(f, 0, "SwitchPower", ""), NULL), 503);
  assert_int_equal(unsubscribe(&c, evt(f, 0, "SwitchPower", ""), a.sid), 200);
  assert_int_equal(subscribe(f, &c, evt(f, 0, "SwitchPower", ""), NULL), 200);
}

/* ------------------------------------------------------------------ */
/* Faults                                                             */
/* ------------------------------------------------------------------ */

static void test_fault_skip_seq(void **state) {
  fx *f = *state;
  resp r;
  sub_sp(f, &r, "?fault=skip_seq");
  for (int i = 0; i < 3; i++) ucp_sim_set_switch(f->sim, 0, (i + 1) % 2);
  assert_true(rcv_wait(&f->rc, 4, 2000));
  const long long want[] = {0, 1, 3, 4};
  for (int i = 0; i < 4; i++) assert_notify(&f->rc, i, r.sid, want[i], NULL);
}

static void test_fault_no_initial(void **state) {
  fx *f = *state;
  resp r;
  sub_sp(f, &r, "?fault=no_initial");
  assert_quiet(&f->rc, 0, 250);
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_notify(&f->rc, 0, r.sid, 1, BODY_HEAD PROP("Status", "1") BODY_TAIL);
}

static void test_fault_renew_412(void **state) {
  fx *f = *state;
  resp r, n;
  sub_sp(f, &r, "?fault=renew_412");
  assert_true(rcv_wait(&f->rc, 1, 2000));
  assert_int_equal(renew(&n, evt(f, 0, "SwitchPower", ""), r.sid, NULL), 412);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0); /* forgotten */
}

static void test_fault_slow_notify(void **state) {
  fx *f = *state;
  resp r;
  uint64_t t0 = now_ms();
  sub_sp(f, &r, "?fault=slow_notify&ms=400");
  assert_true(rcv_wait(&f->rc, 1, 3000));
  assert_true(rcv_get(&f->rc, 0).at_ms - t0 >= 390);
  uint64_t t1 = now_ms();
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_true(rcv_wait(&f->rc, 2, 3000));
  assert_true(rcv_get(&f->rc, 1).at_ms - t1 >= 390);
  assert_notify(&f->rc, 1, r.sid, 1, NULL);
}

static void test_fault_early_notify(void **state) {
  fx *f = *state;
  resp r;
  sub_sp(f, &r, "?fault=early_notify");
  assert_int_equal(rcv_count(&f->rc), 1); /* before SUBSCRIBE returned */
  assert_true(rcv_get(&f->rc, 0).at_ms <= r.done_ms);
  assert_notify(&f->rc, 0, r.sid, 0, NULL);
  /* a stalled subscriber: the 200 waits 2 s at most */
  atomic_store(&f->rc.delay_ms, 5000u);
  uint64_t t0 = now_ms();
  sub_sp(f, &r, "?fault=early_notify");
  assert_true(r.done_ms - t0 < 3000);
  assert_true(r.done_ms - t0 >= 1900);
}

static void test_fault_no_events(void **state) {
  fx *f = *state;
  resp r, n;
  sub_sp(f, &r, "?fault=no_events");
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_quiet(&f->rc, 0, 300);
  assert_int_equal(renew(&n, evt(f, 0, "SwitchPower", ""), r.sid, NULL), 200);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
}

/* ------------------------------------------------------------------ */
/* Reboot, stop, several devices                                      */
/* ------------------------------------------------------------------ */

static void test_reboot(void **state) {
  fx *f = *state;
  resp a, b, n;
  sub_sp(f, &a, "");
  assert_int_equal(subscribe(f, &b, evt(f, 0, "Dimming", ""), NULL), 200);
  assert_true(rcv_wait(&f->rc, 2, 2000));
  assert_int_equal(ucp_sim_restart(f->sim), -1); /* no SSDP: nothing */
  assert_int_equal(ucp_sim_subscriptions(f->sim), 2);
  unsigned boot = ucp_sim_bootid(f->sim);
  assert_int_equal(ucp_sim_reboot(f->sim), 0);
  assert_int_equal(ucp_sim_bootid(f->sim), (boot + 1) & 0x7fffffffu);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0);
  assert_int_equal(renew(&n, evt(f, 0, "SwitchPower", ""), a.sid, NULL), 412);
  ucp_sim_set_switch(f->sim, 0, 1);
  assert_quiet(&f->rc, 2, 250);
}

static void test_stop_stalled(void **state) {
  fx *f = *state;
  resp r;
  atomic_store(&f->rc.delay_ms, 10000u);
  sub_sp(f, &r, "");
  assert_true(rcv_wait(&f->rc, 1, 2000)); /* now stalled inside it */
  /* 16384 events wait behind it at most: the rest are dropped */
  for (int i = 0; i < 16400; i++) ucp_sim_set_switch(f->sim, 0, (i + 1) % 2);
  assert_int_equal(ucp_sim_notifies_dropped(f->sim), 16);
  uint64_t t0 = now_ms();
  ucp_sim_stop(f->sim);
  f->sim = NULL;
  assert_true(now_ms() - t0 < 1000);
}

static void test_two_devices(void **state) {
  fx *f = *state;
  ucp_sim_opts o = {.devices = 2};
  fx_restart(f, &o);
  resp a, b, n;
  char cb[128];
  sub_sp(f, &a, "");
  snprintf(cb, sizeof cb, "CALLBACK: <%s/dev1>", f->rc.base);
  assert_int_equal(req(&b, "SUBSCRIBE", evt(f, 1, "SwitchPower", ""), cb,
                       "NT: upnp:event", NULL),
                   200);
  assert_true(rcv_wait(&f->rc, 2, 2000));
  ucp_sim_set_switch(f->sim, 1, 1);
  assert_true(rcv_wait(&f->rc, 3, 2000));
  assert_notify(&f->rc, 2, b.sid, 1, NULL);
  assert_string_equal(rcv_get(&f->rc, 2).path, "/dev1");
  assert_quiet(&f->rc, 3, 200);
  assert_int_equal(renew(&n, evt(f, 1, "SwitchPower", ""), a.sid, NULL), 412);
  assert_int_equal(renew(&n, evt(f, 0, "SwitchPower", ""), a.sid, NULL), 200);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      T(test_subscribe),        T(test_timeout_grant),
      T(test_dimming_initial),  T(test_errors),
      T(test_change_events),    T(test_soap_action_event),
      T(test_seq_wrap),         T(test_renew),
      T(test_unsubscribe),
      T(test_expiry),           T(test_order),
      T(test_failures),         T(test_max_subscriptions),
      T(test_fault_skip_seq),   T(test_fault_no_initial),
      T(test_fault_renew_412),  T(test_fault_slow_notify),
      T(test_fault_early_notify), T(test_fault_no_events),
      T(test_reboot),           T(test_stop_stalled),
      T(test_two_devices),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
