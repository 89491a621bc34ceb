/* server.c - the GENA callback server: see server.h. Everything runs on
 * the loop thread; the path table keeps its lock so that it stays safe if
 * the server ever gets a thread again. */
#include "server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "../http/http.h"

enum { NBUCKETS = 1024, PER_IP_CONNS = 64 };

typedef struct entry {
  struct entry *next;
  char path[UCP__EVT_PATH_LEN];
  char sid[128];
  void *sub;
  const ucp__evt_sink *sink;
} entry;

typedef struct srv srv;

typedef struct daemon_rec {
  struct daemon_rec *next;
  srv *s;
  ucp_cp *cp;
  struct MHD_Daemon *d;
  uv_poll_t poll;   /* MHD's epoll fd, on the control point's loop */
  uv_timer_t timer; /* MHD's connection timeouts */
  int handles;      /* open uv handles: freed at 0 */
  char ip[INET_ADDRSTRLEN];
  unsigned port;
  char host[INET_ADDRSTRLEN + 8]; /* "ip:port", what Host must say */
} daemon_rec;

typedef struct ucp__evt_unsub {
  struct ucp__evt_unsub *next;
  srv *s;
  ucp__http_req *req; /* UNSUBSCRIBE, or an adopted SUBSCRIBE */
  int sent;            /* the UNSUBSCRIBE went out whole: not sent again */
  const char *headers[2];
  char sid_header[140];
  char pin[48];
  char url[];
} unsub;

struct srv {
  ucp_cp *cp;
  uv_mutex_t lock;
  entry *buckets[NBUCKETS];
  daemon_rec *daemons;
  size_t body_cap;
  unsub *unsubs;
  int closing; /* srv_close runs: requests end without touching the list */
};

/* ------------------------------------------------------------ the table */

static unsigned bucket_of(const char *path) {
  unsigned h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h % NBUCKETS;
}

/* Under the lock. */
static entry **find_slot(srv *s, const char *path) {
  entry **pp = &s->buckets[bucket_of(path)];
  while (*pp && strcmp((*pp)->path, path) != 0) pp = &(*pp)->next;
  return pp;
}

/* ------------------------------------------------------------ the MHD side */

typedef struct req_ctx {
  unsigned code; /* 0 while acceptable, else the answer */
  char path[UCP__EVT_PATH_LEN];
  char sid[128];
  uint32_t seq;
  char *body;
  size_t len, cap;
} req_ctx;

static const char *hdr(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static int parse_seq(const char *v, uint32_t *out) {
  if (!v || !*v) return -1;
  uint64_t n = 0;
  for (; *v; v++) {
    if (*v < '0' || *v > '9') return -1;
    n = n * 10 + (uint64_t)(*v - '0');
    if (n > UINT32_MAX) return -1;
  }
  *out = (uint32_t)n;
  return 0;
}

/* The UDA status for the request's headers (0: acceptable). */
static unsigned check_headers(daemon_rec *dr, struct MHD_Connection *c,
                              const char *method, const char *url,
                              req_ctx *r) {
  if (strcmp(method, "NOTIFY") != 0) return 405;
  if (strlen(url) >= sizeof r->path) return 404;
  const char *host = hdr(c, "Host");
  if (!host || strcmp(host, dr->host) != 0) return 400; /* DNS rebinding */
  const char *nt = hdr(c, "NT"), *nts = hdr(c, "NTS");
  if (!nt || !nts) return 400;
  if (strcmp(nt, "upnp:event") != 0 || strcmp(nts, "upnp:propchange") != 0)
    return 412;
  const char *sid = hdr(c, "SID");
  if (!sid || !*sid || strlen(sid) >= sizeof r->sid) return 412;
  if (parse_seq(hdr(c, "SEQ"), &r->seq) != 0) return 400;
  srv *s = dr->s;
  uv_mutex_lock(&s->lock);
  entry *e = *find_slot(s, url);
  unsigned code = !e ? 404 : (e->sid[0] && strcmp(e->sid, sid) != 0) ? 412 : 0;
  uv_mutex_unlock(&s->lock);
  if (code) return code;
  strcpy(r->path, url);
  strcpy(r->sid, sid);
  return 0;
}

static void take_body(srv *s, req_ctx *r, const char *data, size_t n) {
  if (r->code) return;
  if (n > s->body_cap - r->len) {
    r->code = 413;
    return;
  }
  if (ucp__bytes_append(&r->body, &r->len, &r->cap, data, n) != 0)
    r->code = 503;
}

/* The whole body is in (this runs on the loop: MHD is driven by it):
 * parse it and hand it to the subscription that owns the path. */
static unsigned deliver(srv *s, req_ctx *r) {
  ucp__gena_limits lim;
  ucp__gena_limits_default(&lim);
  lim.max_bytes = s->body_cap;
  char detail[256];
  ucp__notify n;
  memset(&n, 0, sizeof n);
  int rc = ucp__propset_parse(r->body ? r->body : "", r->len, &lim,
                              &n.props, detail, sizeof detail);
  if (rc != UCP_OK) return rc == UCP_E_NOMEM ? 503 : 400;
  uv_mutex_lock(&s->lock);
  entry *e = *find_slot(s, r->path);
  void *sub = e ? e->sub : NULL;
  const ucp__evt_sink *sink = e ? e->sink : NULL;
  uv_mutex_unlock(&s->lock);
  if (!sub) {
    ucp__propset_free(n.props);
    return 404;
  }
  strcpy(n.sid, r->sid);
  n.seq = r->seq;
  sink->on_notify(sub, &n); /* takes the propset */
  return 200;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  enum MHD_Result ok = MHD_queue_response(c, code, resp);
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **req_cls) {
  (void)version;
  daemon_rec *dr = cls;
  req_ctx *r = *req_cls;
  if (!r) { /* headers: judge them, then take the body */
    r = ucp__calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->code = check_headers(dr, c, method, url, r);
    *req_cls = r;
    return MHD_YES;
  }
  if (*data_size) {
    take_body(dr->s, r, data, *data_size);
    *data_size = 0;
    return MHD_YES;
  }
  unsigned code = r->code ? r->code : deliver(dr->s, r);
  ucp__cp_counter_add(dr->s->cp, code == 200 ? UCP_COUNTER_NOTIFY_RECEIVED
                                             : UCP_COUNTER_NOTIFY_DROPPED, 1);
  return reply(c, code);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  req_ctx *r = *req_cls;
  if (!r) return;
  ucp__free(r->body);
  ucp__free(r);
  *req_cls = NULL;
}

/* ------------------------------------------------------------ daemons */

int ucp__local_addr_for(const char *ip, char *out, size_t cap) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return UCP_E_NETWORK;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UCP_E_NETWORK;
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
           getsockname(fd, (struct sockaddr *)&me, &len) == 0 &&
           inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)cap) != NULL;
  close(fd);
  return ok ? UCP_OK : UCP_E_NETWORK;
}

/* ---- MHD on the loop: its epoll fd under a uv_poll, its timeouts on a
 * uv_timer; every callback of MHD then runs on the loop thread. */

static void on_mhd_timer(uv_timer_t *t);

static void mhd_pump(daemon_rec *dr) {
  MHD_run(dr->d);
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(dr->d, &ms) == MHD_YES)
    uv_timer_start(&dr->timer, on_mhd_timer, (uint64_t)ms, 0);
  else
    uv_timer_stop(&dr->timer);
}

static void on_mhd_timer(uv_timer_t *t) { mhd_pump(t->data); }

static void on_mhd_io(uv_poll_t *p, int status, int events) {
  (void)status, (void)events;
  mhd_pump(p->data);
}

static void on_daemon_handle_closed(uv_handle_t *h) {
  daemon_rec *dr = h->data;
  ucp__cp_handle_closed(dr->cp);
  if (--dr->handles == 0) ucp__free(dr);
}

static int daemon_attach(daemon_rec *dr) {
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(dr->d, MHD_DAEMON_INFO_EPOLL_FD);
  uv_loop_t *loop = ucp__cp_loop(dr->cp);
  if (!info || uv_timer_init(loop, &dr->timer) != 0) return -1;
  if (uv_poll_init(loop, &dr->poll, info->epoll_fd) != 0) {
    uv_close((uv_handle_t *)&dr->timer, NULL);
    return -1;
  }
  dr->poll.data = dr->timer.data = dr;
  dr->handles = 2;
  ucp__cp_handle_opened(dr->cp);
  ucp__cp_handle_opened(dr->cp);
  uv_unref((uv_handle_t *)&dr->timer);
  uv_unref((uv_handle_t *)&dr->poll);
  uv_poll_start(&dr->poll, UV_READABLE, on_mhd_io);
  return 0;
}

/* Loop thread: stop polling first (MHD closes its epoll fd), then MHD. */
static void daemon_close(daemon_rec *dr) {
  uv_close((uv_handle_t *)&dr->poll, on_daemon_handle_closed);
  uv_close((uv_handle_t *)&dr->timer, on_daemon_handle_closed);
  MHD_stop_daemon(dr->d);
}

/* NULL with *rc UCP_E_NOMEM, or UCP_E_NETWORK when MHD cannot listen. */
static daemon_rec *daemon_start(srv *s, const char *ip, unsigned port,
                                int *rc) {
  daemon_rec *dr = ucp__calloc(1, sizeof *dr);
  *rc = UCP_E_NOMEM;
  if (!dr) return NULL;
  *rc = UCP_E_NETWORK;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  dr->s = s;
  snprintf(dr->ip, sizeof dr->ip, "%s", ip);
  dr->cp = s->cp;
  dr->d = MHD_start_daemon(
      MHD_USE_EPOLL, /* no thread of its own: the loop drives it */
      (uint16_t)port, NULL,
      NULL, on_request, dr, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
      MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)ucp__cp_limit(s->cp, UCP_LIMIT_CALLBACK_CONNS),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_CONNS,
      MHD_OPTION_CONNECTION_TIMEOUT, 10u,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, dr, MHD_OPTION_END);
  if (!dr->d) {
    ucp__free(dr);
    return NULL;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(dr->d, MHD_DAEMON_INFO_BIND_PORT);
  dr->port = info ? info->port : port;
  snprintf(dr->host, sizeof dr->host, "%s:%u", ip, dr->port);
  if (daemon_attach(dr) != 0) {
    MHD_stop_daemon(dr->d);
    ucp__free(dr);
    return NULL;
  }
  return dr;
}

static daemon_rec *daemon_for(srv *s, const char *ip, unsigned port,
                              int *rc) {
  for (daemon_rec *dr = s->daemons; dr; dr = dr->next)
    if (strcmp(dr->ip, ip) == 0 && (!port || dr->port == port)) return dr;
  daemon_rec *dr = daemon_start(s, ip, port, rc);
  if (!dr) return NULL;
  dr->next = s->daemons;
  s->daemons = dr;
  return dr;
}

/* ------------------------------------------------------------ UNSUBSCRIBE */

static void unsub_free(unsub *u) {
  srv *s = u->s;
  for (unsub **pp = &s->unsubs; *pp; pp = &(*pp)->next)
    if (*pp == u) {
      *pp = u->next;
      break;
    }
  ucp__free(u);
}

/* Best effort: the device drops the subscription at its timeout anyway.
 * One that failed for want of memory stays for the flush at teardown. */
static void unsub_done(void *ctx, const ucp__http_outcome *o) {
  unsub *u = ctx;
  u->req = NULL;
  if (!u->s->closing && o->status != UCP_E_NOMEM) unsub_free(u);
}

static void unsub_progress(void *ctx, int phase, uint64_t now,
                           uint64_t total) {
  unsub *u = ctx;
  (void)now, (void)total;
  if (phase >= UCP_PHASE_WAITING) u->sent = 1;
}

static const ucp__http_sink unsub_sink = {NULL, NULL, unsub_progress,
                                          unsub_done};

static size_t discard(char *p, size_t size, size_t n, void *user) {
  (void)p, (void)user;
  return size * n;
}

/* At teardown the HTTP engine is gone: send what is left with a private
 * curl multi handle, every request at once, for at most one second. One
 * the engine had written whole is not sent again (the device has it; a
 * second one would only get 412). */
static void unsub_flush(srv *s) {
  CURLM *m = curl_multi_init();
  CURL *easies[256];
  struct curl_slist *lists[256];
  int n = 0;
  for (unsub *u = s->unsubs; u && m && n < 256; u = u->next) {
    if (!u->sid_header[0]) continue; /* an adopted SUBSCRIBE, unanswered */
    if (u->sent) continue;
    CURL *e = curl_easy_init();
    struct curl_slist *l = curl_slist_append(NULL, u->sid_header);
    if (!e || !l) {
      curl_easy_cleanup(e);
      curl_slist_free_all(l);
      continue;
    }
    curl_easy_setopt(e, CURLOPT_URL, (const char *)u->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "UNSUBSCRIBE");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_multi_add_handle(m, e);
    easies[n] = e;
    lists[n++] = l;
  }
  uint64_t end = ucp__now_ms() + 1000;
  int running = n;
  while (m && running > 0 && ucp__now_ms() < end) {
    curl_multi_perform(m, &running);
    if (running) curl_multi_poll(m, NULL, 0, 50, NULL);
  }
  for (int i = 0; i < n; i++) {
    curl_multi_remove_handle(m, easies[i]);
    curl_easy_cleanup(easies[i]);
    curl_slist_free_all(lists[i]);
  }
  if (m) curl_multi_cleanup(m);
}

/* An adopted SUBSCRIBE: remember the SID of its answer, then UNSUBSCRIBE
 * it through the same record. */
static int adopted_headers(void *ctx, int http_status, uint64_t len) {
  unsub *u = ctx;
  (void)len;
  const char *sid = ucp__http_header(u->req, "SID");
  if (http_status >= 200 && http_status <= 299 && sid && *sid)
    snprintf(u->sid_header, sizeof u->sid_header, "SID: %s", sid);
  return UCP_OK;
}

static void adopted_done(void *ctx, const ucp__http_outcome *o) {
  unsub *u = ctx;
  srv *s = u->s;
  (void)o;
  u->req = NULL;
  if (s->closing) return;
  if (!u->sid_header[0]) { /* not accepted: nothing to undo */
    unsub_free(u);
    return;
  }
  ucp__http_spec spec = {.method = "UNSUBSCRIBE",
                         .url = u->url,
                         .headers = u->headers,
                         .timeout_ms = 5000,
                         .max_body = 64 * 1024,
                         .pin_ip = u->pin[0] ? u->pin : NULL};
  u->headers[0] = u->sid_header;
  if (ucp__http_start(s->cp, &spec, &unsub_sink, u, &u->req) != UCP_OK)
    u->req = NULL; /* left for the flush at teardown */
}

static const ucp__http_sink adopted_sink = {adopted_headers, NULL, NULL,
                                            adopted_done};

static unsub *unsub_alloc(srv *s, const char *url, const char *pin_ip) {
  size_t n = strlen(url) + 1;
  unsub *u = ucp__calloc(1, sizeof *u + n);
  if (!u) return NULL;
  memcpy(u->url, url, n);
  u->s = s;
  if (pin_ip && strlen(pin_ip) < sizeof u->pin) strcpy(u->pin, pin_ip);
  return u;
}

/* The reserved record, or a new one; linked into the list. */
static unsub *unsub_take(ucp_cp *cp, const char *url, const char *pin_ip,
                         unsub *reserved) {
  srv *s = ucp__cp_ext(cp, UCP__EXT_GENA);
  unsub *u = reserved ? reserved : s ? unsub_alloc(s, url, pin_ip) : NULL;
  if (!u) return NULL;
  u->next = u->s->unsubs;
  u->s->unsubs = u;
  return u;
}

ucp__evt_unsub *ucp__evt_reserve(ucp_cp *cp, const char *url,
                                 const char *pin_ip) {
  srv *s = ucp__cp_ext(cp, UCP__EXT_GENA);
  return s ? unsub_alloc(s, url, pin_ip) : NULL;
}

void ucp__evt_reserve_free(ucp__evt_unsub *u) { ucp__free(u); }

void ucp__evt_adopt_subscribe(ucp_cp *cp, ucp__http_req *req,
                              const char *url, const char *pin_ip,
                              ucp__evt_unsub *reserved) {
  unsub *u = unsub_take(cp, url, pin_ip, reserved);
  if (!u) {
    ucp__http_abort(req);
    return;
  }
  if (ucp__http_retarget(req, &adopted_sink, u) != UCP_OK) {
    /* Out of memory: the SUBSCRIBE goes; if the device took it, the
     * subscription lapses at its timeout. */
    ucp__http_abort(req);
    unsub_free(u);
    return;
  }
  u->req = req;
}

void ucp__evt_unsubscribe_later(ucp_cp *cp, const char *url,
                                const char *pin_ip, const char *sid,
                                ucp__evt_unsub *reserved) {
  unsub *u = unsub_take(cp, url, pin_ip, reserved);
  if (!u) return;
  snprintf(u->sid_header, sizeof u->sid_header, "SID: %s", sid);
  u->headers[0] = u->sid_header;
  ucp__http_spec spec = {.method = "UNSUBSCRIBE",
                         .url = u->url,
                         .headers = u->headers,
                         .timeout_ms = 5000,
                         .max_body = 64 * 1024,
                         .pin_ip = u->pin[0] ? u->pin : NULL};
  if (ucp__http_start(cp, &spec, &unsub_sink, u, &u->req) != UCP_OK)
    u->req = NULL; /* left for the flush at teardown */
}

/* ------------------------------------------------------------ lifetime */

static void srv_close(void *ext) {
  srv *s = ext;

  for (daemon_rec *dr = s->daemons; dr;) { /* freed by close callbacks */
    daemon_rec *next = dr->next;
    daemon_close(dr);
    dr = next;
  }
  s->closing = 1; /* the engine is still up: abort through it */
  for (unsub *u = s->unsubs; u; u = u->next) {
    ucp__http_req *req = u->req;
    u->req = NULL;
    ucp__http_abort(req);
  }
  unsub_flush(s);
  while (s->unsubs) unsub_free(s->unsubs);
  for (size_t i = 0; i < NBUCKETS; i++)
    while (s->buckets[i]) {
      entry *e = s->buckets[i];
      s->buckets[i] = e->next;
      ucp__free(e);
    }
  uv_mutex_destroy(&s->lock);
  ucp__free(s);
}

static srv *srv_get(ucp_cp *cp) {
  srv *s = ucp__cp_ext(cp, UCP__EXT_GENA);
  if (s) return s;
  s = ucp__calloc(1, sizeof *s);
  if (!s) return NULL;
  if (uv_mutex_init(&s->lock) != 0) {
    ucp__free(s);
    return NULL;
  }
  s->cp = cp;
  s->body_cap = ucp__cp_limit(cp, UCP_LIMIT_NOTIFY_BYTES);
  ucp__cp_set_ext(cp, UCP__EXT_GENA, s, srv_close);
  return s;
}

static int random_path(char *path) {
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) return -1;
  char *p = path + sprintf(path, "/ucp/evt/");
  for (size_t i = 0; i < sizeof r; i++) p += sprintf(p, "%02x", r[i]);
  return 0;
}

int ucp__evt_register(ucp_cp *cp, const char *device_ip, unsigned port,
                      const ucp__evt_sink *sink, void *sub, char *url,
                      size_t url_cap, char *path, const char **why) {
  char local[INET_ADDRSTRLEN];
  if (ucp__local_addr_for(device_ip, local, sizeof local) != UCP_OK) {
    *why = "no local address routes to the device";
    return UCP_E_NETWORK;
  }
  srv *s = srv_get(cp);
  int rc = UCP_E_NOMEM;
  daemon_rec *dr = s ? daemon_for(s, local, port, &rc) : NULL;
  entry *e = dr ? ucp__calloc(1, sizeof *e) : NULL;
  if (!e) {
    if (dr) rc = UCP_E_NOMEM;
    *why = rc == UCP_E_NETWORK ? "cannot start the callback server (port "
                                 "in use?)"
                               : "out of memory";
    return rc;
  }
  if (random_path(e->path) != 0) {
    ucp__free(e);
    *why = "no randomness for the callback path";
    return UCP_E_INTERNAL;
  }
  e->sub = sub;
  e->sink = sink;
  uv_mutex_lock(&s->lock);
  entry **slot = &s->buckets[bucket_of(e->path)];
  e->next = *slot;
  *slot = e;
  uv_mutex_unlock(&s->lock);
  strcpy(path, e->path);
  snprintf(url, url_cap, "http://%s%s", dr->host, e->path);
  return UCP_OK;
}

void ucp__evt_set_sid(ucp_cp *cp, const char *path, const char *sid) {
  srv *s = ucp__cp_ext(cp, UCP__EXT_GENA);
  if (!s) return;
  uv_mutex_lock(&s->lock);
  entry *e = *find_slot(s, path);
  if (e) snprintf(e->sid, sizeof e->sid, "%s", sid);
  uv_mutex_unlock(&s->lock);
}

void ucp__evt_unregister(ucp_cp *cp, const char *path) {
  srv *s = ucp__cp_ext(cp, UCP__EXT_GENA);
  if (!s) return;
  uv_mutex_lock(&s->lock);
  entry **pp = find_slot(s, path);
  entry *e = *pp;
  if (e) *pp = e->next;
  uv_mutex_unlock(&s->lock);
  ucp__free(e);
}
