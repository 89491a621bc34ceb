/* test_gena.c - subscriptions against the simulator's GENA side (a real
 * libmicrohttpd device sending NOTIFYs with libcurl) and the control
 * point's callback server: SUBSCRIBE, the typed initial event, events on
 * state changes, renewal, 412 on renewal, a SEQ gap, reboot, the
 * reachability check, a NOTIFY before the SUBSCRIBE answer, UNSUBSCRIBE on
 * unsubscribe, cancel and destroy, the callback server's status codes,
 * and 1,000 subscriptions across 100 devices. Loopback only. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "upnpcp.h"

/* ------------------------------------------------------------ recorder */

enum { MAXEV = 64 };

typedef struct rec_ev {
  int kind, state;
  uint32_t seq, timeout;
  char sid[128], detail[512];
  size_t nvars;
  char name0[64], value0[64];
  int type0;
  size_t nchanges;
  char change1[160]; /* "instance/variable=value/channel" of change 1 */
} rec_ev;

typedef struct sub_rec {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  rec_ev ev[MAXEV];
  int nev, done, status;
  char detail[512];
} sub_rec;

static void sr_init(sub_rec *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
}

static void sr_destroy(sub_rec *r) {
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->cond);
}

static void on_event(uint64_t id, const ucp_event *ev, void *user) {
  (void)id;
  sub_rec *r = user;
  pthread_mutex_lock(&r->lock);
  if (r->nev < MAXEV) {
    rec_ev *e = &r->ev[r->nev++];
    e->kind = ucp_event_get_kind(ev);
    e->state = ucp_event_state(ev);
    e->seq = ucp_event_seq(ev);
    e->timeout = ucp_event_timeout(ev);
    snprintf(e->sid, sizeof e->sid, "%s", ucp_event_sid(ev));
    snprintf(e->detail, sizeof e->detail, "%s", ucp_event_detail(ev));
    e->nvars = ucp_event_var_count(ev);
    if (e->nvars) {
      snprintf(e->name0, sizeof e->name0, "%s", ucp_event_var_name(ev, 0));
      snprintf(e->value0, sizeof e->value0, "%s", ucp_event_var_value(ev, 0));
      e->type0 = ucp_event_var_type(ev, 0);
    }
    e->nchanges = ucp_event_change_count(ev);
    const char *in, *var, *val, *ch;
    if (ucp_event_change(ev, 1, &in, &var, &val, &ch) == UCP_OK)
      snprintf(e->change1, sizeof e->change1, "%s/%s=%s/%s", in, var,
               val ? val : "-", ch ? ch : "-");
  }
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

static void on_done(uint64_t id, const ucp_result *res, void *user) {
  (void)id;
  sub_rec *r = user;
  pthread_mutex_lock(&r->lock);
  r->done++;
  r->status = ucp_result_status(res);
  snprintf(r->detail, sizeof r->detail, "%s", ucp_result_detail(res));
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

/* Index of the first event at or after `from` matching kind/state (state 0:
 * any) or -1 after `ms`. */
static int wait_ev(sub_rec *r, int from, int kind, int state, int ms) {
  for (int t = 0; t <= ms; t += 5) {
    pthread_mutex_lock(&r->lock);
    for (int i = from; i < r->nev; i++)
      if (r->ev[i].kind == kind && (!state || r->ev[i].state == state)) {
        pthread_mutex_unlock(&r->lock);
        return i;
      }
    pthread_mutex_unlock(&r->lock);
    sleep_ms(5);
  }
  return -1;
}

static int wait_done(sub_rec *r, int ms) {
  for (int t = 0; t <= ms; t += 5) {
    pthread_mutex_lock(&r->lock);
    int d = r->done;
    pthread_mutex_unlock(&r->lock);
    if (d) return 0;
    sleep_ms(5);
  }
  return -1;
}

static int wait_sim_subs(ucp_sim *sim, size_t n, int ms) {
  for (int t = 0; t <= ms; t += 10) {
    if (ucp_sim_subscriptions(sim) == n) return 0;
    sleep_ms(10);
  }
  return -1;
}

/* ------------------------------------------------------------ fixture */

typedef struct fx {
  ucp_sim *sim;
  ucp_cp *cp;
  const ucp_scpd *scpd; /* SwitchPower */
} fx;

static void scpd_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id;
  probe *p = user;
  const ucp_scpd **out = (const ucp_scpd **)p->desc; /* a slot, see setup */
  *out = ucp_scpd_ref(ucp_result_scpd(r));
  probe_done_cb(id, r, p);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->sim = test_sim_start();
  assert_non_null(f->sim);
  assert_int_equal(ucp_cp_new(NULL, &f->cp), UCP_OK);
  /* The SCPD, so that events are typed. */
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(f->cp, &p, ucp_sim_description_url(f->sim), 0),
                   UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  const ucp_description *d = ucp_description_ref(p.desc);
  probe_destroy(&p);
  probe q;
  probe_init(&q);
  q.desc = (const ucp_description *)&f->scpd;
  uint64_t id;
  assert_int_equal(ucp_scpd_download(f->cp,
                                     ucp_device_service(ucp_description_root(d), 0),
                                     NULL, scpd_done, &q, &id),
                   UCP_OK);
  assert_int_equal(probe_wait(&q, 10000), 0);
  q.desc = NULL;
  probe_destroy(&q);
  ucp_description_unref(d);
  assert_non_null(f->scpd);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ucp_scpd_unref(f->scpd);
  assert_int_equal(ucp_cp_free(f->cp), UCP_OK);
  ucp_sim_stop(f->sim);
  free(f);
  return 0;
}

static const char *evt_url(fx *f, int dev, const char *query) {
  static char buf[4][256];
  static int next;
  char *b = buf[next++ & 3];
  snprintf(b, 256, "http://127.0.0.1:%u/evt/SwitchPower%s%s",
           ucp_sim_device_port(f->sim, dev), query ? "?" : "",
           query ? query : "");
  return b;
}

static uint64_t subscribe(fx *f, sub_rec *r, const char *url,
                          uint64_t check_ms) {
  ucp_sub_opts *so = ucp_sub_opts_new();
  if (check_ms) ucp_sub_opts_set_check_ms(so, check_ms);
  uint64_t id = 0;
  int rc = ucp_subscribe_url(f->cp, url, NULL, f->scpd, so, NULL, on_event,
                             on_done, r, &id);
  ucp_sub_opts_free(so);
  if (rc != UCP_OK) fail_msg("subscribe: %s", ucp_last_error_detail());
  return id;
}

/* ------------------------------------------------------------ tests */

static void test_subscribe_events_unsubscribe(void **state) {
  fx *f = *state;
  ucp_sim_set_switch(f->sim, 0, 0);
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, NULL), 0);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  assert_true(a >= 0);
  assert_true(strncmp(r.ev[a].sid, "uuid:", 5) == 0);
  assert_true(r.ev[a].timeout > 0);
  int i = wait_ev(&r, 0, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(i >= 0);
  assert_int_equal(r.ev[i].seq, 0);
  assert_string_equal(r.ev[i].sid, r.ev[a].sid);
  assert_string_equal(r.ev[i].name0, "Status");
  assert_string_equal(r.ev[i].value0, "0");
  assert_int_equal(r.ev[i].type0, UCP_TYPE_BOOLEAN);
  assert_int_equal(ucp_sim_set_switch(f->sim, 0, 1), 0);
  int j = wait_ev(&r, i + 1, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(j >= 0);
  assert_int_equal(r.ev[j].seq, 1);
  assert_string_equal(r.ev[j].value0, "1");
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
  assert_int_equal(ucp_unsubscribe(f->cp, id), UCP_OK);
  assert_int_equal(wait_done(&r, 5000), 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0);
  assert_int_equal(ucp_unsubscribe(f->cp, id), UCP_E_INVALIDARG);
  sr_destroy(&r);
}

static void test_renewal(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "timeout_cap=2"), 0);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  assert_true(a >= 0);
  assert_int_equal(r.ev[a].timeout, 2);
  int w = wait_ev(&r, a, UCP_EVENT_STATE, UCP_SUB_RENEWING, 5000);
  int n = wait_ev(&r, a, UCP_EVENT_STATE, UCP_SUB_RENEWED, 5000);
  assert_true(w >= 0 && n > w);
  assert_string_equal(r.ev[n].sid, r.ev[a].sid);
  /* Still subscribed after several grants: the renewals work. */
  int m = wait_ev(&r, n + 1, UCP_EVENT_STATE, UCP_SUB_RENEWED, 5000);
  assert_true(m > n);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 1);
  assert_int_equal(ucp_cancel(f->cp, id), UCP_OK);
  assert_int_equal(wait_sim_subs(f->sim, 0, 5000), 0); /* UNSUBSCRIBE */
  sr_destroy(&r);
}

static void test_412_on_renewal_resubscribes(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "timeout_cap=2&fault=renew_412"), 0);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  int s = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_RESUBSCRIBED, 8000);
  assert_true(a >= 0 && s > a);
  assert_string_not_equal(r.ev[s].sid, r.ev[a].sid);
  int i = wait_ev(&r, s, UCP_EVENT_NOTIFY, 0, 5000); /* a new initial event */
  assert_true(i > s);
  assert_int_equal(r.ev[i].seq, 0);
  assert_int_equal(r.done, 0);
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

static void test_gap_resubscribes(void **state) {
  fx *f = *state;
  ucp_sim_set_switch(f->sim, 0, 0);
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "fault=skip_seq"), 0);
  int i = wait_ev(&r, 0, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(i >= 0);
  ucp_sim_set_switch(f->sim, 0, 1);
  ucp_sim_set_switch(f->sim, 0, 0); /* the 2nd event skips a SEQ */
  int m = wait_ev(&r, i, UCP_EVENT_STATE, UCP_SUB_MISSED_EVENTS, 5000);
  assert_true(m > i);
  int s = wait_ev(&r, m, UCP_EVENT_STATE, UCP_SUB_RESUBSCRIBED, 5000);
  assert_true(s > m);
  int j = wait_ev(&r, s, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(j > s);
  assert_int_equal(r.ev[j].seq, 0); /* resynced */
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

static void test_unreachable_reported(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "fault=no_events"), 300);
  int u = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_UNREACHABLE, 5000);
  assert_true(u >= 0);
  assert_non_null(strstr(r.ev[u].detail, "http://127.0.0.1:"));
  assert_non_null(strstr(r.ev[u].detail, "firewall"));
  assert_int_equal(r.done, 0); /* reported, not ended */
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

static void test_notify_before_answer_is_held(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "fault=early_notify"), 0);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  int i = wait_ev(&r, 0, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(a >= 0 && i > a); /* delivered after ACTIVE, in order */
  assert_int_equal(r.ev[i].seq, 0);
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

static void test_reboot_resubscribes(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "timeout_cap=2"), 0);
  assert_true(wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000) >= 0);
  assert_int_equal(ucp_sim_reboot(f->sim), 0); /* forgets subscriptions */
  int s = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_RESUBSCRIBED, 8000);
  assert_true(s >= 0);
  assert_int_equal(wait_sim_subs(f->sim, 1, 3000), 0);
  ucp_cancel(f->cp, id);
  assert_int_equal(wait_sim_subs(f->sim, 0, 5000), 0);
  sr_destroy(&r);
}

/* Destroying the control point sends UNSUBSCRIBE for what is left: more
 * of them than UCP_LIMIT_HTTP_ACTIVE (64), so some wait in the HTTP queue
 * when the teardown begins. */
static void test_destroy_unsubscribes(void **state) {
  fx *f = *state;
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  enum { NSUB = 150 };
  sub_rec *r = calloc(NSUB, sizeof *r);
  for (int i = 0; i < NSUB; i++) {
    sr_init(&r[i]);
    uint64_t id;
    assert_int_equal(ucp_subscribe_url(cp, evt_url(f, 0, NULL), NULL, NULL,
                                       NULL, NULL, on_event, on_done, &r[i],
                                       &id),
                     UCP_OK);
  }
  for (int i = 0; i < NSUB; i++)
    assert_true(wait_ev(&r[i], 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 10000) >= 0);
  assert_int_equal(ucp_sim_subscriptions(f->sim), NSUB);
  uint64_t before = ucp_sim_requests(f->sim);
  assert_int_equal(ucp_cp_free(cp), UCP_OK);
  assert_int_equal(ucp_sim_subscriptions(f->sim), 0);
  /* One UNSUBSCRIBE each: none sent twice (once through the engine and
   * once more by the flush at teardown). */
  assert_int_equal(ucp_sim_requests(f->sim) - before, NSUB);
  for (int i = 0; i < NSUB; i++) {
    assert_int_equal(r[i].done, 0);
    sr_destroy(&r[i]);
  }
  free(r);
}

/* ---- the callback server's answers to hand-made NOTIFYs ---- */

static long raw_notify(const char *url, const char *method, const char *host,
                       const char *nt, const char *nts, const char *sid,
                       const char *seq, const char *body) {
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  char line[300];
  if (host) snprintf(line, sizeof line, "Host: %s", host), h = curl_slist_append(h, line);
  if (nt) snprintf(line, sizeof line, "NT: %s", nt), h = curl_slist_append(h, line);
  if (nts) snprintf(line, sizeof line, "NTS: %s", nts), h = curl_slist_append(h, line);
  if (sid) snprintf(line, sizeof line, "SID: %s", sid), h = curl_slist_append(h, line);
  if (seq) snprintf(line, sizeof line, "SEQ: %s", seq), h = curl_slist_append(h, line);
  h = curl_slist_append(h, "Content-Type: text/xml");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  long code = 0;
  if (curl_easy_perform(e) == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return code;
}

static void test_callback_server_codes(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "fault=no_events"), 60000);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  assert_true(a >= 0);
  const char *at = strstr(r.ev[a].detail, "events to ");
  assert_non_null(at);
  char url[256], host[64];
  snprintf(url, sizeof url, "%s", at + strlen("events to "));
  sscanf(url, "http://%63[^/]", host);
  const char *sid = r.ev[a].sid;
  static const char body[] =
      "<?xml version=\"1.0\"?><e:propertyset xmlns:e=\"urn:schemas-upnp-org:"
      "event-1-0\"><e:property><Status>1</Status></e:property></e:propertyset>";
  uint64_t dropped = ucp_cp_counter(f->cp, UCP_COUNTER_NOTIFY_DROPPED);
  assert_int_equal(raw_notify(url, "POST", host, "upnp:event", "upnp:propchange", sid, "0", body), 405);
  char bad_path[300];
  snprintf(bad_path, sizeof bad_path, "http://%s/ucp/evt/0123", host);
  assert_int_equal(raw_notify(bad_path, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "0", body), 404);
  assert_int_equal(raw_notify(url, "NOTIFY", "evil.example.com", "upnp:event", "upnp:propchange", sid, "0", body), 400);
  assert_int_equal(raw_notify(url, "NOTIFY", host, NULL, "upnp:propchange", sid, "0", body), 400);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:other", "upnp:propchange", sid, "0", body), 412);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", NULL, "0", body), 412);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", "uuid:someone-else", "0", body), 412);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "x1", body), 400);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "4294967296", body), 400);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "0", "<broken"), 400);
  char *huge = malloc(300 * 1024 + 1);
  memset(huge, ' ', 300 * 1024);
  huge[300 * 1024] = '\0';
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "0", huge), 413);
  free(huge);
  assert_true(ucp_cp_counter(f->cp, UCP_COUNTER_NOTIFY_DROPPED) >= dropped + 11);
  /* A good one is delivered; the same SEQ again is answered 200 and
   * dropped. */
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "0", body), 200);
  int i = wait_ev(&r, 0, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(i >= 0);
  assert_string_equal(r.ev[i].value0, "1");
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "0", body), 200);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "1", body), 200);
  int j = wait_ev(&r, i + 1, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(j > i);
  assert_int_equal(r.ev[j].seq, 1); /* the duplicate 0 never came through */
  /* LastChange (RenderingControl style) is read into changes. */
  static const char lc[] =
      "<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\"><e:property>"
      "<LastChange>&lt;Event xmlns=&quot;urn:schemas-upnp-org:metadata-1-0/RCS/"
      "&quot;&gt;&lt;InstanceID val=&quot;0&quot;&gt;&lt;Mute channel=&quot;"
      "Master&quot; val=&quot;0&quot;/&gt;&lt;Volume channel=&quot;Master&quot;"
      " val=&quot;20&quot;/&gt;&lt;/InstanceID&gt;&lt;/Event&gt;</LastChange>"
      "</e:property></e:propertyset>";
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event", "upnp:propchange", sid, "2", lc), 200);
  int k = wait_ev(&r, j + 1, UCP_EVENT_NOTIFY, 0, 5000);
  assert_true(k > j);
  assert_string_equal(r.ev[k].name0, "LastChange");
  assert_int_equal(r.ev[k].nchanges, 2);
  assert_string_equal(r.ev[k].change1, "0/Volume=20/Master");
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

/* The callback server takes at most 64 connections from one address:
 * idle connections from a flooding peer cannot starve it for long, and
 * the others still get through once they go. */
static void test_callback_server_per_ip_limit(void **state) {
  fx *f = *state;
  sub_rec r;
  sr_init(&r);
  uint64_t id = subscribe(f, &r, evt_url(f, 0, "fault=no_events"), 60000);
  int a = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_ACTIVE, 5000);
  assert_true(a >= 0);
  char url[256], host[64];
  snprintf(url, sizeof url, "%s",
           strstr(r.ev[a].detail, "events to ") + strlen("events to "));
  sscanf(url, "http://%63[^/]", host);
  unsigned port = (unsigned)atoi(strchr(host, ':') + 1);
  int fds[64];
  for (int i = 0; i < 64; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
  }
  sleep_ms(200);
  static const char body[] =
      "<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\"><e:property>"
      "<Status>1</Status></e:property></e:propertyset>";
  long refused = raw_notify(url, "NOTIFY", host, "upnp:event",
                            "upnp:propchange", r.ev[a].sid, "0", body);
  assert_int_equal(refused, 0); /* closed at once: no HTTP answer */
  for (int i = 0; i < 64; i++) close(fds[i]);
  sleep_ms(200);
  assert_int_equal(raw_notify(url, "NOTIFY", host, "upnp:event",
                              "upnp:propchange", r.ev[a].sid, "0", body),
                   200);
  ucp_cancel(f->cp, id);
  sr_destroy(&r);
}

/* A device that answers SUBSCRIBE late (after 400 ms) with a SID, then
 * records whether an UNSUBSCRIBE for that SID follows. */
typedef struct late_dev {
  int listen_fd;
  unsigned port;
  int got_unsubscribe;
} late_dev;

static int read_request(int c, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t k = recv(c, buf + n, cap - 1 - n, 0);
    if (k <= 0) return -1;
    n += (size_t)k;
    buf[n] = '\0';
    if (strstr(buf, "\r\n\r\n")) return 0;
  }
  return -1;
}

static void *late_dev_main(void *arg) {
  late_dev *d = arg;
  char buf[4096];
  for (int conn = 0; conn < 2; conn++) {
    int c = accept(d->listen_fd, NULL, NULL);
    if (c < 0) return NULL;
    for (;;) {
      if (read_request(c, buf, sizeof buf) != 0) break;
      if (strncmp(buf, "SUBSCRIBE", 9) == 0) {
        sleep_ms(400);
        const char *ok = "HTTP/1.1 200 OK\r\nSID: uuid:late-1\r\nTIMEOUT: "
                         "Second-300\r\nContent-Length: 0\r\n\r\n";
        send(c, ok, strlen(ok), MSG_NOSIGNAL);
      } else if (strncmp(buf, "UNSUBSCRIBE", 11) == 0) {
        if (strstr(buf, "uuid:late-1")) d->got_unsubscribe = 1;
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        send(c, ok, strlen(ok), MSG_NOSIGNAL);
        close(c);
        return NULL;
      }
    }
    close(c);
  }
  return NULL;
}

static void late_dev_start(late_dev *d, pthread_t *t) {
  memset(d, 0, sizeof *d);
  d->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(d->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(d->listen_fd, 4), 0);
  socklen_t len = sizeof sa;
  getsockname(d->listen_fd, (struct sockaddr *)&sa, &len);
  d->port = ntohs(sa.sin_port);
  pthread_create(t, NULL, late_dev_main, d);
}

/* Cancelled, or unsubscribed, while the first SUBSCRIBE is in flight: the
 * device accepts it anyway, so its SID must be unsubscribed. */
static void test_ended_during_subscribe_leaves_nothing(void **state) {
  fx *f = *state;
  for (int by_cancel = 0; by_cancel <= 1; by_cancel++) {
    late_dev d;
    pthread_t t;
    late_dev_start(&d, &t);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/evt", d.port);
    sub_rec r;
    sr_init(&r);
    uint64_t id = subscribe(f, &r, url, 0);
    sleep_ms(100);
    if (by_cancel) {
      assert_int_equal(ucp_cancel(f->cp, id), UCP_OK);
    } else {
      assert_int_equal(ucp_unsubscribe(f->cp, id), UCP_OK);
      assert_int_equal(wait_done(&r, 5000), 0);
      assert_int_equal(r.status, UCP_OK);
    }
    pthread_join(t, NULL);
    close(d.listen_fd);
    if (!d.got_unsubscribe)
      fail_msg("no UNSUBSCRIBE after %s", by_cancel ? "cancel" : "unsubscribe");
    sr_destroy(&r);
  }
}

/* The device goes away during a short grant: the renewal fails, the
 * resubscribes fail, and the subscription is reported LOST and completes
 * with the error (never a silent wait, never a spinning timer). */
static void test_device_gone_is_lost(void **state) {
  fx *f = *state;
  ucp_sim *sim = test_sim_start();
  assert_non_null(sim);
  char url[160];
  snprintf(url, sizeof url, "%s/evt/SwitchPower?timeout_cap=2",
           ucp_sim_base_url(sim));
  sub_rec r;
  sr_init(&r);
  subscribe(f, &r, url, 0);
  assert_true(wait_ev(&r, 0, UCP_EVENT_NOTIFY, 0, 5000) >= 0);
  ucp_sim_stop(sim);
  int l = wait_ev(&r, 0, UCP_EVENT_STATE, UCP_SUB_LOST, 20000);
  assert_true(l >= 0);
  assert_int_equal(wait_done(&r, 2000), 0);
  assert_int_not_equal(r.status, UCP_OK);
  sr_destroy(&r);
}

/* 1,000 subscriptions across 100 simulated devices. */
static void test_thousand_subscriptions(void **state) {
  (void)state;
  ucp_sim_opts so;
  memset(&so, 0, sizeof so);
  so.devices = 100;
  ucp_sim *sim;
  assert_int_equal(ucp_sim_start(&so, &sim), 0);
  ucp_cp_opts *o = ucp_cp_opts_new();
  ucp_cp_opts_set_limit(o, UCP_LIMIT_HTTP_PER_HOST, 4);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(o, &cp), UCP_OK);
  ucp_cp_opts_free(o);
  enum { N = 1000 };
  sub_rec *r = calloc(N, sizeof *r);
  uint64_t *ids = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) {
    sr_init(&r[i]);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/evt/SwitchPower",
             ucp_sim_device_port(sim, i % 100));
    assert_int_equal(ucp_subscribe_url(cp, url, NULL, NULL, NULL, NULL,
                                       on_event, on_done, &r[i], &ids[i]),
                     UCP_OK);
  }
  int initial = 0;
  for (int i = 0; i < N; i++)
    if (wait_ev(&r[i], 0, UCP_EVENT_NOTIFY, 0, 30000) >= 0) initial++;
  assert_int_equal(initial, N);
  assert_int_equal(ucp_sim_subscriptions(sim), N);
  for (int i = 0; i < N; i++) assert_int_equal(ucp_unsubscribe(cp, ids[i]), UCP_OK);
  for (int i = 0; i < N; i++) {
    assert_int_equal(wait_done(&r[i], 30000), 0);
    assert_int_equal(r[i].status, UCP_OK);
    sr_destroy(&r[i]);
  }
  assert_int_equal(ucp_sim_subscriptions(sim), 0);
  free(r);
  free(ids);
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subscribe_events_unsubscribe),
      cmocka_unit_test(test_renewal),
      cmocka_unit_test(test_412_on_renewal_resubscribes),
      cmocka_unit_test(test_gap_resubscribes),
      cmocka_unit_test(test_unreachable_reported),
      cmocka_unit_test(test_notify_before_answer_is_held),
      cmocka_unit_test(test_reboot_resubscribes),
      cmocka_unit_test(test_destroy_unsubscribes),
      cmocka_unit_test(test_callback_server_codes),
      cmocka_unit_test(test_callback_server_per_ip_limit),
      cmocka_unit_test(test_ended_during_subscribe_leaves_nothing),
      cmocka_unit_test(test_device_gone_is_lost),
      cmocka_unit_test(test_thousand_subscriptions),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
