/*
 * sim_gena.c - the simulator's eventing side (UDA 2.0 section 4).
 *
 * Subscriptions live in one list per (device, service) under g->lock.
 * Events are queued per subscription and sent by one thread on a libcurl
 * multi handle with at most one NOTIFY in flight per subscription, so a
 * subscriber sees its SEQs in order. Lock order: the device lock
 * (sim_soap.c), then g->lock; nothing waits on the network while either
 * is held. sim.c does the HTTP side; the behaviour is documented in sim.h.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define GENA_TIMEOUT_DEF 1800u /* no TIMEOUT header; also the default cap */
#define GENA_MAX_SUBS_DEF 4096u
#define GENA_QUEUE_MAX 16384u /* events waiting, all subscriptions */
#define GENA_INFLIGHT_MAX 64u
#define GENA_CONNECT_MS 2000L
#define GENA_TOTAL_MS 5000L
#define GENA_EARLY_MS 2000u /* early_notify: the longest the 200 waits */
#define GENA_URL_MAX 1024u
#define GENA_POLL_MS 100u /* the sender's longest sleep; expiry sweeps */
#define GENA_BODY_MAX 2048u
#define GENA_REPLY_MAX 65536u /* bytes of a NOTIFY's answer read */

#define GENA_OF(p, type, member) \
  ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ------------------------------------------------------------------ */
/* Lists and types                                                    */
/* ------------------------------------------------------------------ */

/* Circular doubly-linked list; a node not in a list points to itself. */
typedef struct gena_link {
  struct gena_link *prev, *next;
} gena_link;

static void link_init(gena_link *l) { l->prev = l->next = l; }

static bool link_on(const gena_link *l) { return l->next != l; }

static void link_add(gena_link *head, gena_link *l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}

static void link_del(gena_link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  link_init(l);
}

typedef enum {
  GF_NONE,
  GF_SKIP_SEQ,
  GF_NO_INITIAL,
  GF_RENEW_412,
  GF_SLOW,
  GF_EARLY,
  GF_NO_EVENTS,
  GF_COUNT
} gena_fault;

static const char *const gena_fault_names[GF_COUNT] = {
    "", "skip_seq", "no_initial", "renew_412", "slow_notify", "early_notify",
    "no_events"};

typedef struct gena_msg {
  struct gena_msg *next;
  uint32_t seq;
  bool initial;
  uint64_t ready_ms; /* slow_notify: not before this; 0 = not yet due */
  size_t len;
  char body[];
} gena_msg;

typedef struct gena_sub {
  gena_link node; /* in its (device, service) list */
  gena_link work; /* in g->work while a message may be started */
  uint64_t id;    /* never reused; names it to sim.c */
  char sid[48];
  char *url;
  int dev, svc;
  gena_fault fault;
  unsigned slow_ms, cap_s;
  uint64_t expires_ms;
  uint32_t seq;    /* the next SEQ */
  unsigned events; /* events after the initial one (skip_seq) */
  gena_msg *qhead, *qtail;
  bool held; /* the initial event waits until the 200 was sent */
  bool in_flight, dead, initial_done;
} gena_sub;

/* One NOTIFY in flight; sender thread only. */
typedef struct gena_xfer {
  gena_link link; /* in g->xfers */
  gena_sub *sub;
  CURL *easy;
  struct curl_slist *hdrs;
  size_t got; /* answer bytes */
  bool initial;
} gena_xfer;

struct ucp__sim_gena {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* an initial event done, a subscription gone, stop */
  bool sync_ok, curl_ok, thread_started;
  pthread_t thread;
  bool stopping; /* under lock */
  ucp__sim_ctl *ctl;
  int ndevs;
  unsigned cap_s, max_subs;
  gena_link *lists; /* [dev * UCP__SIM_NSVC + svc] */
  gena_link work;   /* subscriptions with a message to start */
  gena_link xfers;  /* sender thread only */
  size_t nsubs, queued;
  unsigned inflight;
  uint64_t next_id, next_sweep_ms;
  CURLM *multi;
  atomic_uint_fast64_t sent, failures, dropped;
};

static uint64_t gena_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void gena_wake(ucp__sim_gena *g) { curl_multi_wakeup(g->multi); }

/* ------------------------------------------------------------------ */
/* Subscriptions                                                      */
/* ------------------------------------------------------------------ */

static gena_link *gena_list(ucp__sim_gena *g, int dev, int svc) {
  return &g->lists[dev * UCP__SIM_NSVC + svc];
}

static bool gena_live(const gena_sub *s, uint64_t now) {
  return !s->dead && now < s->expires_ms;
}

static gena_sub *gena_find_sid_locked(ucp__sim_gena *g, int dev, int svc,
                                      const char *sid, uint64_t now) {
  gena_link *h = gena_list(g, dev, svc);
  for (gena_link *l = h->next; l != h; l = l->next) {
    gena_sub *s = GENA_OF(l, gena_sub, node);
    if (strcmp(s->sid, sid) == 0) return gena_live(s, now) ? s : NULL;
  }
  return NULL;
}

static gena_sub *gena_find_id_locked(ucp__sim_gena *g, int dev, int svc,
                                     uint64_t id) {
  gena_link *h = gena_list(g, dev, svc);
  for (gena_link *l = h->next; l != h; l = l->next)
    if (GENA_OF(l, gena_sub, node)->id == id) return GENA_OF(l, gena_sub, node);
  return NULL;
}

static void gena_sub_free(gena_sub *s) {
  free(s->url);
  free(s);
}

static void gena_msgs_free_locked(ucp__sim_gena *g, gena_sub *s) {
  while (s->qhead) {
    gena_msg *m = s->qhead;
    s->qhead = m->next;
    free(m);
    g->queued--;
  }
  s->qtail = NULL;
}

/* Forgets s; a NOTIFY in flight keeps the memory until it ends. */
static void gena_remove_locked(ucp__sim_gena *g, gena_sub *s) {
  link_del(&s->node);
  link_del(&s->work);
  gena_msgs_free_locked(g, s);
  g->nsubs--;
  s->dead = true;
  if (!s->in_flight) gena_sub_free(s);
  pthread_cond_broadcast(&g->cond);
}

static void gena_sweep_locked(ucp__sim_gena *g, uint64_t now) {
  for (int i = 0; i < g->ndevs * UCP__SIM_NSVC; i++) {
    gena_link *h = &g->lists[i];
    for (gena_link *l = h->next, *nx; l != h; l = nx) {
      nx = l->next;
      gena_sub *s = GENA_OF(l, gena_sub, node);
      if (!gena_live(s, now)) gena_remove_locked(g, s);
    }
  }
}

/* ------------------------------------------------------------------ */
/* Events                                                             */
/* ------------------------------------------------------------------ */

static void gena_fmt(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void gena_fmt(char *buf, size_t cap, size_t *off, const char *fmt,
                     ...) {
  if (*off >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *off, cap - *off, fmt, ap);
  va_end(ap);
  *off = k < 0 ? cap : *off + (size_t)k;
}

/* UDA 2.0 section 4.3.2. Names and values come from the sim's own tables
 * (numbers, allowedValueList words): nothing to escape. 0 if too long. */
static size_t gena_body(const ucp__sim_prop *p, int n, char *buf,
                        size_t cap) {
  size_t off = 0;
  gena_fmt(buf, cap, &off, "<?xml version=\"1.0\"?>\n<e:propertyset "
                           "xmlns:e=\"urn:schemas-upnp-org:event-1-0\">");
  for (int i = 0; i < n; i++)
    gena_fmt(buf, cap, &off, "<e:property><%s>%s</%s></e:property>",
             p[i].name, p[i].val, p[i].name);
  gena_fmt(buf, cap, &off, "</e:propertyset>");
  return off < cap ? off : 0;
}

/* UDA 2.0 section 4.3.1: 0 is the initial event; wraps to 1, not 0. */
static uint32_t gena_take_seq(gena_sub *s) {
  uint32_t seq = s->seq;
  s->seq = seq == UINT32_MAX ? 1u : seq + 1u;
  return seq;
}

static void gena_ready_locked(ucp__sim_gena *g, gena_sub *s) {
  if (s->qhead && !s->held && !s->in_flight && !s->dead && !link_on(&s->work))
    link_add(&g->work, &s->work);
}

static void gena_initial_done_locked(ucp__sim_gena *g, gena_sub *s) {
  s->initial_done = true;
  pthread_cond_broadcast(&g->cond);
}

/* Queues an event for s; when the queue is full it is dropped, counted,
 * and its SEQ stays used (the subscriber sees a gap). */
static void gena_queue_locked(ucp__sim_gena *g, gena_sub *s, const char *body,
                              size_t len, uint32_t seq, bool initial) {
  gena_msg *m = g->queued < GENA_QUEUE_MAX ? malloc(sizeof *m + len) : NULL;
  if (!m) {
    atomic_fetch_add(&g->dropped, 1);
    if (initial) gena_initial_done_locked(g, s);
    return;
  }
  m->next = NULL;
  m->seq = seq;
  m->initial = initial;
  m->ready_ms = 0;
  m->len = len;
  memcpy(m->body, body, len);
  if (s->qtail)
    s->qtail->next = m;
  else
    s->qhead = m;
  s->qtail = m;
  g->queued++;
  gena_ready_locked(g, s);
}

/* One change event for s; false if nothing was queued. */
static bool gena_event_one_locked(ucp__sim_gena *g, gena_sub *s,
                                  const char *body, size_t len) {
  if (s->fault == GF_SKIP_SEQ && ++s->events == 2) gena_take_seq(s);
  uint32_t seq = gena_take_seq(s);
  if (s->fault == GF_NO_EVENTS) return false;
  gena_queue_locked(g, s, body, len, seq, false);
  return true;
}

void ucp__sim_gena_event_locked(ucp__sim_gena *g, int dev, int svc,
                                const ucp__sim_prop *p, int n) {
  char body[GENA_BODY_MAX];
  size_t len = gena_body(p, n, body, sizeof body);
  if (!g || !len || dev < 0 || dev >= g->ndevs || svc < 0 ||
      svc >= UCP__SIM_NSVC)
    return;
  uint64_t now = gena_now_ms();
  bool wake = false;
  pthread_mutex_lock(&g->lock);
  gena_link *h = gena_list(g, dev, svc);
  for (gena_link *l = h->next; !g->stopping && l != h; l = l->next) {
    gena_sub *s = GENA_OF(l, gena_sub, node);
    if (gena_live(s, now) && gena_event_one_locked(g, s, body, len))
      wake = true;
  }
  pthread_mutex_unlock(&g->lock);
  if (wake) gena_wake(g);
}

/* ------------------------------------------------------------------ */
/* The sender: NOTIFY requests on a libcurl multi handle              */
/* ------------------------------------------------------------------ */

static size_t gena_on_reply(char *p, size_t size, size_t n, void *ud) {
  gena_xfer *x = ud;
  (void)p;
  x->got += size * n;
  return x->got > GENA_REPLY_MAX ? 0 : size * n; /* 0 aborts: a failure */
}

/* UDA 2.0 section 4.3.2. curl adds HOST and Content-Length. */
static struct curl_slist *gena_headers(const gena_sub *s, const gena_msg *m) {
  char sid[80], seq[32];
  snprintf(sid, sizeof sid, "SID: %s", s->sid);
  snprintf(seq, sizeof seq, "SEQ: %u", (unsigned)m->seq);
  const char *const h[] = {"CONTENT-TYPE: text/xml; charset=\"utf-8\"",
                           "NT: upnp:event", "NTS: upnp:propchange", sid, seq,
                           "Expect:", "Accept:"};
  struct curl_slist *l = NULL;
  for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
    struct curl_slist *nl = curl_slist_append(l, h[i]);
    if (!nl) {
      curl_slist_free_all(l);
      return NULL;
    }
    l = nl;
  }
  return l;
}

static int gena_setopts(gena_xfer *x, const char *url, const gena_msg *m) {
  CURL *e = x->easy;
  bool bad = false;
  bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "NOTIFY") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)m->len) != CURLE_OK;
  const char *body = m->body; /* curl's type check cannot size body[] */
  bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, GENA_CONNECT_MS) !=
         CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, GENA_TOTAL_MS) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                          (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK;
#endif
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gena_on_reply) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
  return bad ? -1 : 0;
}

static void gena_xfer_free(gena_xfer *x) {
  if (!x) return;
  if (x->easy) curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->hdrs);
  free(x);
}

/* The body is copied (CURLOPT_COPYPOSTFIELDS): m may be freed after. */
static gena_xfer *gena_xfer_new(gena_sub *s, const gena_msg *m) {
  gena_xfer *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  link_init(&x->link);
  x->sub = s;
  x->initial = m->initial;
  if (!(x->easy = curl_easy_init()) || !(x->hdrs = gena_headers(s, m)) ||
      gena_setopts(x, s->url, m) != 0) {
    gena_xfer_free(x);
    return NULL;
  }
  return x;
}

/* Pops s's first message and starts its NOTIFY (s is off g->work). */
static void gena_start_locked(ucp__sim_gena *g, gena_sub *s) {
  gena_msg *m = s->qhead;
  s->qhead = m->next;
  if (!s->qhead) s->qtail = NULL;
  g->queued--;
  gena_xfer *x = gena_xfer_new(s, m);
  if (x && curl_multi_add_handle(g->multi, x->easy) == CURLM_OK) {
    link_add(&g->xfers, &x->link);
    s->in_flight = true;
    g->inflight++;
  } else {
    gena_xfer_free(x);
    atomic_fetch_add(&g->failures, 1);
    if (m->initial) gena_initial_done_locked(g, s);
    gena_ready_locked(g, s);
  }
  free(m);
}

/* Starts what may go now; returns how long the sender may sleep (ms). */
static int gena_start_ready_locked(ucp__sim_gena *g, uint64_t now) {
  uint64_t wait = GENA_POLL_MS;
  gena_link *h = &g->work;
  for (gena_link *l = h->next, *nx; l != h; l = nx) {
    nx = l->next;
    if (g->inflight >= GENA_INFLIGHT_MAX) break;
    gena_sub *s = GENA_OF(l, gena_sub, work);
    if (!gena_live(s, now)) { /* expired: no NOTIFY after that */
      gena_remove_locked(g, s);
      continue;
    }
    gena_msg *m = s->qhead;
    if (s->slow_ms && !m->ready_ms) m->ready_ms = now + s->slow_ms;
    if (m->ready_ms > now) {
      if (m->ready_ms - now < wait) wait = m->ready_ms - now;
      continue;
    }
    link_del(&s->work);
    gena_start_locked(g, s); /* a failed start re-adds s at the tail */
  }
  return (int)wait;
}

/* A NOTIFY ended: ok 1 (2xx), 0 (failed), -1 (aborted at stop: not
 * counted). The next event of the subscription may go. */
static void gena_done(ucp__sim_gena *g, gena_xfer *x, int ok) {
  if (ok >= 0) atomic_fetch_add(ok ? &g->sent : &g->failures, 1);
  pthread_mutex_lock(&g->lock);
  gena_sub *s = x->sub;
  s->in_flight = false;
  g->inflight--;
  if (x->initial) gena_initial_done_locked(g, s);
  if (s->dead)
    gena_sub_free(s);
  else
    gena_ready_locked(g, s);
  pthread_mutex_unlock(&g->lock);
  link_del(&x->link);
  gena_xfer_free(x);
}

static void gena_collect(ucp__sim_gena *g) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(g->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *e = msg->easy_handle;
    CURLcode rc = msg->data.result; /* msg dies with the remove below */
    long code = 0;
    char *priv = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    curl_multi_remove_handle(g->multi, e);
    gena_done(g, (gena_xfer *)(void *)priv,
              rc == CURLE_OK && code >= 200 && code < 300);
  }
}

static void gena_abort_all(ucp__sim_gena *g) {
  while (link_on(&g->xfers)) {
    gena_xfer *x = GENA_OF(g->xfers.next, gena_xfer, link);
    curl_multi_remove_handle(g->multi, x->easy);
    gena_done(g, x, -1);
  }
}

static void gena_pump(ucp__sim_gena *g, int wait_ms) {
  int running = 0;
  curl_multi_perform(g->multi, &running);
  gena_collect(g);
  curl_multi_poll(g->multi, NULL, 0, wait_ms, NULL);
  curl_multi_perform(g->multi, &running);
  gena_collect(g);
}

static void *gena_main(void *arg) {
  ucp__sim_gena *g = arg;
  pthread_mutex_lock(&g->lock);
  while (!g->stopping) {
    uint64_t now = gena_now_ms();
    if (now >= g->next_sweep_ms) {
      gena_sweep_locked(g, now);
      g->next_sweep_ms = now + GENA_POLL_MS;
    }
    int wait_ms = gena_start_ready_locked(g, now);
    pthread_mutex_unlock(&g->lock);
    gena_pump(g, wait_ms);
    pthread_mutex_lock(&g->lock);
  }
  pthread_mutex_unlock(&g->lock);
  gena_abort_all(g);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Requests: SUBSCRIBE, renewal, UNSUBSCRIBE (UDA 2.0 section 4.1)    */
/* ------------------------------------------------------------------ */

static void gena_err(ucp__sim_gena_ans *a, unsigned status, const char *t) {
  a->status = status;
  a->text = t;
}

/* "Second-N" or "Second-infinite" (UDA 2.0 section 4.1.1), any case;
 * NULL = the default. *secs = UINT64_MAX for infinite. 0 / -1. */
static int gena_parse_timeout(const char *v, uint64_t *secs) {
  *secs = GENA_TIMEOUT_DEF;
  if (!v) return 0;
  v += strspn(v, " \t");
  if (strncasecmp(v, "Second-", 7) != 0) return -1;
  v += 7;
  size_t n = strcspn(v, " \t");
  if (v[n + strspn(v + n, " \t")] != '\0' || n == 0) return -1;
  if (n == 8 && strncasecmp(v, "infinite", 8) == 0) {
    *secs = UINT64_MAX;
    return 0;
  }
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    x = x > UINT32_MAX ? x : x * 10 + (uint64_t)(v[i] - '0');
  }
  *secs = x;
  return 0;
}

/* want clamped to [1, min(caps)]. */
static unsigned gena_grant(uint64_t want, uint64_t cap1, uint64_t cap2) {
  uint64_t cap = cap1 < cap2 ? cap1 : cap2;
  if (want > cap) want = cap;
  return want < 1 ? 1u : (unsigned)want;
}

static bool gena_ip_literal(const char *host) {
  unsigned char a[16];
  size_t n = strlen(host);
  if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n < 64) {
    char v6[64];
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = '\0';
    return inet_pton(AF_INET6, v6, a) == 1;
  }
  return inet_pton(AF_INET, host, a) == 1;
}

/* http://<IP literal>[:port][/path], no userinfo: nothing to resolve. */
static bool gena_url_ok(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
  bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            strcmp(scheme, "http") == 0 &&
            curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
            curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) ==
                CURLUE_NO_PASSWORD &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            gena_ip_literal(host);
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_free(pass);
  curl_url_cleanup(u);
  return ok;
}

/* CALLBACK: <URL>[<URL>...]: a copy of the first usable one, or NULL. */
static char *gena_callback(const char *v) {
  for (const char *p = v; (p = strchr(p, '<')) != NULL;) {
    const char *e = strchr(++p, '>');
    if (!e) return NULL;
    size_t n = (size_t)(e - p);
    char buf[GENA_URL_MAX + 1];
    if (n > 0 && n <= GENA_URL_MAX) {
      memcpy(buf, p, n);
      buf[n] = '\0';
      if (gena_url_ok(buf)) return strdup(buf);
    }
    p = e + 1;
  }
  return NULL;
}

/* A random (version 4) uuid; getrandom(2) should not fail, but if it
 * does a weaker mix still keeps SIDs distinct. */
static void gena_make_sid(char *out, size_t cap, uint64_t salt) {
  unsigned char b[16];
  if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
    uint64_t x = gena_now_ms() ^ (salt * 0x9e3779b97f4a7c15ull) ^
                 (uint64_t)(uintptr_t)out;
    for (size_t i = 0; i < sizeof b; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      b[i] = (unsigned char)(x >> 56);
    }
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  size_t off = (size_t)snprintf(out, cap, "uuid:");
  for (size_t i = 0; i < sizeof b && off + 3 < cap; i++) {
    bool dash = i == 4 || i == 6 || i == 8 || i == 10;
    off += (size_t)snprintf(out + off, cap - off, "%s%02x", dash ? "-" : "",
                            b[i]);
  }
}

/* GF_NONE for NULL, -1 for an unknown name. */
static int gena_fault_of(const char *name) {
  if (!name) return GF_NONE;
  for (int i = 1; i < GF_COUNT; i++)
    if (strcmp(name, gena_fault_names[i]) == 0) return i;
  return -1;
}

typedef struct gena_new {
  ucp__sim_gena *g;
  gena_sub *s;
  unsigned status; /* 200, or 503: full or stopping */
  uint64_t id;
  bool held;
} gena_new;

static void gena_initial_locked(ucp__sim_gena *g, gena_sub *s,
                                const char *body, size_t len) {
  if (s->fault == GF_NO_INITIAL || s->fault == GF_NO_EVENTS || !len) {
    s->seq = 1; /* SEQ 0 belongs to the initial event, never sent */
    s->initial_done = true;
    return;
  }
  s->held = s->fault != GF_EARLY;
  gena_queue_locked(g, s, body, len, gena_take_seq(s), true);
}

/* Under the device lock (ucp__sim_ctl_evented): registers the
 * subscription and queues its initial event with the values it sees,
 * so no change is missed or sent twice (UDA 2.0 section 4.2.1). */
static void gena_insert(void *arg, const ucp__sim_prop *p, int n) {
  gena_new *c = arg;
  ucp__sim_gena *g = c->g;
  gena_sub *s = c->s;
  char body[GENA_BODY_MAX];
  size_t len = gena_body(p, n, body, sizeof body);
  pthread_mutex_lock(&g->lock);
  if (g->nsubs >= g->max_subs) gena_sweep_locked(g, gena_now_ms());
  if (!g->stopping && g->nsubs < g->max_subs) {
    link_add(gena_list(g, s->dev, s->svc), &s->node);
    g->nsubs++;
    s->id = c->id = ++g->next_id;
    gena_initial_locked(g, s, body, len);
    c->held = s->held;
    c->status = 200;
  }
  pthread_mutex_unlock(&g->lock);
}

/* early_notify: until the initial NOTIFY ended, bounded, or stop. */
static void gena_wait_initial(ucp__sim_gena *g, int dev, int svc,
                              uint64_t id) {
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += GENA_EARLY_MS / 1000u;
  pthread_mutex_lock(&g->lock);
  for (;;) {
    gena_sub *s = gena_find_id_locked(g, dev, svc, id);
    if (g->stopping || !s || s->initial_done) break;
    if (pthread_cond_timedwait(&g->cond, &g->lock, &dl) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&g->lock);
}

static gena_sub *gena_sub_new(const ucp__sim_gena_req *rq, int fault,
                              char *url, unsigned grant, uint64_t cap) {
  gena_sub *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  link_init(&s->node);
  link_init(&s->work);
  s->url = url;
  s->dev = rq->dev;
  s->svc = rq->svc;
  s->fault = (gena_fault)fault;
  s->slow_ms = fault == GF_SLOW ? (unsigned)rq->ms : 0;
  s->cap_s = (unsigned)cap;
  s->expires_ms = gena_now_ms() + (uint64_t)grant * 1000u;
  gena_make_sid(s->sid, sizeof s->sid, (uint64_t)(uintptr_t)s);
  return s;
}

static void gena_subscribe(ucp__sim_gena *g, const ucp__sim_gena_req *rq,
                           int fault, ucp__sim_gena_ans *a) {
  uint64_t want;
  if (gena_parse_timeout(rq->timeout, &want) != 0)
    return gena_err(a, 400, "bad TIMEOUT\n");
  if (!rq->nt || !rq->callback)
    return gena_err(a, 412, "NT and CALLBACK required\n");
  if (strcmp(rq->nt, "upnp:event") != 0)
    return gena_err(a, 412, "NT is not upnp:event\n");
  char *url = gena_callback(rq->callback);
  if (!url) return gena_err(a, 412, "no usable CALLBACK URL\n");
  uint64_t cap = g->cap_s < rq->timeout_cap ? g->cap_s : rq->timeout_cap;
  cap = cap < 1 ? 1 : cap;
  unsigned grant = gena_grant(want, cap, cap);
  gena_new c = {g, gena_sub_new(rq, fault, url, grant, cap), 503, 0, false};
  if (!c.s) {
    free(url);
    return gena_err(a, 503, "out of memory\n");
  }
  snprintf(a->sid, sizeof a->sid, "%s", c.s->sid);
  ucp__sim_ctl_evented(g->ctl, rq->dev, rq->svc, gena_insert, &c);
  if (c.status != 200) {
    gena_sub_free(c.s);
    return gena_err(a, 503, "too many subscriptions\n");
  }
  a->status = 200;
  a->timeout_s = grant;
  a->release = c.held ? c.id : 0;
  gena_wake(g);
  if (fault == GF_EARLY) gena_wait_initial(g, rq->dev, rq->svc, c.id);
}

static void gena_renew(ucp__sim_gena *g, const ucp__sim_gena_req *rq,
                       ucp__sim_gena_ans *a) {
  uint64_t want, now = gena_now_ms();
  if (gena_parse_timeout(rq->timeout, &want) != 0)
    return gena_err(a, 400, "bad TIMEOUT\n");
  pthread_mutex_lock(&g->lock);
  gena_sub *s = gena_find_sid_locked(g, rq->dev, rq->svc, rq->sid, now);
  if (s && s->fault == GF_RENEW_412) { /* as if the device forgot it */
    gena_remove_locked(g, s);
    s = NULL;
  }
  if (s) {
    a->timeout_s = gena_grant(want, s->cap_s, rq->timeout_cap);
    s->expires_ms = now + (uint64_t)a->timeout_s * 1000u;
    snprintf(a->sid, sizeof a->sid, "%s", s->sid);
    a->status = 200;
  }
  pthread_mutex_unlock(&g->lock);
  if (!s) gena_err(a, 412, "unknown or expired SID\n");
}

static void gena_unsubscribe(ucp__sim_gena *g, const ucp__sim_gena_req *rq,
                             ucp__sim_gena_ans *a) {
  if (!rq->sid) return gena_err(a, 412, "SID required\n");
  pthread_mutex_lock(&g->lock);
  gena_sub *s =
      gena_find_sid_locked(g, rq->dev, rq->svc, rq->sid, gena_now_ms());
  if (s) gena_remove_locked(g, s);
  pthread_mutex_unlock(&g->lock);
  if (s)
    a->status = 200;
  else
    gena_err(a, 412, "unknown or expired SID\n");
}

static bool gena_stopping(ucp__sim_gena *g) {
  pthread_mutex_lock(&g->lock);
  bool stopping = g->stopping;
  pthread_mutex_unlock(&g->lock);
  return stopping;
}

void ucp__sim_gena_handle(ucp__sim_gena *g, const ucp__sim_gena_req *rq,
                          ucp__sim_gena_ans *a) {
  memset(a, 0, sizeof *a);
  int fault = gena_fault_of(rq->fault);
  if (!g || rq->dev < 0 || rq->dev >= g->ndevs || rq->svc < 0 ||
      rq->svc >= UCP__SIM_NSVC || gena_stopping(g))
    return gena_err(a, 503, "not available\n");
  if (rq->sid && (rq->nt || rq->callback))
    return gena_err(a, 400, "SID together with NT or CALLBACK\n");
  if (fault < 0) return gena_err(a, 400, "unknown fault\n");
  if (rq->unsubscribe) return gena_unsubscribe(g, rq, a);
  if (rq->sid) return gena_renew(g, rq, a);
  gena_subscribe(g, rq, fault, a);
}

void ucp__sim_gena_release(ucp__sim_gena *g, int dev, int svc, uint64_t id) {
  if (!g || dev < 0 || dev >= g->ndevs || svc < 0 || svc >= UCP__SIM_NSVC)
    return;
  bool wake = false;
  pthread_mutex_lock(&g->lock);
  gena_sub *s = gena_find_id_locked(g, dev, svc, id);
  if (s && s->held) {
    s->held = false;
    gena_ready_locked(g, s);
    wake = true;
  }
  pthread_mutex_unlock(&g->lock);
  if (wake) gena_wake(g);
}

/* ------------------------------------------------------------------ */
/* Life cycle and accessors                                           */
/* ------------------------------------------------------------------ */

static int gena_init_sync(ucp__sim_gena *g) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) return -1;
  int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (rc == 0 && pthread_cond_init(&g->cond, &ca) == 0) {
    if (pthread_mutex_init(&g->lock, NULL) == 0)
      g->sync_ok = true;
    else
      pthread_cond_destroy(&g->cond);
  }
  pthread_condattr_destroy(&ca);
  return g->sync_ok ? 0 : -1;
}

static int gena_init(ucp__sim_gena *g, const ucp__sim_gena_cfg *cfg,
                     ucp__sim_ctl *ctl) {
  g->ctl = ctl;
  g->ndevs = cfg->ndevs > 0 ? cfg->ndevs : 1;
  g->cap_s = cfg->timeout_cap_s ? cfg->timeout_cap_s : GENA_TIMEOUT_DEF;
  g->max_subs = cfg->max_subs ? cfg->max_subs : GENA_MAX_SUBS_DEF;
  link_init(&g->work);
  link_init(&g->xfers);
  if (gena_init_sync(g) != 0) return -1;
  size_t nl = (size_t)g->ndevs * UCP__SIM_NSVC;
  if (!(g->lists = calloc(nl, sizeof *g->lists))) return -1;
  for (size_t i = 0; i < nl; i++) link_init(&g->lists[i]);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  g->curl_ok = true;
  if (!(g->multi = curl_multi_init())) return -1;
  /* Like a real device, few connections to one control point: at most
   * 16 open per callback host (its server caps connections per address). */
  curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
  curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, 32L);
  return 0;
}

int ucp__sim_gena_new(const ucp__sim_gena_cfg *cfg, ucp__sim_ctl *ctl,
                      ucp__sim_gena **out) {
  *out = NULL;
  ucp__sim_gena *g = calloc(1, sizeof *g);
  if (!g) return -1;
  if (gena_init(g, cfg, ctl) != 0 ||
      pthread_create(&g->thread, NULL, gena_main, g) != 0) {
    ucp__sim_gena_free(g);
    return -1;
  }
  g->thread_started = true;
  *out = g;
  return 0;
}

void ucp__sim_gena_stop(ucp__sim_gena *g) {
  if (!g || !g->sync_ok) return;
  pthread_mutex_lock(&g->lock);
  g->stopping = true;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
  if (g->multi) gena_wake(g);
  if (g->thread_started) pthread_join(g->thread, NULL);
  g->thread_started = false;
}

void ucp__sim_gena_free(ucp__sim_gena *g) {
  if (!g) return;
  ucp__sim_gena_stop(g); /* no NOTIFY in flight after this */
  for (int i = 0; g->lists && i < g->ndevs * UCP__SIM_NSVC; i++)
    while (link_on(&g->lists[i]))
      gena_remove_locked(g, GENA_OF(g->lists[i].next, gena_sub, node));
  free(g->lists);
  if (g->multi) curl_multi_cleanup(g->multi);
  if (g->curl_ok) curl_global_cleanup();
  if (g->sync_ok) {
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
  }
  free(g);
}

void ucp__sim_gena_drop_all(ucp__sim_gena *g) {
  if (!g) return;
  pthread_mutex_lock(&g->lock);
  for (int i = 0; i < g->ndevs * UCP__SIM_NSVC; i++)
    while (link_on(&g->lists[i]))
      gena_remove_locked(g, GENA_OF(g->lists[i].next, gena_sub, node));
  pthread_mutex_unlock(&g->lock);
}

int ucp__sim_gena_set_next_seq(ucp__sim_gena *g, const char *sid,
                               uint32_t seq) {
  if (!g) return -1;
  uint64_t now = gena_now_ms();
  gena_sub *s = NULL;
  pthread_mutex_lock(&g->lock);
  for (int i = 0; !s && i < g->ndevs * UCP__SIM_NSVC; i++)
    s = gena_find_sid_locked(g, i / UCP__SIM_NSVC, i % UCP__SIM_NSVC, sid,
                             now);
  if (s) s->seq = seq;
  pthread_mutex_unlock(&g->lock);
  return s ? 0 : -1;
}

size_t ucp__sim_gena_subscriptions(ucp__sim_gena *g) {
  if (!g) return 0;
  pthread_mutex_lock(&g->lock);
  gena_sweep_locked(g, gena_now_ms());
  size_t n = g->nsubs;
  pthread_mutex_unlock(&g->lock);
  return n;
}

static uint64_t gena_counter(const atomic_uint_fast64_t *c) {
  return (uint64_t)atomic_load((atomic_uint_fast64_t *)(uintptr_t)c);
}

uint64_t ucp__sim_gena_sent(const ucp__sim_gena *g) {
  return g ? gena_counter(&g->sent) : 0;
}

uint64_t ucp__sim_gena_failures(const ucp__sim_gena *g) {
  return g ? gena_counter(&g->failures) : 0;
}

uint64_t ucp__sim_gena_dropped(const ucp__sim_gena *g) {
  return g ? gena_counter(&g->dropped) : 0;
}
